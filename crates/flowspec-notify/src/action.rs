//! The `notify` hook action: `notify:` in hooks.yaml delivers the event through the
//! integrations of flowspec.yaml.
//!
//! ```yaml
//! hooks:
//!   - name: tell-the-team
//!     events: [{type: implement.completed}, {type: implement.failed}]
//!     notify: [slack, pagerduty]         # these integrations, whatever their notify_on says
//!
//!   - name: notify-by-routing
//!     events: [{type: "*"}]
//!     notify: all                        # every integration whose notify_on/alert_on/... matches
//!
//!   - name: deploy-note
//!     events: [{type: deploy.completed}]
//!     notify:
//!       to: [slack]                      # optional: without it, route by event
//!       template:
//!         title: "🚢 {{ feature }} is on {{ environment }}"
//!       fail_on_error: true              # a failed delivery fails the hook (default: false)
//! ```
//!
//! Fail-safe by default: a delivery that fails is recorded (hook output, audit line,
//! dead letter) but the hook succeeds, so notifications never block work. With
//! `fail_on_error: true` the hook fails, and with `fail_mode: stop` it then blocks the
//! rest of the event.

use std::sync::Arc;

use async_trait::async_trait;
use flowspec_core::action::{Action, ActionContext, ActionFactory, ActionOutcome, BuildContext};
use flowspec_core::config::{
    ConfigError, ConfigErrorKind, ConfigErrors, Key, Node, Value, suggest,
};
use flowspec_core::output::Stream;
use serde_json::json;

use crate::delivery::{DeliveryRequest, DeliveryStatus, Notifications, Route};
use crate::template::Templates;

/// The `notify` key.
#[derive(Clone, Debug)]
pub struct NotifyActionFactory {
    hub: Notifications,
    lenient: bool,
}

impl NotifyActionFactory {
    /// A factory delivering through `hub`.
    pub fn new(hub: Notifications) -> Self {
        NotifyActionFactory {
            hub,
            lenient: false,
        }
    }

    /// A factory that checks `notify:` entries but accepts any integration name: for
    /// validating hooks.yaml while flowspec.yaml's integrations are themselves invalid
    /// (so that only real hook problems are reported next to them).
    pub fn lenient() -> Self {
        NotifyActionFactory {
            hub: Notifications::builder(Default::default()).build(),
            lenient: true,
        }
    }
}

/// A built `notify:` action.
#[derive(Debug)]
pub struct NotifyAction {
    hub: Notifications,
    route: Route,
    templates: Option<Templates>,
    fail_on_error: bool,
}

