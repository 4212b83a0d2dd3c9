//! `flowspec pr ...` arguments.

use std::time::Duration;

use clap::{Args, Subcommand};

use super::{docs, parse_duration};

const AFTER_HELP: &str = concat!(
    "\
The forge is the `github` profile of `ci:` in .flowspec/flowspec.yaml (repo, token, api_url);
the head branch defaults to the current branch.

Examples:
  flowspec pr create --title \"feat: auth\" --base main --label automated
  flowspec pr status --json
  flowspec pr merge --method squash --when-green --delete-branch
  flowspec pr comment --results target/junit.xml
  flowspec pr list

Exit codes: 0 ok, 12 a check failed (pr merge), 14 pr merge --when-green timed out,
15 the forge refused or failed a request (a refused merge, a conflict), 3 invalid config.
Docs: ",
    docs!("pr")
);

/// `flowspec pr`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct PrArgs {
    /// The `ci.profiles` entry of the forge (default: `ci.default`, or the only one).
    #[arg(long, global = true, value_name = "NAME", add = crate::complete::profile_names())]
    pub profile: Option<String>,

    /// Print JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: PrCommand,
}

/// What a pull request is opened or updated with.
#[derive(Debug, Args)]
pub struct PrFields {
    /// The title.
    #[arg(long)]
    pub title: String,
    /// The description (Markdown).
    #[arg(long)]
    pub body: Option<String>,
    /// The branch to merge into.
    #[arg(long, default_value = "main")]
    pub base: String,
    /// The branch with the changes (default: the current branch).
    #[arg(long)]
    pub head: Option<String>,
    /// A label to add (repeatable).
    #[arg(long = "label", value_name = "NAME")]
    pub labels: Vec<String>,
    /// A reviewer to ask: a login or `org/team` (repeatable).
    #[arg(long = "reviewer", value_name = "WHO")]
    pub reviewers: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum PrCommand {
    /// Open the pull request of the head branch, or update the open one.
    #[command(after_help = "\
Examples:
  flowspec pr create --title \"feat: auth\" --body \"Adds login.\" --reviewer octo/reviewers")]
    Create {
        #[command(flatten)]
        fields: PrFields,
        /// Open as a draft.
        #[arg(long)]
        draft: bool,
        /// Turn on auto-merge with this method: squash, merge or rebase.
        #[arg(long, value_name = "METHOD")]
        auto_merge: Option<String>,
    },
    /// Update the open pull request of the head branch (or --pr N).
    #[command(after_help = "\
Examples:
  flowspec pr update --title \"feat: auth (v2)\"")]
    Update {
        /// The pull request number.
        #[arg(long, value_name = "N")]
        pr: Option<u64>,
        #[command(flatten)]
        fields: PrFields,
    },
    /// List open pull requests.
    #[command(after_help = "\
Examples:
  flowspec pr list --limit 5 --json")]
    List {
        /// At most this many.
        #[arg(long, default_value_t = 30)]
        limit: usize,
    },
    /// Checks, statuses, reviews and mergeability of a pull request.
    #[command(after_help = "\
Examples:
  flowspec pr status --pr 7 --json")]
    Status {
        /// The pull request number (default: the open one of the current branch).
        #[arg(long, value_name = "N")]
        pr: Option<u64>,
    },
    /// Post the results summary as one sticky comment, edited in place on every run.
    #[command(after_help = "\
The comment starts with the hidden line <!-- flowspec:results -->: later runs find it and edit
it in place, so a pull request has one results comment. --check-run NAME also creates a GitHub
check run on the head commit (success or failure from the results) with an annotation on the
file and line of each failed test that has them (GitHub takes 50 per request: the rest follow
in batches). GitLab has no check runs: --check-run is refused there.

Examples:
  flowspec pr comment --pr 7 --results target/junit.xml
  flowspec pr comment --results target/surefire-reports/TEST-a.xml target/surefire-reports/TEST-b.xml --check-run tests
  flowspec pr comment --results junit.xml --run-url https://github.com/octo/app/actions/runs/42")]
    Comment {
        /// The pull request number (default: the open one of the current branch).
        #[arg(long, value_name = "N")]
        pr: Option<u64>,
        /// Test reports (JUnit XML and the other formats `results summary` reads).
        #[arg(long, required = true, num_args = 1.., value_name = "FILES")]
        results: Vec<std::path::PathBuf>,
        /// At most this many failed tests listed.
        #[arg(long, default_value_t = 50)]
        failures: usize,
        /// Also create a GitHub check run of this name on the head commit, with an
        /// annotation per failed test that has a file and line (e.g. --check-run tests).
        #[arg(long, value_name = "NAME")]
        check_run: Option<String>,
        /// The CI run's page, linked from the comment and the check run.
        #[arg(long, value_name = "URL")]
        run_url: Option<String>,
    },
    /// Merge a pull request, optionally once every check is green.
    #[command(after_help = "\
Examples:
  flowspec pr merge --pr 7 --method squash --when-green --timeout 30m --delete-branch")]
    Merge {
        /// The pull request number (default: the open one of the current branch).
        #[arg(long, value_name = "N")]
        pr: Option<u64>,
        /// squash, merge or rebase.
        #[arg(long, default_value = "merge", value_name = "METHOD")]
        method: String,
        /// Wait (polling) until every check and status succeeded; a failed one ends
        /// it with exit 12.
        #[arg(long)]
        when_green: bool,
        /// The longest wait with --when-green.
        #[arg(long, value_parser = parse_duration, default_value = "1h")]
        timeout: Duration,
        /// Between two looks at the checks.
        #[arg(long, value_parser = parse_duration, default_value = "15s")]
        interval: Duration,
        /// Delete the head branch after the merge.
        #[arg(long)]
        delete_branch: bool,
    },
}
