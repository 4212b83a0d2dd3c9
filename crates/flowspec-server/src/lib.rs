//! # flowspec-server
//!
//! `flowspec serve`: CI pipelines and forges POST events; flowspec verifies them,
//! stores each durably before answering `202`, and dispatches them to the hooks with the
//! same engine as `flowspec emit`.
//!
//! - [`sources`]: `/events` (bearer, HMAC or Standard Webhooks), `/webhooks/github`,
//!   `/webhooks/gitlab`, `/webhooks/circleci`, `/webhooks/jenkins`, each verified in
//!   constant time and mapped to flowspec events.
//! - Intake with group commit: concurrent requests share one fsynced SQLite commit.
//! - Workers take events in arrival order from the durable queue
//!   ([`queue`]); failures are retried with backoff, then dead-lettered.
//!   After a crash, events in flight are dispatched again; hooks that had finished do not
//!   run again (the engine's idempotency), hooks that were running run again with
//!   `FLOWSPEC_ATTEMPT` > 1.
//! - [`StoredCompletions`]: `ci wait` ends on the stored `ci.completed` webhook.
//! - [`Metrics`] in Prometheus text on `/metrics`; `/healthz`, `/readyz`.
//! - With [`ServerConfig::publish_to`], every accepted event is also published to other
//!   machines, from a durable outbox written with the event: a transport outage delays
//!   publication, loses nothing, and a restart resumes it.
//! - Safety: body size limit (413), header and body read timeouts, per-source rate
//!   limits (429 with `Retry-After`), replay protection by delivery id and timestamp.
//!
//! Embed the receiver in your own axum app with [`Receiver::start`] and
//! [`Receiver::router`], or run [`Server`], which serves it with header timeouts and
//! graceful shutdown.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod completions;
pub mod config;
mod dashboard_config;
mod dispatcher;
mod http;
mod intake;
pub mod metrics;
mod outbox;
pub mod queue;
mod ratelimit;
mod receiver;
mod server;
pub mod sources;

pub use completions::StoredCompletions;
pub use config::ServerConfig;
pub use metrics::Metrics;
pub use receiver::Receiver;
pub use server::{Server, ServerError};
