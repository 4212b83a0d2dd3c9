//! `flowspec watch`: a trigger directory whose files become events (flowspec-watch).

use std::sync::Arc;

use flowspec::render::TerminalReporter;
use flowspec::render::watch::{WatchLines, WatchStyle};
use flowspec::signals::Signals;
use flowspec_watch::{WatchError, Watcher};

use super::{Context, Failure};
use crate::cli::server::WatchArgs;
use crate::exit_code;
use crate::output::Stdout;

pub async fn run(cx: &Context<'_>, args: WatchArgs) -> Result<u8, Failure> {
    let project = cx.project()?;
    let painter = if args.json { cx.err } else { cx.out };
    let hooks = Arc::new(TerminalReporter::new(painter, cx.global.quiet, args.json));
    let engine = cx.engine(&project, hooks, true).await?;
    let style = WatchStyle {
        out: cx.out,
        err: cx.err,
        json: args.json,
        quiet: cx.global.quiet,
    };
    let shown_dir = cx.show_path(&std::path::absolute(&args.dir).unwrap_or(args.dir.clone()));
    let lines = Arc::new(WatchLines::new(Arc::new(Stdout), style, shown_dir));
    let mut builder = Watcher::builder(&args.dir)
        .poll(args.poll)
        .poll_interval(args.poll_interval)
        .workers(usize::from(args.workers))
        .reporter(lines.clone());
    if args.publish {
        builder = builder.publish_to(project.transport().map_err(|e| cx.fail(e))?);
    }
    if let Some(path) = &args.heartbeat {
        builder = builder
            .heartbeat(path)
            .heartbeat_interval(args.heartbeat_interval);
    }
    let watcher = builder.build(engine).map_err(watch_failure)?;

    // The first SIGTERM/SIGINT stops taking files; a second one stops running hooks.
    let signals = Signals::listen();
    let run = async {
        if args.once {
            watcher.run_once_until(signals.received(1)).await
        } else {
            watcher.run(signals.received(1)).await
        }
    };
    let summary = tokio::select! {
        result = run => result.map_err(watch_failure)?,
        () = signals.received(2) => {
            return Err(Failure::new(
                exit_code::INTERRUPTED,
                "interrupted again: running hooks were stopped; their files stay in the directory and are dispatched again at the next start",
            ));
        }
    };
    lines.stopped(&summary, args.once);
    Ok(if args.once && summary.failed > 0 {
        exit_code::WATCH_FILES_FAILED
    } else {
        exit_code::OK
    })
}

fn watch_failure(error: WatchError) -> Failure {
    Failure::error(error.to_string())
}
