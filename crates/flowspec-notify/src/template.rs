//! From an event to a [`Notification`]: the default messages, and
//! minijinja templates that override the title and summary per integration and per
//! event.
//!
//! ```yaml
//! notifications:
//!   templates:                      # for every integration
//!     default:
//!       title: "{{ emoji }} {{ headline }}"
//! integrations:
//!   slack:
//!     templates:                    # this integration only
//!       implementation_failed:      # an event name or a dotted type (wildcards allowed)
//!         summary: "Build broke on `{{ branch }}`: {{ error }}"
//! ```
//!
//! The most specific template wins: the integration's template for the event, its
//! `default`, the global template for the event, the global `default`, then the
//! built-in message. Templates are compiled and trial-rendered when the config is
//! read: a syntax error or an unknown filter is a config error with its file, line
//! and key path, never a surprise at send time.
//!
//! Variables: `headline` (the default title without emoji), `emoji`, `event_type`,
//! `event_name`, `event_id`, `feature`, `timestamp`, `outcome`, `severity`, the
//! well-known fields `id`, `title`, `branch`, `pr`, `pr_url`, `reviewers`, `error`,
//! `logs_url`, `spec_url`, `environment`, `commit`, and `event` (the whole flat event)
//! and `data` (its non-reserved fields). Missing values render as empty text.

use std::sync::Arc;

use flowspec_core::Event;
use flowspec_core::config::{ConfigError, ConfigErrorKind, Node, Value};
use flowspec_core::notifier::{Field, Notification, Severity, WorkOutcome};
use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Map, Value as Json, json};

use crate::events::{EventMatcher, display_name, name_of};

/// The parts of a message a template can set.
pub const PARTS: &[&str] = &["title", "summary"];

/// A scope's templates (global `notifications.templates`, or one integration's).
#[derive(Clone, Default)]
pub struct Templates {
    env: Option<Arc<Environment<'static>>>,
    // In file order: (matcher or None for `default`, part, template name).
    entries: Vec<(Option<EventMatcher>, &'static str, String)>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("count", &self.entries.len())
            .finish()
    }
}

impl Templates {
    /// Compiles the `templates:` mapping at `node` (`key_path` like
    /// `integrations.slack.templates`); each error is located.
    pub fn parse(node: &Node, key_path: &str) -> Result<Templates, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let Some(entries) = node.as_map() else {
            if node.value == Value::Null {
                return Ok(Templates::default());
            }
            return Err(vec![
                ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    format!("`templates` must be a mapping, found {}", node.value.kind()),
                )
                .at(node.loc)
                .path(key_path)
                .hint("write `templates: {default: {title: ...}, implementation_failed: {summary: ...}}`"),
            ]);
        };
        let mut env = new_env();
        let mut out = Templates::default();
        for (key, parts) in entries {
            let scope_path = format!("{key_path}.{}", key.name);
            let matcher = if key.name == "default" {
                None
            } else {
                match EventMatcher::parse([key.name.as_str()]) {
                    Ok(m) => Some(m),
                    Err(message) => {
                        errors.push(
                            ConfigError::new(ConfigErrorKind::InvalidValue, message)
                                .at(key.loc)
                                .path(scope_path),
                        );
                        continue;
                    }
                }
            };
            let Some(part_entries) = parts.as_map() else {
                errors.push(
                    ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!(
                            "a template entry must be a mapping with `title` and/or `summary`, found {}",
                            parts.value.kind()
                        ),
                    )
                    .at(parts.loc)
                    .path(scope_path),
                );
                continue;
            };
            for (part_key, source) in part_entries {
                let part_path = format!("{scope_path}.{}", part_key.name);
                let Some(part) = PARTS.iter().find(|p| **p == part_key.name) else {
                    let hint =
                        match flowspec_core::config::suggest(&part_key.name, PARTS.iter().copied())
                        {
                            Some(close) => format!("did you mean `{close}`?"),
                            None => "a template sets `title` and/or `summary`".to_owned(),
                        };
                    errors.push(
                        ConfigError::new(
                            ConfigErrorKind::UnknownField,
                            format!("unknown template part `{}`", part_key.name),
                        )
                        .at(part_key.loc)
                        .path(scope_path.clone())
                        .hint(hint),
                    );
                    continue;
                };
                let Some(text) = source.as_str() else {
                    errors.push(
                        ConfigError::new(
                            ConfigErrorKind::InvalidValue,
                            format!("a template must be a string, found {}", source.value.kind()),
                        )
                        .at(source.loc)
                        .path(part_path),
                    );
                    continue;
                };
                let name = part_path.clone();
                if let Err(e) = env.add_template_owned(name.clone(), text.to_owned()) {
                    errors.push(template_error(&e, source, &part_path));
                    continue;
                }
                // A trial render with every variable set finds unknown filters and
                // functions and bad expressions now, not at send time.
                let rendered = env
                    .get_template(&name)
                    .and_then(|t| t.render(sample_context()));
                if let Err(e) = rendered {
                    errors.push(template_error(&e, source, &part_path));
                    continue;
                }
                out.entries.push((matcher.clone(), part, name));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        out.env = Some(Arc::new(env));
        Ok(out)
    }

    /// Whether there are no templates.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Renders `part` for an event of `event_type`: the last matching event-specific
    /// template, else `default`; `None` when this scope has neither.
    pub fn render(
        &self,
        part: &str,
        event_type: &str,
        context: &Json,
    ) -> Option<Result<String, String>> {
        let env = self.env.as_ref()?;
        let specific =
            self.entries.iter().rev().find(|(m, p, _)| {
                *p == part && m.as_ref().is_some_and(|m| m.matches_type(event_type))
            });
        let chosen = specific.or_else(|| {
            self.entries
                .iter()
                .rev()
                .find(|(m, p, _)| *p == part && m.is_none())
        })?;
        Some(
            env.get_template(&chosen.2)
                .and_then(|t| t.render(context))
                .map_err(|e| e.to_string()),
        )
    }
}

