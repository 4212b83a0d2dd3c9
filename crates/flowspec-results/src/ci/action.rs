//! The `retry_flaky:` hook action: on a failed `ci.completed` event (from
//! `flowspec serve`'s webhooks, `flowspec emit`, a trigger file...), read the run's
//! results, ask the `results.auto_retry` policy, and retry the failed jobs when
//! every failure is a known flaky test.
//!
//! ```yaml
//! hooks:
//!   - name: retry-flaky-tests
//!     events:
//!       - type: ci.completed
//!         filter: {conclusion: failure}
//!     retry_flaky: {}              # or {profile: tests}: a profile of `ci:` in flowspec.yaml
//!     timeout: 300
//! ```
//!
//! The event must carry `run_id`; its `provider` (set by the webhook sources) must be
//! the profile's provider, and its `conclusion`, when present, `failure` — other
//! events are skipped, and the hook succeeds. Each decision goes to the hook's audit
//! line under `auto_retry` (`decision`, `reason`, `tests`, `retry`...); a retry also
//! emits `ci.retried`.

use std::sync::Arc;

use crate::config::ResultsConfig;
use crate::store::ResultsStore;
use async_trait::async_trait;
use flowspec_core::ProjectPaths;
use flowspec_core::action::{Action, ActionContext, ActionFactory, ActionOutcome, BuildContext};
use flowspec_core::config::{
    ConfigError, ConfigErrorKind, ConfigErrors, Node, Value, Vars, from_node,
};
use flowspec_core::event::{Event, FieldValue};
use flowspec_core::output::Stream;
use flowspec_core::provider::{CiProvider, ProviderRegistry, RunId, RunStatus};
use flowspec_core::settings::Settings;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::OnceCell;

use super::auto_retry::evaluate_retry;
use flowspec_core::provider::config::CiSettings;

/// The hooks.yaml value under `retry_flaky:`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryFlakyConfig {
    /// The profile of `ci:` in flowspec.yaml whose runs this hook retries. Example: `tests`.
    pub profile: Option<String>,
}

/// Builds `retry_flaky:` actions for a project (its `ci:` and `results:` settings,
/// and its state store, opened on first use).
pub struct RetryFlakyFactory {
    project: ProjectPaths,
    settings: Settings,
    ci: Option<CiSettings>,
    results: ResultsConfig,
    registry: ProviderRegistry,
    store: Arc<OnceCell<ResultsStore>>,
}

impl RetryFlakyFactory {
    /// A factory for `project`, reading its flowspec.yaml (a missing file is fine).
    pub fn from_project(
        project: &ProjectPaths,
        registry: ProviderRegistry,
    ) -> Result<Self, ConfigErrors> {
        let settings = Settings::load(&project.settings_file)?;
        let ci = CiSettings::from_settings(&settings)?;
        let results = ResultsConfig::from_node(
            settings.section(crate::config::SECTION),
            settings.file().unwrap_or(&project.settings_file),
            settings.text(),
        )?;
        Ok(RetryFlakyFactory {
            project: project.clone(),
            settings,
            ci,
            results,
            registry,
            store: Arc::new(OnceCell::new()),
        })
    }
}

impl ActionFactory for RetryFlakyFactory {
    fn key(&self) -> &'static str {
        "retry_flaky"
    }

    fn describe(&self) -> &'static str {
        "on a failed ci.completed event, retry the run's failed jobs when every failure is a known flaky test (results.auto_retry)"
    }

    fn example_yaml(&self) -> &'static str {
        "name: retry-flaky-tests\nevents:\n  - type: ci.completed\n    filter: {conclusion: failure}\nretry_flaky: {}\n"
    }

    fn build(&self, value: &Node, cx: &BuildContext<'_>) -> Result<Arc<dyn Action>, ConfigErrors> {
        let config: RetryFlakyConfig = match &value.value {
            Value::Null => RetryFlakyConfig::default(),
            _ => from_node(value, &cx.key_path).map_err(|e| ConfigErrors::from(cx.locate(e)))?,
        };
        let Some(ci) = &self.ci else {
            return Err(cx
                .locate(
                    ConfigError::new(
                        ConfigErrorKind::MissingField,
                        "this hook uses `retry_flaky:` but .flowspec/flowspec.yaml has no `ci:` section",
                    )
                    .path(cx.key_path.clone())
                    .at(value.loc)
                    .hint("add `ci: {provider: github, config: {repo: owner/name}}` to .flowspec/flowspec.yaml"),
                )
                .into());
        };
        if !cx.enabled {
            return Ok(Arc::new(Disabled));
        }
        let provider = ci.build(
            config.profile.as_deref(),
            &self.registry,
            cx.vars,
            cx.project_root,
        )?;
        Ok(Arc::new(RetryFlakyAction {
            provider,
            results: self.results.clone(),
            project: self.project.clone(),
            settings: self.settings.clone(),
            vars: cx.vars.clone(),
            store: self.store.clone(),
        }))
    }
}

#[derive(Debug)]
struct Disabled;

#[async_trait]
impl Action for Disabled {
    fn summary(&self) -> String {
        "retry_flaky: (disabled)".into()
    }
    async fn run(&self, _: &ActionContext<'_>) -> ActionOutcome {
        ActionOutcome::failed("the hook is disabled")
    }
}

