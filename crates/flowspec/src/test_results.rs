//! Test reports through a project: parse reports without storing them, store them as a
//! CI run (commit and branch probed from the checkout), show a stored run, rank flaky
//! tests, and check a run or report files against the quarantine.
//!
//! ```no_run
//! # async fn run() -> flowspec::Result<()> {
//! use flowspec::test_results::{self, CheckRequest, IngestRequest};
//!
//! let project = flowspec::Project::discover(std::path::Path::new("."))?;
//! let files = vec!["target/junit.xml".into()];
//! let stored = test_results::ingest(&project, files, IngestRequest::run("9876543210")).await?;
//! println!("{} failed", stored.report.totals.failed);
//! let check = test_results::check(&project, CheckRequest::default()).await?;
//! println!("check passed: {}", check.outcome.passed);
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use flowspec_results::flaky::FlakyReport;
use flowspec_results::junit::WriteSuite;
use flowspec_results::model::{TestCase, Totals};
use flowspec_results::quarantine::{self, CheckOutcome, Quarantine};
use flowspec_results::store::{RunInfo, RunMeta, RunSelector};
use flowspec_results::{ParseOptions, Report, ReportBuilder, ResultsError};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::project::Project;

/// Every report file must exist and be readable: a missing file is an error (a
/// report that cannot be read), never an empty report.
pub fn check_readable(files: &[PathBuf]) -> Result<()> {
    for file in files {
        if let Err(e) = std::fs::File::open(file).and_then(|f| f.metadata()) {
            return Err(Error::Results(ResultsError::NoReports(format!(
                "cannot read report {}: {e}",
                file.display()
            ))));
        }
    }
    Ok(())
}

/// Reads `files` (any format [`flowspec_results::Format`] knows, detected from each
/// file's content) into one report, storing nothing. A report cut short is kept as far as it was read
/// (`partial`); a missing file is an error.
pub fn parse(files: &[PathBuf], options: ParseOptions) -> Result<Report> {
    check_readable(files)?;
    let mut builder = ReportBuilder::new(options);
    for file in files {
        builder.add_file(file);
    }
    Ok(builder.finish())
}

/// Flaky tests named at most in a [`Summary`].
pub const MAX_FLAKY_LISTED: usize = 100;

/// A report with its flaky tests named: what a CI job summary shows.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// The report (totals, failures, suites, coverage, files, errors).
    #[serde(flatten)]
    pub report: Report,
    /// Tests that passed after failing (retries, reruns), up to [`MAX_FLAKY_LISTED`].
    pub flaky: Vec<FlakyTest>,
    /// Flaky tests beyond the list.
    pub flaky_omitted: u64,
    /// Each suite's counts over its final test results (a retried test once), in
    /// the order first seen, up to the report's suite limit.
    pub suite_totals: Vec<SuiteTotals>,
}

/// The counts of one suite's tests, each test once.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct SuiteTotals {
    /// The suite's name.
    pub name: String,
    /// Its tests' counts.
    pub totals: Totals,
}

/// A test that passed after failing.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct FlakyTest {
    /// `classname::name` (see [`TestCase::id`]).
    pub id: String,
    /// How many times it ran.
    pub attempts: u32,
    /// Source file, when the report names it.
    pub file: Option<String>,
    /// Source line.
    pub line: Option<u32>,
}

/// Reads `files` like [`parse`], naming the flaky tests on the way (the cases
/// themselves are not kept).
///
/// ```no_run
/// let files = vec!["target/junit.xml".into()];
/// let summary = flowspec::test_results::summarize(&files, Default::default())?;
/// println!("{} flaky", summary.report.totals.flaky);
/// # Ok::<(), flowspec::Error>(())
/// ```
pub fn summarize(files: &[PathBuf], options: ParseOptions) -> Result<Summary> {
    check_readable(files)?;
    let max_suites = options.max_suites;
    let mut builder = ReportBuilder::new(options);
    let mut flaky = Vec::new();
    let mut flaky_omitted = 0u64;
    let mut suite_totals: Vec<SuiteTotals> = Vec::new();
    let mut suite_index: std::collections::HashMap<String, usize> = Default::default();
    let mut sink = |case: &TestCase| {
        let index = match suite_index.get(&case.suite) {
            Some(&i) => Some(i),
            None if suite_totals.len() < max_suites => {
                suite_index.insert(case.suite.clone(), suite_totals.len());
                suite_totals.push(SuiteTotals {
                    name: case.suite.clone(),
                    totals: Totals::default(),
                });
                Some(suite_totals.len() - 1)
            }
            None => None,
        };
        if let Some(i) = index {
            suite_totals[i].totals.add(case);
        }
        if !case.flaky {
            return;
        }
        if flaky.len() < MAX_FLAKY_LISTED {
            flaky.push(FlakyTest {
                id: case.id(),
                attempts: case.attempts,
                file: case.file.clone(),
                line: case.line,
            });
        } else {
            flaky_omitted += 1;
        }
    };
    for file in files {
        builder.add_file_with(file, &mut sink);
    }
    Ok(Summary {
        report: builder.finish(),
        flaky,
        flaky_omitted,
        suite_totals,
    })
}