fn new_env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    // Messages are plain text or service markup, never HTML pages.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_keep_trailing_newline(false);
    env
}

fn template_error(e: &minijinja::Error, node: &Node, key_path: &str) -> ConfigError {
    let mut message = format!("invalid template: {}", e.kind());
    if let Some(detail) = e.detail() {
        message.push_str(&format!(": {detail}"));
    }
    if let Some(line) = e.line() {
        message.push_str(&format!(" (line {line} of the template)"));
    }
    ConfigError::new(ConfigErrorKind::InvalidValue, message)
        .at(node.loc)
        .path(key_path)
        .hint("templates use minijinja (Jinja2) syntax: `{{ variable }}`, `{% if error %}...{% endif %}`; see docs/notify.md#templates")
}

/// The context templates are trial-rendered with at load time.
fn sample_context() -> Json {
    let mut event = sample_event("implement.failed");
    if let Ok(with_all) = Event::from_json({
        let mut j = event.to_json();
        j["pr"] = 42.into();
        j["pr_url"] = "https://github.com/org/repo/pull/42".into();
        j["reviewers"] = json!(["@team"]);
        j
    }) {
        event = with_all;
    }
    context(&event)
}

/// A sample event of `event_type` with the fields the default messages show (spec id
/// `FEAT-0001`, title, branch; PR and reviewers for completed/created/merged events;
/// error and logs link for failed ones): what `flowspec notify test` sends.
pub fn sample_event(event_type: &str) -> Event {
    let mut b = Event::builder(event_type)
        .feature("auth")
        .source("flowspec-test")
        .field("spec_id", "FEAT-0001")
        .field("title", "User Authentication")
        .field("branch", "spec/feat-0001");
    let outcome = WorkOutcome::of_event_type(event_type);
    if outcome == WorkOutcome::Completed || event_type.ends_with("created") {
        b = b
            .field("pr", 42)
            .field("pr_url", "https://github.com/org/repo/pull/42")
            .field("reviewers", json!(["@team"]));
    }
    if outcome == WorkOutcome::Failed {
        b = b
            .field("error", "Schema validation failed")
            .field("logs_url", "https://github.com/org/repo/actions/runs/1");
    }
    b.build().unwrap_or_else(|_| {
        Event::new(flowspec_core::EventType::new("flowspec.test").expect("valid"))
    })
}

/// The well-known fields of an event, read from common spellings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KnownFields {
    /// `spec_id`, `spec.id`, `id`, else the feature.
    pub id: Option<String>,
    /// `title`, `spec_title`, `spec.title`.
    pub title: Option<String>,
    /// `branch`, `ref`.
    pub branch: Option<String>,
    /// `pr`, `pr_number`, `pr.number` (as `#42`).
    pub pr: Option<String>,
    /// `pr_url`, `pr.url`.
    pub pr_url: Option<String>,
    /// `reviewers` (a list or a string).
    pub reviewers: Option<String>,
    /// `error`, `error_message`.
    pub error: Option<String>,
    /// `logs_url`, `log_url`, `run_url`, `url`.
    pub logs_url: Option<String>,
    /// `spec_url`, `spec.url`.
    pub spec_url: Option<String>,
    /// `environment`.
    pub environment: Option<String>,
    /// `commit`, `sha`.
    pub commit: Option<String>,
}

