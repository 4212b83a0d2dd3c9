//! `flowspec notify test|send|dead-letters|replay|enable` and `flowspec integrations
//! list`: the integrations of flowspec.yaml from the command line.

use flowspec_core::Event;
use flowspec_notify::config::State;
use flowspec_notify::delivery::{self, DeliveryReport, DeliveryRequest, DeliveryStatus};
use flowspec_notify::{events, template};
use serde_json::{Value, json};

use super::event_input::build_event;
use super::{Context, Failure, OrFail, print_json};
use crate::cli::notify::{IntegrationsCommand, NotifyCommand, SendArgs};
use crate::exit_code;
use crate::output::outln;
use crate::terminal::{human_ms, table};

/// A `notify_on` name (`implementation_failed`) or a dotted type.
fn event_type(text: &str) -> String {
    events::event_type_of(text).unwrap_or(text).to_owned()
}

pub async fn run(cx: &Context<'_>, command: NotifyCommand) -> Result<u8, Failure> {
    let hub = cx.project()?.notifications().or_fail(cx)?;
    match command {
        NotifyCommand::Test {
            integration,
            event,
            json,
        } => {
            let config = hub.config();
            if !config
                .integrations
                .iter()
                .any(|i| i.name == integration || i.kind == integration)
            {
                let names: Vec<&str> = config.names().collect();
                let hint = match flowspec_core::config::suggest(&integration, names.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None if names.is_empty() => "no integrations are configured under `integrations:` in .flowspec/flowspec.yaml".into(),
                    None => format!("configured: {}", names.join(", ")),
                };
                return Err(Failure::usage(format!(
                    "no integration named `{integration}` ({hint})"
                )));
            }
            let event_type = event_type(event.as_deref().unwrap_or("implement.completed"));
            flowspec_core::EventType::new(event_type.clone())
                .map_err(|e| Failure::usage(e.to_string()))?;
            let event = template::sample_event(&event_type);
            progress(
                cx,
                json,
                &format!("sending a sample `{event_type}` to {integration}…"),
            );
            let report = hub
                .dispatch(
                    &event,
                    &DeliveryRequest::to(vec![integration], "cli").test(true),
                )
                .await;
            finish(cx, &report, json)
        }
        NotifyCommand::Send(args) => {
            let event = build_send_event(&args)?;
            let request = if args.to.is_empty() {
                DeliveryRequest::by_event("cli")
            } else {
                for name in &args.to {
                    if !hub
                        .config()
                        .integrations
                        .iter()
                        .any(|i| i.name == *name || i.kind == *name)
                    {
                        return Err(Failure::usage(format!(
                            "no integration named `{name}` (see `flowspec integrations list`)"
                        )));
                    }
                }
                DeliveryRequest::to(args.to.clone(), "cli")
            };
            let n = hub.targets(&event, &request.route).len();
            progress(
                cx,
                args.json,
                &format!(
                    "sending `{}` to {n} integration{}…",
                    event.event_type(),
                    if n == 1 { "" } else { "s" }
                ),
            );
            let report = hub.dispatch(&event, &request).await;
            finish(cx, &report, args.json)
        }
        NotifyCommand::DeadLetters { all, json } => {
            let state = hub
                .state()
                .await
                .map_err(|e| Failure::error(e.to_string()))?;
            let letters = state
                .dead_letters(!all)
                .await
                .map_err(|e| Failure::error(e.to_string()))?;
            if json {
                print_json(&letters)?;
            } else if letters.is_empty() {
                outln!(
                    "no dead letters{}",
                    if all { "" } else { " waiting for replay" }
                );
            } else {
                let rows: Vec<Vec<String>> = letters
                    .iter()
                    .map(|d| {
                        vec![
                            d.id.clone(),
                            d.integration.clone(),
                            events::display_name(&d.event_type),
                            chrono::DateTime::from_timestamp_millis(d.created_at)
                                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                                .unwrap_or_default(),
                            d.attempts.to_string(),
                            if d.replayed_at.is_some() {
                                "replayed".into()
                            } else {
                                "pending".into()
                            },
                            d.error.clone(),
                        ]
                    })
                    .collect();
                outln!(
                    "{}",
                    table(
                        &[
                            "ID",
                            "INTEGRATION",
                            "EVENT",
                            "FAILED AT",
                            "ATTEMPTS",
                            "STATE",
                            "ERROR"
                        ],
                        &rows,
                        cx.out
                    )
                );
            }
            Ok(exit_code::OK)
        }
        NotifyCommand::Replay { ids, all, json } => {
            let ids = if all {
                let state = hub
                    .state()
                    .await
                    .map_err(|e| Failure::error(e.to_string()))?;
                state
                    .dead_letters(true)
                    .await
                    .map_err(|e| Failure::error(e.to_string()))?
                    .into_iter()
                    .map(|d| d.id)
                    .collect()
            } else if ids.is_empty() {
                return Err(Failure::usage(
                    "give dead letter ids or --all (see `flowspec notify dead-letters`)",
                ));
            } else {
                ids
            };
            let mut deliveries = Vec::new();
            for id in &ids {
                let delivery = hub
                    .replay(id)
                    .await
                    .map_err(|e| Failure::usage(e.to_string()))?;
                deliveries.push(delivery);
            }
            let failed = deliveries
                .iter()
                .any(|d| d.status == DeliveryStatus::Failed);
            if json {
                print_json(&deliveries)?;
            } else if deliveries.is_empty() {
                outln!("nothing to replay");
            } else {
                outln!("{}", deliveries_table(cx, &deliveries));
            }
            Ok(if failed {
                exit_code::NOTIFY_FAILED
            } else {
                exit_code::OK
            })
        }
        NotifyCommand::Enable { integration, json } => {
            if hub.config().get(&integration).is_none() {
                return Err(Failure::usage(format!(
                    "no integration named `{integration}` (see `flowspec integrations list`)"
                )));
            }
            let state = hub
                .state()
                .await
                .map_err(|e| Failure::error(e.to_string()))?;
            let was = state
                .enable(&integration)
                .await
                .map_err(|e| Failure::error(e.to_string()))?;
            if json {
                print_json(&json!({"integration": integration, "was_disabled": was}))?;
            } else if was {
                outln!("{integration} enabled again");
            } else {
                outln!("{integration} was not disabled");
            }
            Ok(exit_code::OK)
        }
    }
}

