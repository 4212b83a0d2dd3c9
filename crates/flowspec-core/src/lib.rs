//! # flowspec-core
//!
//! The core of [flowspec](https://github.com/flowspec/flowspec): workflow events, hook
//! specs and the engine that dispatches one to the other, with idempotency, an audit
//! log and secret masking.
//!
//! ## Overview
//! - [`Event`]: a flat JSON object with a dotted [`EventType`] (`implement.completed`).
//! - [`HookSpec`]: which events a hook reacts to ([`EventSelector`] + [`Filter`]) and what
//!   it does (an [`Action`]: a script, a shell command, an in-process handler, or one
//!   added by another crate such as `ci` or `notify`).
//! - [`Engine`]: reads `.flowspec/hooks/hooks.yaml`, runs the matching hooks in order
//!   (parallel groups concurrently), enforces timeouts and fail modes, records each
//!   run in the [`Store`] and the audit log, and returns a [`DispatchReport`].
//!
//! ## Example
//! ```no_run
//! use flowspec_core::{Engine, EngineBuilder, Event};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // The project around the current directory: hooks.yaml, .env, store, audit log.
//! let engine = EngineBuilder::discover(&std::env::current_dir()?)?.build().await?;
//! let event = Event::builder("implement.completed").feature("auth").build()?;
//! let report = engine.emit(event).await?;
//! for hook in &report.hooks {
//!     println!("{}: {}", hook.hook, hook.status);
//! }
//! # Ok(()) }
//! ```
//!
//! ## Features
//! - `postgres` (default): PostgreSQL as a state store (`state.url: postgres://...`,
//!   sqlx's PostgreSQL driver, `LISTEN`/`NOTIFY` in [`store::Changes`]). Without it a
//!   `postgres://` URL fails with [`store::StoreError::NotBuiltIn`], naming the feature.
//!   SQLite is always built in: the engine's default store is an SQLite file.
//! - `testing`: helpers for tests of embedders and backends (the `testing` module).
//!
//! Minimum supported Rust version: 1.89.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod action;
pub mod audit;
pub mod config;
pub mod duration;
pub mod engine;
pub mod event;
pub mod filter;
pub mod glob;
pub mod notifier;
pub mod output;
pub mod project;
pub mod provider;
pub mod registry;
pub mod report;
pub mod retention;
pub mod retry;
pub mod secret;
pub mod selector;
pub mod settings;
pub mod spec;
pub mod store;
#[cfg(any(test, feature = "testing"))]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod transport;

pub use action::{Action, ActionContext, ActionFactory, ActionOutcome, ActionResult};
pub use engine::{BuildError, EmitOptions, Engine, EngineBuilder, EngineError};
pub use event::{Event, EventBuilder, EventError, EventId, EventType};
pub use filter::Filter;
pub use notifier::{
    Notification, Notifier, NotifierFactory, NotifierRegistry, NotifyError, Receipt,
};
pub use project::ProjectPaths;
pub use provider::{CiProvider, ProviderError, ProviderErrorKind, ProviderFactory};
pub use report::{DispatchReport, HookReport, HookStatus, Reporter, SkipReason};
pub use selector::EventSelector;
pub use spec::{FailMode, HookSpec};
pub use store::Store;
