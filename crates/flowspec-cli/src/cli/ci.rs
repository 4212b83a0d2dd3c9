//! `flowspec ci ...` arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use flowspec_core::provider::CommitState;

use super::{docs, one_of, parse_duration};

const AFTER_HELP: &str = concat!(
    "\
The CI comes from `ci:` in .flowspec/flowspec.yaml (provider: github | gitlab | ...);
tokens from GITHUB_TOKEN/GH_TOKEN, GITLAB_TOKEN... or `token: ${VAR}`.

Examples:
  flowspec ci trigger --workflow integration-tests.yml --input feature=auth
  flowspec ci wait --run 22222222222 --timeout 30m
  flowspec ci logs --run 22222222222 --job build --follow
  flowspec ci retry --run 22222222222 --failed
  flowspec ci artifacts --run 22222222222 --output out/ --unzip
  flowspec ci list --branch main --limit 5 --json
  flowspec ci report-status --sha $(git rev-parse HEAD) --state success --context flowspec/tests
  flowspec ci results --run 22222222222           download the run's test reports and store them
  flowspec ci wait --run 22222222222 --quarantine --retry-flaky
  flowspec ci fix --run 22222222222                failure context for a fixer hook

Exit codes: 0 ok (ci wait: the run succeeded), 12 the run failed, 13 the run was cancelled,
14 ci wait timed out, 15 the CI refused or failed a request, 11 no readable test report
(ci results), 4 a fail_mode: stop hook failed (ci fix), 12 the fix rounds of --max-attempts ran
out (ci fix), 3 invalid config, 2 usage.
Docs: ",
    docs!("ci")
);

/// `flowspec ci`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct CiArgs {
    /// The `ci.profiles` entry to use (default: `ci.default`, or the only one).
    #[arg(long, global = true, value_name = "NAME", add = crate::complete::profile_names())]
    pub profile: Option<String>,

    /// Print JSON on stdout (progress stays on stderr).
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: CiCommand,
}

#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Start a run of a workflow (pipeline, job) and print its id.
    #[command(after_help = "\
Examples:
  flowspec ci trigger --workflow integration-tests.yml
  flowspec ci trigger --workflow deploy.yml --branch main --input env=staging --wait")]
    Trigger {
        /// The workflow (GitHub: file name; default: `workflow` in the `ci:` config).
        #[arg(long, value_name = "NAME")]
        workflow: Option<String>,
        /// The branch or tag (default: `ref` in the config, else the current branch).
        #[arg(long, value_name = "REF")]
        branch: Option<String>,
        /// An input, variable or parameter: key=value. Repeatable.
        #[arg(long = "input", short = 'i', value_name = "KEY=VALUE", value_parser = parse_input)]
        inputs: Vec<(String, String)>,
        /// Wait for the run to end (exit codes as `ci wait`).
        #[arg(long)]
        wait: bool,
        /// With --wait: give up after this long (seconds, or 30s, 10m, 1h).
        #[arg(long, value_name = "DURATION", requires = "wait", value_parser = parse_duration)]
        timeout: Option<Duration>,
    },
    /// Show a run and its jobs.
    #[command(after_help = "\
Examples:
  flowspec ci status --run 22222222222
  flowspec ci status --run 22222222222 --json")]
    Status {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
    },
    /// Wait until a run ends, showing its jobs; the exit code says how it ended.
    #[command(after_help = "\
Polls adaptively: the provider's start interval (GitHub 10 s, GitLab 5 s), stretched ×1.5 up
to 60 s while nothing changes; GitHub polls use ETags, so unchanged answers cost no rate limit.

--retry-flaky: when the run fails, its test reports are downloaded and stored; if the
results.auto_retry policy says so (every failure a known flaky test, retries left), the failed
jobs are retried and the wait goes on. --quarantine: a failed run whose failures are all
quarantined tests (not broken, report complete) exits 0. Each decision is printed.

Exit codes: 0 success (or every failure quarantined, with --quarantine), 12 failed,
13 cancelled, 14 timed out (the run keeps going), 15 a retry request failed.

