//! Test helpers (feature `testing`): the conformance suite every notifier must pass,
//! and a recording notifier.
//!
//! The suite runs every kind of a registry; what a kind's service answers comes from
//! its factory's [`example`](NotifierFactory::example), so a new notifier registered in
//! [`BUILTIN`](crate::BUILTIN) is covered without touching the suite.
//!
//! ```no_run
//! # async fn run() {
//! use flowspec_notify::testing::Conformance;
//!
//! // Every built-in kind, or an embedder's registry with its own kinds added.
//! Conformance::run_all(&flowspec_notify::registry()).await;
//! # }
//! ```
//!
//! What it checks:
//! 1. naming: `kind` is lowercase snake_case, `describe` is one short line, the routing
//!    key is `notify_on`, `alert_on` or `report_on`;
//! 2. the example config parses and builds a ready notifier when the default secret
//!    variables are set;
//! 3. without any one of its required variables, the integration is reported as
//!    missing that variable by name (not a config error, not a panic), and no secret
//!    value shows in the report;
//! 4. a secret written literally in the config is refused, without echoing it;
//! 5. HTTP kinds: `api_url` is honoured (the request reaches the mock), plain HTTP
//!    outside loopback is refused, a notification makes the requests its example
//!    names, one call makes exactly one request when refused (no hidden retries), 503
//!    is transient, 429 carries `Retry-After`, 401 is not transient;
//! 6. no secret appears in `target()`, `Debug`, or any error text.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use flowspec_core::Event;
use flowspec_core::config::{ConfigErrorKind, Key, Node, Value, Vars};
use flowspec_core::notifier::{
    ExampleAnswer, Notification, Notifier, NotifierFactory, NotifierRegistry, NotifyError,
    NotifyErrorKind, Receipt,
};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::config::{self, IntegrationsConfig, State};

/// A notifier that records what it is asked to send, and answers with a scripted
/// sequence of results (then succeeds).
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    sent: Mutex<Vec<Notification>>,
    script: Mutex<Vec<Result<(), NotifyError>>>,
}

impl RecordingNotifier {
    /// A notifier that always succeeds.
    pub fn new() -> Arc<Self> {
        Arc::new(RecordingNotifier::default())
    }

    /// A notifier that fails with `errors` in turn, then succeeds.
    pub fn failing(errors: Vec<NotifyError>) -> Arc<Self> {
        Arc::new(RecordingNotifier {
            sent: Mutex::default(),
            script: Mutex::new(errors.into_iter().map(Err).rev().collect()),
        })
    }

    /// Every notification received (failed attempts included).
    pub fn sent(&self) -> Vec<Notification> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    fn target(&self) -> String {
        "recording".into()
    }

    async fn notify(&self, notification: &Notification) -> Result<Receipt, NotifyError> {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(notification.clone());
        let next = self.script.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match next {
            Some(Err(e)) => Err(e),
            _ => Ok(Receipt::new().with_status(200)),
        }
    }
}

/// [`crate::template::sample_event`] with a fixed id and timestamp, so rendered
/// payloads can be snapshotted.
pub fn sample_event(event_type: &str) -> Event {
    let mut json = crate::template::sample_event(event_type).to_json();
    json["event_id"] = "0193a5e2-0000-7000-8000-000000000001".into();
    json["timestamp"] = "2025-01-19T12:00:00.000Z".into();
    json["source"] = "test".into();
    Event::from_json(json).expect("sample events are valid")
}

/// The default notification of [`sample_event`].
pub fn sample_notification(event_type: &str) -> Notification {
    crate::template::default_notification(&sample_event(event_type))
}

/// The conformance suite; see the module docs.
#[must_use]
pub struct Conformance {
    factory: Arc<dyn NotifierFactory>,
}

impl Conformance {
    /// The suite for `factory`.
    pub fn new(factory: Arc<dyn NotifierFactory>) -> Self {
        Conformance { factory }
    }

