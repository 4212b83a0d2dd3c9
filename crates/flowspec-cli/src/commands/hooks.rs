//! `flowspec hooks list | validate | test`.

use std::sync::Arc;

use flowspec_core::report::SilentReporter;
use flowspec_core::{EventSelector, EventType, HookSpec, HookStatus};
use serde_json::{Value, json};

use super::event_input::build_event;
use super::{Context, Failure, OrFail, interrupted, print_json};
use crate::cli::HooksCommand;
use crate::exit_code;
use crate::output::outln;
use crate::terminal::{TerminalReporter, table};

pub async fn run(cx: &Context<'_>, command: HooksCommand) -> Result<u8, Failure> {
    match command {
        HooksCommand::List { event, json } => list(cx, event, json).await,
        HooksCommand::Validate { json } => validate(cx, json).await,
        HooksCommand::Test {
            name,
            event,
            event_args,
            json,
        } => test(cx, &name, event, &event_args, json).await,
    }
}

async fn list(cx: &Context<'_>, event: Option<String>, json: bool) -> Result<u8, Failure> {
    let event_type = event
        .map(|t| EventType::new(t).map_err(|e| Failure::usage(e.to_string())))
        .transpose()?;
    let project = cx.project()?;
    project.require_hooks().or_fail(cx)?;
    let engine = cx.engine(&project, Arc::new(SilentReporter), false).await?;
    let hooks: Vec<&HookSpec> = engine
        .hooks()
        .iter()
        .filter(|h| match &event_type {
            Some(t) => h
                .triggers()
                .iter()
                .any(|tr| tr.selector.matches(t.as_str())),
            None => true,
        })
        .collect();
    if json {
        print_json(&hooks.iter().map(|h| hook_json(h)).collect::<Vec<_>>())?;
        return Ok(exit_code::OK);
    }
    if hooks.is_empty() {
        match &event_type {
            Some(t) => outln!("no hooks match `{t}`"),
            None => outln!(
                "no hooks in {}",
                cx.show_path(engine.hooks_file().unwrap_or(engine.project_root()))
            ),
        }
        return Ok(exit_code::OK);
    }
    let rows: Vec<Vec<String>> = hooks
        .iter()
        .map(|h| {
            let mut flags = Vec::new();
            if h.parallel() {
                flags.push("parallel");
            }
            if !h.enabled() {
                flags.push("disabled");
            }
            vec![
                h.name().to_owned(),
                h.triggers()
                    .iter()
                    .map(describe_trigger)
                    .collect::<Vec<_>>()
                    .join(", "),
                h.action().summary(),
                format!("{}s", h.timeout().as_secs_f64()),
                h.fail_mode().as_str().to_owned(),
                flags.join(","),
            ]
        })
        .collect();
    outln!(
        "{}",
        table(
            &["NAME", "EVENTS", "ACTION", "TIMEOUT", "FAIL MODE", "FLAGS"],
            &rows,
            cx.out
        )
    );
    Ok(exit_code::OK)
}

fn describe_trigger(trigger: &flowspec_core::spec::Trigger) -> String {
    let conditions: Vec<String> = trigger
        .filter
        .conditions()
        .map(|(path, values)| {
            let values: Vec<String> = values.iter().map(scalar).collect();
            format!("{path}={}", values.join("|"))
        })
        .collect();
    if conditions.is_empty() {
        trigger.selector.to_string()
    } else {
        format!("{} [{}]", trigger.selector, conditions.join(" "))
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn hook_json(hook: &HookSpec) -> Value {
    json!({
        "name": hook.name(),
        "description": hook.description(),
        "events": hook.triggers().iter().map(|t| json!({
            "type": t.selector.as_str(),
            "filter": t.filter.conditions().map(|(path, values)| (path.to_owned(), Value::Array(values))).collect::<serde_json::Map<_, _>>(),
        })).collect::<Vec<_>>(),
        "action": hook.action_key(),
        "summary": hook.action().summary(),
        "timeout_secs": hook.timeout().as_secs_f64(),
        "fail_mode": hook.fail_mode(),
        "parallel": hook.parallel(),
        "enabled": hook.enabled(),
        "working_dir": hook.working_dir(),
        "env": hook.env().iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        "line": hook.line(),
    })
}

async fn validate(cx: &Context<'_>, json: bool) -> Result<u8, Failure> {
    let project = cx.project()?;
    let hooks_file = cx.show_path(&project.paths().hooks_file);
    let errors = match project.validate().await {
        Ok(engine) => {
            let enabled = engine.hooks().iter().filter(|h| h.enabled()).count();
            if json {
                print_json(
                    &json!({"valid": true, "file": hooks_file, "hooks": engine.hooks().len(), "enabled": enabled, "errors": []}),
                )?;
            } else {
                outln!(
                    "{} {hooks_file}: {} hooks ({enabled} enabled), no problems",
                    cx.out.status(HookStatus::Success),
                    engine.hooks().len()
                );
            }
            return Ok(exit_code::OK);
        }
        Err(flowspec::Error::Config(errors)) => errors,
        Err(other) => return Err(cx.fail(other)),
    };
    if json {
        let list: Vec<Value> = errors
            .iter()
            .map(|e| {
                json!({
                    "file": e.file().map(|f| cx.show_path(f)),
                    "line": e.line_column().map(|(l, _)| l),
                    "column": e.line_column().map(|(_, c)| c),
                    "path": e.key_path(),
                    "kind": format!("{:?}", e.kind()),
                    "message": e.message(),
                    "hint": e.hint_text(),
                })
            })
            .collect();
        print_json(&json!({"valid": false, "file": hooks_file, "errors": list}))?;
    } else {
        eprintln!("{}", cx.config_failure(errors).message);
    }
    Ok(exit_code::CONFIG_INVALID)
}

async fn test(
    cx: &Context<'_>,
    name: &str,
    event: Option<String>,
    event_args: &crate::cli::EventArgs,
    json: bool,
) -> Result<u8, Failure> {
    let painter = if json { cx.err } else { cx.out };
    let reporter = Arc::new(TerminalReporter::new(painter, cx.global.quiet, json));
    let project = cx.project()?;
    project.require_hooks().or_fail(cx)?;
    let engine = cx.engine(&project, reporter, true).await?;
    let hook = engine.hook(name).ok_or_else(|| {
        Failure::from(flowspec_core::EngineError::UnknownHook {
            name: name.to_owned(),
            suggestion: flowspec_core::config::suggest(
                name,
                engine.hooks().iter().map(HookSpec::name),
            )
            .map(str::to_owned),
        })
    })?;
    let event_type = match event {
        Some(t) => t,
        None => hook
            .triggers()
            .iter()
            .map(|t| &t.selector)
            .find(|s| !s.is_wildcard())
            .map(EventSelector::to_string)
            .ok_or_else(|| {
                Failure::usage(format!(
                    "hook `{name}` only has wildcard event types; pass one with --event, e.g. --event deploy.completed"
                ))
            })?,
    };
    let event = build_event(Some(&event_type), event_args)?;
    let report = tokio::select! {
        report = engine.run_hook(name, &event) => report?,
        failure = interrupted() => return Err(failure),
    };
    if json {
        print_json(&report)?;
    }
    Ok(if report.status.is_failure() {
        exit_code::HOOK_FAILED
    } else {
        exit_code::OK
    })
}