/// Appends `markdown` to the job summary file (`$GITHUB_STEP_SUMMARY` on GitHub
/// Actions), creating it if needed.
pub fn append_step_summary(path: &Path, markdown: &str) -> Result<()> {
    use std::io::Write;
    let io = |e: std::io::Error| Error::Io {
        what: format!("cannot append the job summary to {}", path.display()),
        source: e,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    file.write_all(markdown.as_bytes()).map_err(io)?;
    if !markdown.ends_with('\n') {
        file.write_all(b"\n").map_err(io)?;
    }
    Ok(())
}

/// What [`convert`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvertTo {
    /// JUnit XML, one `<testsuite>` per suite.
    Junit,
    /// CTRF JSON.
    Ctrf,
}

/// Reads `files` (any test result format) and writes their test cases to `out` as
/// JUnit XML or CTRF JSON; returns the report read. Coverage files hold no tests and
/// are refused when nothing else is given.
///
/// ```no_run
/// use flowspec::test_results::{ConvertTo, convert};
///
/// let files = vec!["TestResults/run.trx".into()];
/// let report = convert(&files, ConvertTo::Junit, &mut std::io::stdout())?;
/// # Ok::<(), flowspec::Error>(())
/// ```
pub fn convert(files: &[PathBuf], to: ConvertTo, out: &mut dyn std::io::Write) -> Result<Report> {
    check_readable(files)?;
    let mut builder = ReportBuilder::new(ParseOptions::default().keep_cases(true));
    for file in files {
        builder.add_file(file);
    }
    let mut report = builder.finish();
    let has_tests = report
        .files
        .iter()
        .any(|f| f.format.is_some_and(|format| !format.is_coverage()));
    if !has_tests {
        let read: Vec<String> = report
            .files
            .iter()
            .map(|f| match f.format {
                Some(format) => format!("{} ({})", f.path, format.as_str()),
                None => format!("{} (not a report)", f.path),
            })
            .collect();
        return Err(Error::Results(ResultsError::NoReports(format!(
            "no test results to convert in {}: coverage reports hold no tests",
            read.join(", ")
        ))));
    }
    let cases = report.cases.take().unwrap_or_default();
    let io = |e: std::io::Error| Error::Io {
        what: "cannot write the converted report".to_owned(),
        source: e,
    };
    match to {
        ConvertTo::Ctrf => {
            flowspec_results::ctrf::write(&mut *out, "flowspec", &cases).map_err(io)?
        }
        ConvertTo::Junit => {
            // One suite per run of cases with the same suite, in report order.
            let mut suites = Vec::new();
            let mut start = 0;
            for i in 1..=cases.len() {
                if i == cases.len() || cases[i].suite != cases[start].suite {
                    suites.push(WriteSuite {
                        name: &cases[start].suite,
                        cases: &cases[start..i],
                    });
                    start = i;
                }
            }
            flowspec_results::junit::write(&mut *out, &suites).map_err(io)?;
        }
    }
    out.flush().map_err(io)?;
    Ok(report)
}

/// Which run `ingest` stores the reports as.
#[derive(Clone, Debug)]
pub struct IngestRequest {
    /// The CI provider's run id (default: a new local id).
    pub run: Option<String>,
    /// The attempt (a rerun of the same run id).
    pub attempt: u32,
    /// The commit (default: the CI variables, then the checkout's HEAD).
    pub commit: Option<String>,
    /// The branch (default: the CI variables, then the checkout's branch).
    pub branch: Option<String>,
}

impl Default for IngestRequest {
    fn default() -> Self {
        IngestRequest {
            run: None,
            attempt: 1,
            commit: None,
            branch: None,
        }
    }
}

impl IngestRequest {
    /// The first attempt of the provider's run `id`.
    pub fn run(id: impl Into<String>) -> Self {
        IngestRequest {
            run: Some(id.into()),
            ..IngestRequest::default()
        }
    }
}

/// A stored run with its report. As JSON: the report's fields, with `run` (and
/// `replaced` after an ingest).
#[derive(Debug, Serialize)]
pub struct StoredRun {
    /// The run.
    pub run: RunInfo,
    /// After an ingest: whether a run with the same id and attempt was replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<bool>,
    /// Totals, failures, slowest tests, coverage, reading errors.
    #[serde(flatten)]
    pub report: Report,
}