impl KnownFields {
    /// Reads them from `event`.
    pub fn of(event: &Event) -> KnownFields {
        let text = |paths: &[&str]| -> Option<String> {
            paths.iter().find_map(|p| match event.field(p)? {
                flowspec_core::event::FieldValue::Str(s) => Some(s.to_owned()),
                flowspec_core::event::FieldValue::Json(v) => scalar(v),
            })
        };
        let pr = text(&["pr_number", "pr.number", "pr"]).map(|p| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                format!("#{p}")
            } else {
                p
            }
        });
        let reviewers = match event.field("reviewers") {
            Some(flowspec_core::event::FieldValue::Json(Json::Array(items))) => {
                let names: Vec<String> = items.iter().filter_map(scalar).collect();
                (!names.is_empty()).then(|| names.join(", "))
            }
            _ => text(&["reviewers"]),
        };
        KnownFields {
            id: text(&["spec_id", "spec.id", "id"]).or_else(|| event.feature().map(str::to_owned)),
            title: text(&["title", "spec_title", "spec.title"]),
            branch: text(&["branch", "ref"]),
            pr,
            pr_url: text(&["pr_url", "pr.url", "pull_request_url"]),
            reviewers,
            error: text(&["error", "error_message"]),
            logs_url: text(&["logs_url", "log_url", "run_url", "url"]),
            spec_url: text(&["spec_url", "spec.url"]),
            environment: text(&["environment"]),
            commit: text(&["commit", "sha"]),
        }
    }
}