    /// Runs the suite for every kind of `registry`.
    pub async fn run_all(registry: &NotifierRegistry) {
        for factory in registry.iter() {
            Conformance::new(factory.clone()).run().await;
        }
    }

    fn registry(&self) -> NotifierRegistry {
        NotifierRegistry::new().register(self.factory.clone())
    }

    /// Runs every check; panics with a message naming the broken rule.
    pub async fn run(self) {
        let f = self.factory.clone();
        let kind = f.kind();
        let example = f.example();
        assert!(
            !kind.is_empty()
                && kind
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !kind.starts_with('_'),
            "kind `{kind}` must be lowercase snake_case"
        );
        let describe = f.describe();
        assert!(
            !describe.is_empty() && describe.len() <= 120 && !describe.contains('\n'),
            "{kind}: describe() must be one line of at most 120 characters"
        );
        assert!(
            ["notify_on", "alert_on", "report_on"].contains(&f.routing_key()),
            "{kind}: routing_key() must be notify_on, alert_on or report_on"
        );
        let secrets: Vec<&str> = f
            .secrets()
            .iter()
            .filter(|s| s.sensitive)
            .map(|s| s.example)
            .filter(|s| s.len() >= 4)
            .collect();

        // 2. The example builds when the variables are set.
        let full = self.example_vars();
        let config = self.load(&full, None).unwrap_or_else(|e| {
            panic!("{kind}: example_yaml must build with its variables set:\n{e}")
        });
        assert!(
            !config.integrations.is_empty(),
            "{kind}: the example must configure at least one integration"
        );
        for integration in &config.integrations {
            assert!(
                matches!(integration.state, State::Ready(_)),
                "{kind}: `{}` must be ready with its variables set, is {:?}",
                integration.name,
                integration.state
            );
            let notifier = integration.notifier().expect("ready");
            let target = notifier.target();
            let debug = format!("{notifier:?}");
            for secret in &secrets {
                assert_no_secret(kind, "target()", &target, secret);
                assert_no_secret(kind, "Debug", &debug, secret);
            }
        }

        // 3. Each required variable, when it alone is missing (and the example does not
        //    set its option either), is reported by name, never as a config error, and
        //    the report shows no secret value.
        for var in f.secrets().iter().filter(|s| s.required) {
            let vars = Vars::from_pairs(
                f.secrets()
                    .iter()
                    .filter(|s| s.env != var.env)
                    .map(|s| (s.env, s.example)),
            );
            let config = self
                .load_edited(&vars, |options| remove(options, var.option))
                .unwrap_or_else(|e| {
                    panic!(
                        "{kind}: a missing `{}` must not be a config error:\n{e}",
                        var.env
                    )
                });
            assert!(
                !config.integrations.is_empty(),
                "{kind}: without `{}` the integration must still be listed",
                var.env
            );
            for integration in &config.integrations {
                let State::MissingSecrets(names) = &integration.state else {
                    panic!(
                        "{kind}: without `{}`, `{}` must be MissingSecrets, is {:?}",
                        var.env, integration.name, integration.state
                    )
                };
                assert!(
                    names.iter().any(|n| n == var.env),
                    "{kind}: without `{}`, the missing variables must name it, are {names:?}",
                    var.env
                );
                let report = format!("{names:?} {:?}", integration.state);
                for secret in &secrets {
                    assert_no_secret(kind, "the missing-variable report", &report, secret);
                }
            }
        }

        // 4. A literal secret is refused, without echoing it.
        for var in f
            .secrets()
            .iter()
            .filter(|v| v.sensitive && !v.option.contains('.'))
        {
            let err = self
                .load(
                    &full,
                    Some((
                        var.option,
                        Node::synthetic(Value::String(var.example.to_owned())),
                    )),
                )
                .err()
                .unwrap_or_else(|| {
                    panic!(
                        "{kind}: a literal `{}` in the config must be refused",
                        var.option
                    )
                });
            let text = err.to_string();
            assert!(
                text.contains("must not be written in the config file"),
                "{kind}: literal `{}`: {text}",
                var.option
            );
            assert_no_secret(kind, "the literal-secret error", &text, var.example);
        }

        let Some(answer) = example.answer.clone() else {
            return;
        };
        // 5. HTTP behaviour against a mock.
        let err = self
            .load(&full, Some(("api_url", Node::synthetic(Value::String("http://relay.example.com".into())))))
            .err()
            .unwrap_or_else(|| panic!("{kind}: `api_url: http://relay.example.com` (plain HTTP, not loopback) must be refused"));
        assert!(
            err.to_string().contains("HTTPS") || err.to_string().contains("https"),
            "{kind}: {err}"
        );

        let n = sample_notification("implement.failed");
        for (response, check) in [
            (response(&answer), Expect::Success),
            (
                ResponseTemplate::new(503).set_body_string("upstream unavailable"),
                Expect::Transient,
            ),
            (
                ResponseTemplate::new(429).insert_header("retry-after", "7"),
                Expect::RetryAfter(7),
            ),
            (
                ResponseTemplate::new(401).set_body_string("invalid_token"),
                Expect::Permanent,
            ),
        ] {
            let server = MockServer::start().await;
            Mock::given(any())
                .respond_with(response)
                .mount(&server)
                .await;
            let config = self
                .load(
                    &full,
                    Some(("api_url", Node::synthetic(Value::String(server.uri())))),
                )
                .unwrap_or_else(|e| {
                    panic!("{kind}: api_url {} must be accepted: {e}", server.uri())
                });
            for integration in &config.integrations {
                let notifier = integration.notifier().expect("ready");
                let before = server.received_requests().await.map_or(0, |r| r.len());
                let result = tokio::time::timeout(Duration::from_secs(20), notifier.notify(&n))
                    .await
                    .unwrap_or_else(|_| {
                        panic!("{kind}: notify() must not hang (no sleeping, no retries inside)")
                    });
                let after = server.received_requests().await.map_or(0, |r| r.len());
                match check {
                    Expect::Success => {
                        assert!(
                            after > before,
                            "{kind}: `{}` must send to `api_url` (the mock got nothing)",
                            integration.name
                        );
                        if let Err(e) = &result {
                            panic!(
                                "{kind}: `{}` must accept the success answer, got: {e}",
                                integration.name
                            );
                        }
                        let received: Vec<(String, String)> = server
                            .received_requests()
                            .await
                            .unwrap_or_default()
                            .iter()
                            .map(|r| (r.method.to_string(), r.url.path().to_owned()))
                            .collect();
                        for (method, path) in &example.requests {
                            assert!(
                                received.iter().any(|(m, p)| m == method && p == path),
                                "{kind}: a notification must make `{method} {path}`, made {received:?}"
                            );
                        }
                    }
                    _ => {
                        assert_eq!(
                            after - before,
                            1,
                            "{kind}: one notify() call must make exactly one request (retries belong to the delivery layer)"
                        );
                        let e = result.expect_err("an error answer must be an error");
                        let text = format!("{e} {e:?}");
                        for secret in &secrets {
                            assert_no_secret(kind, "an error", &text, secret);
                        }
                        match check {
                            Expect::Transient => assert!(
                                e.is_transient(),
                                "{kind}: 503 must be transient, got {:?}",
                                e.kind()
                            ),
                            Expect::RetryAfter(s) => {
                                assert_eq!(
                                    e.kind(),
                                    NotifyErrorKind::RateLimited,
                                    "{kind}: 429 must be RateLimited"
                                );
                                assert_eq!(
                                    e.retry_after(),
                                    Some(Duration::from_secs(s)),
                                    "{kind}: 429 must carry Retry-After"
                                );
                            }
                            Expect::Permanent => {
                                assert!(!e.is_transient(), "{kind}: 401 must not be retried")
                            }
                            Expect::Success => unreachable!(),
                        }
                    }
                }
            }
        }
    }

