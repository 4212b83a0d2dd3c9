//! `ci wait --quarantine`: whether a failed run's failures are all quarantined.

use crate::Report;
use crate::ResultsError;
use crate::config::ResultsConfig;
use crate::quarantine::{self, CheckOutcome};
use crate::store::ResultsStore;
use serde::Serialize;

/// The quarantine's verdict on a failed run.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct QuarantineVerdict {
    /// Every failure is a quarantined test that is not broken, at least one test
    /// failed, and the report was read completely: the failure is excused.
    pub excused: bool,
    /// Why, for people.
    pub reason: String,
    /// The check itself (blocking, quarantined, broken in quarantine, partial).
    #[serde(flatten)]
    pub outcome: CheckOutcome,
}

/// Judges a failed run's `report` against the quarantine (config and store). Never
/// excuses broken tests (failing in every recent stored run), a report that was cut
/// short or lists fewer failures than it counts, or a run that failed without any
/// failed test (a build or setup error: quarantine is about tests).
pub async fn judge_failed_run(
    report: &Report,
    store: &ResultsStore,
    config: &ResultsConfig,
) -> Result<QuarantineVerdict, ResultsError> {
    let mut list = config.quarantine.clone();
    list.extend(store.quarantine_list().await?);
    let broken = store.broken_tests(&config.flaky, None).await?;
    let partial = report.partial || report.failures_omitted > 0;
    let outcome = quarantine::check(&report.failures, partial, &list, &broken);
    let (excused, reason) = if report.totals.failing() == 0 {
        (
            false,
            "no test failed: the run failed for another reason (build, setup, a job without tests), which quarantine does not cover".to_owned(),
        )
    } else if partial {
        (
            false,
            "a report was cut short (or failures were left out), so unknown tests may have failed"
                .to_owned(),
        )
    } else if !outcome.broken_in_quarantine.is_empty() {
        (
            false,
            format!(
                "quarantined but broken (failed in every recent run): {}",
                outcome.broken_in_quarantine.join(", ")
            ),
        )
    } else if !outcome.passed {
        let ids: Vec<&str> = outcome.blocking.iter().map(|f| f.id.as_str()).collect();
        (
            false,
            format!(
                "{} failure(s) not quarantined: {}",
                ids.len(),
                ids.iter().take(5).copied().collect::<Vec<_>>().join(", ")
            ),
        )
    } else {
        (
            true,
            format!(
                "every failure is quarantined ({} test(s))",
                outcome.quarantined.len()
            ),
        )
    };
    Ok(QuarantineVerdict {
        excused,
        reason,
        outcome,
    })
}