fn scalar(v: &Json) -> Option<String> {
    match v {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The emoji of an outcome (🚀 started, ✅ completed, ❌ failed, ⚠️ cancelled, ℹ️ info).
pub fn emoji(outcome: WorkOutcome) -> &'static str {
    match outcome {
        WorkOutcome::Started => "🚀",
        WorkOutcome::Completed => "✅",
        WorkOutcome::Failed => "❌",
        WorkOutcome::Cancelled => "⚠️",
        _ => "ℹ️",
    }
}

/// The default headline of an event type.
pub fn headline(event_type: &str) -> String {
    match name_of(event_type) {
        Some("spec_created") => "New Spec Created".into(),
        Some("spec_approved") => "Spec Approved".into(),
        Some("implementation_started") => "Spec Implementation Started".into(),
        Some("implementation_completed") => "Spec Implementation Completed".into(),
        Some("implementation_failed") => "Spec Implementation Failed".into(),
        Some("pr_created") => "Pull Request Created".into(),
        Some("pr_merged") => "Pull Request Merged".into(),
        Some("validation_failed") => "Spec Validation Failed".into(),
        _ => event_type
            .split(['.', '_', '-'])
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// The template context of an event.
pub fn context(event: &Event) -> Json {
    let known = KnownFields::of(event);
    let outcome = WorkOutcome::of_event_type(event.event_type().as_str());
    let mut map = Map::new();
    map.insert(
        "headline".into(),
        headline(event.event_type().as_str()).into(),
    );
    map.insert("emoji".into(), emoji(outcome).into());
    map.insert("event_type".into(), event.event_type().as_str().into());
    map.insert(
        "event_name".into(),
        display_name(event.event_type().as_str()).into(),
    );
    map.insert("event_id".into(), event.id().as_str().into());
    map.insert("feature".into(), event.feature().into());
    map.insert("timestamp".into(), event.timestamp_rfc3339().into());
    map.insert("outcome".into(), outcome.as_str().into());
    map.insert(
        "severity".into(),
        outcome.default_severity().as_str().into(),
    );
    for (key, value) in [
        ("id", known.id),
        ("title", known.title),
        ("branch", known.branch),
        ("pr", known.pr),
        ("pr_url", known.pr_url),
        ("reviewers", known.reviewers),
        ("error", known.error),
        ("logs_url", known.logs_url),
        ("spec_url", known.spec_url),
        ("environment", known.environment),
        ("commit", known.commit),
    ] {
        map.insert(key.into(), value.map_or(Json::Null, Json::String));
    }
    map.insert("event".into(), event.to_json());
    map.insert("data".into(), Json::Object(event.data().clone()));
    Json::Object(map)
}

/// The built-in message for `event`:
///
/// ```text
/// ❌ Spec Implementation Failed
/// • ID: FEAT-0001
/// • Title: User Authentication
/// • Error: Schema validation failed
/// • Logs: View Details (https://…)
/// ```
pub fn default_notification(event: &Event) -> Notification {
    let event_type = event.event_type().as_str();
    let known = KnownFields::of(event);
    let outcome = WorkOutcome::of_event_type(event_type);
    let mut builder = Notification::builder(event.clone())
        .event_name(display_name(event_type))
        .title(format!("{} {}", emoji(outcome), headline(event_type)))
        .outcome(outcome);
    if let Some(id) = &known.id {
        builder = builder.subject(id.clone());
    }
    let fields: [(&str, &str, &Option<String>); 8] = [
        ("id", "ID", &known.id),
        ("title", "Title", &known.title),
        ("branch", "Branch", &known.branch),
        ("pr", "PR", &known.pr),
        ("reviewers", "Review requested from", &known.reviewers),
        ("environment", "Environment", &known.environment),
        ("commit", "Commit", &known.commit),
        ("error", "Error", &known.error),
    ];
    for (key, label, value) in fields {
        if let Some(value) = value {
            builder = builder.push_field(Field::new(label, value.clone()).with_key(key));
        }
    }
    if let Some(url) = &known.pr_url {
        builder = builder.link("View PR", url.clone());
    }
    if let Some(url) = &known.spec_url {
        builder = builder.link("View Spec", url.clone());
    }
    if let Some(url) = &known.logs_url {
        builder = builder.link("View Details", url.clone());
    }
    builder.build()
}

/// Applies the first template found in `scopes` (most specific first) to `title` and
/// `summary`. A render error (possible only with odd data) keeps the default and is
/// returned for the audit line.
pub fn apply(
    notification: &mut Notification,
    scopes: &[&Templates],
    context: &Json,
) -> Vec<String> {
    let mut problems = Vec::new();
    let event_type = notification.event.event_type().as_str().to_owned();
    for part in PARTS {
        let rendered = scopes
            .iter()
            .find_map(|scope| scope.render(part, &event_type, context));
        match rendered {
            Some(Ok(text)) => match *part {
                "title" => notification.title = text,
                _ => notification.summary = text,
            },
            Some(Err(e)) => problems.push(format!("template `{part}`: {e}")),
            None => {}
        }
    }
    problems
}

/// The severity an integration option may name (`info`, `warning`, `error`, `critical`).
pub fn parse_severity(text: &str) -> Option<Severity> {
    match text {
        "info" => Some(Severity::Info),
        "warning" => Some(Severity::Warning),
        "error" => Some(Severity::Error),
        "critical" => Some(Severity::Critical),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event_type: &str, fields: &[(&str, Json)]) -> Event {
        let mut b = Event::builder(event_type).feature("auth");
        for (k, v) in fields {
            b = b.field(*k, v.clone());
        }
        b.build().unwrap()
    }

    #[test]
    fn should_match_the_documented_examples() {
        let started = default_notification(&event(
            "implement.started",
            &[
                ("spec_id", json!("FEAT-0001")),
                ("title", json!("User Authentication")),
                ("branch", json!("spec/feat-0001")),
            ],
        ));
        assert_eq!(
            started.to_text(),
            "🚀 Spec Implementation Started\n• ID: FEAT-0001\n• Title: User Authentication\n• Branch: spec/feat-0001"
        );
        let completed = default_notification(&event(
            "implement.completed",
            &[
                ("spec_id", json!("FEAT-0001")),
                ("title", json!("User Authentication")),
                ("pr", json!(42)),
                ("reviewers", json!(["@team"])),
            ],
        ));
        assert_eq!(
            completed.to_text(),
            "✅ Spec Implementation Completed\n• ID: FEAT-0001\n• Title: User Authentication\n• PR: #42\n• Review requested from: @team"
        );
        assert_eq!(completed.event_name, "implementation_completed");
    }

    #[test]
    fn should_report_a_bad_template_with_its_location() {
        let node = Node::parse("implementation_failed:\n  title: \"{{ error \"\n").unwrap();
        let errors = Templates::parse(&node, "integrations.slack.templates").unwrap_err();
        assert_eq!(errors.len(), 1);
        let e = &errors[0];
        assert_eq!(
            e.key_path(),
            "integrations.slack.templates.implementation_failed.title"
        );
        assert_eq!(e.line_column().map(|(l, _)| l), Some(2));
        assert!(
            e.message().starts_with("invalid template: syntax error"),
            "{e}"
        );
    }

    #[test]
    fn should_catch_unknown_filters_at_load_time() {
        let node = Node::parse("default:\n  summary: \"{{ error | shout }}\"\n").unwrap();
        let errors = Templates::parse(&node, "t").unwrap_err();
        assert!(
            errors[0].message().contains("unknown filter"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn should_prefer_event_templates_over_default() {
        let node = Node::parse(
            "default:\n  title: \"D {{ id }}\"\nimplementation_failed:\n  title: \"F {{ error }}\"\n",
        )
        .unwrap();
        let t = Templates::parse(&node, "t").unwrap();
        let failed = event("implement.failed", &[("error", json!("boom"))]);
        let ok = event("implement.completed", &[]);
        assert_eq!(
            t.render("title", "implement.failed", &context(&failed)),
            Some(Ok("F boom".into()))
        );
        assert_eq!(
            t.render("title", "implement.completed", &context(&ok)),
            Some(Ok("D auth".into()))
        );
        assert_eq!(
            t.render("summary", "implement.completed", &context(&ok)),
            None
        );
    }
}
