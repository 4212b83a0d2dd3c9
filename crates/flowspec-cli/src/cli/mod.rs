//! The command line, as clap types: every argument of every command is defined in
//! this module tree (`commands/` uses these types; nothing here uses `commands/`).

pub mod ci;
pub mod notify;
pub mod pr;
pub mod results;
pub mod server;
pub mod transport;

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Where the published documentation lives; help footers link below it.
macro_rules! docs {
    ($page:literal) => {
        concat!(
            "https://github.com/flowspec/flowspec/blob/main/docs/",
            $page,
            ".md"
        )
    };
}
pub(crate) use docs;

const AFTER_HELP: &str = concat!(
    "\
Examples:
  flowspec init                                   create a commented starter .flowspec/
  flowspec emit implement.completed --feature auth
  flowspec emit deploy.completed --data environment=staging --json
  echo '{\"event_type\":\"deploy.completed\"}' | flowspec emit --payload -
  flowspec hooks validate                         list every problem in hooks.yaml
  flowspec audit --since 1h --status failed
  flowspec integrations list                      configured notifiers, missing secrets
  flowspec notify test slack                      send a sample notification
  flowspec results ingest target/junit.xml --run 9876543210
  flowspec watch triggers/ --heartbeat heartbeat.json   files dropped in triggers/ become events
  flowspec subscribe --group laptops              run the hooks of events other machines publish
  flowspec ci trigger --workflow integration-tests.yml --input feature=auth

Durations: a bare number is seconds (--timeout 150); units are accepted (90s, 10m, 1h30m).
Exit codes: 0 ok, 1 error, 2 usage, 3 invalid config, 4 blocked by a fail_mode: stop hook,
5 hook test failed, 6 serve could not start, 7 notification not delivered,
8 watch --once: some file failed, 10 results check failed, 11 report unreadable,
12/13/14 CI run failed/cancelled/wait timed out, 15 CI request failed,
16 transport (Redis) unreachable or refused, 130 interrupted,
141 stdout was closed (e.g. `| head`).
Docs: ",
    docs!("cli")
);

/// React to workflow events: run local hooks, audit every run, never run twice.
#[derive(Debug, Parser)]
#[command(name = "flowspec", version, about, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

/// Options for every command.
#[derive(Debug, Args)]
pub struct Global {
    /// Hooks file to use instead of finding .flowspec/hooks/hooks.yaml upwards.
    #[arg(long, global = true, env = "FLOWSPEC_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Run as if started in DIR.
    #[arg(short = 'C', long = "directory", global = true, value_name = "DIR")]
    pub directory: Option<PathBuf>,

    /// More logging (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors: no hook output, no progress.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// When to color output: auto colors a terminal, unless NO_COLOR is set;
    /// CLICOLOR_FORCE colors a pipe too.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value_t = ColorChoice::Auto,
        overrides_with = "no_color"
    )]
    pub color: ColorChoice,

    /// The same as `--color never`.
    #[arg(long, global = true, hide = true, overrides_with = "color")]
    pub no_color: bool,
}

impl Global {
    /// The `--color` choice, with `--no-color` read as `never`.
    pub fn color_choice(&self) -> flowspec::render::ColorChoice {
        use flowspec::render::ColorChoice as Choice;
        match (self.no_color, self.color) {
            (true, _) | (false, ColorChoice::Never) => Choice::Never,
            (false, ColorChoice::Always) => Choice::Always,
            (false, ColorChoice::Auto) => Choice::Auto,
        }
    }
}

/// When to color output (`--color`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Color a stream that is a terminal, unless NO_COLOR is set; CLICOLOR_FORCE
    /// colors one that is not.
    #[default]
    Auto,
    /// Always color, whatever NO_COLOR says.
    Always,
    /// Never color.
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Emit an event: run every matching hook and print a report.
    #[command(after_help = concat!("\
The event is flat JSON: event_id, event_type, timestamp, feature, source, plus your fields.
--data key=value sets a string field; key:=JSON sets a typed one (count:=3, draft:=false).
Emitting the same --event-id again skips hooks that already succeeded (--force reruns them).
A project without hooks.yaml has nothing to run: emit says so and exits 0.

Examples:
  flowspec emit implement.completed --feature auth
  flowspec emit deploy.completed --data environment=staging --data attempt:=2
  flowspec emit --payload event.json --json
  flowspec emit deploy.requested --data environment=staging --publish   # to subscribers

Docs: ", docs!("hooks")))]
    Emit(EmitArgs),

    /// List, validate and test hooks.
    #[command(subcommand, after_help = concat!("\
