//! Delivery behaviour shared by every integration: fan-out, retries (exact attempt
//! counts), rate limits (dropped, audited, summarised), templates, missing secrets.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use flowspec_core::config::{ConfigErrors, Node, Vars};
use flowspec_core::notifier::{
    Built, Notification, Notifier, NotifierContext, NotifierFactory, NotifyError, Receipt,
};
use flowspec_notify::testing::sample_event;
use flowspec_notify::{DeliveryRequest, DeliveryStatus};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{Sequence, audit, body_json, counter, hub, load};

fn webhook(server: &MockServer, extra: &str) -> String {
    format!(
        "integrations:\n  webhooks:\n    enabled: true\n{extra}    endpoints:\n      - name: sink\n        url: \"{}/hook\"\n",
        server.uri()
    )
}

macro_rules! retry_test {
    ($name:ident, $status:expr, $attempts:expr) => {
        #[tokio::test]
        async fn $name() {
            let server = MockServer::start().await;
            let calls = counter();
            Mock::given(method("POST"))
                .respond_with(Sequence {
                    calls: calls.clone(),
                    responses: vec![ResponseTemplate::new($status)],
                })
                .expect($attempts)
                .mount(&server)
                .await;
            let dir = tempfile::tempdir().unwrap();
            let hub = hub(&webhook(&server, "    retry_count: 2\n"), &[], dir.path());
            let report = hub
                .dispatch(
                    &sample_event("implement.failed"),
                    &DeliveryRequest::by_event("test"),
                )
                .await;
            assert_eq!(report.deliveries[0].status, DeliveryStatus::Failed);
            assert_eq!(report.deliveries[0].attempts, $attempts);
            assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), $attempts);
        }
    };
}

retry_test!(should_retry_500_up_to_retry_count, 500, 3);
retry_test!(should_retry_503_up_to_retry_count, 503, 3);
retry_test!(should_retry_429_up_to_retry_count, 429, 3);
retry_test!(should_not_retry_400, 400, 1);
retry_test!(should_not_retry_401, 401, 1);
retry_test!(should_not_retry_404, 404, 1);
retry_test!(should_not_retry_410, 410, 1);

#[tokio::test]
async fn should_drop_over_the_limit_audit_every_drop_and_summarise_later() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "notifications:\n  rate_limit:\n    max_per_hour: 30\n    max_per_day: 100\n{}",
        webhook(&server, "    max_per_hour: 2\n")
    );
    let hub = hub(&yaml, &[], dir.path());
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let report = hub
            .dispatch(
                &sample_event("implement.failed"),
                &DeliveryRequest::by_event("test"),
            )
            .await;
        statuses.push(report.deliveries[0].status);
    }
    use DeliveryStatus::*;
    assert_eq!(statuses, [Delivered, Delivered, Dropped, Dropped, Dropped]);
    let lines = audit(dir.path());
    assert_eq!(lines.len(), 5, "every drop is audited");
    let dropped: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["delivery"] == "dropped")
        .collect();
    assert_eq!(dropped.len(), 3);
    assert_eq!(dropped[0]["status"], "skipped");
    insta::assert_snapshot!(
        "rate_limit_drop_reason",
        dropped[0]["reason"].as_str().unwrap()
    );
}

#[tokio::test]
async fn should_tell_how_many_were_dropped_in_the_next_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let state = flowspec_notify::state::DeliveryState::in_memory();
    let limit = flowspec_notify::config::RateLimit {
        max_per_hour: Some(1),
        max_per_day: None,
    };
    // An earlier hour: one sent, two dropped.
    let hour = 3_600_000;
    let earlier = flowspec_notify::state::now_ms() - hour;
    for _ in 0..3 {
        state
            .acquire("webhooks.sink", limit, earlier)
            .await
            .unwrap();
    }
    let config = load(&webhook(&server, "    max_per_hour: 1\n"), &[]).unwrap();
    let hub = flowspec_notify::Notifications::builder(config)
        .state(state)
        .audit_log(dir.path().join("audit.log"))
        .build();
    let report = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    assert_eq!(report.deliveries[0].status, DeliveryStatus::Delivered);
    let body = body_json(&server.received_requests().await.unwrap()[0]);
    let fields = body["notification"]["fields"].as_array().unwrap();
    let note = fields
        .iter()
        .find(|f| f["key"] == "rate_limit")
        .expect("a rate-limit note");
    assert!(
        note["value"]
            .as_str()
            .unwrap()
            .starts_with("2 earlier notifications were dropped by the rate limit since"),
        "{note}"
    );
}

/// Every notification it receives waits at a gate that opens once `expected` are in
/// flight at the same time; it records the peak number in flight.
#[derive(Debug)]
struct Gate {
    expected: usize,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    open: tokio::sync::watch::Sender<bool>,
}

#[async_trait::async_trait]
impl Notifier for Gate {
    fn target(&self) -> String {
        "gate".into()
    }

    async fn notify(&self, _: &Notification) -> Result<Receipt, NotifyError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        if now >= self.expected {
            self.open.send_replace(true);
        }
        let mut open = self.open.subscribe();
        let _ = open.wait_for(|open| *open).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(Receipt::new().with_status(200))
    }
}

/// Builds every `kind: gate` entry on the same [`Gate`].
struct GateFactory(Arc<Gate>);

