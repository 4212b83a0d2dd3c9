//! The `pr:` hook action: open (or update) the pull request of a branch when an
//! event fires.
//!
//! ```yaml
//! hooks:
//!   - name: auto-create-pr
//!     events: [{type: task.completed}]
//!     when: "test -z \"$(backlog task list -s 'In Progress' --plain)\""
//!     pr:
//!       title: "feat: {event.feature}"
//!       base: main                       # default: main
//!       head: "{event.branch}"           # default: the event's `branch`, else the current branch
//!       body_template: .flowspec/pr-body.md.j2   # or body: "…{event.feature}…"
//!       draft: false
//!       labels: [automated]
//!       reviewers: [octocat, octo/reviewers]     # `org/team` asks a team
//!       auto_merge: squash               # squash | merge | rebase
//!       profile: forge                   # a `github` or `gitlab` profile of `ci:` (default: the default one)
//! ```
//!
//! `title`, `base`, `head` and `body` take `{event.PATH}` placeholders, as `ci:`
//! does. `body_template` is a minijinja file (relative to the project root) with
//! the event's fields as variables (`{{ feature }}`, `{{ event.branch }}`).
//!
//! Idempotent: an open pull request for the head branch is updated (title, body,
//! base, labels), never opened twice. The follow-up event `pr.created` or
//! `pr.updated` carries `number`, `url`, `head`, `base`; the audit line gets
//! `response` with the same.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use flowspec_core::action::{Action, ActionContext, ActionFactory, ActionOutcome, BuildContext};
use flowspec_core::config::{ConfigError, ConfigErrorKind, ConfigErrors, Node, from_node};
use flowspec_core::event::Event;
use flowspec_core::output::Stream;
use serde::Deserialize;
use serde_json::{Value, json};

use super::build::hook_forge;
use super::{Forge, MergeMethod, PrRequest, ensure_pr};
use crate::action::{Template, render};
use crate::common::GitDefaults;
use crate::config::CiSettings;

/// The hooks.yaml value under `pr:`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrActionConfig {
    /// The title; `{event.PATH}` allowed. Example: `"feat: {event.feature}"`.
    pub title: String,
    /// The branch to merge into. Example: `main`. Default: `main`.
    pub base: Option<String>,
    /// The branch with the changes. Example: `"{event.branch}"`. Default: the
    /// event's `branch`, else the checkout's current branch.
    pub head: Option<String>,
    /// The description; `{event.PATH}` allowed.
    pub body: Option<String>,
    /// A minijinja file for the description, relative to the project root.
    /// Example: `.flowspec/pr-body.md.j2`.
    pub body_template: Option<PathBuf>,
    /// Open as a draft. Example: `true`.
    #[serde(default)]
    pub draft: bool,
    /// Labels to add. Example: `[automated]`.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Reviewers: logins, or `org/team`. Example: `[octo/reviewers]`.
    #[serde(default)]
    pub reviewers: Vec<String>,
    /// Turn on the forge's auto-merge with this method. Example: `squash`.
    pub auto_merge: Option<MergeMethod>,
    /// The `ci:` profile of the forge. Example: `forge`.
    pub profile: Option<String>,
}

/// Builds `pr:` actions from the project's `ci:` settings.
pub struct PrActionFactory {
    settings: Option<CiSettings>,
}

impl PrActionFactory {
    /// A factory for a project whose flowspec.yaml `ci:` section is `settings`.
    pub fn new(settings: Option<CiSettings>) -> Self {
        PrActionFactory { settings }
    }

    /// Reads the `ci:` section of the flowspec.yaml at `path` (a missing file is fine).
    pub fn from_settings_file(path: &Path) -> Result<Self, ConfigErrors> {
        let settings = flowspec_core::settings::Settings::load(path)?;
        Ok(PrActionFactory::new(CiSettings::from_settings(&settings)?))
    }
}

impl ActionFactory for PrActionFactory {
    fn key(&self) -> &'static str {
        "pr"
    }

    fn describe(&self) -> &'static str {
        "open or update the pull request (GitHub) or merge request (GitLab) of a branch, the forge of a `ci:` profile, with labels, reviewers and auto-merge"
    }

    fn example_yaml(&self) -> &'static str {
        "name: auto-create-pr\nevents:\n  - type: task.completed\npr:\n  title: \"feat: {event.feature}\"\n  base: main\n  labels: [automated]\n"
    }

    fn build(&self, value: &Node, cx: &BuildContext<'_>) -> Result<Arc<dyn Action>, ConfigErrors> {
        let config: PrActionConfig =
            from_node(value, &cx.key_path).map_err(|e| ConfigErrors::from(cx.locate(e)))?;
        let mut errors = ConfigErrors::default();
        let invalid = |field: &str, message: String| {
            cx.locate(
                ConfigError::new(ConfigErrorKind::InvalidValue, message)
                    .path(format!("{}.{field}", cx.key_path))
                    .at(value.get(field).map_or(value.loc, |n| n.loc)),
            )
        };
        for (field, template) in [
            ("title", Some(&config.title)),
            ("base", config.base.as_ref()),
            ("head", config.head.as_ref()),
            ("body", config.body.as_ref()),
        ] {
            if let Some(t) = template
                && let Err(message) = Template::parse(t)
            {
                errors.push(invalid(field, message));
            }
        }
        if config.body.is_some() && config.body_template.is_some() {
            errors.push(invalid(
                "body_template",
                "`body` and `body_template` are both set: keep one".into(),
            ));
        }
        if let Some(file) = &config.body_template {
            let full = cx.project_root.join(file);
            match std::fs::read_to_string(&full) {
                Ok(text) => {
                    if let Err(e) = minijinja::Environment::new().template_from_str(&text) {
                        errors.push(invalid(
                            "body_template",
                            format!("{}: invalid template: {e}", file.display()),
                        ));
                    }
                }
                Err(e) => errors.push(invalid(
                    "body_template",
                    format!("cannot read {}: {e}", full.display()),
                )),
            }
        }
        let profile = config.profile.clone();
        let Some(forge) = hook_forge(self.settings.as_ref(), "pr", profile, value, cx, errors)?
        else {
            return Ok(Arc::new(flowspec_core::action::disabled::Disabled("pr")));
        };
        Ok(Arc::new(PrAction {
            config,
            forge,
            root: cx.project_root.to_owned(),
        }))
    }
}