impl ActionFactory for NotifyActionFactory {
    fn key(&self) -> &'static str {
        "notify"
    }

    fn describe(&self) -> &'static str {
        "deliver the event through the integrations of flowspec.yaml (Slack, Teams, email, webhooks...)"
    }

    fn example_yaml(&self) -> &'static str {
        "name: tell-the-team\nevents:\n  - type: implement.completed\n  - type: implement.failed\nnotify: [slack, webhooks]\n"
    }

    fn build(&self, value: &Node, cx: &BuildContext<'_>) -> Result<Arc<dyn Action>, ConfigErrors> {
        let error = |node: &Node, path: &str, msg: String| {
            cx.locate(
                ConfigError::new(ConfigErrorKind::InvalidValue, msg)
                    .at(node.loc)
                    .path(path.to_owned()),
            )
        };
        let mut errors = ConfigErrors::default();
        let mut to: Option<&Node> = None;
        let mut template: Option<&Node> = None;
        let mut fail_on_error = false;
        match &value.value {
            Value::String(_) | Value::Seq(_) => to = Some(value),
            Value::Map(entries) => {
                for (key, node) in entries {
                    let path = format!("{}.{}", cx.key_path, key.name);
                    match key.name.as_str() {
                        "to" => to = Some(node),
                        "template" => template = Some(node),
                        "fail_on_error" => match node.value {
                            Value::Bool(b) => fail_on_error = b,
                            _ => errors.push(error(
                                node,
                                &path,
                                "`fail_on_error` must be true or false".into(),
                            )),
                        },
                        other => {
                            let known = ["to", "template", "fail_on_error"];
                            let hint = suggest(other, known)
                                .map(|c| format!("did you mean `{c}`?"))
                                .unwrap_or_else(|| {
                                    "`notify` takes `to`, `template` and `fail_on_error`".into()
                                });
                            errors.push(
                                cx.locate(
                                    ConfigError::new(
                                        ConfigErrorKind::UnknownField,
                                        format!("unknown field `{other}`"),
                                    )
                                    .at(key.loc)
                                    .path(cx.key_path.clone())
                                    .hint(hint),
                                ),
                            );
                        }
                    }
                }
            }
            other => errors.push(error(
                value,
                &cx.key_path,
                format!(
                    "`notify` must be a list of integrations, `all`, or a mapping; found {}",
                    other.kind()
                ),
            )),
        }

        let config = self.hub.config();
        let mut route = Route::ByEvent;
        if let Some(node) = to {
            let path = if std::ptr::eq(node, value) {
                cx.key_path.clone()
            } else {
                format!("{}.to", cx.key_path)
            };
            let items: Vec<&Node> = match &node.value {
                Value::Seq(items) => items.iter().collect(),
                _ => vec![node],
            };
            let mut names = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let item_path = if matches!(node.value, Value::Seq(_)) {
                    format!("{path}[{i}]")
                } else {
                    path.clone()
                };
                let Some(name) = item.as_str() else {
                    errors.push(error(
                        item,
                        &item_path,
                        format!("expected an integration name, found {}", item.value.kind()),
                    ));
                    continue;
                };
                if name == "all" && items.len() == 1 {
                    continue;
                }
                let known = self.lenient
                    || config
                        .integrations
                        .iter()
                        .any(|i| i.name == name || i.kind == name);
                if !known {
                    let names_known: Vec<&str> = config.names().collect();
                    let hint = match suggest(name, names_known.iter().copied()) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None if names_known.is_empty() => {
                            "no integrations are configured: add them under `integrations:` in .flowspec/flowspec.yaml".into()
                        }
                        None => format!(
                            "configured integrations: {}",
                            names_known.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                        ),
                    };
                    errors.push(
                        cx.locate(
                            ConfigError::new(
                                ConfigErrorKind::InvalidValue,
                                format!("no integration named `{name}` in flowspec.yaml"),
                            )
                            .at(item.loc)
                            .path(item_path)
                            .hint(hint),
                        ),
                    );
                    continue;
                }
                names.push(name.to_owned());
            }
            if !names.is_empty() {
                route = Route::To(names);
            }
        }

        let templates = match template {
            None => None,
            Some(node) => {
                let wrapped = Node {
                    value: Value::Map(vec![(
                        Key {
                            name: "default".into(),
                            loc: node.loc,
                        },
                        node.clone(),
                    )]),
                    loc: node.loc,
                };
                let path = format!("{}.template", cx.key_path);
                match Templates::parse(&wrapped, &path) {
                    Ok(t) => Some(t),
                    Err(list) => {
                        for e in list {
                            let fixed = e.key_path().replacen(".default", "", 1);
                            errors.push(cx.locate(e.path(fixed)));
                        }
                        None
                    }
                }
            }
        };
        errors.into_result(())?;
        Ok(Arc::new(NotifyAction {
            hub: self.hub.clone(),
            route,
            templates,
            fail_on_error,
        }))
    }
}

#[async_trait]
impl Action for NotifyAction {
    fn summary(&self) -> String {
        match &self.route {
            Route::ByEvent => "notify: integrations whose routing lists match".into(),
            Route::To(names) => format!("notify: {}", names.join(", ")),
        }
    }

    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome {
        let request = DeliveryRequest {
            route: self.route.clone(),
            via: cx.hook_name.to_owned(),
            templates: self.templates.clone(),
            ..DeliveryRequest::default()
        };
        let report = self.hub.dispatch(cx.event, &request).await;
        let mut summary = Vec::new();
        for d in &report.deliveries {
            let line = match &d.reason {
                Some(reason) => format!(
                    "{}: {} ({} attempt{}): {reason}",
                    d.integration,
                    d.status,
                    d.attempts,
                    if d.attempts == 1 { "" } else { "s" }
                ),
                None => format!(
                    "{}: {} ({} attempt{}, {} ms)",
                    d.integration,
                    d.status,
                    d.attempts,
                    if d.attempts == 1 { "" } else { "s" },
                    d.latency_ms
                ),
            };
            let stream = if d.status == DeliveryStatus::Failed {
                Stream::Stderr
            } else {
                Stream::Stdout
            };
            cx.output.text(stream, &line);
            summary.push(json!({
                "integration": d.integration,
                "status": d.status,
                "attempts": d.attempts,
                "latency_ms": d.latency_ms,
                "delivery_id": d.delivery_id,
            }));
        }
        if report.deliveries.is_empty() {
            cx.output.text(
                Stream::Stdout,
                "no integration is configured for this event",
            );
        }
        let failed: Vec<&str> = report
            .deliveries
            .iter()
            .filter(|d| d.status == DeliveryStatus::Failed)
            .map(|d| d.integration.as_str())
            .collect();
        let outcome = if self.fail_on_error && !failed.is_empty() {
            ActionOutcome::failed(format!("delivery failed: {}", failed.join(", ")))
        } else {
            ActionOutcome::success()
        };
        outcome.with_detail("deliveries", summary)
    }
}