Examples:
  flowspec ci wait --run 22222222222 --timeout 30m
  flowspec ci wait --run 22222222222 --timeout 1800      the same, in seconds
  flowspec ci wait --run 22222222222 --retry-flaky --quarantine --json")]
    Wait {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
        /// Give up after this long (seconds, or 30s, 10m, 1h); retries included.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
        /// Exit 0 when the run failed only in quarantined tests (results.quarantine).
        #[arg(long)]
        quarantine: bool,
        /// Retry the failed jobs when every failure is a known flaky test (results.auto_retry).
        #[arg(long)]
        retry_flaky: bool,
    },
    /// Download a run's test reports (JUnit, Cobertura, LCOV artifacts) and store them.
    #[command(after_help = "\
Artifacts are chosen by name (results.artifacts; default *junit*, *test-result*, *test-report*,
*surefire*, *nextest*, *.xml, *coverage*, *lcov*), unpacked safely, and every report found
inside is stored as the run, with its attempt, commit and branch. Then `flowspec results show
--run ID`, `results flaky` and `ci wait --quarantine` use them.

Exit codes: 0 stored, 11 no report artifact or no readable report (or one cut short),
15 the CI refused or failed a request.

Examples:
  flowspec ci results --run 22222222222
  flowspec ci results --run 22222222222 --json")]
    Results {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
        /// Failed tests listed at most.
        #[arg(long, value_name = "N", default_value_t = 50)]
        failures: usize,
    },
    /// Bundle a failed run's failure context and hand it to fixer hooks (`ci.fix.requested`).
    #[command(after_help = "\
Gathers the failed tests with messages and stack excerpts (the run's stored results; they are
downloaded first when missing), the log lines around each error from the failed jobs' logs
(secrets masked), the commit and branch, into fix-context.md and fix-context.json, then emits
`ci.fix.requested` with run_id, provider, markdown_path, json_path and a short summary: a hook
on that event (any agent or script) reads it on stdin.

--max-attempts N counts the fix rounds of the run's branch in the project's store: once N
`ci.fix.requested` were emitted for that branch, a failed run emits `ci.fix.exhausted` (branch,
pr, attempts, max_attempts, run_id) instead, for a notify: hook, and exits 12. A run that
succeeded starts the branch's count again; --reset does only that.

Exit codes: 0 done (or nothing to fix), 12 the fix rounds ran out (ci.fix.exhausted), 4 a
fail_mode: stop hook failed, 2 the run is still going, 15 the CI refused or failed a request.

Examples:
  flowspec ci fix --run 22222222222
  flowspec ci fix --run 22222222222 --output fix/ --json
  flowspec ci fix --run 22222222222 --max-attempts 3
  flowspec ci fix --run 22222222222 --reset")]
    Fix {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
        /// Where to write the bundle (default: .flowspec/fix/RUN_ID/).
        #[arg(long, short = 'o', value_name = "DIR")]
        output: Option<PathBuf>,
        /// At most N fix rounds per branch; then `ci.fix.exhausted` and exit 12
        /// (e.g. --max-attempts 3).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        max_attempts: Option<u32>,
        /// Forget the fix rounds counted for the run's branch, and do nothing else.
        #[arg(long, conflicts_with = "max_attempts")]
        reset: bool,
    },
    /// Print a job's log; --follow streams it until the job ends.
    #[command(after_help = "\
--follow polls every 2 s while the log grows, stretching ×1.5 up to 10 s while it does not.
Control characters other than newlines and tabs are shown escaped (ESC as \\u{1b}), so a log
cannot retitle or clear the terminal; --raw prints the bytes as the CI sent them.

Examples:
  flowspec ci logs --run 22222222222
  flowspec ci logs --run 22222222222 --job build --follow
  flowspec ci logs --run 22222222222 --job build --raw > build.log")]
    Logs {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
        /// The job: its id or name (default: the only job, or every job's log).
        #[arg(long, value_name = "JOB")]
        job: Option<String>,
        /// Keep printing new text until the job ends.
        #[arg(long, short = 'f')]
        follow: bool,
        /// Print the log's bytes as they are, terminal control sequences included.
        #[arg(long)]
        raw: bool,
    },
    /// Run a run again: all of it, its failed jobs, or one job.
    #[command(after_help = "\