/// A configured `pr:` action.
#[derive(Debug)]
pub struct PrAction {
    config: PrActionConfig,
    forge: Arc<dyn Forge>,
    root: PathBuf,
}

impl PrAction {
    /// An action on `forge` (for embedders and tests; hooks.yaml goes through
    /// [`PrActionFactory`]). `root` is where `body_template` is read from.
    pub fn new(config: PrActionConfig, forge: Arc<dyn Forge>, root: impl Into<PathBuf>) -> Self {
        PrAction {
            config,
            forge,
            root: root.into(),
        }
    }

    fn request(&self, event: &Event, working_dir: &Path) -> Result<PrRequest, String> {
        let field = |name: &str, t: &str| render(t, event).map_err(|e| format!("`{name}`: {e}"));
        let title = field("title", &self.config.title)?;
        let base = match &self.config.base {
            Some(t) => field("base", t)?,
            None => "main".to_owned(),
        };
        let head = match &self.config.head {
            Some(t) => field("head", t)?,
            None => match event.field_text("branch") {
                Some(b) => b.to_owned(),
                None => GitDefaults::discover(working_dir).branch.ok_or_else(|| {
                    "no head branch: the event has no `branch` and the checkout is on no branch (set `head:`)".to_owned()
                })?,
            },
        };
        if head.is_empty() || head == base {
            return Err(format!(
                "head `{head}` cannot be merged into `{base}`: set `head:` to the feature branch"
            ));
        }
        let body = match (&self.config.body, &self.config.body_template) {
            (Some(t), _) => Some(field("body", t)?),
            (None, Some(file)) => Some(self.render_template(file, event)?),
            (None, None) => None,
        };
        let mut request = PrRequest::new(title, base, head)
            .draft(self.config.draft)
            .labels(self.config.labels.clone())
            .reviewers(self.config.reviewers.clone());
        request.body = body;
        Ok(request)
    }

    fn render_template(&self, file: &Path, event: &Event) -> Result<String, String> {
        let text = std::fs::read_to_string(self.root.join(file))
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let mut env = minijinja::Environment::new();
        // Markdown, never HTML.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        let mut context = match event.to_json() {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        context.insert("event".into(), event.to_json());
        env.render_str(&text, Value::Object(context))
            .map_err(|e| format!("{}: {e}", file.display()))
    }
}

#[async_trait]
impl Action for PrAction {
    fn summary(&self) -> String {
        format!("pr: {} \"{}\"", self.forge.kind(), self.config.title)
    }

    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome {
        let event = cx.event;
        let request = match self.request(event, cx.working_dir) {
            Ok(r) => r,
            Err(message) => return ActionOutcome::failed(message),
        };
        let target = json!({
            "platform": self.forge.kind(),
            "head": request.head,
            "base": request.base,
        });
        let (pr, created) =
            match ensure_pr(self.forge.as_ref(), &request, self.config.auto_merge).await {
                Ok(done) => done,
                Err(e) => {
                    return ActionOutcome::failed(e.to_string()).with_detail("target", target);
                }
            };
        let verb = if created { "opened" } else { "updated" };
        cx.output.text(
            Stream::Stdout,
            &format!("{verb} pull request #{} {}\n", pr.number, pr.url),
        );
        let event_type = if created { "pr.created" } else { "pr.updated" };
        let mut builder = Event::builder(event_type)
            .field("platform", self.forge.kind())
            .field("number", pr.number)
            .field("url", pr.url.clone())
            .field("head", pr.head.clone())
            .field("base", pr.base.clone())
            .field("branch", pr.head.clone())
            .field("hook", cx.hook_name)
            .field("trigger_event_id", event.id().to_string());
        if let Some(f) = event.feature() {
            builder = builder.feature(f);
        }
        let mut outcome = ActionOutcome::success();
        if let Ok(e) = builder.build() {
            outcome = outcome.with_follow_up(e);
        }
        outcome.with_detail("target", target).with_detail(
            "response",
            json!({"number": pr.number, "url": pr.url, "created": created}),
        )
    }
}
