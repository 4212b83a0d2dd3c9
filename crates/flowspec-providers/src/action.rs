//! The `ci:` hook action: trigger a workflow when an event fires, without a
//! script.
//!
//! ```yaml
//! hooks:
//!   - name: trigger-ci-tests
//!     events:
//!       - type: implement.completed
//!     ci:
//!       workflow: integration-tests.yml
//!       ref: "{event.branch}"          # optional; default: the provider's ref
//!       inputs:
//!         feature: "{event.feature}"   # an event field, passed as an API value
//!         trigger: flowspec-hook
//!       profile: tests                 # optional: a profile of `ci:` in flowspec.yaml
//!       wait: false                    # true: wait for the run and fail the hook if it fails
//! ```
//!
//! `{event.PATH}` in `ref` and `inputs` is replaced by the event's field (dotted
//! paths reach into objects: `{event.pr.number}`); strings are used as they are,
//! other JSON values as JSON text. The values go to the CI's API as data, never
//! through a shell. A field the event lacks fails the hook with a message naming it;
//! `{event.PATH|fallback}` uses `fallback` instead. `{{` writes a literal `{`.
//!
//! The hook's audit line gets `target` (platform, workflow, ref) and `response`
//! (run_id, run_url), as a `cicd.triggered` hook shows them. Follow-up events:
//! `ci.triggered` after the trigger, and `ci.completed` when `wait: true` (with
//! `run_status`). Other hooks can react to them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use flowspec_core::action::{Action, ActionContext, ActionFactory, ActionOutcome, BuildContext};
use flowspec_core::config::{ConfigError, ConfigErrorKind, ConfigErrors, Node, from_node};
use flowspec_core::event::{Event, FieldValue};
use flowspec_core::output::Stream;
use flowspec_core::provider::{CiProvider, ProviderRegistry, TriggerRequest};
use serde::Deserialize;
use serde_json::json;

use crate::config::CiSettings;
use crate::wait::{Verdict, WaitOptions, wait_for_run};

/// The hooks.yaml value under `ci:`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiActionConfig {
    /// The workflow to trigger. Example: `integration-tests.yml`.
    pub workflow: Option<String>,
    /// The branch or tag; `{event.PATH}` allowed. Example: `"{event.branch}"`.
    #[serde(rename = "ref", alias = "branch")]
    pub git_ref: Option<String>,
    /// Inputs (GitHub), variables (GitLab), parameters (Jenkins, CircleCI);
    /// `{event.PATH}` allowed. Example: `{feature: "{event.feature}"}`.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// The profile of `ci:` in flowspec.yaml. Example: `tests`.
    pub profile: Option<String>,
    /// Wait for the run to end (give the hook a `timeout` long enough). Example: `true`.
    #[serde(default)]
    pub wait: bool,
}

/// Builds `ci:` actions from the project's `ci:` settings.
pub struct CiActionFactory {
    settings: Option<CiSettings>,
    registry: ProviderRegistry,
}

impl CiActionFactory {
    /// A factory for a project whose flowspec.yaml `ci:` section is `settings`
    /// (`None`: the project has none, and `ci:` hooks are refused with a hint).
    pub fn new(settings: Option<CiSettings>, registry: ProviderRegistry) -> Self {
        CiActionFactory { settings, registry }
    }

    /// Reads the `ci:` section of the flowspec.yaml at `path` (a missing file is fine).
    pub fn from_settings_file(
        path: &Path,
        registry: ProviderRegistry,
    ) -> Result<Self, ConfigErrors> {
        let settings = flowspec_core::settings::Settings::load(path)?;
        Ok(CiActionFactory::new(
            CiSettings::from_settings(&settings)?,
            registry,
        ))
    }
}

impl ActionFactory for CiActionFactory {
    fn key(&self) -> &'static str {
        "ci"
    }

    fn describe(&self) -> &'static str {
        "trigger a CI workflow (GitHub Actions, GitLab CI...) configured under `ci:` in flowspec.yaml, optionally waiting for it"
    }

    fn example_yaml(&self) -> &'static str {
        "name: trigger-ci-tests\nevents:\n  - type: implement.completed\nci:\n  workflow: integration-tests.yml\n  inputs:\n    feature: \"{event.feature}\"\n    trigger: flowspec-hook\n"
    }

    fn build(&self, value: &Node, cx: &BuildContext<'_>) -> Result<Arc<dyn Action>, ConfigErrors> {
        let config: CiActionConfig =
            from_node(value, &cx.key_path).map_err(|e| ConfigErrors::from(cx.locate(e)))?;
        let mut errors = ConfigErrors::default();
        for (name, template) in config
            .inputs
            .iter()
            .map(|(k, v)| (format!("inputs.{k}"), v))
            .chain(config.git_ref.iter().map(|r| ("ref".to_owned(), r)))
        {
            if let Err(message) = Template::parse(template) {
                errors.push(
                    cx.locate(
                        ConfigError::new(ConfigErrorKind::InvalidValue, message)
                            .path(format!("{}.{name}", cx.key_path))
                            .at(value.loc),
                    ),
                );
            }
        }
        let Some(settings) = &self.settings else {
            errors.push(cx.locate(
                ConfigError::new(
                    ConfigErrorKind::MissingField,
                    "this hook uses `ci:` but .flowspec/flowspec.yaml has no `ci:` section",
                )
                .path(cx.key_path.clone())
                .at(value.loc)
                .hint("add `ci: {provider: github, config: {repo: owner/name}}` to .flowspec/flowspec.yaml"),
            ));
            return Err(errors);
        };
        if !cx.enabled {
            // A disabled hook need not have its CI's token set.
            errors.into_result(())?;
            return Ok(Arc::new(flowspec_core::action::disabled::Disabled("ci")));
        }
        let provider = match settings.build(
            config.profile.as_deref(),
            &self.registry,
            cx.vars,
            cx.project_root,
        ) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.extend(e);
                None
            }
        };
        errors.into_result(())?;
        Ok(Arc::new(CiAction {
            config,
            provider: provider.expect("no errors means a provider"),
        }))
    }
}

