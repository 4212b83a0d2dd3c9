//! `flowspec notify test|send|dead-letters|replay|enable` and `flowspec integrations
//! list`, through `flowspec::notify`; this file renders.

use flowspec::notify::{self, Delivery, DeliveryReport, DeliveryStatus, ReplaySelection, Sending};

use super::{Context, Failure, OrFail, build_event, print_json};
use crate::cli::notify::{IntegrationsCommand, NotifyCommand};
use crate::exit_code;
use crate::output::outln;
use crate::terminal::{human_ms, safe, table, utc_time};

pub async fn run(cx: &Context<'_>, command: NotifyCommand) -> Result<u8, Failure> {
    let hub = cx.project()?.notifications().or_fail(cx)?;
    match command {
        NotifyCommand::Test {
            integration,
            event,
            json,
        } => {
            let sending = notify::sample(&hub, &integration, event.as_deref()).or_fail(cx)?;
            let what = format!(
                "sending a sample `{}` to {integration}…",
                sending.event.event_type()
            );
            send(cx, &hub, &sending, &what, json).await
        }
        NotifyCommand::Send(args) => {
            let event_type = args.event.as_deref().map(notify::event_type_of);
            let event = build_event(cx, event_type.as_deref(), &args.event_args)?;
            let sending = notify::prepare(&hub, event, &args.to, "cli").or_fail(cx)?;
            let n = sending.targets;
            let what = format!(
                "sending `{}` to {n} integration{}…",
                sending.event.event_type(),
                if n == 1 { "" } else { "s" }
            );
            send(cx, &hub, &sending, &what, args.json).await
        }
        NotifyCommand::DeadLetters { all, json } => {
            let letters = notify::dead_letters(&hub, all).await.or_fail(cx)?;
            if json {
                print_json(&letters)?;
            } else if letters.is_empty() {
                outln!(
                    "no dead letters{}",
                    if all { "" } else { " waiting for replay" }
                );
            } else {
                let rows = letters.iter().map(|d| {
                    vec![
                        d.id.clone(),
                        d.integration.clone(),
                        notify::events::display_name(&d.event_type),
                        utc_time(d.created_at),
                        d.attempts.to_string(),
                        if d.replayed_at.is_some() {
                            "replayed"
                        } else {
                            "pending"
                        }
                        .into(),
                        d.error.clone(),
                    ]
                });
                let header = [
                    "ID",
                    "INTEGRATION",
                    "EVENT",
                    "FAILED AT",
                    "ATTEMPTS",
                    "STATE",
                    "ERROR",
                ];
                outln!("{}", table(&header, rows, cx.out));
            }
            Ok(exit_code::OK)
        }
        NotifyCommand::Replay { ids, all, json } => {
            let selection = if all {
                ReplaySelection::AllPending
            } else {
                ReplaySelection::Ids(ids)
            };
            let deliveries = notify::replay(&hub, selection).await.or_fail(cx)?;
            if json {
                print_json(&deliveries)?;
            } else if deliveries.is_empty() {
                outln!("nothing to replay");
            } else {
                outln!("{}", deliveries_table(cx, &deliveries));
            }
            let failed = deliveries
                .iter()
                .any(|d| d.status == DeliveryStatus::Failed);
            Ok(if failed {
                exit_code::NOTIFY_FAILED
            } else {
                exit_code::OK
            })
        }
        NotifyCommand::Enable { integration, json } => {
            let was = notify::enable(&hub, &integration).await.or_fail(cx)?;
            if json {
                print_json(&serde_json::json!({"integration": integration, "was_disabled": was}))?;
            } else if was {
                outln!("{integration} enabled again");
            } else {
                outln!("{integration} was not disabled");
            }
            Ok(exit_code::OK)
        }
    }
}

async fn send(
    cx: &Context<'_>,
    hub: &notify::Notifications,
    sending: &Sending,
    progress: &str,
    json: bool,
) -> Result<u8, Failure> {
    if !json && !cx.global.quiet {
        eprintln!("{}", cx.err.dim(progress));
    }
    let report: DeliveryReport = sending.send(hub).await;
    if json {
        print_json(&report)?;
    } else if report.deliveries.is_empty() {
        outln!(
            "no integration receives `{}` (check `notify_on` / `alert_on` / `events` with `flowspec integrations list`)",
            safe(&notify::events::display_name(&report.event_type))
        );
    } else if !cx.global.quiet {
        outln!("{}", deliveries_table(cx, &report.deliveries));
    }
    Ok(if report.has_failures() {
        exit_code::NOTIFY_FAILED
    } else {
        exit_code::OK
    })
}

fn deliveries_table(cx: &Context<'_>, deliveries: &[Delivery]) -> String {
    let rows = deliveries.iter().map(|d| {
        vec![
            d.integration.clone(),
            d.status.to_string(),
            d.attempts.to_string(),
            human_ms(d.latency_ms),
            d.target.clone(),
            d.reason.clone().unwrap_or_default(),
        ]
    });
    let header = [
        "INTEGRATION",
        "STATUS",
        "ATTEMPTS",
        "LATENCY",
        "TARGET",
        "DETAIL",
    ];
    table(&header, rows, cx.out)
}

pub async fn run_integrations(
    cx: &Context<'_>,
    command: IntegrationsCommand,
) -> Result<u8, Failure> {
    let IntegrationsCommand::List { json } = command;
    let project = cx.project()?;
    let hub = project.notifications().or_fail(cx)?;
    let items = notify::statuses(&project, &hub).await;
    if json {
        print_json(&items)?;
        return Ok(exit_code::OK);
    }
    if items.is_empty() {
        outln!(
            "no integrations configured: add them under `integrations:` in {}",
            cx.show_path(&project.paths().settings_file)
        );
        return Ok(exit_code::OK);
    }
    let count = |n: Option<u64>| n.map_or("-".into(), |n| n.to_string());
    let rows = items.iter().map(|i| {
        let status = match i.missing_secrets.as_slice() {
            [] => i.status.clone(),
            missing => format!("{}: {}", i.status, missing.join(", ")),
        };
        let limit = match (i.rate_limit.max_per_hour, i.rate_limit.max_per_day) {
            (None, None) => "-".to_owned(),
            (h, d) => format!("{}/h {}/d", count(h), count(d)),
        };
        let routes = if i.routes.is_empty() {
            "(explicit only)".into()
        } else {
            i.routes.join(", ")
        };
        let target = i.target.clone().unwrap_or_else(|| "-".into());
        vec![
            i.name.clone(),
            i.kind.to_owned(),
            status,
            routes,
            limit,
            target,
        ]
    });
    let header = ["NAME", "KIND", "STATUS", "EVENTS", "RATE LIMIT", "TARGET"];
    outln!("{}", table(&header, rows, cx.out));
    Ok(exit_code::OK)
}