impl NotifierFactory for GateFactory {
    fn kind(&self) -> &'static str {
        "gate"
    }
    fn describe(&self) -> &'static str {
        "a gate that opens when enough notifications are in flight"
    }
    fn example_yaml(&self) -> &'static str {
        "integrations:\n  gate:\n    enabled: true\n"
    }
    fn build(&self, _: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        Ok(vec![Built::new(cx.name(), self.0.clone())])
    }
}

#[tokio::test]
async fn should_deliver_to_every_matching_integration_concurrently() {
    let gate = Arc::new(Gate {
        expected: 6,
        in_flight: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        open: tokio::sync::watch::channel(false).0,
    });
    let entries: String = (0..6)
        .map(|i| format!("  g{i}:\n    kind: gate\n    enabled: true\n"))
        .collect();
    let yaml = format!("notifications:\n  concurrency: 6\nintegrations:\n{entries}");
    let root = Node::parse(&yaml).unwrap();
    let registry = flowspec_notify::registry().register(Arc::new(GateFactory(gate.clone())));
    let config = flowspec_notify::config::parse(
        root.get("integrations"),
        root.get("notifications"),
        None,
        None,
        &Vars::default(),
        &registry,
    )
    .unwrap_or_else(|e| panic!("config must load:\n{e}"));
    let dir = tempfile::tempdir().unwrap();
    let hub = flowspec_notify::Notifications::builder(config)
        .audit_log(dir.path().join("audit.log"))
        .backoff_scale(0.0)
        .build();
    // Sequential delivery would leave the first notification waiting at the gate for
    // ever: the guard turns that into a failure instead of a hang.
    let report = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        hub.dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::by_event("test"),
        ),
    )
    .await
    .expect("six deliveries must be in flight at once (concurrency: 6)");
    assert_eq!(report.count(DeliveryStatus::Delivered), 6);
    assert_eq!(gate.peak.load(Ordering::SeqCst), 6, "peak number in flight");
    let names: Vec<&str> = report
        .deliveries
        .iter()
        .map(|d| d.integration.as_str())
        .collect();
    assert_eq!(names, ["g0", "g1", "g2", "g3", "g4", "g5"]);
}

#[tokio::test]
async fn should_apply_integration_templates_per_event() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let yaml = format!(
        "notifications:\n  templates:\n    default:\n      title: \"[global] {{{{ headline }}}}\"\n{}    templates:\n      implementation_failed:\n        summary: \"Build broke on {{{{ branch }}}}: {{{{ error | upper }}}}\"\n",
        webhook(&server, "")
    );
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(&yaml, &[], dir.path());
    hub.dispatch(
        &sample_event("implement.failed"),
        &DeliveryRequest::by_event("test"),
    )
    .await;
    hub.dispatch(
        &sample_event("implement.completed"),
        &DeliveryRequest::by_event("test"),
    )
    .await;
    let requests = server.received_requests().await.unwrap();
    let failed = body_json(&requests[0]);
    assert_eq!(
        failed["notification"]["title"],
        "[global] Spec Implementation Failed"
    );
    assert_eq!(
        failed["notification"]["summary"],
        "Build broke on spec/feat-0001: SCHEMA VALIDATION FAILED"
    );
    let completed = body_json(&requests[1]);
    assert_eq!(completed["notification"]["summary"], "");
}

#[test]
fn should_report_a_bad_template_at_load_time_with_its_location() {
    let yaml = "integrations:\n  slack:\n    enabled: true\n    templates:\n      implementation_failed:\n        title: \"{{ error \"\n";
    let err = load(
        yaml,
        &[(
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T/B/x",
        )],
    )
    .unwrap_err();
    insta::assert_snapshot!("bad_template", err.render(false));
}

#[test]
fn should_refuse_a_webhook_url_written_in_the_config() {
    let yaml = "integrations:\n  slack:\n    enabled: true\n    webhook_url: \"https://hooks.slack.com/services/T0/B0/LiteralSecret\"\n";
    let err = load(yaml, &[]).unwrap_err().render(false);
    assert!(!err.contains("LiteralSecret"), "{err}");
    insta::assert_snapshot!("literal_secret_refused", err);
}

#[test]
fn should_catch_typos_in_routing_lists_and_routing_keys() {
    let yaml = "integrations:\n  slack:\n    enabled: true\n    notify_on: [implementation_complete]\n  teams:\n    enabled: true\n    alert_on: [implementation_failed]\n";
    let err = load(
        yaml,
        &[
            (
                "SLACK_WEBHOOK_URL",
                "https://hooks.slack.com/services/T/B/x",
            ),
            ("TEAMS_WEBHOOK_URL", "https://x.logic.azure.com/w"),
        ],
    )
    .unwrap_err();
    insta::assert_snapshot!("routing_typos", err.to_string());
}

#[tokio::test]
async fn should_report_missing_secrets_as_a_failed_delivery_not_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "integrations:\n  slack:\n    enabled: true\n  discord:\n    enabled: false\n";
    let config = load(yaml, &[]).expect("missing secrets are not config errors");
    let hub = flowspec_notify::Notifications::builder(config)
        .audit_log(dir.path().join("audit.log"))
        .build();
    let report = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    assert_eq!(
        report.deliveries.len(),
        1,
        "disabled integrations are not routed: {report:?}"
    );
    let d = &report.deliveries[0];
    assert_eq!(d.status, DeliveryStatus::Failed);
    assert_eq!(
        d.reason.as_deref(),
        Some("not configured: SLACK_WEBHOOK_URL not set (see `flowspec integrations list`)")
    );
}