    fn example_vars(&self) -> Vars {
        Vars::from_pairs(self.factory.secrets().iter().map(|s| (s.env, s.example)))
    }

    /// Loads the example with `enabled: true` and an optional extra option on the first
    /// integration.
    fn load(
        &self,
        vars: &Vars,
        extra: Option<(&str, Node)>,
    ) -> Result<IntegrationsConfig, flowspec_core::config::ConfigErrors> {
        self.load_edited(vars, |options| {
            if let Some((key, value)) = extra {
                set(options, key, value);
            }
        })
    }

    /// Loads the example with `enabled: true`, the options of the first integration
    /// changed by `edit`.
    fn load_edited(
        &self,
        vars: &Vars,
        edit: impl FnOnce(&mut Vec<(Key, Node)>),
    ) -> Result<IntegrationsConfig, flowspec_core::config::ConfigErrors> {
        let kind = self.factory.kind();
        let mut root = Node::parse(self.factory.example_yaml())
            .unwrap_or_else(|e| panic!("{kind}: example_yaml is not YAML: {e}"));
        let Value::Map(top) = &mut root.value else {
            panic!("{kind}: example_yaml must be a mapping with `integrations:`")
        };
        let (_, integrations) = top
            .iter_mut()
            .find(|(k, _)| k.name == "integrations")
            .unwrap_or_else(|| panic!("{kind}: example_yaml must have `integrations:`"));
        let Value::Map(entries) = &mut integrations.value else {
            panic!("{kind}: `integrations` must be a mapping")
        };
        let (_, entry) = entries
            .first_mut()
            .unwrap_or_else(|| panic!("{kind}: example_yaml has no integration"));
        let Value::Map(options) = &mut entry.value else {
            panic!("{kind}: the integration must be a mapping")
        };
        set(options, "enabled", Node::synthetic(Value::Bool(true)));
        edit(options);
        let integrations = integrations.clone();
        config::parse(
            Some(&integrations),
            root.get("notifications"),
            None,
            None,
            vars,
            &self.registry(),
        )
    }
}

