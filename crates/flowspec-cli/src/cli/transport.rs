//! `flowspec subscribe` arguments.

use std::time::Duration;

use clap::Args;

use super::{docs, parse_interval};

pub const SUBSCRIBE_HELP: &str = concat!(
    "\
Reads the stream of `transport:` in .flowspec/flowspec.yaml (Redis Streams) as a member of a
consumer group and runs the local hooks of every event, as `flowspec emit` would (filters,
idempotency by event id, audit, fail modes). Each group gets every event; the consumers of
one group share them. An entry is acknowledged once its hooks are done; one whose hooks
failed is delivered again after `claim_idle` (60 s), up to `max_attempts` (5), then moved to
the dead-letter stream (<stream>:dead) with the reason, as is an entry that is not an event.
On start the subscriber finishes its own pending entries, then takes those another consumer
left idle for `claim_idle`. It reconnects with backoff when Redis goes away.
SIGTERM or Ctrl-C: running hooks finish (up to --drain-timeout), nothing new is read; a second
signal stops them (their entries are delivered again).

Examples:
  flowspec subscribe                              # the group of transport.group
  flowspec subscribe --group laptops --from start # a new group reads what the stream holds
  flowspec subscribe --once --json                # what is waiting, then exit (cron, CI)
  flowspec subscribe --status                     # lag, pending and consumers of each group

Exit codes: 0 stopped by a signal, or --once and done; 3 invalid config (no `transport:`, no
group); 16 Redis unreachable (--once, --status) or refused a command; 130 a second signal
stopped running hooks.
Docs: ",
    docs!("transport")
);

#[derive(Debug, Args)]
pub struct SubscribeArgs {
    /// The consumer group (default: transport.group).
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,

    /// This subscriber's name in the group (default: transport.consumer, or HOSTNAME-PID).
    #[arg(long, value_name = "NAME")]
    pub consumer: Option<String>,

    /// Where a group that does not exist yet starts: `start` (every entry the stream
    /// holds), `now`, or an entry id. An existing group goes on where it was.
    #[arg(long, value_name = "start|now|ID", default_value = "now", value_parser = parse_from)]
    pub from: flowspec::transport::StartFrom,

    /// Events run at the same time (default: transport.workers, or 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,

    /// Handle what is waiting (own pending, idle, new entries), then exit.
    #[arg(long)]
    pub once: bool,

    /// How long running hooks may take to finish after SIGTERM.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_interval)]
    pub drain_timeout: Duration,

    /// Show the stream, its groups (lag, pending), their consumers, then exit.
    #[arg(long)]
    pub status: bool,

    /// One JSON object per line on stdout (connected, entry, disconnected, stopped); hook
    /// output goes to stderr. With --status, one JSON document.
    #[arg(long)]
    pub json: bool,
}

fn parse_from(text: &str) -> Result<flowspec::transport::StartFrom, String> {
    flowspec::transport::StartFrom::parse(text)
}
