//! Test helpers (feature `testing`): the conformance suite every notifier must pass,
//! and a recording notifier.
//!
//! ```no_run
//! # async fn run() {
//! use flowspec_notify::testing::Conformance;
//! use wiremock::ResponseTemplate;
//!
//! // In the tests of a new notifier: its factory, and what its service answers on success.
//! Conformance::new(flowspec_notify::BUILTIN[0])
//!     .success(ResponseTemplate::new(200).set_body_string("ok"))
//!     .run()
//!     .await;
//! # }
//! ```
//!
//! What it checks (docs/notifier-spec.md explains why):
//! 1. naming: `kind` is lowercase snake_case, `describe` is one short line, the routing
//!    key is `notify_on`, `alert_on` or `report_on`;
//! 2. the example config parses and builds a ready notifier when the default secret
//!    variables are set;
//! 3. without them, the integration is reported as missing exactly its required
//!    variables (not a config error, not a panic);
//! 4. a secret written literally in the config is refused, without echoing it;
//! 5. HTTP kinds: `api_url` is honoured (the request reaches the mock), plain HTTP
//!    outside loopback is refused, one call makes exactly one request (no hidden
//!    retries), 503 is transient, 429 carries `Retry-After`, 401 is not transient;
//! 6. no secret appears in `target()`, `Debug`, or any error text.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use flowspec_core::Event;
use flowspec_core::config::{ConfigErrorKind, Key, Node, Value, Vars};
use flowspec_core::notifier::{
    Notification, Notifier, NotifierFactory, NotifyError, NotifyErrorKind, Receipt,
};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::config::{self, IntegrationsConfig, State};
use crate::registry::Registry;

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
    factory: &'static dyn NotifierFactory,
    success: ResponseTemplate,
    http: bool,
}

impl Conformance {
    /// The suite for `factory` (an HTTP kind answering `200` with an empty body on
    /// success unless told otherwise).
    pub fn new(factory: &'static dyn NotifierFactory) -> Self {
        Conformance {
            factory,
            success: ResponseTemplate::new(200),
            http: true,
        }
    }

    /// What the service answers when it accepts a notification.
    pub fn success(mut self, response: ResponseTemplate) -> Self {
        self.success = response;
        self
    }

    /// The kind does not speak HTTP (email): skip the HTTP checks.
    pub fn not_http(mut self) -> Self {
        self.http = false;
        self
    }

    fn registry(&self) -> Registry {
        Registry::empty().register_static(self.factory)
    }

    /// Runs every check; panics with a message naming the broken rule.
    pub async fn run(self) {
        let f = self.factory;
        let kind = f.kind();
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

        // 3. Missing variables are reported by name, never as a config error.
        let required: Vec<&str> = f
            .secrets()
            .iter()
            .filter(|s| s.required && s.sensitive)
            .map(|s| s.env)
            .collect();
        let config = self.load(&Vars::default(), None).unwrap_or_else(|e| {
            panic!("{kind}: missing variables must not be a config error:\n{e}")
        });
        for integration in &config.integrations {
            match &integration.state {
                State::MissingSecrets(names) => {
                    assert!(
                        !names.is_empty(),
                        "{kind}: MissingSecrets must name the variables"
                    );
                    for name in names {
                        assert!(
                            f.secrets().iter().any(|s| s.env == name) || !required.is_empty(),
                            "{kind}: `{name}` is reported missing but is not among secrets()"
                        );
                    }
                }
                other if !required.is_empty() => panic!(
                    "{kind}: without {required:?}, `{}` must be MissingSecrets, is {other:?}",
                    integration.name
                ),
                _ => {}
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

        if !self.http {
            return;
        }
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
            (self.success.clone(), Expect::Success),
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
        if let Some((key, value)) = extra {
            set(options, key, value);
        }
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