Examples:
  flowspec hooks list
  flowspec hooks validate --json
  flowspec hooks test quality-gate --event implement.completed

Docs: ", docs!("hooks")))]
    Hooks(HooksCommand),

    /// Read the audit log.
    #[command(after_help = concat!("\
Examples:
  flowspec audit --since 1h
  flowspec audit --since 90                  the last 90 seconds
  flowspec audit --hook quality-gate --status failed --json
  flowspec audit --event-id 0193a5e2-...

Docs: ", docs!("cli")))]
    Audit(AuditArgs),

    /// Send notifications: test an integration, send an event, replay dead letters.
    #[command(subcommand, after_help = notify::NOTIFY_HELP)]
    Notify(notify::NotifyCommand),

    /// List the integrations of flowspec.yaml and what they are missing.
    #[command(subcommand, after_help = notify::NOTIFY_HELP)]
    Integrations(notify::IntegrationsCommand),

    /// Receive signed webhooks and events over HTTP; store them durably; run the hooks.
    #[command(after_help = server::serve_help())]
    Serve(server::ServeArgs),

    /// The dashboard alone: CI runs, logs, trigger and retry, the event queue, test results.
    #[command(after_help = server::DASHBOARD_HELP)]
    Dashboard(server::DashboardArgs),

    /// The server's durable event queue: list, show, replay.
    #[command(subcommand, after_help = server::EVENTS_HELP)]
    Events(server::EventsCommand),

    /// Watch a directory: files dropped there (*.json, *.trigger) become events.
    #[command(after_help = server::WATCH_HELP)]
    Watch(server::WatchArgs),

    /// Run the local hooks of events published to Redis (`transport:`) by other machines.
    #[command(after_help = transport::SUBSCRIBE_HELP)]
    Subscribe(transport::SubscribeArgs),

    /// Create a commented starter .flowspec/ (existing files are kept).
    #[command(after_help = concat!("\
Creates .flowspec/flowspec.yaml, .flowspec/hooks/hooks.yaml with four example hooks and
their scripts, env.example and a .gitignore for the state and .env.

Examples:
  flowspec init
  flowspec init path/to/repo

Docs: ", docs!("hooks")))]
    Init(InitArgs),

    /// Test reports and coverage: parse, store per CI run, show, flaky tests, check.
    #[command(subcommand, after_help = results::AFTER_HELP)]
    Results(results::ResultsCommand),

    /// Trigger, watch and steer CI runs (GitHub Actions, GitLab CI, Jenkins, CircleCI...).
    Ci(ci::CiArgs),

    /// Open, update, watch and merge pull requests (GitHub).
    Pr(pr::PrArgs),

    /// Write the manual pages of every command (roff) into a directory.
    #[command(after_help = "\
Writes flowspec.1 and one page per subcommand (flowspec-ci.1, flowspec-ci-trigger.1...),
made from the same definitions as --help.

Examples:
  flowspec man --output ~/.local/share/man/man1 && man flowspec-emit
  flowspec man --output target/man && man -l target/man/flowspec-serve.1")]
    Man {
        /// The directory to write the pages into (created when missing).
        #[arg(long, short, value_name = "DIR")]
        output: std::path::PathBuf,
        /// Print the directory and the pages written as JSON.
        #[arg(long)]
        json: bool,
    },

    /// Print the script that makes your shell complete flowspec: commands, flags, and
    /// the names in your project (hooks, integrations, CI profiles).
    ///
    /// The script calls flowspec back on TAB, so names follow your files as they change;
    /// print it again after upgrading flowspec. bash, zsh, fish, elvish and powershell.
    #[command(after_help = "\
Examples:
  flowspec completions bash > ~/.local/share/bash-completion/completions/flowspec
  echo 'source <(flowspec completions zsh)' >> ~/.zshrc
  flowspec completions fish > ~/.config/fish/completions/flowspec.fish
  echo 'source <(flowspec completions bash)' >> ~/.bashrc   (bash, instead of the file)")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
        /// The program the script calls on TAB (default: flowspec as you called it now;
        /// give `flowspec` when writing the script for another machine).
        #[arg(long, value_name = "PATH")]
        program: Option<PathBuf>,
    },
}

/// `events prune` and `results prune`: limits that replace `state.retention`'s.
#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Remove what finished longer ago than this (default: `state.retention.max_age`, 30d;
    /// `0` for no age limit).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub older_than: Option<Duration>,
    /// Keep at most the newest N (default: `state.retention.max_events` for events,
    /// `max_results_runs` for results; `0` for no count limit).
    #[arg(long, value_name = "N")]
    pub keep: Option<u64>,
    /// Print what was removed as JSON.
    #[arg(long)]
    pub json: bool,
}