/// Parses `files` and stores them as one run; the same run id and attempt again
/// replaces the stored run.
pub async fn ingest(
    project: &Project,
    files: Vec<PathBuf>,
    request: IngestRequest,
) -> Result<StoredRun> {
    check_readable(&files)?;
    let results = project.results().await?;
    let mut meta = match request.run {
        Some(id) => RunMeta::new(id),
        None => RunMeta::local(),
    }
    .attempt(request.attempt);
    meta.commit = request
        .commit
        .or_else(|| crate::git::commit(project.root()));
    meta.branch = request
        .branch
        .or_else(|| crate::git::branch(project.root()));
    let ingested = results
        .store
        .ingest(meta, files, ParseOptions::default())
        .await?;
    Ok(StoredRun {
        run: ingested.run,
        replaced: Some(ingested.replaced),
        report: ingested.report,
    })
}

/// A stored run: its totals, at most `failures` failed tests, the `slowest` slowest
/// tests and its coverage.
pub async fn show(
    project: &Project,
    selector: &RunSelector,
    failures: usize,
    slowest: usize,
) -> Result<StoredRun> {
    let results = project.results().await?;
    let run = results.store.run(selector).await?;
    let report = results.store.report(&run, failures, slowest).await?;
    Ok(StoredRun {
        run,
        replaced: None,
        report,
    })
}

/// Flaky tests (failed and passed on one commit, or passed on a rerun) and broken ones
/// over the last `last` stored runs (default `results.flaky.window`), of `branch` when
/// given. Returns the window used with the report.
pub async fn flaky(
    project: &Project,
    last: Option<usize>,
    branch: Option<&str>,
) -> Result<(usize, FlakyReport)> {
    let results = project.results().await?;
    let mut options = results.config.flaky.clone();
    if let Some(last) = last {
        options.window = last.max(1);
    }
    let report = results.store.flaky(&options, branch).await?;
    Ok((options.window, report))
}

/// What `check` judges.
#[derive(Clone, Debug)]
pub struct CheckRequest {
    /// Report files to check; when empty, the stored run of `run`.
    pub files: Vec<PathBuf>,
    /// The stored run (default: the latest).
    pub run: RunSelector,
    /// Every failure counts: the quarantine is ignored.
    pub ignore_quarantine: bool,
}

impl Default for CheckRequest {
    /// The latest stored run, with the quarantine.
    fn default() -> Self {
        CheckRequest {
            files: Vec::new(),
            run: RunSelector::Latest,
            ignore_quarantine: false,
        }
    }
}

/// A check's verdict. As JSON: `run` (a stored run), `totals` and the outcome's fields.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// The stored run checked (none when files were checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunInfo>,
    /// The counts of the report checked.
    pub totals: Totals,
    /// Which failures block and which the quarantine excuses.
    #[serde(flatten)]
    pub outcome: CheckOutcome,
    /// The report checked (its reading errors, for warnings).
    #[serde(skip)]
    pub report: Report,
}

/// Checks report files, or a stored run, against the quarantine: failures of
/// quarantined tests alone pass, unless the test is broken (it failed in every recent
/// stored run) or a report was cut short.
pub async fn check(project: &Project, request: CheckRequest) -> Result<CheckReport> {
    check_readable(&request.files)?;
    let results = project.results().await?;
    let (run, report) = if request.files.is_empty() {
        let run = results.store.run(&request.run).await?;
        let report = results.store.report(&run, usize::MAX >> 1, 0).await?;
        (Some(run), report)
    } else {
        let options = ParseOptions::default().max_failures(usize::MAX);
        (None, parse(&request.files, options)?)
    };
    let (list, broken) = if request.ignore_quarantine {
        (Quarantine::default(), HashSet::new())
    } else {
        let list = crate::quarantine::list(project).await?;
        let broken = results
            .store
            .broken_tests(&results.config.flaky, None)
            .await?;
        (list, broken)
    };
    let outcome = quarantine::check(&report.failures, report.partial, &list, &broken);
    Ok(CheckReport {
        run,
        totals: report.totals.clone(),
        outcome,
        report,
    })
}

/// Removes stored runs beyond `retention` (with their suites, cases and coverage);
/// the quarantine stays.
///
/// ```no_run
/// # async fn run() -> flowspec::Result<()> {
/// let project = flowspec::Project::discover(std::path::Path::new("."))?;
/// let keep = flowspec::core::retention::Retention::older_than(std::time::Duration::from_secs(7 * 86_400));
/// let pruned = flowspec::test_results::prune(&project, &keep).await?;
/// println!("{} runs removed", pruned.results_runs);
/// # Ok(()) }
/// ```
pub async fn prune(
    project: &Project,
    retention: &flowspec_core::retention::Retention,
) -> Result<flowspec_core::retention::Pruned> {
    Ok(project.results().await?.store.prune(retention).await?)
}
