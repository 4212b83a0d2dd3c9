//! Quarantine: known-flaky tests whose failures alone do not fail a check.
//!
//! Entries come from the config (`results.quarantine`) or the store (`flowspec
//! results quarantine add`). A quarantined test that is *broken* — it failed in
//! every recent run — is never excused: quarantine hides noise, not regressions.

use std::collections::HashSet;

use flowspec_core::glob::glob_match;
use serde::{Deserialize, Serialize};

use crate::model::FailedTest;

/// Where an entry comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineSource {
    /// `results.quarantine` in flowspec.yaml.
    Config,
    /// The results store.
    Store,
}

/// One quarantined test or pattern.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QuarantineEntry {
    /// A test id (`classname::name`), `*` matching any text.
    /// Example: `com.example.CheckoutIT::*`.
    pub test: String,
    /// Why (an issue link).
    pub reason: Option<String>,
    /// Where it comes from.
    pub source: QuarantineSource,
}

impl QuarantineEntry {
    /// An entry.
    pub fn new(test: impl Into<String>, reason: Option<String>, source: QuarantineSource) -> Self {
        QuarantineEntry {
            test: test.into(),
            reason,
            source,
        }
    }

    /// Whether the entry covers `test_id`.
    pub fn matches(&self, test_id: &str) -> bool {
        glob_match(&self.test, test_id)
    }
}

/// A list of quarantined tests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantine {
    entries: Vec<QuarantineEntry>,
}

impl Quarantine {
    /// A quarantine of these entries.
    pub fn new(entries: Vec<QuarantineEntry>) -> Self {
        Quarantine { entries }
    }

    /// Adds entries (from another source).
    pub fn extend(&mut self, entries: impl IntoIterator<Item = QuarantineEntry>) {
        self.entries.extend(entries);
    }

    /// The entries.
    pub fn entries(&self) -> &[QuarantineEntry] {
        &self.entries
    }

    /// The first entry covering `test_id`.
    pub fn matching(&self, test_id: &str) -> Option<&QuarantineEntry> {
        self.entries.iter().find(|e| e.matches(test_id))
    }
}

/// A failure excused by quarantine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Excused {
    /// The failed test.
    pub test: FailedTest,
    /// The entry that covers it.
    pub entry: QuarantineEntry,
}

/// The verdict of [`check`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckOutcome {
    /// No blocking failure (and the report was read completely).
    pub passed: bool,
    /// Failures that fail the check.
    pub blocking: Vec<FailedTest>,
    /// Failures of quarantined tests, excused.
    pub quarantined: Vec<Excused>,
    /// Quarantined tests that are broken (failing in every recent run): they block.
    pub broken_in_quarantine: Vec<String>,
    /// The report was cut short: the check cannot pass on it.
    pub partial: bool,
}

/// Judges a run's failures: each blocks unless quarantined and not broken. A
/// partial report never passes (tests after the error are unknown).
///
/// ```
/// use std::collections::HashSet;
/// use flowspec_results::quarantine::{check, Quarantine, QuarantineEntry, QuarantineSource};
///
/// let report = flowspec_results::Report::default(); // no failures
/// let quarantine = Quarantine::new(vec![QuarantineEntry::new("net::*", None, QuarantineSource::Config)]);
/// let outcome = check(&report.failures, report.partial, &quarantine, &HashSet::new());
/// assert!(outcome.passed);
/// ```
pub fn check(
    failures: &[FailedTest],
    partial: bool,
    quarantine: &Quarantine,
    broken: &HashSet<String>,
) -> CheckOutcome {
    let mut outcome = CheckOutcome {
        partial,
        ..CheckOutcome::default()
    };
    for failure in failures {
        match quarantine.matching(&failure.id) {
            Some(_) if broken.contains(&failure.id) => {
                outcome.broken_in_quarantine.push(failure.id.clone());
                outcome.blocking.push(failure.clone());
            }
            Some(entry) => outcome.quarantined.push(Excused {
                test: failure.clone(),
                entry: entry.clone(),
            }),
            None => outcome.blocking.push(failure.clone()),
        }
    }
    outcome.passed = outcome.blocking.is_empty() && !partial;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FailureDetail, FailureKind, Status, TestCase};

    fn failed(id_class: &str, name: &str) -> FailedTest {
        let mut case = TestCase::new("s", name);
        case.classname = Some(id_class.to_owned());
        case.status = Status::Failed;
        case.failure = Some(FailureDetail::new(
            FailureKind::Failure,
            Some("boom".into()),
        ));
        FailedTest::from_case(&case).unwrap()
    }

    #[test]
    fn should_match_globs() {
        assert!(glob_match("a::*", "a::b"));
        assert!(glob_match("*::b", "a::b"));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(!glob_match("a*c*e", "abde"));
        assert!(!glob_match("ab*ba", "aba"));
        assert!(glob_match("exact", "exact"));
    }

    #[test]
    fn should_excuse_quarantined_failures_but_never_broken_ones() {
        let quarantine = Quarantine::new(vec![
            QuarantineEntry::new("net::*", Some("flaky DNS".into()), QuarantineSource::Config),
            QuarantineEntry::new("db::migrates", None, QuarantineSource::Store),
        ]);
        let failures = [
            failed("net", "resolves"),
            failed("db", "migrates"),
            failed("ui", "renders"),
        ];
        let broken: HashSet<String> = ["db::migrates".to_owned()].into();
        let outcome = check(&failures, false, &quarantine, &broken);
        assert!(!outcome.passed);
        assert_eq!(outcome.quarantined.len(), 1);
        assert_eq!(outcome.quarantined[0].test.id, "net::resolves");
        let blocking: Vec<_> = outcome.blocking.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(blocking, ["db::migrates", "ui::renders"]);
        assert_eq!(outcome.broken_in_quarantine, ["db::migrates"]);

        let only_flaky = check(&failures[..1], false, &quarantine, &broken);
        assert!(only_flaky.passed);
        let partial = check(&failures[..1], true, &quarantine, &broken);
        assert!(!partial.passed, "a partial report never passes");
    }
}
