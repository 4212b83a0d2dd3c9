//! Notifiers: telling people and systems what happened.
//!
//! - [`Notification`]: what to say — the [`Event`](crate::Event), a title, a summary, ordered
//!   [`Field`]s (ID, title, branch, PR, error...), [`Link`]s, a [`Severity`] and a
//!   [`WorkOutcome`]. Each service renders it natively (Slack blocks, a Teams Adaptive
//!   Card, Discord embeds, an email with a text and an HTML part, a Jira ADF document...).
//! - [`Notifier`]: one configured destination. Object-safe (`Arc<dyn Notifier>`), one
//!   attempt per call: the delivery layer owns retries, rate limits, audit and dead
//!   letters, and decides from [`NotifyError::is_transient`] and
//!   [`NotifyError::retry_after`] whether and when to try again.
//! - [`NotifierFactory`]: builds notifiers of one kind (`slack`, `pagerduty`) from their
//!   `integrations:` entry in `.flowspec/flowspec.yaml`, with a [`NotifierContext`] that
//!   resolves `${VAR}` and the service's default secret variables ([`SecretVar`]).
//!
//! - [`model`]: [`Notification`], [`Field`], [`Link`], [`Severity`], [`WorkOutcome`],
//!   [`Receipt`].
//! - [`error`]: [`NotifyError`] with a [`NotifyErrorKind`] and the service's own
//!   [`ServiceError`].
//! - [`factory`]: [`NotifierFactory`] (one per service, listed in
//!   `flowspec_notify::BUILTIN`), [`NotifierContext`], [`SecretVar`], [`Built`], the
//!   [`Example`] the conformance suite exercises, and [`NotifierRegistry`].
//!
//! The implementations live in the `flowspec-notify` crate; embedders add their own by
//! implementing these two traits.
//!
//! ```
//! use async_trait::async_trait;
//! use flowspec_core::Event;
//! use flowspec_core::notifier::{Notification, Notifier, NotifyError, Receipt, WorkOutcome};
//!
//! #[derive(Debug)]
//! struct Stdout;
//!
//! #[async_trait]
//! impl Notifier for Stdout {
//!     fn target(&self) -> String {
//!         "stdout".into()
//!     }
//!     async fn notify(&self, n: &Notification) -> Result<Receipt, NotifyError> {
//!         println!("{}: {}", n.title, n.summary);
//!         Ok(Receipt::new())
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let event = Event::builder("implement.completed").feature("auth").build().unwrap();
//! let n = Notification::builder(event)
//!     .title("✅ Spec Implementation Completed")
//!     .field("ID", "FEAT-0001")
//!     .outcome(WorkOutcome::Completed)
//!     .build();
//! let notifier: std::sync::Arc<dyn Notifier> = std::sync::Arc::new(Stdout);
//! notifier.notify(&n).await.unwrap();
//! # });
//! ```

pub mod error;
pub mod factory;
pub mod model;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

pub use error::{NotifyError, NotifyErrorKind, ServiceError};
pub use factory::{
    Built, Example, ExampleAnswer, NotifierContext, NotifierFactory, NotifierRegistry, SecretVar,
};
pub use model::{Field, Link, Notification, NotificationBuilder, Receipt, Severity, WorkOutcome};

/// One configured destination: a Slack webhook, an SMTP relay and its recipients, a
/// PagerDuty routing key. Object-safe: hold it as `Arc<dyn Notifier>`.
///
/// Contract (checked by the conformance suite in `flowspec_notify::testing`):
/// - [`notify`](Notifier::notify) makes **one** attempt and never retries or sleeps
///   itself; it classifies failures ([`NotifyErrorKind`]) and passes on the wait the
///   service asked for.
/// - Nothing it returns or prints (errors, [`target`](Notifier::target), `Debug`,
///   receipts) contains a secret.
#[async_trait]
pub trait Notifier: Send + Sync + fmt::Debug {
    /// Where notifications go, safe to print (`https://hooks.slack.com/…`,
    /// `smtp://smtp.example.com:587`): shown in listings and audit lines.
    fn target(&self) -> String;

    /// Sends one notification, one attempt.
    async fn notify(&self, notification: &Notification) -> Result<Receipt, NotifyError>;

    /// Checks the configuration and, where the service offers a side-effect-free call,
    /// that the credential works. Never sends a message. The default does nothing.
    async fn healthcheck(&self) -> Result<(), NotifyError> {
        Ok(())
    }
}

#[async_trait]
impl<T: Notifier + ?Sized> Notifier for &T {
    fn target(&self) -> String {
        (**self).target()
    }

    async fn notify(&self, notification: &Notification) -> Result<Receipt, NotifyError> {
        (**self).notify(notification).await
    }

    async fn healthcheck(&self) -> Result<(), NotifyError> {
        (**self).healthcheck().await
    }
}

#[async_trait]
impl<T: Notifier + ?Sized> Notifier for Box<T> {
    fn target(&self) -> String {
        (**self).target()
    }

    async fn notify(&self, notification: &Notification) -> Result<Receipt, NotifyError> {
        (**self).notify(notification).await
    }

    async fn healthcheck(&self) -> Result<(), NotifyError> {
        (**self).healthcheck().await
    }
}

#[async_trait]
impl<T: Notifier + ?Sized> Notifier for Arc<T> {
    fn target(&self) -> String {
        (**self).target()
    }

    async fn notify(&self, notification: &Notification) -> Result<Receipt, NotifyError> {
        (**self).notify(notification).await
    }

    async fn healthcheck(&self) -> Result<(), NotifyError> {
        (**self).healthcheck().await
    }
}

fn _obj_safe(_: &dyn Notifier, _: &dyn NotifierFactory) {}
