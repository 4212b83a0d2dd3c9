//! CI results through a provider: the wiring between this crate (parsing,
//! the results store, quarantine, the auto-retry policy, failure context) and any
//! [`CiProvider`](flowspec_core::provider::CiProvider). Everything goes through the
//! trait, so every platform (GitHub, GitLab, Jenkins, CircleCI, custom) is covered.
//!
//! - [`fetch`]: download a run's report artifacts (by `results.artifacts` name
//!   patterns), unpack them safely, store the reports as the run —
//!   `flowspec ci results`.
//! - [`quarantine`]: whether a failed run's failures are all quarantined —
//!   `flowspec ci wait --quarantine`.
//! - [`auto_retry`]: decide and retry the failed jobs — `flowspec ci wait
//!   --retry-flaky`, and the [`action`] for hooks.
//! - [`action`]: the `retry_flaky:` hook action (`flowspec serve` on a failed
//!   `ci.completed` webhook).
//! - [`fix`]: the failure-context bundle of `flowspec ci fix`.

pub mod action;
pub mod auto_retry;
pub mod fetch;
pub mod fix;
pub mod quarantine;

pub use action::{RetryFlakyConfig, RetryFlakyFactory};
pub use auto_retry::{RetryError, RetryEvaluation, evaluate_retry, known_flaky, wait_for_restart};
pub use fetch::{
    FetchError, FetchOptions, FetchedArtifact, FetchedResults, fetch_results, run_meta,
};
pub use fix::{Gathered, JobLog, gather_failure_context, write_bundle};
pub use quarantine::{QuarantineVerdict, judge_failed_run};