fn build_send_event(args: &SendArgs) -> Result<Event, Failure> {
    let event_type = args.event.as_deref().map(event_type);
    build_event(event_type.as_deref(), &args.event_args)
}

fn progress(cx: &Context<'_>, json: bool, line: &str) {
    if !json && !cx.global.quiet {
        eprintln!("{}", cx.err.dim(line));
    }
}

fn deliveries_table(cx: &Context<'_>, deliveries: &[delivery::Delivery]) -> String {
    let rows: Vec<Vec<String>> = deliveries
        .iter()
        .map(|d| {
            vec![
                d.integration.clone(),
                d.status.to_string(),
                d.attempts.to_string(),
                human_ms(d.latency_ms),
                d.target.clone(),
                d.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(
        &[
            "INTEGRATION",
            "STATUS",
            "ATTEMPTS",
            "LATENCY",
            "TARGET",
            "DETAIL",
        ],
        &rows,
        cx.out,
    )
}

fn finish(cx: &Context<'_>, report: &DeliveryReport, json: bool) -> Result<u8, Failure> {
    if json {
        print_json(report)?;
    } else if report.deliveries.is_empty() {
        outln!(
            "no integration receives `{}` (check `notify_on` / `alert_on` / `events` with `flowspec integrations list`)",
            events::display_name(&report.event_type)
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

pub async fn run_integrations(
    cx: &Context<'_>,
    command: IntegrationsCommand,
) -> Result<u8, Failure> {
    let IntegrationsCommand::List { json } = command;
    let project = cx.project()?;
    let hub = project.notifications().or_fail(cx)?;
    let disabled = match hub.state().await {
        Ok(state) => state.list_disabled().await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let vars = project.vars();
    let mut items = Vec::new();
    for i in &hub.config().integrations {
        let gone = disabled.iter().find(|d| d.integration == i.name);
        let (status, missing): (String, Vec<String>) = match (&i.state, gone) {
            (State::Disabled, _) => ("disabled".into(), Vec::new()),
            (State::MissingSecrets(names), _) => ("missing secrets".into(), names.clone()),
            (State::Ready(_), Some(d)) => (format!("disabled after {}", d.reason), Vec::new()),
            (State::Ready(_), None) => ("ready".into(), Vec::new()),
        };
        let defaults: Vec<Value> = i
            .secrets
            .iter()
            .filter(|s| !s.env.is_empty())
            .map(|s| json!({"env": s.env, "option": s.option, "required": s.required, "set": vars.get(s.env).is_some_and(|v| !v.is_empty())}))
            .collect();
        items.push(json!({
            "name": i.name,
            "kind": i.kind,
            "enabled": i.is_enabled(),
            "status": status,
            "routing_key": i.routing_key,
            "routes": i.routes.entries(),
            "target": i.notifier().map(|n| n.target()),
            "missing_secrets": missing,
            "default_secrets": defaults,
            "rate_limit": {"max_per_hour": i.rate_limit.max_per_hour, "max_per_day": i.rate_limit.max_per_day},
            "retries": i.retry_schedule.len(),
            "line": i.line,
        }));
    }
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
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|v| {
            let status = v["status"].as_str().unwrap_or_default().to_owned();
            let missing: Vec<&str> = v["missing_secrets"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let status = if missing.is_empty() {
                status
            } else {
                format!("{status}: {}", missing.join(", "))
            };
            let routes: Vec<&str> = v["routes"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let limit = match (
                v["rate_limit"]["max_per_hour"].as_u64(),
                v["rate_limit"]["max_per_day"].as_u64(),
            ) {
                (None, None) => "-".to_owned(),
                (h, d) => format!(
                    "{}/h {}/d",
                    h.map_or("-".into(), |n| n.to_string()),
                    d.map_or("-".into(), |n| n.to_string())
                ),
            };
            vec![
                v["name"].as_str().unwrap_or_default().to_owned(),
                v["kind"].as_str().unwrap_or_default().to_owned(),
                status,
                if routes.is_empty() {
                    "(explicit only)".into()
                } else {
                    routes.join(", ")
                },
                limit,
                v["target"].as_str().unwrap_or("-").to_owned(),
            ]
        })
        .collect();
    outln!(
        "{}",
        table(
            &["NAME", "KIND", "STATUS", "EVENTS", "RATE LIMIT", "TARGET"],
            &rows,
            cx.out
        )
    );
    Ok(exit_code::OK)
}
