//! The `status:` hook action: report a commit status on the forge (GitHub commit
//! statuses, GitLab commit statuses) from an event, or from the hook's own result.
//!
//! ```yaml
//! hooks:
//!   - name: report-jenkins
//!     events: [{type: ci.completed}]
//!     status: {context: "ci/jenkins", target_url: "{event.url}"}   # state from the event's conclusion
//!   - name: quality-gate
//!     events: [{type: implement.completed}]
//!     command: ./gate.sh
//!     status: {context: "flowspec/quality-gate", from: hook}       # state from the command's result
//! ```
//!
//! `from: event` (the default without another action) takes the state from the
//! event's `conclusion` (else `run_status`, else `status`), whichever CI sent it:
//! `success`, `failure`, `cancelled`, `timed_out`, `skipped`, `neutral`, `unstable`,
//! `action_required`, `pending`, `running`... `from: hook` (the default next to
//! `command:`/`script:`) runs that action and reports `success` or `failure` with its
//! result. `sha` defaults to the event's `sha` (or `head_sha`), else the checkout's
//! `HEAD`; `context`, `sha`, `target_url` and `description` take `{event.PATH}`.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use flowspec_core::action::{
    Action, ActionContext, ActionFactory, ActionOutcome, ActionResult, BuildContext,
};
use flowspec_core::config::{ConfigError, ConfigErrorKind, ConfigErrors, Node, from_node};
use flowspec_core::event::Event;
use flowspec_core::output::Stream;
use flowspec_core::provider::{CommitState, CommitStatus};
use serde::Deserialize;
use serde_json::json;

use super::Forge;
use super::build::hook_forge;
use crate::action::{Template, render};
use crate::config::CiSettings;

/// Where the reported state comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusFrom {
    /// The event's `conclusion` (or `run_status`, `status`).
    #[default]
    Event,
    /// The result of the hook's own action (`command:`, `script:`...).
    Hook,
}

/// The hooks.yaml value under `status:`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusActionConfig {
    /// The status's name on the commit. Example: `"ci/jenkins"`.
    pub context: String,
    /// Where the state comes from. Example: `hook`. Default: `hook` next to another
    /// action, `event` otherwise.
    pub from: Option<StatusFrom>,
    /// The commit. Example: `"{event.sha}"`. Default: the event's `sha`, else `HEAD`.
    pub sha: Option<String>,
    /// A link to the details. Example: `"{event.url}"`.
    pub target_url: Option<String>,
    /// A short text (GitHub keeps 140 characters). Example: `"tests on Jenkins"`.
    pub description: Option<String>,
    /// The `ci:` profile of the forge. Example: `forge`.
    pub profile: Option<String>,
}

/// The commit state for a CI conclusion or run status, as any provider words it.
///
/// ```
/// use flowspec_core::provider::CommitState;
/// use flowspec_providers::forge::status::conclusion_state;
/// assert_eq!(conclusion_state("failure"), Some(CommitState::Failed));
/// assert_eq!(conclusion_state("timed_out"), Some(CommitState::Error));
/// assert_eq!(conclusion_state("canceled"), Some(CommitState::Cancelled));
/// assert_eq!(conclusion_state("bogus"), None);
/// ```
pub fn conclusion_state(conclusion: &str) -> Option<CommitState> {
    Some(match conclusion.to_ascii_lowercase().as_str() {
        "success" | "succeeded" | "passed" | "fixed" => CommitState::Success,
        "neutral" | "skipped" | "not_built" => CommitState::Skipped,
        "failure" | "failed" | "unstable" | "action_required" | "startup_failure" => {
            CommitState::Failed
        }
        "timed_out" | "error" | "errored" | "stale" => CommitState::Error,
        "cancelled" | "canceled" | "aborted" => CommitState::Cancelled,
        "pending" | "queued" | "waiting" | "requested" | "created" => CommitState::Pending,
        "running" | "in_progress" => CommitState::Running,
        _ => return None,
    })
}

/// Builds `status:` actions from the project's `ci:` settings.
pub struct StatusActionFactory {
    settings: Option<CiSettings>,
}

impl StatusActionFactory {
    /// A factory for a project whose flowspec.yaml `ci:` section is `settings`.
    pub fn new(settings: Option<CiSettings>) -> Self {
        StatusActionFactory { settings }
    }

