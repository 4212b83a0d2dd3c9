//! Flaky versus broken tests over recent runs.
//!
//! The rules (docs/results.md):
//! - **Outage**: a run where more than `outage_ratio` of its tests failed (and it
//!   has at least `outage_min_tests`) is left out: when everything fails at once,
//!   the cause is the environment, and it says nothing about single tests.
//! - **Flaky**: a test that passed on a rerun within a run (`flakyFailure`, a
//!   repeated listing) or that both failed and passed on the same commit.
//! - **Broken**: a test that failed in every considered run it ran in, at least
//!   `broken_min_runs` of them. Broken is never flaky, and quarantine never
//!   excuses it.
//! - **Flip rate**: status changes (pass↔fail) between consecutive runs of a test,
//!   divided by its runs minus one. Flaky tests are ranked by it.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::model::Status;

/// How flaky tests are told apart (`results.flaky` in flowspec.yaml).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct FlakyOptions {
    /// How many recent runs to consider. Example: `20`.
    pub window: usize,
    /// A run where more than this share of tests failed is an outage. Example: `0.5`.
    pub outage_ratio: f64,
    /// Runs with fewer tests are never outages. Example: `5`.
    pub outage_min_tests: u64,
    /// A test must fail in at least this many runs (and pass in none) to be broken.
    /// Example: `2`.
    pub broken_min_runs: usize,
}

impl Default for FlakyOptions {
    fn default() -> Self {
        FlakyOptions {
            window: 20,
            outage_ratio: 0.5,
            outage_min_tests: 5,
            broken_min_runs: 2,
        }
    }
}

/// A run as the analysis sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunSample {
    /// The store's key of the run.
    pub key: String,
    /// The provider's run id.
    pub run_id: String,
    /// The commit.
    pub commit: Option<String>,
    /// Tests in the run.
    pub tests: u64,
    /// Failed plus errors.
    pub failing: u64,
}

impl RunSample {
    /// A run.
    pub fn new(
        key: impl Into<String>,
        run_id: impl Into<String>,
        commit: Option<String>,
        tests: u64,
        failing: u64,
    ) -> Self {
        RunSample {
            key: key.into(),
            run_id: run_id.into(),
            commit,
            tests,
            failing,
        }
    }
}

/// One test's outcome in one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TestOutcome {
    /// The run's key.
    pub run_key: String,
    /// The test id.
    pub test: String,
    /// Its final status in the run.
    pub status: Status,
    /// Passed after failing within the run.
    pub flaky: bool,
    /// The failure message, if it failed (or its flaky attempt's).
    pub message: Option<String>,
}

impl TestOutcome {
    /// An outcome.
    pub fn new(
        run_key: impl Into<String>,
        test: impl Into<String>,
        status: Status,
        flaky: bool,
        message: Option<String>,
    ) -> Self {
        TestOutcome {
            run_key: run_key.into(),
            test: test.into(),
            status,
            flaky,
            message,
        }
    }
}

/// A flaky test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FlakyTest {
    /// The test id.
    pub test: String,
    /// Considered runs it ran in (skips not counted).
    pub runs: u32,
    /// Runs it failed in.
    pub failures: u32,
    /// Runs where it passed only on a rerun.
    pub passed_on_rerun: u32,
    /// Commits on which it both failed and passed.
    pub same_commit_flips: u32,
    /// Status changes between consecutive runs.
    pub flips: u32,
    /// `flips / (runs - 1)`, 0 with one run.
    pub flip_rate: f64,
    /// The latest failure message.
    pub last_message: Option<String>,
}

/// A broken test: failed in every considered run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BrokenTest {
    /// The test id.
    pub test: String,
    /// Runs it failed in (all it ran in).
    pub runs: u32,
    /// The latest failure message.
    pub last_message: Option<String>,
}