/// A configured `ci:` action.
#[derive(Debug)]
pub struct CiAction {
    config: CiActionConfig,
    provider: Arc<dyn CiProvider>,
}

#[async_trait]
impl Action for CiAction {
    fn summary(&self) -> String {
        format!(
            "ci: {} {}{}",
            self.provider.platform(),
            self.config
                .workflow
                .as_deref()
                .unwrap_or("(default workflow)"),
            if self.config.wait { " (wait)" } else { "" }
        )
    }

    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome {
        let event = cx.event;
        let mut request = TriggerRequest::new(self.config.workflow.clone().unwrap_or_default())
            .idempotency_key(event.id().to_string());
        if let Some(template) = &self.config.git_ref {
            match render(template, event) {
                Ok(r) if !r.is_empty() => request = request.git_ref(r),
                Ok(_) => {}
                Err(e) => return ActionOutcome::failed(format!("`ref`: {e}")),
            }
        }
        for (name, template) in &self.config.inputs {
            match render(template, event) {
                Ok(v) => request = request.input(name.clone(), v),
                Err(e) => return ActionOutcome::failed(format!("`inputs.{name}`: {e}")),
            }
        }
        let mut target = json!({
            "platform": self.provider.platform(),
            "workflow": request.workflow,
            "ref": request.git_ref,
        });
        let triggered = match self.provider.trigger(&request).await {
            Ok(run) => run,
            Err(error) => {
                return ActionOutcome::failed(error.to_string())
                    .with_detail("target", target)
                    .with_detail("error_kind", error.kind().as_str());
            }
        };
        let git_ref = triggered.git_ref.clone().or(request.git_ref.clone());
        target["ref"] = git_ref.clone().into();
        cx.output.text(
            Stream::Stdout,
            &format!(
                "triggered {} run {}{}\n",
                self.provider.platform(),
                triggered.id,
                triggered
                    .url
                    .as_deref()
                    .map(|u| format!(" {u}"))
                    .unwrap_or_default()
            ),
        );
        let mut response = json!({
            "run_id": triggered.id.to_string(),
            "run_url": triggered.url,
        });
        let follow_up = |event_type: &str, extra: &[(&str, serde_json::Value)]| {
            let mut builder = Event::builder(event_type)
                .field("platform", self.provider.platform())
                .field("workflow", request.workflow.clone())
                .field("run_id", triggered.id.to_string())
                .field("hook", cx.hook_name)
                .field("trigger_event_id", event.id().to_string());
            if let Some(r) = &git_ref {
                builder = builder.field("ref", r.clone());
            }
            if let Some(u) = &triggered.url {
                builder = builder.field("run_url", u.clone());
            }
            if let Some(f) = event.feature() {
                builder = builder.feature(f);
            }
            for (k, v) in extra {
                builder = builder.field(*k, v.clone());
            }
            builder.build().ok()
        };
        let mut outcome = ActionOutcome::success();
        if let Some(e) = follow_up("ci.triggered", &[]) {
            outcome = outcome.with_follow_up(e);
        }
        if !self.config.wait {
            return outcome
                .with_detail("target", target)
                .with_detail("response", response);
        }
        // Leave a moment before the hook's timeout to report properly.
        let budget = cx.timeout.saturating_sub(Duration::from_secs(2));
        let options = WaitOptions::default()
            .timeout(Some(budget))
            .with_jobs(false);
        let waited =
            wait_for_run(self.provider.as_ref(), &triggered.id, &options, &mut |_| {}).await;
        let waited = match waited {
            Ok(w) => w,
            Err(error) => {
                return ActionOutcome::failed(format!(
                    "run {} was triggered, but watching it failed: {error}",
                    triggered.id
                ))
                .with_detail("target", target)
                .with_detail("response", response);
            }
        };
        response["run_status"] = waited.run.status.as_str().into();
        response["raw_status"] = waited.run.raw_status.clone().into();
        let verdict = waited.verdict();
        if verdict != Verdict::TimedOut
            && let Some(e) = follow_up(
                "ci.completed",
                &[
                    ("run_status", waited.run.status.as_str().into()),
                    ("raw_status", waited.run.raw_status.clone().into()),
                ],
            )
        {
            outcome = outcome.with_follow_up(e);
        }
        let outcome = match verdict {
            Verdict::Success => outcome,
            Verdict::TimedOut => {
                let mut timed_out = ActionOutcome::timed_out();
                timed_out.follow_ups = outcome.follow_ups;
                timed_out
            }
            _ => {
                let mut failed = ActionOutcome::failed(format!(
                    "run {} ended {} ({})",
                    triggered.id, waited.run.status, waited.run.raw_status
                ));
                failed.follow_ups = outcome.follow_ups;
                failed
            }
        };
        outcome
            .with_detail("target", target)
            .with_detail("response", response)
    }
}

