//! The routes, and what every page shares: the project, the sessions, one CI client
//! per profile and the live pollers.

mod assets;
mod events;
mod log;
mod run;
mod runs;
mod tests;
mod trigger;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::middleware;
use axum::response::Redirect;
use axum::routing::{get, post};
use flowspec::Project;
use flowspec_core::provider::CiProvider;
use flowspec_server::config::DashboardSettings;

use crate::BASE;
use crate::auth::{self, Sessions};
use crate::error::DashboardError;
use crate::layout;
use crate::live::Live;

/// What the pages share.
pub(crate) struct State {
    pub(crate) project: Arc<Project>,
    pub(crate) settings: DashboardSettings,
    pub(crate) sessions: Sessions,
    pub(crate) live: Live,
    pub(crate) logs: log::LogCache,
    providers: Mutex<HashMap<String, Arc<dyn CiProvider>>>,
    // Opened once: opening checks the schema, which pages and pollers need not repeat.
    results: tokio::sync::OnceCell<flowspec::Results>,
    queue: tokio::sync::OnceCell<flowspec_server::queue::Queue>,
}

impl State {
    pub(crate) fn new(project: Arc<Project>, settings: DashboardSettings) -> State {
        State {
            project,
            sessions: Sessions::new(settings.session_ttl),
            settings,
            live: Live::default(),
            logs: log::LogCache::default(),
            providers: Mutex::new(HashMap::new()),
            results: tokio::sync::OnceCell::new(),
            queue: tokio::sync::OnceCell::new(),
        }
    }

    /// The project's test results, opened on first use.
    pub(crate) async fn results(&self) -> Result<&flowspec::Results, DashboardError> {
        Ok(self
            .results
            .get_or_try_init(|| self.project.results())
            .await?)
    }

    /// The receiver's queue, opened on first use.
    pub(crate) async fn queue(&self) -> Result<&flowspec_server::queue::Queue, DashboardError> {
        Ok(self.queue.get_or_try_init(|| self.project.queue()).await?)
    }

    /// The CI profiles of flowspec.yaml: (name, provider kind).
    pub(crate) fn profiles(&self) -> Vec<(String, String)> {
        flowspec::ci_steer::profiles(&self.project)
    }

    /// The profile `name` (default: `ci.default`, or the only one) and its client,
    /// built once and shared by every page and poller.
    pub(crate) fn provider(
        &self,
        name: Option<&str>,
    ) -> Result<(String, Arc<dyn CiProvider>), DashboardError> {
        let settings = self.project.ci_settings()?;
        let profile = settings
            .profile(name.filter(|n| !n.is_empty()))
            .map_err(|e| DashboardError::NotFound(e.to_string()))?
            .name
            .clone();
        let mut providers = self.providers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(provider) = providers.get(&profile) {
            return Ok((profile, provider.clone()));
        }
        let provider = self.project.ci(Some(&profile))?;
        providers.insert(profile.clone(), provider.clone());
        Ok((profile, provider))
    }
}

/// Every route of the dashboard, behind the session check.
pub(crate) fn router(state: Arc<State>) -> Router {
    let runs = format!("{BASE}/runs/{{profile}}/{{run}}");
    Router::new()
        .route(
            BASE,
            get(|| async { Redirect::to(&format!("{BASE}/runs")) }),
        )
        .route(
            &format!("{BASE}/"),
            get(|| async { Redirect::to(&format!("{BASE}/runs")) }),
        )
        .route(
            &format!("{BASE}/login"),
            get(auth::login_form).post(auth::login),
        )
        .route(&format!("{BASE}/logout"), post(auth::logout))
        .route(&format!("{BASE}/assets/{{file}}"), get(assets::asset))
        .route(&format!("{BASE}/runs"), get(runs::page))
        .route(&format!("{BASE}/live/runs"), get(runs::live))
        .route(&runs, get(run::page))
        .route(&format!("{runs}/live"), get(run::live))
        .route(&format!("{runs}/retry"), post(run::retry))
        .route(&format!("{runs}/cancel"), post(run::cancel))
        .route(
            &format!("{runs}/artifacts/{{artifact}}"),
            get(run::artifact),
        )
        .route(&format!("{runs}/jobs/{{job}}/log"), get(log::page))
        .route(&format!("{runs}/jobs/{{job}}/log/raw"), get(log::raw))
        .route(&format!("{runs}/jobs/{{job}}/log/stream"), get(log::stream))
        .route(
            &format!("{BASE}/trigger"),
            get(trigger::page).post(trigger::submit),
        )
        .route(&format!("{BASE}/events"), get(events::page))
        .route(&format!("{BASE}/live/events"), get(events::live))
        .route(&format!("{BASE}/events/{{id}}"), get(events::detail))
        .route(
            &format!("{BASE}/events/{{id}}/replay"),
            post(events::replay),
        )
        .route(&format!("{BASE}/tests"), get(tests::page))
        .route(&format!("{BASE}/tests/quarantine"), post(tests::quarantine))
        .layer(middleware::map_response(|r| async {
            layout::secure_headers(r)
        }))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_session,
        ))
        .with_state(state)
}
