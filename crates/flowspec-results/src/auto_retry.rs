//! Auto-retry: retry a failed CI run when every failure is a known flaky test, up
//! to a maximum. The decision is pure; the CI wiring (`ci wait --retry-flaky`,
//! `flowspec serve` on a failed `ci.completed`) asks [`AutoRetryPolicy::decide`] and
//! retries the run's failed jobs through its provider.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::model::{FailedTest, Totals};
use crate::quarantine::Quarantine;

/// `results.auto_retry` in flowspec.yaml.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct AutoRetryPolicy {
    /// Whether failed runs are retried at all. Example: `true`.
    pub enabled: bool,
    /// Retries of one run at most. Example: `1`.
    pub max_retries: u32,
}

impl Default for AutoRetryPolicy {
    fn default() -> Self {
        AutoRetryPolicy {
            enabled: false,
            max_retries: 1,
        }
    }
}

/// What is known about the failed tests.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct KnownFlaky {
    /// Quarantined tests (config and store).
    pub quarantine: Quarantine,
    /// Tests found flaky in the history ([`crate::flaky::FlakyReport::flaky`] ids).
    pub flaky: HashSet<String>,
    /// Tests found broken (they never count as flaky).
    pub broken: HashSet<String>,
}

impl KnownFlaky {
    /// What a quarantine and a flaky analysis (`ResultsStore::flaky`) know.
    pub fn new(quarantine: Quarantine, history: &crate::flaky::FlakyReport) -> Self {
        KnownFlaky {
            quarantine,
            flaky: history.flaky.iter().map(|f| f.test.clone()).collect(),
            broken: history.broken.iter().map(|b| b.test.clone()).collect(),
        }
    }

    /// Whether a failure of `test_id` is known noise.
    pub fn covers(&self, test_id: &str) -> bool {
        !self.broken.contains(test_id)
            && (self.flaky.contains(test_id) || self.quarantine.matching(test_id).is_some())
    }
}

/// What to do with a failed run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AutoRetryVerdict {
    /// Retry the failed jobs: every failure is a known flaky test.
    Retry {
        /// Which retry this is (1 for the first).
        retry: u32,
        /// The flaky tests that failed.
        tests: Vec<String>,
    },
    /// Do not retry.
    Skip {
        /// Why.
        reason: NoRetryReason,
    },
}

/// Why a run is not retried.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NoRetryReason {
    /// `auto_retry.enabled` is false.
    Disabled,
    /// Nothing failed (or the run failed without any failed test: a build error).
    NoFailedTests,
    /// The retries are used up.
    MaxRetriesReached {
        /// The maximum.
        max: u32,
    },
    /// Some failures are not known to be flaky: a real failure, worth a look.
    UnknownFailures {
        /// Their ids.
        tests: Vec<String>,
    },
    /// The report was cut short: unknown tests may have failed.
    PartialReport,
    /// The run's test results could not be read (no report artifacts, a download
    /// failed): without them no failure is known to be flaky.
    NoResults {
        /// What went wrong.
        message: String,
    },
}

impl AutoRetryVerdict {
    /// One sentence for people: what was decided and why.
    ///
    /// ```
    /// use flowspec_results::auto_retry::{AutoRetryVerdict, NoRetryReason};
    ///
    /// let skip = AutoRetryVerdict::Skip { reason: NoRetryReason::MaxRetriesReached { max: 1 } };
    /// assert_eq!(skip.describe(), "not retrying: the run was already retried 1 time(s) (results.auto_retry.max_retries: 1)");
    /// ```
    pub fn describe(&self) -> String {
        match self {
            AutoRetryVerdict::Retry { retry, tests } => format!(
                "retry {retry}: every failure is a known flaky test ({})",
                list(tests)
            ),
            AutoRetryVerdict::Skip { reason } => format!("not retrying: {}", reason.describe()),
        }
    }

    /// Whether the decision is to retry.
    pub fn is_retry(&self) -> bool {
        matches!(self, AutoRetryVerdict::Retry { .. })
    }
}

impl NoRetryReason {
    /// Why, for people.
    pub fn describe(&self) -> String {
        match self {
            NoRetryReason::Disabled => {
                "auto-retry is off (set `results.auto_retry.enabled: true` in .flowspec/flowspec.yaml)".into()
            }
            NoRetryReason::NoFailedTests => {
                "no test failed: the run failed for another reason (build, setup, a job without tests)".into()
            }
            NoRetryReason::MaxRetriesReached { max } => format!(
                "the run was already retried {max} time(s) (results.auto_retry.max_retries: {max})"
            ),
            NoRetryReason::UnknownFailures { tests } => format!(
                "{} failure(s) not known to be flaky: {}",
                tests.len(),
                list(tests)
            ),
            NoRetryReason::PartialReport => {
                "a report was cut short, so unknown tests may have failed".into()
            }
            NoRetryReason::NoResults { message } => {
                format!("the run's test results could not be read: {message}")
            }
        }
    }

    /// The reason's snake_case name (`unknown_failures`), as in JSON and audit lines.
    pub fn as_str(&self) -> &'static str {
        match self {
            NoRetryReason::Disabled => "disabled",
            NoRetryReason::NoFailedTests => "no_failed_tests",
            NoRetryReason::MaxRetriesReached { .. } => "max_retries_reached",
            NoRetryReason::UnknownFailures { .. } => "unknown_failures",
            NoRetryReason::PartialReport => "partial_report",
            NoRetryReason::NoResults { .. } => "no_results",
        }
    }
}

