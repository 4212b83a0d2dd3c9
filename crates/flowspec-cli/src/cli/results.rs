//! `flowspec results ...` arguments.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use flowspec_results::store::RunSelector;

use super::docs;

pub const AFTER_HELP: &str = concat!("\
Reports: JUnit XML (Maven Surefire/Failsafe, Gradle, pytest, Jest, Mocha, Go, cargo-nextest,
PHPUnit, .NET), Cobertura XML and LCOV; the format of each file is detected.

Examples:
  flowspec results parse target/nextest/ci/junit.xml --json
  flowspec results ingest build/test-results/**/*.xml coverage.xml --run 9876543210
  flowspec results show                      the latest run: totals, failures, slowest, coverage
  flowspec results flaky --last 30           flaky (failed and passed on one commit) and broken tests
  flowspec results check junit.xml           exit 10 if a test failed that is not quarantined
  flowspec results quarantine add 'com.example.CheckoutIT::paysWithCard' --reason JIRA-123

Exit codes: 0 ok, 1 error, 3 invalid config, 10 `check` failed, 11 a report could not be read
to its end, or a file is missing (what was read is still shown or stored).
Docs: ", docs!("results"));

#[derive(Debug, Subcommand)]
pub enum ResultsCommand {
    /// Parse reports and store them as one CI run.
    #[command(after_help = "\
Commit and branch default to the git checkout (or GITHUB_SHA/CI_COMMIT_SHA and the branch
variables of GitHub Actions and GitLab CI). Ingesting the same --run and --attempt again
replaces the stored run.

Examples:
  flowspec results ingest target/junit.xml
  flowspec results ingest target/surefire-reports/*.xml --run 9876543210 --attempt 2")]
    Ingest(IngestArgs),
    /// Show a stored run: totals, failed tests with messages, slowest tests, coverage.
    #[command(after_help = "\
Examples:
  flowspec results show
  flowspec results show --run 9876543210 --json")]
    Show(ShowArgs),
    /// Parse reports and print the normalized result, storing nothing.
    #[command(after_help = "\
Examples:
  flowspec results parse junit.xml
  flowspec results parse junit.xml lcov.info --json")]
    Parse(ParseArgs),
    /// Flaky tests (failed and passed on one commit, or passed on a rerun), ranked by
    /// flip rate; broken tests (always failing) apart; outage runs ignored.
    #[command(after_help = "\
Examples:
  flowspec results flaky
  flowspec results flaky --last 50 --branch main --json")]
    Flaky(FlakyArgs),
    /// Fail (exit 10) when a run has failures that quarantine does not excuse.
    #[command(after_help = "\
Checks the given report files, or a stored run (the latest by default). Failures of
quarantined tests (results.quarantine in flowspec.yaml, or `results quarantine add`) alone
do not fail the check, unless the test is broken (failed in every recent stored run).

Examples:
  flowspec results check target/junit.xml
  flowspec results check --run 9876543210 --json")]
    Check(CheckArgs),
    /// The stored quarantine: add, remove, list.
    #[command(
        subcommand,
        after_help = "\
Examples:
  flowspec results quarantine add 'com.example.CheckoutIT::paysWithCard' --reason JIRA-123
  flowspec results quarantine list"
    )]
    Quarantine(QuarantineCommand),
    /// Remove stored runs beyond `state.retention` with their suites, cases and coverage
    /// (the quarantine stays).
    #[command(after_help = "\
Examples:
  flowspec results prune                        # the limits of state.retention
  flowspec results prune --older-than 90d --keep 500 --json")]
    Prune(super::PruneArgs),
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Report files (JUnit XML, Cobertura XML, LCOV).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The CI provider's run id (default: a local id).
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    /// The run's attempt (a rerun of the same run id).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub attempt: u32,
    /// The commit (default: the checkout's HEAD).
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// The branch (default: the checkout's branch).
    #[arg(long, value_name = "B")]
    pub branch: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A provider run id (default: the latest stored run).
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    /// The attempt of --run (default: its latest).
    #[arg(long, value_name = "N", requires = "run")]
    pub attempt: Option<u32>,
}

impl RunArgs {
    pub fn selector(&self) -> RunSelector {
        match &self.run {
            Some(id) => RunSelector::Run {
                id: id.clone(),
                attempt: self.attempt,
            },
            None => RunSelector::Latest,
        }
    }
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Failed tests listed at most.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub failures: usize,
    /// Slowest tests listed.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub slowest: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// Report files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Include every test case (memory grows with the report).
    #[arg(long)]
    pub cases: bool,
    /// Failed tests listed at most.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub failures: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FlakyArgs {
    /// Recent runs considered (default: results.flaky.window, 20).
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
    /// Only runs of this branch.
    #[arg(long, value_name = "B")]
    pub branch: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Report files to check (default: a stored run).
    #[arg(value_name = "FILE", conflicts_with = "run")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
    /// Ignore the quarantine: every failure counts.
    #[arg(long)]
    pub no_quarantine: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// Quarantine a test id (`classname::name`; `*` matches any text).
    #[command(after_help = "\
Examples:
  flowspec results quarantine add 'com.example.CheckoutIT::paysWithCard' --reason JIRA-123
  flowspec results quarantine add 'tests::network::*'")]
    Add {
        /// The test id or pattern.
        test: String,
        /// Why (an issue link).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Lift a stored quarantine.
    #[command(after_help = "\
Examples:
  flowspec results quarantine remove 'com.example.CheckoutIT::paysWithCard'")]
    Remove {
        /// The test id or pattern, as added.
        test: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List quarantined tests (config and store).
    #[command(after_help = "\
Examples:
  flowspec results quarantine list
  flowspec results quarantine list --json")]
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}