Examples:
  flowspec ci retry --run 22222222222
  flowspec ci retry --run 22222222222 --failed
  flowspec ci retry --run 22222222222 --job build")]
    Retry {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
        /// Only this job (id or name).
        #[arg(long, value_name = "JOB", conflicts_with = "failed")]
        job: Option<String>,
        /// Only the failed jobs.
        #[arg(long)]
        failed: bool,
    },
    /// Cancel a run.
    #[command(after_help = "\
Examples:
  flowspec ci cancel --run 22222222222
  flowspec ci cancel --run 22222222222 --json")]
    Cancel {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
    },
    /// Download a run's artifacts into a folder.
    #[command(after_help = "\
Each artifact is streamed to OUTPUT/<name> (names are sanitized: no path can escape OUTPUT).
--unzip unpacks zip artifacts into OUTPUT/<name>/ and refuses entries such as `../x`, and
archives that unpack to more than --unzip-max-mib (4096 MiB) or 100,000 entries: a zip bomb
stops there, with the files unpacked so far kept.

Examples:
  flowspec ci artifacts --run 22222222222 --output out/
  flowspec ci artifacts --run 22222222222 --output out/ --name junit --unzip")]
    Artifacts {
        /// The run id.
        #[arg(long, value_name = "ID")]
        run: String,
        /// The folder to write into (created if needed).
        #[arg(long, short = 'o', value_name = "DIR")]
        output: PathBuf,
        /// Only artifacts with this name. Repeatable.
        #[arg(long, value_name = "NAME")]
        name: Vec<String>,
        /// Unpack zip archives.
        #[arg(long)]
        unzip: bool,
        /// With --unzip: the most one archive may unpack to, in MiB.
        #[arg(long, value_name = "MIB", default_value_t = 4096, requires = "unzip")]
        unzip_max_mib: u64,
    },
    /// List recent runs.
    #[command(after_help = "\
Examples:
  flowspec ci list
  flowspec ci list --branch main --workflow ci.yml --limit 5 --json")]
    List {
        /// Only runs of this branch.
        #[arg(long, value_name = "B")]
        branch: Option<String>,
        /// Only runs of this workflow.
        #[arg(long, value_name = "NAME")]
        workflow: Option<String>,
        /// At most this many runs.
        #[arg(long, value_name = "N", default_value_t = 20)]
        limit: usize,
    },
    /// Set a commit status on the forge.
    #[command(after_help = "\
Examples:
  flowspec ci report-status --sha $(git rev-parse HEAD) --state success --context flowspec/tests
  flowspec ci report-status --sha 3f2a9c1d... --state failed --description '2 tests failed'")]
    ReportStatus {
        /// The full commit sha.
        #[arg(long, value_name = "SHA")]
        sha: String,
        /// The state.
        #[arg(long, value_parser = one_of::<CommitState>(&["pending", "running", "success", "failed", "error", "cancelled", "skipped"]))]
        state: CommitState,
        /// The label (e.g. flowspec/tests).
        #[arg(long, value_name = "LABEL")]
        context: Option<String>,
        /// A short description.
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
        /// A link to details.
        #[arg(long, value_name = "URL")]
        target_url: Option<String>,
        /// The branch or tag (GitLab uses it to pick the pipeline).
        #[arg(long = "ref", value_name = "REF")]
        git_ref: Option<String>,
    },
    /// List the CI providers this build knows and the configured profiles.
    #[command(after_help = "\
Examples:
  flowspec ci providers
  flowspec ci providers --json")]
    Providers,
}

/// `--input key=value`: the key must not be empty.
fn parse_input(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some(("", _)) => Err("the key is empty".into()),
        Some((key, value)) => Ok((key.to_owned(), value.to_owned())),
        None => Err("expected KEY=VALUE".into()),
    }
}
