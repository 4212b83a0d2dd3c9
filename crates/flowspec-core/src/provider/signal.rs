//! Learning that a run ended without asking the platform: a receiver that stored the
//! run's `ci.completed` webhook tells a waiting `ci wait` at once, so the wait polls
//! the platform only as a slow fallback.

use async_trait::async_trait;

use super::{RunId, RunStatus};

/// A source of run completions other than the platform's API (see
/// `flowspec_server::StoredCompletions`, which reads the webhooks a receiver stored).
#[async_trait]
pub trait CompletionSignal: Send + Sync {
    /// Resolves when a completion of `run` on `provider` (a provider kind: `github`,
    /// `gitlab`, `custom`...) received at or after `since_ms` (Unix ms) is known; stays
    /// pending otherwise. Failures to read are the implementation's to log and retry:
    /// the caller keeps polling meanwhile.
    async fn completed(&self, provider: &str, run: &RunId, since_ms: i64) -> PushedCompletion;
}

/// A completion learned from a webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushedCompletion {
    /// The run's end, from the event's `conclusion` (or `status`).
    pub status: RunStatus,
    /// The conclusion as sent (`success`, `failure`, `canceled`...).
    pub conclusion: String,
    /// The stored event that told.
    pub event_id: String,
}

impl PushedCompletion {
    /// A completion with `conclusion` as a platform or a custom CI writes it.
    ///
    /// ```
    /// use flowspec_core::provider::{RunStatus, signal::PushedCompletion};
    ///
    /// assert_eq!(PushedCompletion::new("failure", "e1").status, RunStatus::Failed);
    /// assert_eq!(PushedCompletion::new("canceled", "e2").status, RunStatus::Cancelled);
    /// assert_eq!(PushedCompletion::new("SUCCESS", "e3").status, RunStatus::Success);
    /// ```
    pub fn new(conclusion: impl Into<String>, event_id: impl Into<String>) -> Self {
        let conclusion = conclusion.into();
        let status = match conclusion.to_ascii_lowercase().as_str() {
            "success" | "succeeded" | "passed" | "fixed" | "ok" => RunStatus::Success,
            "failure"
            | "failed"
            | "error"
            | "errored"
            | "timed_out"
            | "startup_failure"
            | "unstable"
            | "broken"
            | "infrastructure_fail" => RunStatus::Failed,
            "cancelled" | "canceled" | "aborted" | "stopped" => RunStatus::Cancelled,
            "skipped" | "neutral" | "not_run" => RunStatus::Skipped,
            _ => RunStatus::Unknown,
        };
        PushedCompletion {
            status,
            conclusion,
            event_id: event_id.into(),
        }
    }
}
