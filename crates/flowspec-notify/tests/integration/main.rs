//! Integration tests of flowspec-notify: one module per service, plus delivery
//! behaviour (retries, rate limits, 410, dead letters) and the `notify` hook action.
//! HTTP services are mocked with wiremock; email goes through a
//! real SMTP server process (Python aiosmtpd) on loopback.

mod action;
mod delivery;
mod discord;
mod email;
mod slack;
mod teams;
mod webhooks;

// Jira, Linear, Azure DevOps, GitHub Projects, PagerDuty, Opsgenie, Datadog, New Relic
// and Sentry, with their shared helpers.
mod service_support;

mod azure_devops;
mod datadog;
mod github_projects;
mod jira;
mod linear;
mod new_relic;
mod opsgenie;
mod pagerduty;
mod sentry;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use flowspec_core::config::{Node, Vars};
use flowspec_notify::Notifications;
use flowspec_notify::config::{self, IntegrationsConfig};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Reads `integrations:`/`notifications:` YAML with `vars` as the environment.
pub fn load(
    yaml: &str,
    vars: &[(&str, &str)],
) -> Result<IntegrationsConfig, flowspec_core::config::ConfigErrors> {
    let text: Arc<str> = Arc::from(yaml);
    let root = Node::parse(yaml).expect("test YAML parses");
    config::parse(
        root.get("integrations"),
        root.get("notifications"),
        Some(std::path::Path::new(".flowspec/flowspec.yaml")),
        Some(text),
        &Vars::from_pairs(vars.iter().copied()),
        &flowspec_notify::registry(),
    )
}

/// A hub for `yaml` with in-memory state, an audit log in `dir`, and instant backoff.
pub fn hub(yaml: &str, vars: &[(&str, &str)], dir: &std::path::Path) -> Notifications {
    let config = load(yaml, vars).unwrap_or_else(|e| panic!("config must load:\n{e}"));
    Notifications::builder(config)
        .audit_log(dir.join("audit.log"))
        .backoff_scale(0.0)
        .build()
}

/// The audit log lines written in `dir`.
pub fn audit(dir: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("audit.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit lines are JSON"))
        .collect()
}

/// Answers with each template in turn (the last one repeats), counting calls.
pub struct Sequence {
    pub calls: Arc<AtomicUsize>,
    pub responses: Vec<ResponseTemplate>,
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.responses[n.min(self.responses.len() - 1)].clone()
    }
}

/// A counter shared with a [`Sequence`].
pub fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// Mounts a lowest-priority catch-all that fails loudly, naming what was expected.
pub async fn fallback(server: &MockServer, expected: &'static str) {
    Mock::given(wiremock::matchers::any())
        .respond_with(move |req: &Request| {
            ResponseTemplate::new(599).set_body_string(format!(
                "unexpected request {} {} (expected {expected})",
                req.method,
                req.url.path()
            ))
        })
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

/// The JSON body of a received request.
pub fn body_json(req: &Request) -> serde_json::Value {
    serde_json::from_slice(&req.body).expect("the body is JSON")
}