    /// Reads the `ci:` section of the flowspec.yaml at `path` (a missing file is fine).
    pub fn from_settings_file(path: &Path) -> Result<Self, ConfigErrors> {
        let settings = flowspec_core::settings::Settings::load(path)?;
        Ok(StatusActionFactory::new(CiSettings::from_settings(
            &settings,
        )?))
    }
}

impl ActionFactory for StatusActionFactory {
    fn key(&self) -> &'static str {
        "status"
    }

    fn describe(&self) -> &'static str {
        "report a commit status on GitHub or GitLab from the event's CI conclusion, or (next to `command:`) from the hook's own result"
    }

    fn example_yaml(&self) -> &'static str {
        "name: report-ci\nevents:\n  - type: ci.completed\nstatus:\n  context: ci/jenkins\n  target_url: \"{event.url}\"\n"
    }

    fn wraps(&self) -> bool {
        true
    }

    fn build(&self, value: &Node, cx: &BuildContext<'_>) -> Result<Arc<dyn Action>, ConfigErrors> {
        let config: StatusActionConfig =
            from_node(value, &cx.key_path).map_err(|e| ConfigErrors::from(cx.locate(e)))?;
        let mut errors = ConfigErrors::default();
        let invalid = |field: &str, message: String, hint: &str| {
            cx.locate(
                ConfigError::new(ConfigErrorKind::InvalidValue, message)
                    .path(format!("{}.{field}", cx.key_path))
                    .at(value.get(field).map_or(value.loc, |n| n.loc))
                    .hint(hint.to_owned()),
            )
        };
        for (field, template) in [
            ("context", Some(&config.context)),
            ("sha", config.sha.as_ref()),
            ("target_url", config.target_url.as_ref()),
            ("description", config.description.as_ref()),
        ] {
            if let Some(t) = template
                && let Err(message) = Template::parse(t)
            {
                errors.push(invalid(
                    field,
                    message,
                    "write `{event.FIELD}` for an event field",
                ));
            }
        }
        if config.context.trim().is_empty() {
            errors.push(invalid(
                "context",
                "`context` is empty".into(),
                "name the status, for example `context: flowspec/quality-gate`",
            ));
        }
        let from = match (config.from, &cx.inner) {
            (Some(StatusFrom::Hook), None) => {
                errors.push(invalid(
                    "from",
                    "`from: hook` reports the hook's own result, but the hook has no other action"
                        .into(),
                    "add `command:` (or `script:`) to the hook, or use `from: event`",
                ));
                StatusFrom::Hook
            }
            (Some(StatusFrom::Event), Some(_)) => {
                errors.push(invalid(
                    "from",
                    "`from: event` next to another action: the status would not say how that action went".into(),
                    "use `from: hook`, or move `status:` to a hook of its own",
                ));
                StatusFrom::Event
            }
            (Some(f), _) => f,
            (None, Some(_)) => StatusFrom::Hook,
            (None, None) => StatusFrom::Event,
        };
        let profile = config.profile.clone();
        let Some(forge) = hook_forge(self.settings.as_ref(), "status", profile, value, cx, errors)?
        else {
            return Ok(Arc::new(flowspec_core::action::disabled::Disabled(
                "status",
            )));
        };
        let mut action = StatusAction::new(config, forge);
        action.from = from;
        action.inner = cx.inner.clone();
        Ok(Arc::new(action))
    }
}

/// A configured `status:` action.
#[derive(Debug)]
pub struct StatusAction {
    config: StatusActionConfig,
    forge: Arc<dyn Forge>,
    from: StatusFrom,
    inner: Option<Arc<dyn Action>>,
}

impl StatusAction {
    /// An action reporting on `forge` with the state from the event (for embedders
    /// and tests; hooks.yaml goes through [`StatusActionFactory`]).
    pub fn new(config: StatusActionConfig, forge: Arc<dyn Forge>) -> Self {
        StatusAction {
            from: config.from.unwrap_or_default(),
            config,
            forge,
            inner: None,
        }
    }

    /// Runs `inner` and reports its result (`from: hook`).
    pub fn wrapping(mut self, inner: Arc<dyn Action>) -> Self {
        self.from = StatusFrom::Hook;
        self.inner = Some(inner);
        self
    }

    fn event_state(event: &Event) -> Result<CommitState, String> {
        let field = ["conclusion", "run_status", "status"]
            .into_iter()
            .find_map(|f| event.field_text(f).map(|v| (f, v)));
        let Some((name, value)) = field else {
            return Err(format!(
                "the `{}` event has no `conclusion` (nor `run_status`, `status`) to report: use `from: hook` next to a command, or react to `ci.completed`",
                event.event_type().as_str()
            ));
        };
        conclusion_state(&value).ok_or_else(|| {
            format!("`{name}: {value}` of the event is not a CI result flowspec knows (success, failure, cancelled, timed_out, skipped...)")
        })
    }

