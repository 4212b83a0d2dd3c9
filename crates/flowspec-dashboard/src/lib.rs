//! # flowspec-dashboard
//!
//! The flowspec dashboard: CI runs, jobs, live logs, trigger and retry buttons, the
//! receiver's event queue and test results, in the browser. `flowspec serve` serves it
//! under `/ui/` beside the receiver when `server.dashboard.token` is set;
//! `flowspec dashboard` serves it alone.
//!
//! | page | what |
//! |---|---|
//! | `/ui/runs` | recent runs of a CI profile: status, workflow, branch, commit, trigger, start, duration; filters, paging, live |
//! | `/ui/runs/{profile}/{run}` | jobs, failed tests of ingested reports, artifacts; **Retry failed**, **Retry all**, **Cancel** |
//! | `/ui/runs/{profile}/{run}/jobs/{job}/log` | the job's log with ANSI colours, line numbers and links, search, followed live, raw download |
//! | `/ui/trigger` | a form for workflow, branch and inputs that triggers and opens the new run |
//! | `/ui/events` | the receiver's queue by status, an event's hook runs with their (masked) output, **Replay** |
//! | `/ui/tests` | latest results, failed tests, flaky tests by flip rate, the quarantine with add and remove |
//!
//! Pages are HTML rendered on the server (maud) with one small script for live
//! updates; everything works without JavaScript except the live parts. A login page
//! takes the token and sets an `HttpOnly`, `SameSite=Strict` session cookie; every
//! state-changing request carries the session's CSRF token and is refused (403)
//! without it; every response carries a strict Content-Security-Policy.
//!
//! ## Example
//! ```no_run
//! use std::sync::Arc;
//! use flowspec_dashboard::Dashboard;
//! use flowspec_server::config::DashboardSettings;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let project = Arc::new(flowspec::Project::discover(&std::env::current_dir()?)?);
//! let settings = DashboardSettings::new("let-me-in".to_owned().into());
//! let dashboard = Dashboard::new(project, settings);
//! let app = axum::Router::new().merge(dashboard.router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod ansi;
mod auth;
mod error;
mod layout;
mod live;
mod log_text;
mod pages;
mod serve;

use std::sync::Arc;

use axum::Router;
use flowspec::Project;
use flowspec_server::config::DashboardSettings;

pub use error::DashboardError;
pub use serve::serve;

/// Where the dashboard's pages are served.
pub const BASE: &str = "/ui";

/// The dashboard of one project: its pages as an axum [`Router`] under [`BASE`].
#[derive(Clone)]
pub struct Dashboard {
    state: Arc<pages::State>,
}

impl Dashboard {
    /// The dashboard of `project`, opened by `settings.token`.
    pub fn new(project: Arc<Project>, settings: DashboardSettings) -> Dashboard {
        Dashboard {
            state: Arc::new(pages::State::new(project, settings)),
        }
    }

    /// The routes under `/ui/` (and `/ui` itself, which redirects to the runs).
    pub fn router(&self) -> Router {
        pages::router(self.state.clone())
    }
}

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboard")
            .field("root", &self.state.project.root())
            .finish_non_exhaustive()
    }
}
