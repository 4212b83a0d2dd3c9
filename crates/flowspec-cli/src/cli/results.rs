//! `flowspec results ...` arguments.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use flowspec_results::store::RunSelector;

use super::docs;

pub const AFTER_HELP: &str = concat!("\
Reports: JUnit XML (Maven Surefire/Failsafe, Gradle, pytest, Jest, Mocha, Go, cargo-nextest,
PHPUnit, .NET), NUnit and xUnit.net XML, TRX, CTRF, TAP, Jest/mocha/RSpec JSON, `go test
-json`, `dart test --reporter json`; coverage: Cobertura XML, JaCoCo XML, LCOV, Go cover
profiles. The format of each file is detected from its content.

Examples:
  flowspec results parse target/nextest/ci/junit.xml --json
  flowspec results summary build/test-results/**/*.xml --step-summary --annotations
  flowspec results convert TestResults/*.trx --to junit --output junit.xml
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
    /// A CI job summary of reports: totals, suites, failed and flaky tests, coverage.
    #[command(after_help = "\
Markdown by default, for GitHub's job summary page: --step-summary appends it to the file
in $GITHUB_STEP_SUMMARY (done anyway when GITHUB_ACTIONS=true and the variable is set).
--annotations prints `::error file=F,line=L,title=T::MESSAGE` workflow commands, so that
GitHub marks each failed test in the diff (files under $GITHUB_WORKSPACE made relative).

Examples:
  flowspec results summary target/surefire-reports/*.xml
  flowspec results summary junit.xml coverage.xml --step-summary --annotations
  flowspec results summary report.trx --format text")]
    Summary(SummaryArgs),
    /// Convert test reports to JUnit XML or CTRF JSON.
    #[command(after_help = "\
Reads any test report format flowspec knows (several files become one report) and
writes JUnit XML (one <testsuite> per suite) or CTRF JSON, to stdout or --output.

Examples:
  flowspec results convert TestResults/run.trx --to junit --output junit.xml
  flowspec results convert jest.json rspec.json --to ctrf > ctrf-report.json")]
    Convert(ConvertArgs),
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
    /// Report files (any test or coverage format).
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

/// What `results summary` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    /// GitHub-flavoured Markdown.
    Markdown,
    /// For a terminal.
    Text,
    /// The report, with the flaky tests named.
    Json,
}

#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// Report files (any test or coverage format).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = SummaryFormat::Markdown)]
    pub format: SummaryFormat,
    /// Append the Markdown summary to the file named by $GITHUB_STEP_SUMMARY.
    #[arg(long)]
    pub step_summary: bool,
    /// Print GitHub Actions `::error` commands for the failed tests.
    #[arg(long)]
    pub annotations: bool,
    /// Failed tests shown (and annotated) at most.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub failures: usize,
}

/// What `results convert` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ConvertFormat {
    /// JUnit XML.
    Junit,
    /// CTRF JSON.
    Ctrf,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Test report files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The format to write.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub to: ConvertFormat,
    /// Write to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
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