impl PruneArgs {
    /// `base` with the limits given on the command line.
    pub fn retention(
        &self,
        base: &flowspec_core::retention::Retention,
        events: bool,
    ) -> flowspec_core::retention::Retention {
        let mut keep = base.clone();
        if let Some(age) = self.older_than {
            keep.max_age = Some(age);
        }
        if let Some(n) = self.keep {
            if events {
                keep.max_events = n;
            } else {
                keep.max_results_runs = n;
            }
        }
        keep
    }
}

/// A duration on any flag: a bare number is seconds (`150`, `2.5`), units are
/// accepted (`90s`, `10m`, `1h30m`, `500ms`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    flowspec_core::duration::parse(text).map_err(|e| e.to_string())
}

/// A value among `names`, read as `T` reads that name in JSON (the library's own
/// spelling), listed in the help as its possible values.
pub fn one_of<T>(names: &'static [&'static str]) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    clap::builder::PossibleValuesParser::new(names)
        .try_map(|name| serde_json::from_value(serde_json::Value::String(name)))
}

/// A duration that must be more than zero (intervals).
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(duration)
}

#[derive(Debug, Args)]
pub struct EventArgs {
    /// Event feature.
    #[arg(long, value_name = "F")]
    pub feature: Option<String>,

    /// Set a top-level field: key=value (string) or key:=JSON (typed). Repeatable.
    #[arg(long = "data", short = 'd', value_name = "KEY=VALUE")]
    pub data: Vec<String>,

    /// Read the event (a JSON object) from FILE, or from stdin with `-`.
    #[arg(long, value_name = "FILE|-")]
    pub payload: Option<String>,

    /// Event id (default: a new UUIDv7).
    #[arg(long, value_name = "ID")]
    pub event_id: Option<String>,

    /// Event source (default: cli).
    #[arg(long, value_name = "S")]
    pub source: Option<String>,
}

#[derive(Debug, Args)]
pub struct EmitArgs {
    /// The event type, e.g. implement.completed (may come from --payload instead).
    pub event_type: Option<String>,

    #[command(flatten)]
    pub event: EventArgs,

    /// Show which hooks would run, in which groups; run and record nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Run hooks even if they already succeeded for this event id.
    #[arg(long)]
    pub force: bool,

    /// Publish the event to the stream of `transport:` (for `flowspec subscribe` on other
    /// machines) instead of running local hooks.
    #[arg(long, conflicts_with_all = ["dry_run", "force"])]
    pub publish: bool,

    /// Print the report as JSON on stdout (hook output goes to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// List hooks (all, or those an event type would trigger).
    #[command(after_help = "\
Examples:
  flowspec hooks list
  flowspec hooks list --event deploy.completed --json")]
    List {
        /// Only hooks whose selectors match this event type (filters not applied).
        #[arg(long, value_name = "TYPE")]
        event: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check hooks.yaml and flowspec.yaml; report every problem at once.
    #[command(after_help = "\
Examples:
  flowspec hooks validate
  flowspec hooks validate --json")]
    Validate {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run one hook now with a sample event (no idempotency; audited with "test": true).
    #[command(after_help = "\
Examples:
  flowspec hooks test quality-gate
  flowspec hooks test deploy-staging --event deploy.completed --data environment=staging")]
    Test {
        /// The hook's name.
        #[arg(add = crate::complete::hook_names())]
        name: String,
        /// The event type (default: the hook's first non-wildcard event type).
        #[arg(long, value_name = "TYPE")]
        event: Option<String>,
        #[command(flatten)]
        event_args: EventArgs,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this event id.
    #[arg(long, value_name = "ID")]
    pub event_id: Option<String>,
    /// Only this hook.
    #[arg(long, value_name = "NAME", add = crate::complete::hook_names())]
    pub hook: Option<String>,
    /// Only this status.
    #[arg(long, value_name = "S", value_parser = one_of::<flowspec_core::HookStatus>(&["success", "failed", "timeout", "skipped"]))]
    pub status: Option<flowspec_core::HookStatus>,
    /// Only entries newer than this: a duration (seconds, or 30m, 2h, 7d) or an RFC 3339 time.
    #[arg(long, value_name = "DURATION|TIME")]
    pub since: Option<String>,
    /// At most the last N entries.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to create .flowspec/ (default: the current directory).
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
}