/// Checks a value with `{event.PATH}` (or `{event.PATH|fallback}`) placeholders, as
/// the `ci:`, `pr:` and `status:` actions do when hooks.yaml is loaded.
///
/// ```
/// use flowspec_providers::action::check_template;
/// assert!(check_template("#{event.pr}").is_ok());
/// assert!(check_template("{feature}").is_err());
/// ```
pub fn check_template(text: &str) -> Result<(), String> {
    Template::parse(text).map(|_| ())
}

/// Fills the `{event.PATH}` placeholders of `template` from `event` (a missing field
/// without a fallback is an error naming it).
pub fn render_template(template: &str, event: &Event) -> Result<String, String> {
    render(template, event)
}

/// A value with `{event.PATH}` / `{event.PATH|fallback}` placeholders.
#[derive(Debug, PartialEq)]
pub(crate) enum Piece<'a> {
    Text(std::borrow::Cow<'a, str>),
    Field {
        path: &'a str,
        fallback: Option<&'a str>,
    },
}

pub(crate) struct Template;

impl Template {
    pub(crate) fn parse(text: &str) -> Result<Vec<Piece<'_>>, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(pos) = rest.find(['{', '}']) {
            let (before, after) = rest.split_at(pos);
            if !before.is_empty() {
                pieces.push(Piece::Text(before.into()));
            }
            if let Some(stripped) = after.strip_prefix("{{") {
                pieces.push(Piece::Text("{".into()));
                rest = stripped;
                continue;
            }
            if let Some(stripped) = after.strip_prefix("}}") {
                pieces.push(Piece::Text("}".into()));
                rest = stripped;
                continue;
            }
            if after.starts_with('}') {
                return Err(format!(
                    "unmatched `}}` in `{text}` (write `}}}}` for a literal one)"
                ));
            }
            let end = after.find('}').ok_or_else(|| {
                format!("`{{` without `}}` in `{text}` (write `{{{{` for a literal one)")
            })?;
            let inner = &after[1..end];
            let Some(field) = inner.strip_prefix("event.") else {
                return Err(format!(
                    "`{{{inner}}}` is not a placeholder: use `{{event.FIELD}}` (for example `{{event.feature}}`)"
                ));
            };
            let (path, fallback) = match field.split_once('|') {
                Some((p, f)) => (p, Some(f)),
                None => (field, None),
            };
            if path.is_empty() {
                return Err(format!("`{{{inner}}}` names no field"));
            }
            pieces.push(Piece::Field { path, fallback });
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.into()));
        }
        Ok(pieces)
    }
}

/// Fills `{event.PATH}` placeholders from the event.
pub(crate) fn render(template: &str, event: &Event) -> Result<String, String> {
    let mut out = String::new();
    for piece in Template::parse(template)? {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Field { path, fallback } => match (event.field(path), fallback) {
                (Some(FieldValue::Str(s)), _) => out.push_str(s),
                (Some(FieldValue::Json(serde_json::Value::String(s))), _) => out.push_str(s),
                (Some(FieldValue::Json(serde_json::Value::Null)) | None, Some(f)) => {
                    out.push_str(f)
                }
                (Some(FieldValue::Json(v)), _) => out.push_str(&v.to_string()),
                (None, None) => {
                    return Err(format!(
                        "the event has no field `{path}` (write `{{event.{path}|default}}` to allow that)"
                    ));
                }
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event::builder("implement.completed")
            .feature("auth")
            .field("pr", json!({"number": 42}))
            .build()
            .unwrap()
    }

    #[test]
    fn should_fill_placeholders_from_the_event_verbatim() {
        let e = event();
        assert_eq!(render("{event.feature}", &e).unwrap(), "auth");
        assert_eq!(render("pr-{event.pr.number}", &e).unwrap(), "pr-42");
        assert_eq!(render("{event.branch|main}", &e).unwrap(), "main");
        assert_eq!(render("{{x}} $(rm -rf /)", &e).unwrap(), "{x} $(rm -rf /)");
    }

    #[test]
    fn should_name_a_missing_field_and_a_bad_placeholder() {
        let err = render("{event.branch}", &event()).unwrap_err();
        assert!(err.contains("no field `branch`"), "{err}");
        let err = Template::parse("{feature}").unwrap_err();
        assert!(err.contains("use `{event.FIELD}`"), "{err}");
    }
}