/// The wiremock answer of an [`ExampleAnswer`].
fn response(answer: &ExampleAnswer) -> ResponseTemplate {
    let template = ResponseTemplate::new(answer.status);
    match answer.content_type {
        Some(content_type) => template.set_body_raw(answer.body.clone(), content_type),
        None => template,
    }
}

/// Removes the option at a dotted `path` (`smtp.host`), if the options have it.
fn remove(options: &mut Vec<(Key, Node)>, path: &str) {
    match path.split_once('.') {
        None => options.retain(|(k, _)| k.name != path),
        Some((head, rest)) => {
            for (k, node) in options.iter_mut() {
                if k.name == head
                    && let Value::Map(inner) = &mut node.value
                {
                    remove(inner, rest);
                }
            }
        }
    }
}

fn set(options: &mut Vec<(Key, Node)>, key: &str, value: Node) {
    options.retain(|(k, _)| k.name != key);
    options.push((
        Key {
            name: key.to_owned(),
            loc: Default::default(),
        },
        value,
    ));
}

#[derive(Clone, Copy)]
enum Expect {
    Success,
    Transient,
    RetryAfter(u64),
    Permanent,
}

fn assert_no_secret(kind: &str, what: &str, text: &str, secret: &str) {
    assert!(
        !text.contains(secret),
        "{kind}: {what} shows a secret: {text}"
    );
    if let Ok(url) = url::Url::parse(secret) {
        let path = url.path();
        if path.len() > 8 {
            assert!(
                !text.contains(path),
                "{kind}: {what} shows the secret path of a URL: {text}"
            );
        }
        if let Some(query) = url.query() {
            assert!(
                !text.contains(query),
                "{kind}: {what} shows the secret query of a URL: {text}"
            );
        }
    }
}

/// Whether an error is a missing-variable error (for tests of embedders).
pub fn is_unset(kind: ConfigErrorKind) -> bool {
    kind == ConfigErrorKind::UnsetVariable
}
