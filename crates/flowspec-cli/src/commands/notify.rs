//! `flowspec notify test|send|dead-letters|replay|enable` and `flowspec integrations
//! list`, through `flowspec::notify`; this file renders.

use flowspec::notify::{self, DeliveryReport, DeliveryStatus, ReplaySelection, Sending};

use super::{Context, Failure, OrFail, build_event, print_json};
use crate::cli::notify::{IntegrationsCommand, NotifyCommand};
use crate::exit_code;
use flowspec::render;

use crate::output::{outln, write_str};

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
            } else {
                write_str(&render::notify::dead_letters(cx.out, &letters, all));
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
                write_str(&render::notify::deliveries(cx.out, &deliveries));
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
    } else if !cx.global.quiet || report.deliveries.is_empty() {
        write_str(&render::notify::sent(cx.out, &report));
    }
    Ok(if report.has_failures() {
        exit_code::NOTIFY_FAILED
    } else {
        exit_code::OK
    })
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
    let settings_file = cx.show_path(&project.paths().settings_file);
    write_str(&render::notify::integrations(
        cx.out,
        &items,
        &settings_file,
    ));
    Ok(exit_code::OK)
}