/// A configured `retry_flaky:` action.
pub struct RetryFlakyAction {
    provider: Arc<dyn CiProvider>,
    results: ResultsConfig,
    project: ProjectPaths,
    settings: Settings,
    vars: Vars,
    store: Arc<OnceCell<ResultsStore>>,
}

impl std::fmt::Debug for RetryFlakyAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryFlakyAction")
            .field("provider", &self.provider.kind())
            .field("auto_retry", &self.results.auto_retry)
            .finish_non_exhaustive()
    }
}

impl RetryFlakyAction {
    async fn store(&self) -> Result<&ResultsStore, String> {
        self.store
            .get_or_try_init(|| async {
                let core = flowspec_core::engine::open_project_store(
                    &self.project,
                    &self.settings,
                    &self.vars,
                )
                .await
                .map_err(|e| format!("cannot open the state store: {e}"))?;
                ResultsStore::open(&core)
                    .await
                    .map_err(|e| format!("cannot open the results store: {e}"))
            })
            .await
    }
}

fn text_field(event: &Event, path: &str) -> Option<String> {
    match event.field(path)? {
        FieldValue::Str(s) => Some(s.to_owned()),
        FieldValue::Json(serde_json::Value::String(s)) => Some(s.clone()),
        FieldValue::Json(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

#[async_trait]
impl Action for RetryFlakyAction {
    fn summary(&self) -> String {
        format!(
            "retry_flaky: {} (max {} retries{})",
            self.provider.platform(),
            self.results.auto_retry.max_retries,
            if self.results.auto_retry.enabled {
                ""
            } else {
                ", results.auto_retry.enabled is false"
            }
        )
    }

    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome {
        let event = cx.event;
        let kind = self.provider.kind();
        let skip = |reason: &str, message: String| {
            cx.output.text(Stream::Stdout, &format!("{message}\n"));
            ActionOutcome::success().with_detail(
                "auto_retry",
                json!({"decision": "skip", "reason": reason, "message": message, "provider": kind,
                       "run_id": text_field(event, "run_id")}),
            )
        };
        // `unstable`: Jenkins' word for a build whose tests failed.
        if let Some(conclusion) = text_field(event, "conclusion")
            && !matches!(conclusion.as_str(), "failure" | "unstable")
        {
            return skip(
                "not_failed",
                format!(
                    "not retrying: the run's conclusion is `{conclusion}`, not `failure` or `unstable`"
                ),
            );
        }
        if let Some(source) = text_field(event, "provider")
            && source != kind
        {
            return skip(
                "provider_mismatch",
                format!(
                    "not retrying: the event comes from `{source}`, this hook's CI is `{kind}`"
                ),
            );
        }
        let Some(run_id) = text_field(event, "run_id") else {
            return ActionOutcome::failed(
                "the event has no `run_id` (retry_flaky reacts to ci.completed events from `flowspec serve`, or any event with `run_id`)",
            );
        };
        let run = match self.provider.get_run(&RunId::new(run_id.clone())).await {
            Ok(run) => run,
            Err(e) => {
                return ActionOutcome::failed(format!("cannot read run {run_id}: {e}"))
                    .with_detail("error_kind", e.kind().as_str());
            }
        };
        if run.status != RunStatus::Failed {
            return skip(
                "run_not_failed",
                format!(
                    "not retrying: run {run_id} is {} now ({})",
                    run.status, run.raw_status
                ),
            );
        }
        let store = match self.store().await {
            Ok(s) => s,
            Err(e) => return ActionOutcome::failed(e),
        };
        let evaluation = match evaluate_retry(
            self.provider.as_ref(),
            &run,
            store,
            &self.results,
            true,
        )
        .await
        {
            Ok(e) => e,
            Err(e) => {
                return ActionOutcome::failed(format!("auto-retry of run {run_id} failed: {e}"))
                    .with_detail("auto_retry", json!({"decision": "retry", "run_id": run_id, "provider": kind, "error": e.to_string()}));
            }
        };
        cx.output.text(
            Stream::Stdout,
            &format!("run {run_id}: {}\n", evaluation.decision.describe()),
        );
        let mut outcome = ActionOutcome::success().with_detail("auto_retry", evaluation.to_json());
        if let (Some(retried), crate::auto_retry::AutoRetryVerdict::Retry { retry, tests }) =
            (&evaluation.retried, &evaluation.decision)
        {
            let mut follow_up = Event::builder("ci.retried")
                .field("provider", kind)
                .field("platform", self.provider.platform())
                // As in the audit line: the run that failed, and the run the retry
                // started (the same id where the platform retries in place).
                .field("run_id", run_id.clone())
                .field("retried_run_id", retried.id.to_string())
                .field("retry", *retry)
                .field("tests", json!(tests))
                .field("reason", "flaky")
                .field("hook", cx.hook_name)
                .field("trigger_event_id", event.id().to_string());
            if let Some(url) = &retried.url {
                follow_up = follow_up.field("run_url", url.clone());
            }
            if let Some(branch) = &run.head_branch {
                follow_up = follow_up.field("branch", branch.clone());
            }
            if let Some(commit) = &run.head_sha {
                follow_up = follow_up.field("commit", commit.clone());
            }
            if let Ok(e) = follow_up.build() {
                outcome = outcome.with_follow_up(e);
            }
        }
        outcome
    }
}
