//! `flowspec hooks list | validate | test`, through `flowspec::hooks`; this file renders.

use std::sync::Arc;

use flowspec::hooks::{self, HookSummary};
use flowspec_core::HookStatus;
use flowspec_core::report::SilentReporter;
use serde_json::json;

use super::{Context, Failure, OrFail, build_event, interrupted, print_json};
use crate::cli::HooksCommand;
use crate::exit_code;
use crate::output::{outln, write_str};
use flowspec::render::{self, TerminalReporter};

pub async fn run(cx: &Context<'_>, command: HooksCommand) -> Result<u8, Failure> {
    match command {
        HooksCommand::List { event, json } => {
            let project = cx.project()?;
            project.require_hooks().or_fail(cx)?;
            let engine = cx.engine(&project, Arc::new(SilentReporter), false).await?;
            let selected = hooks::selected(&engine, event.as_deref()).or_fail(cx)?;
            let summaries: Vec<HookSummary> = selected.into_iter().map(HookSummary::of).collect();
            if json {
                print_json(&summaries)?;
            } else if summaries.is_empty() {
                match &event {
                    Some(t) => outln!("no hooks match `{t}`"),
                    None => outln!(
                        "no hooks in {}",
                        cx.show_path(engine.hooks_file().unwrap_or(engine.project_root()))
                    ),
                }
            } else {
                write_str(&render::hooks::list(cx.out, &summaries));
            }
            Ok(exit_code::OK)
        }
        HooksCommand::Validate { json } => {
            let project = cx.project()?;
            let hooks_file = cx.show_path(&project.paths().hooks_file);
            let errors = match project.validate().await {
                Ok(engine) => {
                    let (all, enabled) = (
                        engine.hooks().len(),
                        engine.hooks().iter().filter(|h| h.enabled()).count(),
                    );
                    if json {
                        print_json(
                            &json!({"valid": true, "file": hooks_file, "hooks": all, "enabled": enabled, "errors": []}),
                        )?;
                    } else {
                        let ok = cx.out.status(HookStatus::Success);
                        outln!("{ok} {hooks_file}: {all} hooks ({enabled} enabled), no problems");
                    }
                    return Ok(exit_code::OK);
                }
                Err(flowspec::Error::Config(errors)) => errors,
                Err(other) => return Err(cx.fail(other)),
            };
            if json {
                let problems = hooks::problems(&errors.relative_to(&cx.invoked_in()));
                print_json(&json!({"valid": false, "file": hooks_file, "errors": problems}))?;
            } else {
                eprintln!("{}", cx.config_failure(errors).message);
            }
            Ok(exit_code::CONFIG_INVALID)
        }
        HooksCommand::Test {
            name,
            event,
            event_args,
            json,
        } => {
            let painter = if json { cx.err } else { cx.out };
            let reporter = Arc::new(TerminalReporter::new(painter, cx.global.quiet, json));
            let project = cx.project()?;
            project.require_hooks().or_fail(cx)?;
            let engine = cx.engine(&project, reporter, true).await?;
            let hook = hooks::find(&engine, &name).or_fail(cx)?;
            let event_type = match event {
                Some(t) => t,
                None => hooks::sample_event_type(hook).or_fail(cx)?,
            };
            let event = build_event(cx, Some(&event_type), &event_args)?;
            let report = tokio::select! {
                report = engine.run_hook(&name, &event) => report.or_fail(cx)?,
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
    }
}
