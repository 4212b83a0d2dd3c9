//! # flowspec
//!
//! flowspec as a library: open a project once (`.flowspec/` found walking up, its
//! flowspec.yaml, `.env` and secrets), then get what the `flowspec` command uses:
//! the [`Engine`] with every hook action registered, a CI client per profile, the
//! notification hub, the test results, and the CI orchestration of [`ci`] (waiting
//! with automatic retries and quarantine, following logs, downloading artifacts).
//!
//! Everything the `flowspec` command does is a call here; the command only parses its
//! arguments, prints and picks the exit code:
//!
//! | module | what |
//! |---|---|
//! | [`Project`] | discovery, settings, `.env`, the masker, the store, the engine, CI clients, the hub, the transport |
//! | [`event_input`] | an [`Event`] from a type, a JSON payload, `key=value` fields |
//! | [`hooks`] | which hooks an event selects, hook summaries, configuration problems as records |
//! | [`audit`] | the audit log, filtered |
//! | [`ci`], [`ci_steer`] | wait (auto-retry, quarantine), logs, artifacts, fix; status, retry, profiles |
//! | [`test_results`], [`quarantine`] | parse, store, show, flaky, check; the stored quarantine |
//! | [`notify`] | samples, routing, dead letters, integration states |
//! | [`pr`], `pr_comment` | the forge of a `ci:` profile and the `pr:`, `status:`, `pr_comment:` hook actions; the sticky results comment and GitHub check runs with annotations (`pr_comment`: feature `render`) |
//! | [`events`] | the receiver's queue: list, show, replay |
//! | [`init`] | the starter `.flowspec/` |
//! | [`signals`] | SIGTERM and Ctrl-C as stop requests |
//! | `render` | what the command prints: tables, colours, progress, the live hook view (feature `render`, on by default) |
//! | [`text`] | control characters of untrusted text escaped for a terminal |
//!
//! ## Example
//! ```no_run
//! use std::sync::Arc;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let project = flowspec::Project::discover(&std::env::current_dir()?)?;
//!
//! // Run the hooks of an event.
//! let engine = project.engine(Arc::new(flowspec::SilentReporter)).await?;
//! let event = flowspec::Event::builder("deploy.completed").field("environment", "staging").build()?;
//! let report = engine.emit(event).await?;
//! println!("{} hook(s) ran", report.hooks.len());
//!
//! // Wait for a CI run of the default profile, retrying flaky failures.
//! let ci = project.ci(None)?;
//! let request = flowspec::ci::WaitRequest { retry_flaky: true, ..Default::default() };
//! let run = flowspec::RunId::new("22222222222");
//! let waited = flowspec::ci::wait(&project, ci.as_ref(), &run, request, &mut flowspec::ci::NoProgress).await?;
//! println!("run {}: {}", waited.outcome.run.id, waited.outcome.run.status);
//!
//! // Send a notification through the integrations of flowspec.yaml.
//! let hub = project.notifications()?;
//! let sample = flowspec::Event::builder("implement.completed").build()?;
//! let delivered = hub.dispatch(&sample, &flowspec::notify::DeliveryRequest::by_event("my-bot")).await;
//! println!("{} deliveries", delivered.deliveries.len());
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod audit;
pub mod ci;
pub mod ci_steer;
mod error;
pub mod event_input;
pub mod events;
pub mod git;
pub mod hooks;
pub mod init;
pub mod notify;
pub mod pr;
#[cfg(feature = "render")]
#[cfg_attr(docsrs, doc(cfg(feature = "render")))]
pub mod pr_comment;
mod project;
pub mod quarantine;
#[cfg(feature = "render")]
#[cfg_attr(docsrs, doc(cfg(feature = "render")))]
pub mod render;
mod secrets;
pub mod signals;
pub mod test_results;
pub mod text;

pub use error::{Error, ErrorKind, Result};
pub use project::{KNOWN_SECTIONS, Project, Results};

pub use flowspec_core::provider::{Job, JobId, Run, RunId, RunStatus};
pub use flowspec_core::report::SilentReporter;
pub use flowspec_core::{
    CiProvider, DispatchReport, EmitOptions, Engine, Event, EventType, HookReport, HookStatus,
    Reporter,
};
pub use flowspec_notify::delivery::Notifications;
pub use flowspec_providers::wait::Verdict;

/// The crates this one composes, for everything not re-exported at the top.
pub use flowspec_core as core;
/// CI providers: GitHub Actions, GitLab CI, Jenkins, CircleCI, custom HTTP CI.
pub use flowspec_providers as providers;
/// Test reports, the results store, flaky tests and the quarantine.
pub use flowspec_results as results;
/// The webhook receiver (`flowspec serve`).
pub use flowspec_server as server;
/// Events across machines on Redis Streams (`flowspec subscribe`, `--publish`).
pub use flowspec_transport as transport;
/// The trigger-directory watcher (`flowspec watch`).
pub use flowspec_watch as watch;

/// The Rust examples of docs/embedding.md, compiled as doctests so the guide stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/embedding.md")]
pub struct EmbeddingGuide;
