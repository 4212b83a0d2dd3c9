//! # flowspec-transport
//!
//! Events across machines: a receiver in the cloud publishes what it accepted, hooks run
//! on developer laptops and workers that subscribe. The transport is Redis Streams
//! (feature `redis`, on by default): one stream of entries, consumer groups that each get
//! every event, consumers of one group that share them, acknowledgements, and the
//! pending entries of a dead consumer claimed by another (`XAUTOCLAIM`).
//!
//! - [`TransportConfig`]: `transport:` of flowspec.yaml (the URL's password masked).
//! - [`RedisTransport`]: publish (idempotent by event id; it implements the core's
//!   [`Publisher`](flowspec_core::transport::Publisher), which `flowspec serve` publishes
//!   through from its durable queue), and the stream's [`StreamStatus`].
//! - [`Subscriber`]: runs the local hooks of each entry with the engine (filters,
//!   idempotency by event id, audit, fail modes), acknowledges when done, retries failed
//!   deliveries, dead-letters bad entries, reconnects with backoff, drains on stop.
//!
//! Delivery is at least once to each group; hooks run once per event id on a machine
//! thanks to the engine's idempotency.
//!
//! ```no_run
//! use std::sync::Arc;
//! use flowspec_core::{EngineBuilder, Event};
//! use flowspec_transport::{RedisTransport, Subscriber, TransportConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = TransportConfig::new("redis://127.0.0.1:6379/0")?.group("workers");
//! let transport = Arc::new(RedisTransport::new(config)?);
//!
//! // On one machine: publish.
//! let event = Event::builder("deploy.requested").field("environment", "staging").build()?;
//! transport.publish_events(&[event]).await?;
//!
//! // On another: run the hooks of every event the group gets.
//! let engine = EngineBuilder::discover(std::path::Path::new("."))?.build().await?;
//! Subscriber::new(transport, engine)?
//!     .run(async { tokio::signal::ctrl_c().await.ok(); })
//!     .await?;
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod config;
mod error;
#[cfg(feature = "redis")]
mod streams;
#[cfg(feature = "redis")]
mod subscriber;

pub use config::TransportConfig;
pub use error::TransportError;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use streams::{
    ConsumerStatus, Entry, GroupStatus, MAX_EVENT_BYTES, RedisTransport, StartFrom, StreamStatus,
};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use subscriber::{EntryOutcome, Quiet, SubscribeReporter, SubscribeSummary, Subscriber};
