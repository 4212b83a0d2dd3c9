//! `flowspec serve`, `flowspec events ...` and `flowspec watch` arguments.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use flowspec_server::queue::QueueStatus;

use super::{docs, one_of, parse_interval};

pub const EVENTS_HELP: &str = concat!(
    "\
The queue holds every event `flowspec serve` accepted, with its status and attempts.

Examples:
  flowspec events list --status dead
  flowspec events show github-6f1c...
  flowspec events replay --failed

Docs: ",
    docs!("serve")
);

/// `flowspec serve --help`'s footer: the sources come from the receiver's own table,
/// so every source, path, scheme and variable it knows is listed.
pub fn serve_help() -> String {
    let mut help = String::from(
        "Sources, each on once it has a credential (`server.sources.<name>.<key>` in flowspec.yaml,\n\
         else the variable named after the key); the server never runs a source without one:\n",
    );
    for source in flowspec_server::sources::SOURCES {
        let path = format!("POST {}", source.path);
        help.push_str(&format!(
            "  {:<9} {path:<24} {}\n",
            source.name, source.scheme
        ));
        let credentials: Vec<String> = source
            .credentials
            .iter()
            .map(|c| match c.variable {
                Some(variable) => format!("{}: {variable}", c.key),
                None => c.key.to_owned(),
            })
            .collect();
        help.push_str(&format!("  {:<9} {}\n", "", credentials.join(", ")));
    }
    help.push_str(concat!("\
Also: GET /healthz, /readyz, /metrics (Prometheus). Settings: `server:` in .flowspec/flowspec.yaml.
Every accepted event is stored durably before the 202; SIGTERM drains running hooks.

Examples:
  FLOWSPEC_EVENTS_TOKEN=s3cret flowspec serve --bind 127.0.0.1:8080
  curl -X POST http://127.0.0.1:8080/events -H 'Authorization: Bearer s3cret' \\
       -H 'Content-Type: application/json' -d '{\"event_type\":\"deploy.completed\",\"environment\":\"staging\"}'

Exit codes: 0 stopped by SIGTERM or Ctrl-C, 3 invalid config, 6 no source has a secret or the
address is taken.
Docs: ", docs!("serve")));
    help
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default: server.bind, or 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,

    /// Events dispatched at the same time (default: server.workers, or 4).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
}

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Address to listen on (default: server.bind, or 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
}

pub const DASHBOARD_HELP: &str = concat!(
    "\
The dashboard shows the CI runs of the `ci:` profiles (jobs, logs followed live, artifacts,
Retry failed / Retry all / Cancel, a trigger form), the receiver's event queue with replay,
and the stored test results with flaky tests and the quarantine. It is off until a token is
set; the login page asks for it:

  server:
    dashboard:
      token: ${FLOWSPEC_DASHBOARD_TOKEN}
      secure_cookie: true     # behind TLS
      session_ttl: 12h

`flowspec serve` serves it too, under /ui/ beside the receiver, when the token is set.

Examples:
  FLOWSPEC_DASHBOARD_TOKEN=let-me-in flowspec dashboard --bind 127.0.0.1:8090
  then open http://127.0.0.1:8090/ui/

Exit codes: 0 stopped by SIGTERM or Ctrl-C, 3 invalid config, 6 no token or the address is taken.
Docs: ",
    docs!("dashboard")
);

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List queued events, newest first.
    #[command(after_help = "\
Examples:
  flowspec events list
  flowspec events list --status dead --limit 10 --json")]
    List {
        /// Only this status.
        #[arg(long, value_name = "S", value_parser = one_of::<QueueStatus>(&["pending", "running", "done", "dead"]))]
        status: Option<QueueStatus>,
        /// At most N events.
        #[arg(long, default_value_t = 50, value_name = "N")]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One event: its queue record, payload, hook runs and audit lines.
    #[command(after_help = "\
Examples:
  flowspec events show github-6f1c...
  flowspec events show github-6f1c... --json")]
    Show {
        /// The event id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Dispatch an event again now (hooks that already succeeded are skipped unless --force).
    #[command(after_help = "\
Examples:
  flowspec events replay github-6f1c...
  flowspec events replay --failed
  flowspec events replay ID --force
  flowspec events replay ID --enqueue-only   # let a running `flowspec serve` do it")]
    Replay {
        /// The event id.
        #[arg(required_unless_present = "failed", conflicts_with = "failed")]
        id: Option<String>,
        /// Every dead event.
        #[arg(long)]
        failed: bool,
        /// Run hooks even if they already succeeded for the event.
        #[arg(long)]
        force: bool,
        /// Only mark the event(s) pending, for a running server to dispatch.
        #[arg(long)]
        enqueue_only: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove finished events and their hook runs beyond `state.retention` (as
    /// `flowspec serve` does every hour); pending and running events always stay.
    #[command(after_help = "\
Dead letters stay unless --dead is given. Once an event's hook runs are removed, the same
event id would run its hooks again.

Examples:
  flowspec events prune                      # the limits of state.retention (30d by default)
  flowspec events prune --older-than 7d --keep 10000
  flowspec events prune --dead --older-than 1s --json   # also every dead letter")]
    Prune {
        #[command(flatten)]
        limits: super::PruneArgs,
        /// Remove dead letters within the limits too.
        #[arg(long)]
        dead: bool,
    },
}

pub const WATCH_HELP: &str = concat!("\
Files dropped in DIR become events, dispatched like `flowspec emit` (an event_id runs each
hook once, whatever happens):
  *.json                    a flowspec event: {\"event_type\": \"deploy.completed\", \"event_id\": \"d-42\", ...}
  <type>[@tag].trigger      a trigger: the name is the event type; empty, or a JSON object of fields
Write files under a temporary name (x.json.tmp, .x.json) and rename them in (`mv`): they are
taken at once. Ignored: dotfiles, *.tmp, *.part, other extensions. After dispatch a file moves
to DIR/processed/, or to DIR/failed/ with DIR/failed/<name>.error.json saying why.
SIGTERM or Ctrl-C: the file being dispatched finishes, the rest waits for the next start
(a second signal stops running hooks at once).

Examples:
  flowspec watch .flowspec/triggers
  flowspec watch /srv/triggers --heartbeat /srv/heartbeats/watcher.json --heartbeat-interval 10s
  flowspec watch /mnt/nfs/triggers --poll --poll-interval 2s
  flowspec watch triggers --once --json            # cron: process what is there, then exit
  flowspec watch triggers --publish                # hand the events to `flowspec subscribe` elsewhere
  echo '{\"environment\":\"staging\"}' > .t && mv .t triggers/deploy.completed@$(date +%s).trigger

Exit codes: 0 stopped by a signal, or --once and every file processed; 8 --once and some
file went to failed/; 1 error (directory missing, already watched...); 3 invalid config;
130 a second signal stopped running hooks.
Docs: ", docs!("watch"));

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The directory to watch (processed/ and failed/ are created inside).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Poll instead of using inotify (network filesystems are polled anyway).
    #[arg(long)]
    pub poll: bool,

    /// How often to scan when polling; also how long a file found by a scan must stay
    /// unchanged before it is taken.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_interval)]
    pub poll_interval: Duration,

    /// Rewrite a JSON heartbeat file at PATH (atomically) every heartbeat interval; a PATH
    /// ending in `.prom` gets Prometheus text instead, for node_exporter's textfile collector.
    #[arg(long, value_name = "PATH")]
    pub heartbeat: Option<PathBuf>,

    /// How often the heartbeat file is rewritten.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_interval, requires = "heartbeat")]
    pub heartbeat_interval: Duration,

    /// Files dispatched at the same time; 1 keeps the order of arrival.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: u16,

    /// Process the files that are there (complete ones), then exit.
    #[arg(long)]
    pub once: bool,

    /// Publish each file's event to the stream of `transport:` (for `flowspec subscribe`
    /// on other machines) instead of running local hooks; while Redis is down, files wait
    /// in the directory.
    #[arg(long)]
    pub publish: bool,

    /// One JSON object per line on stdout (started, file, warning, stopped); hook output
    /// goes to stderr.
    #[arg(long)]
    pub json: bool,
}
