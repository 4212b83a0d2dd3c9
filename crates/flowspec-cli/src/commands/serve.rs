//! `flowspec serve`: the webhook receiver (flowspec-server) on the project's engine.

use std::sync::Arc;

use flowspec_core::report::Reporters;
use flowspec_dashboard::Dashboard;
use flowspec_server::{Metrics, Server, ServerConfig, ServerError};

use super::{Context, Failure};
use crate::cli::server::{DashboardArgs, ServeArgs};
use crate::exit_code;
use flowspec::render::TerminalReporter;

pub async fn run(cx: &Context<'_>, args: ServeArgs) -> Result<u8, Failure> {
    let project = cx.project()?;
    let metrics = Arc::new(Metrics::new());
    let terminal = Arc::new(TerminalReporter::new(cx.out, cx.global.quiet, false));
    let reporter = Arc::new(Reporters(vec![terminal, metrics.reporter()]));
    let engine = cx.engine(&project, reporter, true).await?;
    let mut config = ServerConfig::from_settings(project.settings(), project.vars())
        .map_err(|e| cx.config_failure(e))?;
    if let Some(bind) = args.bind {
        config.bind = bind;
    }
    if let Some(workers) = args.workers {
        config.workers = workers.max(1);
    }
    if project
        .transport_config()
        .map_err(|e| cx.fail(e))?
        .is_some()
    {
        config = config.publish_to(project.transport().map_err(|e| cx.fail(e))?);
    }
    let publishing = match &config.publisher {
        Some(publisher) => format!(" — publishing to {}", publisher.target()),
        None => String::new(),
    };
    let workers = config.workers;
    // The dashboard gets its own handle on the project (Project is not Clone).
    let dashboard = match config.dashboard.clone() {
        Some(settings) => Some(Dashboard::new(Arc::new(cx.project()?), settings)),
        None => None,
    };
    let server = Server::bind(engine, config, metrics)
        .await
        .map_err(|e| match e {
            ServerError::NoSources | ServerError::Bind { .. } => {
                Failure::new(exit_code::SERVE_FAILED, e.to_string())
            }
            other => Failure::error(other.to_string()),
        })?;
    let server = match &dashboard {
        Some(dashboard) => server.with_routes(dashboard.router()),
        None => server,
    };
    let ui = match dashboard {
        Some(_) => format!(" — dashboard on http://{}/ui/", server.local_addr()),
        None => String::new(),
    };
    let sources: Vec<String> = server
        .sources()
        .iter()
        .map(|(name, path, scheme)| format!("{name} ({path}, {scheme})"))
        .collect();
    let recovered = match server.recovered() {
        0 => String::new(),
        n => format!("; {n} unfinished event(s) from the last run will be dispatched again"),
    };
    eprintln!(
        "flowspec serve: listening on http://{} — sources: {} — {workers} worker(s){publishing}{ui}{recovered}",
        server.local_addr(),
        sources.join(", ")
    );
    server
        .run(flowspec::signals::stop_requested())
        .await
        .map_err(|e| Failure::error(e.to_string()))?;
    eprintln!("flowspec serve: stopped");
    Ok(exit_code::OK)
}

/// `flowspec dashboard`: the dashboard alone (no receiver, no workers).
pub async fn dashboard(cx: &Context<'_>, args: DashboardArgs) -> Result<u8, Failure> {
    let project = cx.project()?;
    let config = ServerConfig::from_settings(project.settings(), project.vars())
        .map_err(|e| cx.config_failure(e))?;
    let Some(settings) = config.dashboard.clone() else {
        return Err(Failure::new(
            exit_code::SERVE_FAILED,
            "the dashboard is off: it needs a token\n  hint: add `server: {dashboard: {token: ${FLOWSPEC_DASHBOARD_TOKEN}}}` to .flowspec/flowspec.yaml and set the variable".to_owned(),
        ));
    };
    let bind = args.bind.unwrap_or(config.bind);
    let dashboard = Dashboard::new(Arc::new(project), settings);
    flowspec_dashboard::serve(
        dashboard,
        bind,
        |addr| eprintln!("flowspec dashboard: on http://{addr}/ui/"),
        flowspec::signals::stop_requested(),
    )
    .await
    .map_err(|e| Failure::new(exit_code::SERVE_FAILED, e.to_string()))?;
    eprintln!("flowspec dashboard: stopped");
    Ok(exit_code::OK)
}
