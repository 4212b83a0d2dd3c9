//! `flowspec subscribe`: run the local hooks of events published to the transport.

use std::sync::Arc;
use std::time::Duration;

use flowspec::render::TerminalReporter;
use flowspec::signals::Signals;
use flowspec::text::{Keep, escape_controls};
use flowspec::transport::{
    EntryOutcome, StreamStatus, SubscribeReporter, Subscriber, TransportError,
};
use serde_json::json;

use super::{Context, Failure, OrFail, print_json};
use crate::cli::transport::SubscribeArgs;
use crate::exit_code;
use crate::output::outln;

pub async fn run(cx: &Context<'_>, args: SubscribeArgs) -> Result<u8, Failure> {
    let project = cx.project()?;
    let mut config = project.transport_config().or_fail(cx)?.ok_or_else(|| {
        cx.fail(flowspec::Error::NoTransport {
            settings: project.paths().settings_file.clone(),
        })
    })?;
    if let Some(group) = args.group {
        config.group = Some(group);
    }
    if let Some(consumer) = args.consumer {
        config.consumer = consumer;
    }
    if let Some(workers) = args.workers {
        config.workers = usize::from(workers);
    }
    if args.status {
        let group = config.group.clone();
        let transport = flowspec::transport::RedisTransport::new(config).or_fail(cx)?;
        let status = transport.status(group.as_deref()).await.or_fail(cx)?;
        if args.json {
            print_json(&status)?;
        } else {
            print_status(&status, group.as_deref());
        }
        return Ok(exit_code::OK);
    }
    if config.group.is_none() {
        let error = flowspec::transport::config::missing_group_error(project.settings());
        return Err(cx.config_failure(error.into()));
    }
    let transport = Arc::new(flowspec::transport::RedisTransport::new(config).or_fail(cx)?);
    let painter = if args.json { cx.err } else { cx.out };
    let hooks = Arc::new(TerminalReporter::new(painter, cx.global.quiet, args.json));
    let engine = cx.engine(&project, hooks, true).await?;
    let lines = Arc::new(Lines {
        json: args.json,
        quiet: cx.global.quiet,
        workers: transport.config().workers,
    });
    let subscriber = Subscriber::new(transport, engine)
        .or_fail(cx)?
        .start_from(args.from)
        .once(args.once)
        .drain_timeout(args.drain_timeout)
        .reporter(lines.clone());

    // The first SIGTERM/SIGINT stops reading; a second one stops running hooks.
    let signals = Signals::listen();
    let summary = tokio::select! {
        result = subscriber.run(signals.received(1)) => result.or_fail(cx)?,
        () = signals.received(2) => {
            return Err(Failure::new(
                exit_code::INTERRUPTED,
                "interrupted again: running hooks were stopped; their entries are delivered again",
            ));
        }
    };
    if args.json {
        outln!("{}", json!({"stopped": summary}));
    } else if !cx.global.quiet {
        eprintln!(
            "flowspec subscribe: stopped — {} done, {} failed deliveries, {} dead-lettered, {} claimed from idle consumers",
            summary.done, summary.failed, summary.dead_lettered, summary.claimed
        );
    }
    Ok(exit_code::OK)
}

/// Prints connection changes and entries that did not simply succeed (the hooks' own
/// lines show the rest), or JSON lines.
struct Lines {
    json: bool,
    quiet: bool,
    workers: usize,
}

impl SubscribeReporter for Lines {
    fn connected(&self, target: &str, group: &str, consumer: &str, created: bool) {
        if self.json {
            outln!(
                "{}",
                json!({"connected": {"target": target, "group": group, "consumer": consumer, "created_group": created}})
            );
        } else if !self.quiet {
            let created = if created { " (new group)" } else { "" };
            eprintln!(
                "flowspec subscribe: {target}, group {group}{created} as {consumer} — {} worker(s)",
                self.workers
            );
        }
    }

    fn disconnected(&self, error: &TransportError, retry_in: Duration) {
        let retry_ms = retry_in.as_millis() as u64;
        if self.json {
            outln!(
                "{}",
                json!({"disconnected": {"error": error.to_string(), "retry_in_ms": retry_ms}})
            );
        } else {
            eprintln!(
                "flowspec subscribe: {error}; trying again in {:.1}s",
                retry_in.as_secs_f64()
            );
        }
    }

    fn claimed(&self, claimed: usize) {
        if self.json {
            outln!("{}", json!({"claimed": claimed}));
        } else if !self.quiet {
            eprintln!(
                "flowspec subscribe: took {} another consumer left idle",
                count(claimed as u64, "entry", "entries")
            );
        }
    }

    fn entry(&self, outcome: &EntryOutcome) {
        if self.json {
            outln!("{}", json!({"entry": outcome}));
            return;
        }
        match outcome {
            EntryOutcome::Done { .. } => {}
            EntryOutcome::WillRetry {
                entry,
                attempt,
                reason,
                ..
            } => eprintln!(
                "flowspec subscribe: entry {entry} failed on delivery {attempt} ({}); it is delivered again after claim_idle",
                escape_controls(reason, Keep::Nothing)
            ),
            EntryOutcome::DeadLettered { entry, reason } => eprintln!(
                "flowspec subscribe: entry {entry} moved to the dead letters: {}",
                escape_controls(reason, Keep::Nothing)
            ),
        }
    }
}

fn print_status(status: &StreamStatus, group: Option<&str>) {
    let last = status.last_id.as_deref().unwrap_or("none");
    outln!(
        "stream {} on {}: {}, last {last}; {} in {}",
        status.stream,
        status
            .target
            .rsplit_once(" stream ")
            .map_or(status.target.as_str(), |(url, _)| url),
        count(status.length, "entry", "entries"),
        count(status.dead_letters, "dead letter", "dead letters"),
        status.dead_letter_stream
    );
    if status.groups.is_empty() {
        match group {
            Some(name) => {
                outln!("group {name} does not exist yet (`flowspec subscribe` creates it)")
            }
            None => outln!("no consumer group yet (`flowspec subscribe --group NAME` creates one)"),
        }
        return;
    }
    for g in &status.groups {
        let lag = g.lag.map_or("unknown".to_owned(), |n| n.to_string());
        outln!(
            "group {}: lag {lag}, pending {}, last delivered {}, {} consumer(s)",
            escape_controls(&g.name, Keep::Nothing),
            g.pending,
            g.last_delivered_id,
            g.consumers.len()
        );
        for c in &g.consumers {
            outln!(
                "  {:<32} pending {:<6} idle {}",
                escape_controls(&c.name, Keep::Nothing),
                c.pending,
                humantime::format_duration(Duration::from_secs(c.idle_ms / 1000))
            );
        }
    }
}

/// "1 entry", "3 entries".
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
