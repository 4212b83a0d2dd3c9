//! How long the store keeps what it records: `state.retention` in flowspec.yaml.
//!
//! ```yaml
//! state:
//!   retention:
//!     max_age: 30d            # finished events, hook runs and test results older than this go
//!     max_events: 100000      # at most this many finished events are kept
//!     max_results_runs: 1000  # at most this many test-result runs are kept
//! ```
//!
//! `0` turns a limit off. Dead letters (events whose hooks kept failing) are never
//! pruned by these limits: they stay until replayed or pruned explicitly
//! (`flowspec events prune --dead`). `flowspec serve` applies the limits when it starts
//! and every hour; `flowspec results ingest` after each ingest; `flowspec events prune`
//! and `flowspec results prune` on demand.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The default age limit: 30 days.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// The default number of finished events kept.
pub const DEFAULT_MAX_EVENTS: u64 = 100_000;
/// The default number of test-result runs kept.
pub const DEFAULT_MAX_RESULTS_RUNS: u64 = 1_000;

/// `state.retention`: age and count limits on what the store keeps.
///
/// ```
/// use std::time::Duration;
/// use flowspec_core::retention::Retention;
///
/// let keep = Retention::default();
/// assert_eq!(keep.max_age, Some(Duration::from_secs(30 * 24 * 3600)));
/// // Anything finished before this instant (milliseconds since the epoch) is pruned.
/// let cutoff = keep.cutoff_ms(1_000_000_000_000);
/// assert_eq!(cutoff, Some(1_000_000_000_000 - 30 * 24 * 3600 * 1000));
/// assert_eq!(Retention::keep_everything().cutoff_ms(1), None);
/// ```
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Retention {
    /// What finished longer ago than this is pruned (`0`: no age limit).
    /// Example: `30d`.
    #[serde(with = "crate::duration::serde")]
    pub max_age: Option<Duration>,
    /// How many finished events are kept at most (`0`: no count limit).
    /// Example: `100000`.
    pub max_events: u64,
    /// How many test-result runs are kept at most (`0`: no count limit).
    /// Example: `1000`.
    pub max_results_runs: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age: Some(DEFAULT_MAX_AGE),
            max_events: DEFAULT_MAX_EVENTS,
            max_results_runs: DEFAULT_MAX_RESULTS_RUNS,
        }
    }
}

impl Retention {
    /// No limits at all.
    pub fn keep_everything() -> Self {
        Retention {
            max_age: None,
            max_events: 0,
            max_results_runs: 0,
        }
    }

    /// Only an age limit.
    pub fn older_than(age: Duration) -> Self {
        Retention {
            max_age: Some(age),
            ..Retention::keep_everything()
        }
    }

    /// The instant (milliseconds since the epoch) before which finished records are
    /// pruned, given `now_ms`; `None` without an age limit.
    pub fn cutoff_ms(&self, now_ms: i64) -> Option<i64> {
        let age = self.max_age.filter(|age| !age.is_zero())?;
        let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
        Some(now_ms.saturating_sub(age_ms))
    }

    /// The count limit on finished events, if any.
    pub fn event_limit(&self) -> Option<u64> {
        (self.max_events > 0).then_some(self.max_events)
    }

    /// The count limit on test-result runs, if any.
    pub fn results_run_limit(&self) -> Option<u64> {
        (self.max_results_runs > 0).then_some(self.max_results_runs)
    }
}

/// What a prune removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Pruned {
    /// Events removed from the queue.
    pub events: u64,
    /// Hook-run records removed.
    pub hook_runs: u64,
    /// Test-result runs removed (with their suites, cases and coverage).
    pub results_runs: u64,
}

impl Pruned {
    /// Adds another prune's counts.
    pub fn add(&mut self, other: Pruned) {
        self.events += other.events;
        self.hook_runs += other.hook_runs;
        self.results_runs += other.results_runs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use std::path::Path;

    #[test]
    fn should_read_retention_from_flowspec_yaml_with_units_and_zero_as_off() {
        let s = Settings::parse(
            Path::new("flowspec.yaml"),
            "state:\n  retention:\n    max_age: 7d\n    max_events: 0\n",
        )
        .unwrap();
        let r = &s.state.retention;
        assert_eq!(r.max_age, Some(Duration::from_secs(7 * 24 * 3600)));
        assert_eq!(r.event_limit(), None);
        assert_eq!(r.results_run_limit(), Some(DEFAULT_MAX_RESULTS_RUNS));
        let off = Settings::parse(
            Path::new("flowspec.yaml"),
            "state:\n  retention:\n    max_age: 0\n",
        )
        .unwrap();
        assert_eq!(off.state.retention.cutoff_ms(1_000), None);
    }

    #[test]
    fn should_default_to_thirty_days_when_the_section_is_absent() {
        let s = Settings::parse(Path::new("flowspec.yaml"), "state: {}\n").unwrap();
        assert_eq!(s.state.retention, Retention::default());
    }

    #[test]
    fn should_point_at_a_misspelt_retention_key() {
        let err = Settings::parse(
            Path::new("flowspec.yaml"),
            "state:\n  retention:\n    max_ages: 7d\n",
        )
        .unwrap_err();
        let e = err.iter().next().unwrap();
        assert_eq!(e.line_column().map(|(line, _)| line), Some(3), "{err}");
        assert!(err.to_string().contains("max_ages"), "{err}");
    }

    #[test]
    fn should_refuse_a_duration_without_meaning() {
        let err = Settings::parse(
            Path::new("flowspec.yaml"),
            "state:\n  retention:\n    max_age: soon\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("soon"), "{err}");
    }
}
