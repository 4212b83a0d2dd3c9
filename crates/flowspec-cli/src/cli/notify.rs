//! `flowspec notify ...` and `flowspec integrations ...` arguments.

use clap::{Args, Subcommand};

use super::{EventArgs, docs};

pub const NOTIFY_HELP: &str = concat!(
    "\
Integrations live under `integrations:` in .flowspec/flowspec.yaml; secrets come from the
environment or .flowspec/hooks/.env (SLACK_WEBHOOK_URL, TEAMS_WEBHOOK_URL, SMTP_PASSWORD...).
Event types may be dotted (implement.failed) or written as in `notify_on` (implementation_failed).

Examples:
  flowspec integrations list                      what is configured, what is missing
  flowspec notify test slack                      send a sample to one integration
  flowspec notify test webhooks.analytics --event implementation_completed
  flowspec notify send --event implement.failed --feature auth --data error='tests failed'
  flowspec notify dead-letters                    failed deliveries kept for replay
  flowspec notify replay msg_k3j2...              send one again (or --all)
  flowspec notify enable webhooks.analytics       after a 410 Gone disabled it

Exit codes: 0 ok, 1 error, 2 usage, 3 invalid config, 7 a delivery failed.
Docs: ",
    docs!("notify")
);

/// `flowspec notify`.
#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a sample notification to one integration (ignores routing and rate limits).
    #[command(after_help = NOTIFY_HELP)]
    Test {
        /// The integration (`slack`, `webhooks.analytics`; a kind means all of its endpoints).
        #[arg(add = crate::complete::integration_names())]
        integration: String,
        /// The sample event type (default: implement.completed).
        #[arg(long, value_name = "TYPE")]
        event: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send an event to the integrations whose routing lists match (or to --to).
    #[command(after_help = NOTIFY_HELP)]
    Send(SendArgs),
    /// List failed deliveries kept for replay.
    #[command(after_help = NOTIFY_HELP)]
    DeadLetters {
        /// Also list those already replayed.
        #[arg(long)]
        all: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send dead letters again (same delivery id, so receivers can deduplicate).
    #[command(after_help = NOTIFY_HELP)]
    Replay {
        /// The dead letter ids (see `notify dead-letters`).
        ids: Vec<String>,
        /// Replay every pending dead letter.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Enable an integration that a `410 Gone` answer disabled.
    #[command(after_help = NOTIFY_HELP)]
    Enable {
        /// The integration.
        #[arg(add = crate::complete::integration_names())]
        integration: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `flowspec notify send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The event type: dotted (implement.failed) or a `notify_on` name (implementation_failed).
    #[arg(long, value_name = "TYPE")]
    pub event: Option<String>,
    #[command(flatten)]
    pub event_args: EventArgs,
    /// Only these integrations, whatever their routing lists say. Repeatable.
    #[arg(long, value_name = "NAME", add = crate::complete::integration_names())]
    pub to: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `flowspec integrations`.
#[derive(Debug, Subcommand)]
pub enum IntegrationsCommand {
    /// List configured integrations: status, routing, target, and missing secrets (never values).
    #[command(after_help = NOTIFY_HELP)]
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}