/// The analysis.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FlakyReport {
    /// Runs considered (outages excluded).
    pub runs_considered: usize,
    /// Runs left out as outages (their run ids).
    pub outages: Vec<String>,
    /// Flaky tests, most flaky first.
    pub flaky: Vec<FlakyTest>,
    /// Broken tests, shown apart.
    pub broken: Vec<BrokenTest>,
}

/// Sorts tests into flaky and broken. `runs` are the recent runs (any order is fine;
/// newest first is usual), `outcomes` every outcome in those runs of the tests of
/// interest (those that failed or were flaky somewhere; passing ones may be left out).
///
/// ```
/// use flowspec_results::flaky::{analyze, FlakyOptions, TestOutcome, RunSample};
/// use flowspec_results::model::Status;
///
/// let runs = [
///     RunSample::new("r1", "101", Some("abc".into()), 10, 1),
///     RunSample::new("r2", "101-retry", Some("abc".into()), 10, 0),
/// ];
/// let outcomes = [
///     TestOutcome::new("r1", "net::dns", Status::Failed, false, Some("timeout".into())),
///     TestOutcome::new("r2", "net::dns", Status::Passed, false, None),
/// ];
/// let report = analyze(&runs, &outcomes, &FlakyOptions::default());
/// assert_eq!(report.flaky[0].test, "net::dns");
/// assert_eq!(report.flaky[0].same_commit_flips, 1);
/// ```
pub fn analyze(
    runs: &[RunSample],
    outcomes: &[TestOutcome],
    options: &FlakyOptions,
) -> FlakyReport {
    let mut report = FlakyReport::default();
    // Oldest first: the order of `runs` reversed (newest first is the store's order).
    let mut order: HashMap<&str, usize> = HashMap::new();
    let mut commits: HashMap<&str, Option<&str>> = HashMap::new();
    for (i, run) in runs.iter().rev().enumerate() {
        let outage = run.tests >= options.outage_min_tests.max(1)
            && run.failing as f64 > options.outage_ratio * run.tests as f64;
        if outage {
            report.outages.push(run.run_id.clone());
            continue;
        }
        order.insert(&run.key, i);
        commits.insert(&run.key, run.commit.as_deref());
    }
    report.outages.reverse();
    report.runs_considered = order.len();

    let mut by_test: BTreeMap<&str, Vec<(usize, &TestOutcome)>> = BTreeMap::new();
    for outcome in outcomes {
        if outcome.status == Status::Skipped {
            continue;
        }
        if let Some(&i) = order.get(outcome.run_key.as_str()) {
            by_test.entry(&outcome.test).or_default().push((i, outcome));
        }
    }
    for (test, mut seen) in by_test {
        seen.sort_by_key(|(i, _)| *i);
        let runs = seen.len() as u32;
        let failures = seen.iter().filter(|(_, o)| o.status.is_failure()).count() as u32;
        let passed_on_rerun = seen.iter().filter(|(_, o)| o.flaky).count() as u32;
        let mut per_commit: HashMap<&str, (bool, bool)> = HashMap::new();
        for (_, o) in &seen {
            if let Some(Some(commit)) = commits.get(o.run_key.as_str()) {
                let entry = per_commit.entry(commit).or_default();
                if o.status.is_failure() {
                    entry.0 = true;
                } else {
                    entry.1 = true;
                }
            }
        }
        let same_commit_flips = per_commit.values().filter(|(f, p)| *f && *p).count() as u32;
        let flips = seen
            .windows(2)
            .filter(|w| w[0].1.status.is_failure() != w[1].1.status.is_failure())
            .count() as u32;
        let last_message = seen.iter().rev().find_map(|(_, o)| o.message.clone());
        if passed_on_rerun > 0 || same_commit_flips > 0 {
            report.flaky.push(FlakyTest {
                test: test.to_owned(),
                runs,
                failures,
                passed_on_rerun,
                same_commit_flips,
                flips,
                flip_rate: if runs > 1 {
                    flips as f64 / (runs - 1) as f64
                } else {
                    0.0
                },
                last_message,
            });
        } else if failures == runs && runs as usize >= options.broken_min_runs.max(1) {
            report.broken.push(BrokenTest {
                test: test.to_owned(),
                runs,
                last_message,
            });
        }
    }
    report.flaky.sort_by(|a, b| {
        b.flip_rate
            .total_cmp(&a.flip_rate)
            .then(
                (b.passed_on_rerun + b.same_commit_flips)
                    .cmp(&(a.passed_on_rerun + a.same_commit_flips)),
            )
            .then(a.test.cmp(&b.test))
    });
    report
        .broken
        .sort_by(|a, b| b.runs.cmp(&a.runs).then(a.test.cmp(&b.test)));
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(key: &str, commit: &str, tests: u64, failing: u64) -> RunSample {
        RunSample::new(
            key,
            format!("id-{key}"),
            Some(commit.to_owned()),
            tests,
            failing,
        )
    }

    fn out(run: &str, test: &str, status: Status) -> TestOutcome {
        let message = status
            .is_failure()
            .then(|| format!("{test} failed in {run}"));
        TestOutcome::new(run, test, status, false, message)
    }

    use Status::{Failed as F, Passed as P};

    #[test]
    fn should_tell_flaky_from_broken_and_ignore_outages() {
        // Newest first, as the store lists them.
        let runs = [
            run("r5", "c3", 10, 1),
            run("r4", "c3", 10, 9), // outage: 9 of 10 failed
            run("r3", "c2", 10, 2),
            run("r2", "c2", 10, 1),
            run("r1", "c1", 10, 1),
        ];
        let mut outcomes = vec![
            // Fails and passes on c2: flaky.
            out("r2", "a::flaky", F),
            out("r3", "a::flaky", P),
            out("r4", "a::flaky", F),
            out("r5", "a::flaky", P),
            out("r1", "a::flaky", P),
            // Fails everywhere: broken.
            out("r1", "a::broken", F),
            out("r2", "a::broken", F),
            out("r3", "a::broken", F),
            out("r5", "a::broken", F),
            // Failed only in the outage, passed elsewhere: neither.
            out("r4", "a::victim", F),
            out("r5", "a::victim", P),
            out("r3", "a::victim", P),
            // Fixed on a later commit: a regression, not flakiness.
            out("r1", "a::fixed", F),
            out("r2", "a::fixed", P),
            out("r3", "a::fixed", P),
        ];
        // Passed on a rerun inside one run.
        outcomes.push(TestOutcome::new(
            "r5",
            "a::rerun",
            Status::Passed,
            true,
            Some("timeout".into()),
        ));
        let report = analyze(&runs, &outcomes, &FlakyOptions::default());
        assert_eq!(report.outages, ["id-r4"]);
        assert_eq!(report.runs_considered, 4);
        let flaky: Vec<_> = report.flaky.iter().map(|f| f.test.as_str()).collect();
        assert_eq!(flaky, ["a::flaky", "a::rerun"]);
        let f = &report.flaky[0];
        assert_eq!(
            (f.runs, f.failures, f.same_commit_flips, f.flips),
            (4, 1, 1, 2)
        );
        assert!((f.flip_rate - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(report.flaky[1].passed_on_rerun, 1);
        let broken: Vec<_> = report.broken.iter().map(|b| b.test.as_str()).collect();
        assert_eq!(broken, ["a::broken"]);
        assert_eq!(
            report.broken[0].last_message.as_deref(),
            Some("a::broken failed in r5")
        );
    }

    #[test]
    fn should_need_several_runs_to_call_a_test_broken() {
        let runs = [run("r1", "c1", 10, 1)];
        let report = analyze(&runs, &[out("r1", "a::new", F)], &FlakyOptions::default());
        assert!(report.broken.is_empty() && report.flaky.is_empty());
    }
}