    fn sha(&self, event: &Event, working_dir: &Path) -> Result<String, String> {
        if let Some(t) = &self.config.sha {
            return render(t, event).map_err(|e| format!("`sha`: {e}"));
        }
        if let Some(sha) = event
            .field_text("sha")
            .or_else(|| event.field_text("head_sha"))
        {
            return Ok(sha.to_owned());
        }
        let output = std::process::Command::new("git")
            .arg("-C")
            .arg(working_dir)
            .args(["rev-parse", "HEAD"])
            .output()
            .map_err(|e| format!("no commit: the event has no `sha` and git could not run: {e}"))?;
        let sha = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if !output.status.success() || sha.is_empty() {
            return Err(format!(
                "no commit: the event has no `sha` and {} is not a git checkout (set `sha:`)",
                working_dir.display()
            ));
        }
        Ok(sha)
    }
}

#[async_trait]
impl Action for StatusAction {
    fn summary(&self) -> String {
        match &self.inner {
            Some(inner) => format!(
                "{} + status: {} \"{}\"",
                inner.summary(),
                self.forge.kind(),
                self.config.context
            ),
            None => format!("status: {} \"{}\"", self.forge.kind(), self.config.context),
        }
    }

    fn enforces_timeout(&self) -> bool {
        self.inner.as_ref().is_some_and(|i| i.enforces_timeout())
    }

    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome {
        let event = cx.event;
        let (state, mut outcome) = match (&self.inner, self.from) {
            (Some(inner), _) => {
                let outcome = inner.run(cx).await;
                let state = match outcome.result {
                    ActionResult::Success => CommitState::Success,
                    ActionResult::Failed(_) => CommitState::Failed,
                    ActionResult::TimedOut => CommitState::Error,
                };
                (state, outcome)
            }
            (None, StatusFrom::Hook) => {
                return ActionOutcome::failed(
                    "`from: hook` needs the hook's own action (`command:` or `script:`) next to `status:`",
                );
            }
            (None, StatusFrom::Event) => match Self::event_state(event) {
                Ok(state) => (state, ActionOutcome::success()),
                Err(message) => return ActionOutcome::failed(message),
            },
        };
        let rendered = (|| -> Result<CommitStatus, String> {
            let field =
                |name: &str, t: &str| render(t, event).map_err(|e| format!("`{name}`: {e}"));
            let mut status = CommitStatus::new(self.sha(event, cx.working_dir)?, state)
                .context(field("context", &self.config.context)?);
            if let Some(t) = &self.config.target_url {
                status = status.target_url(field("target_url", t)?);
            }
            let description = match &self.config.description {
                Some(t) => field("description", t)?,
                None => format!("{} by flowspec hook {}", state.as_str(), cx.hook_name),
            };
            status = status.description(description);
            if let Some(branch) = event.field_text("branch") {
                status = status.git_ref(branch);
            }
            Ok(status)
        })();
        let status = match rendered {
            Ok(s) => s,
            Err(message) => return fail_keeping(outcome, message),
        };
        let target = json!({
            "platform": self.forge.kind(),
            "sha": status.sha,
            "context": status.context,
        });
        if let Err(e) = self.forge.report_status(&status).await {
            return fail_keeping(outcome, e.to_string()).with_detail("target", target);
        }
        cx.output.text(
            Stream::Stdout,
            &format!(
                "reported {} `{}` on {} ({})\n",
                state.as_str(),
                status.context.as_deref().unwrap_or_default(),
                short(&status.sha),
                self.forge.kind()
            ),
        );
        outcome.details.insert(
            "status".into(),
            json!({"state": state.as_str(), "context": status.context, "sha": status.sha}),
        );
        outcome.with_detail("target", target)
    }
}

/// The hook's own failure stays the reason; a failed report is added to it.
fn fail_keeping(outcome: ActionOutcome, message: String) -> ActionOutcome {
    let message = match &outcome.result {
        ActionResult::Failed(own) => format!("{own}; reporting the status failed too: {message}"),
        _ => message,
    };
    let mut failed = ActionOutcome::failed(message).with_exit_code(outcome.exit_code);
    failed.details = outcome.details;
    failed.follow_ups = outcome.follow_ups;
    failed
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