/// At most 5 ids, then a count.
fn list(tests: &[String]) -> String {
    let mut text = tests.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if tests.len() > 5 {
        text.push_str(&format!(" and {} more", tests.len() - 5));
    }
    text
}

impl AutoRetryPolicy {
    /// A policy: retry (when `enabled`) at most `max_retries` times.
    pub fn new(enabled: bool, max_retries: u32) -> Self {
        AutoRetryPolicy {
            enabled,
            max_retries,
        }
    }

    /// Whether to retry a run that failed with `failures`, having been retried
    /// `retries_so_far` times.
    ///
    /// ```
    /// use flowspec_results::auto_retry::{AutoRetryPolicy, KnownFlaky, AutoRetryVerdict};
    ///
    /// let policy = AutoRetryPolicy::new(true, 1);
    /// let decision = policy.decide(&[], &Default::default(), false, &KnownFlaky::default(), 0);
    /// assert!(matches!(decision, AutoRetryVerdict::Skip { .. }));
    /// ```
    pub fn decide(
        &self,
        failures: &[FailedTest],
        totals: &Totals,
        partial: bool,
        known: &KnownFlaky,
        retries_so_far: u32,
    ) -> AutoRetryVerdict {
        let skip = |reason| AutoRetryVerdict::Skip { reason };
        if !self.enabled {
            return skip(NoRetryReason::Disabled);
        }
        if failures.is_empty() && totals.failing() == 0 {
            return skip(NoRetryReason::NoFailedTests);
        }
        if retries_so_far >= self.max_retries {
            return skip(NoRetryReason::MaxRetriesReached {
                max: self.max_retries,
            });
        }
        if partial || (failures.len() as u64) < totals.failing() {
            // Failures beyond those listed are unknown.
            return skip(NoRetryReason::PartialReport);
        }
        let unknown: Vec<String> = failures
            .iter()
            .filter(|f| !known.covers(&f.id))
            .map(|f| f.id.clone())
            .collect();
        if !unknown.is_empty() {
            return skip(NoRetryReason::UnknownFailures { tests: unknown });
        }
        AutoRetryVerdict::Retry {
            retry: retries_so_far + 1,
            tests: failures.iter().map(|f| f.id.clone()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FailureDetail, FailureKind, Status, TestCase};
    use crate::quarantine::{QuarantineEntry, QuarantineSource};

    fn failed(name: &str) -> FailedTest {
        let mut case = TestCase::new("suite", name);
        case.status = Status::Failed;
        case.failure = Some(FailureDetail::new(FailureKind::Failure, None));
        FailedTest::from_case(&case).unwrap()
    }

    fn totals(failed: u64) -> Totals {
        Totals {
            tests: 10,
            passed: 10 - failed,
            failed,
            ..Totals::default()
        }
    }

    fn known() -> KnownFlaky {
        KnownFlaky {
            quarantine: Quarantine::new(vec![QuarantineEntry::new(
                "suite::net_*",
                None,
                QuarantineSource::Config,
            )]),
            flaky: ["suite::timing".to_owned()].into(),
            broken: ["suite::net_down".to_owned()].into(),
        }
    }

    #[test]
    fn should_retry_when_every_failure_is_known_flaky_up_to_the_maximum() {
        let policy = AutoRetryPolicy {
            enabled: true,
            max_retries: 2,
        };
        let failures = [failed("net_dns"), failed("timing")];
        let decision = policy.decide(&failures, &totals(2), false, &known(), 0);
        assert_eq!(
            decision,
            AutoRetryVerdict::Retry {
                retry: 1,
                tests: vec!["suite::net_dns".into(), "suite::timing".into()]
            }
        );
        assert!(matches!(
            policy.decide(&failures, &totals(2), false, &known(), 1),
            AutoRetryVerdict::Retry { retry: 2, .. }
        ));
        assert_eq!(
            policy.decide(&failures, &totals(2), false, &known(), 2),
            AutoRetryVerdict::Skip {
                reason: NoRetryReason::MaxRetriesReached { max: 2 }
            }
        );
    }

    #[test]
    fn should_not_retry_real_broken_or_unknown_failures() {
        let policy = AutoRetryPolicy {
            enabled: true,
            max_retries: 1,
        };
        let decision = policy.decide(
            &[failed("net_dns"), failed("logic")],
            &totals(2),
            false,
            &known(),
            0,
        );
        assert_eq!(
            decision,
            AutoRetryVerdict::Skip {
                reason: NoRetryReason::UnknownFailures {
                    tests: vec!["suite::logic".into()]
                }
            }
        );
        let broken = policy.decide(&[failed("net_down")], &totals(1), false, &known(), 0);
        assert!(matches!(
            broken,
            AutoRetryVerdict::Skip {
                reason: NoRetryReason::UnknownFailures { .. }
            }
        ));
        let partial = policy.decide(&[failed("net_dns")], &totals(1), true, &known(), 0);
        assert_eq!(
            partial,
            AutoRetryVerdict::Skip {
                reason: NoRetryReason::PartialReport
            }
        );
        let omitted = policy.decide(&[failed("net_dns")], &totals(5), false, &known(), 0);
        assert_eq!(
            omitted,
            AutoRetryVerdict::Skip {
                reason: NoRetryReason::PartialReport
            }
        );
        let off =
            AutoRetryPolicy::default().decide(&[failed("net_dns")], &totals(1), false, &known(), 0);
        assert_eq!(
            off,
            AutoRetryVerdict::Skip {
                reason: NoRetryReason::Disabled
            }
        );
    }
}
