//! The receiver over real HTTP on a loopback port: authentication, refusals, limits,
//! durability before the answer, and hooks run from the queue.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use flowspec_core::testing::RecordingAction;
use flowspec_core::{Engine, HookSpec};
use flowspec_http::signature::{sha256_header, standard_signature};
use flowspec_server::config::{RateLimit, UnknownEvents};
use flowspec_server::{Metrics, Server, ServerConfig};
use serde_json::json;

mod support;

use support::*;

#[tokio::test]
async fn should_store_a_bearer_event_answer_202_and_run_its_hook() {
    let s = start(|_| {}).await;
    // The documented curl, with a credential added.
    let body = json!({"event_type": "deploy.completed", "environment": "staging", "commit": "abc123", "feature": "auto-extracted"});
    let (status, answer) = post_events(&s, &body).await;
    assert_eq!(status, 202, "{answer}");
    let id = answer["accepted"][0].as_str().unwrap().to_owned();
    let runs = s.hook_runs(1).await;
    assert_eq!(runs[0].id().as_str(), id);
    assert_eq!(runs[0].data()["environment"], "staging");
    assert_eq!(runs[0].source(), Some("http"));
    s.stop().await;
}

#[tokio::test]
async fn should_refuse_wrong_and_missing_credentials_without_revealing_secrets() {
    let s = start(|_| {}).await;
    let body = br#"{"event_type":"a.b"}"#.to_vec();
    let cases = [
        client()
            .post(s.url("/events"))
            .bearer_auth("wrong")
            .body(body.clone()),
        client().post(s.url("/events")).body(body.clone()),
        client()
            .post(s.url("/events"))
            .header("x-signature-256", sha256_header(b"other", &body))
            .body(body.clone()),
        client()
            .post(s.url("/webhooks/github"))
            .header("x-github-event", "push")
            .header("x-hub-signature-256", "sha256=00")
            .body(body.clone()),
        client()
            .post(s.url("/webhooks/github"))
            .header("x-github-event", "push")
            .body(body.clone()),
        client()
            .post(s.url("/webhooks/gitlab"))
            .header("x-gitlab-event", "Push Hook")
            .header("x-gitlab-token", "nope")
            .body(body.clone()),
    ];
    for request in cases {
        let (status, answer) = json_of(request.send().await.unwrap()).await;
        assert_eq!(status, 401, "{answer}");
        let text = answer.to_string();
        for secret in [TOKEN, GITHUB_SECRET, GITLAB_TOKEN, "hmac-secret"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(
            answer["code"].is_string() && answer["error"].is_string(),
            "{answer}"
        );
    }
    assert!(s.recorder.events().is_empty());
    let metrics = client()
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"flowspec_events_rejected_total{source="github",reason="bad_signature"} 1"#
        ),
        "{metrics}"
    );
    s.stop().await;
}

#[tokio::test]
async fn should_verify_github_signatures_map_payloads_and_refuse_replays() {
    let s = start(|_| {}).await;
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/github/workflow_run.completed.json"
    ))
    .unwrap();
    let send = || {
        client()
            .post(s.url("/webhooks/github"))
            .header("x-github-event", "workflow_run")
            .header("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
            .header(
                "x-hub-signature-256",
                sha256_header(GITHUB_SECRET.as_bytes(), &body),
            )
            .body(body.clone())
            .send()
    };
    let (status, answer) = json_of(send().await.unwrap()).await;
    assert_eq!(status, 202, "{answer}");
    let runs = s.hook_runs(1).await;
    assert_eq!(runs[0].event_type().as_str(), "ci.completed");
    assert_eq!(runs[0].data()["conclusion"], "failure");
    let (status, answer) = json_of(send().await.unwrap()).await;
    assert_eq!((status, answer["code"].as_str()), (409, Some("replayed")));
    let ping = client()
        .post(s.url("/webhooks/github"))
        .header("x-github-event", "ping")
        .header("x-github-delivery", "d-ping-1")
        .header(
            "x-hub-signature-256",
            sha256_header(GITHUB_SECRET.as_bytes(), b"{}"),
        )
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status(), 202);
    s.stop().await;
}

#[tokio::test]
async fn should_accept_gitlab_tokens_and_standard_webhooks() {
    let s = start(|_| {}).await;
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/gitlab/merge_request.merge.json"
    ))
    .unwrap();
    let gitlab = client()
        .post(s.url("/webhooks/gitlab"))
        .header("x-gitlab-event", "Merge Request Hook")
        .header("x-gitlab-token", GITLAB_TOKEN)
        .header("idempotency-key", "b8f0e0c2-1")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(gitlab.status(), 202);

    let now = chrono::Utc::now().timestamp();
    let event = br#"{"event_type":"task.completed","feature":"auth"}"#;
    let signed = |ts: i64, id: &str| {
        client()
            .post(s.url("/events"))
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header(
                "webhook-signature",
                standard_signature(&[whsec()], id, ts, event),
            )
            .body(event.to_vec())
            .send()
    };
    assert_eq!(signed(now, "msg_1").await.unwrap().status(), 202);
    let (status, answer) = json_of(signed(now - 3600, "msg_2").await.unwrap()).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (401, Some("stale_timestamp"))
    );
    assert_eq!(
        signed(now, "msg_1").await.unwrap().status(),
        409,
        "a webhook-id is accepted once"
    );
    let types: Vec<String> = s
        .hook_runs(2)
        .await
        .iter()
        .map(|e| e.event_type().to_string())
        .collect();
    assert!(
        types.contains(&"pr.merged".to_owned()) && types.contains(&"task.completed".to_owned()),
        "{types:?}"
    );
    s.stop().await;
}

#[tokio::test]
async fn should_refuse_oversized_bodies_with_413() {
    let s = start(|c| c.max_body_bytes = 1024).await;
    let big = format!(r#"{{"event_type":"a.b","pad":"{}"}}"#, "x".repeat(4096));
    let (status, answer) = json_of(
        client()
            .post(s.url("/events"))
            .bearer_auth(TOKEN)
            .body(big)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, answer["code"].as_str()), (413, Some("too_large")));
    s.stop().await;
}

#[tokio::test]
async fn should_rate_limit_each_source_with_retry_after() {
    let s = start(|c| {
        c.rate_limit = Some(RateLimit {
            per_second: 0.01,
            burst: 2,
        })
    })
    .await;
    let send = |n: u32| {
        client()
            .post(s.url("/events"))
            .bearer_auth(TOKEN)
            .body(format!(r#"{{"event_type":"a.b","n":{n}}}"#))
            .send()
    };
    assert_eq!(send(1).await.unwrap().status(), 202);
    assert_eq!(send(2).await.unwrap().status(), 202);
    let limited = send(3).await.unwrap();
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    // Another source has its own allowance; forged requests do not use it up.
    for _ in 0..5 {
        let forged = client()
            .post(s.url("/webhooks/gitlab"))
            .header("x-gitlab-token", "forged")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 401);
    }
    let real = client()
        .post(s.url("/webhooks/gitlab"))
        .header("x-gitlab-event", "Push Hook")
        .header("x-gitlab-token", GITLAB_TOKEN)
        .body(
            std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/gitlab/push.json"
            ))
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(real.status(), 202);
    s.stop().await;
}

#[tokio::test]
async fn should_answer_bad_events_and_unknown_kinds_clearly() {
    let s = start(|c| c.unknown_events = UnknownEvents::Ignore).await;
    let (status, answer) = json_of(
        client()
            .post(s.url("/events"))
            .bearer_auth(TOKEN)
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("bad_json")));
    let (status, answer) = json_of(
        client()
            .post(s.url("/events"))
            .bearer_auth(TOKEN)
            .body(r#"{"feature":"x"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("bad_event")));
    assert!(
        answer["error"].as_str().unwrap().contains("event_type"),
        "{answer}"
    );
    let star = br#"{"action":"created"}"#;
    let (status, answer) = json_of(
        client()
            .post(s.url("/webhooks/github"))
            .header("x-github-event", "star")
            .header("x-github-delivery", "d-star-1")
            .header(
                "x-hub-signature-256",
                sha256_header(GITHUB_SECRET.as_bytes(), star),
            )
            .body(star.to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202);
    assert!(answer["ignored"].as_str().unwrap().contains("star"));
    let (status, _) = json_of(
        client()
            .post(s.url("/webhooks/circleci"))
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404, "a source without a secret is not served");
    s.stop().await;
}

#[tokio::test]
async fn should_time_out_slow_bodies_and_silent_clients() {
    let s = start(|c| {
        c.body_timeout = Duration::from_millis(300);
        c.header_timeout = Duration::from_millis(300);
    })
    .await;
    let addr = s.addr;
    let (slow_body, silent) = tokio::task::spawn_blocking(move || {
        // Headers promise 100 bytes; 10 arrive.
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            stream,
            "POST /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 100\r\n\r\n{{\"event_t"
        )
        .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        // A client that connects and never sends headers is dropped.
        let mut idle = TcpStream::connect(addr).unwrap();
        idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 64];
        let closed = match idle.read(&mut buf) {
            Ok(0) => true,
            Ok(n) => String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
            Err(_) => false, // Still open after 5 s.
        };
        (answer, closed)
    })
    .await
    .unwrap();
    assert!(slow_body.starts_with("HTTP/1.1 408"), "{slow_body}");
    assert!(silent, "a silent connection must be closed by the server");
    s.stop().await;
}

#[tokio::test]
async fn should_serve_health_readiness_and_metrics() {
    let s = start(|_| {}).await;
    assert_eq!(
        client()
            .get(s.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (status, ready) = json_of(client().get(s.url("/readyz")).send().await.unwrap()).await;
    assert_eq!((status, ready["status"].as_str()), (200, Some("ready")));
    // The leases it renews, so an operator sees a receiver that lost its database.
    assert_eq!(ready["leases"]["lease_secs"], 30.0, "{ready}");
    assert_eq!(ready["leases"]["held"], 0, "{ready}");
    assert!(
        ready["leases"]["owner"]
            .as_str()
            .is_some_and(|o| o.contains('|')),
        "{ready}"
    );
    client()
        .post(s.url("/events"))
        .bearer_auth(TOKEN)
        .body(r#"{"event_type":"a.b"}"#)
        .send()
        .await
        .unwrap();
    s.hook_runs(1).await;
    // The metrics reporter hears of the run after the action returns.
    eventually("the run is counted", || async {
        let text = client()
            .get(s.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.contains(r#"flowspec_hook_runs_total{hook="record",status="success"} 1"#)
    })
    .await;
    let response = client().get(s.url("/metrics")).send().await.unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = response.text().await.unwrap();
    for expected in [
        r#"flowspec_events_accepted_total{source="events"} 1"#,
        r#"flowspec_hook_runs_total{hook="record",status="success"} 1"#,
        "flowspec_accept_duration_seconds_count 1",
        "# TYPE flowspec_queue_depth gauge",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    s.stop().await;
}

/// Stands in for the CI providers' `ci:` action.
struct CiFactory(Arc<RecordingAction>);

impl flowspec_core::ActionFactory for CiFactory {
    fn key(&self) -> &'static str {
        "ci"
    }
    fn describe(&self) -> &'static str {
        "test ci action"
    }
    fn example_yaml(&self) -> &'static str {
        ""
    }
    fn build(
        &self,
        _: &flowspec_core::config::Node,
        _: &flowspec_core::action::BuildContext<'_>,
    ) -> Result<Arc<dyn flowspec_core::Action>, flowspec_core::config::ConfigErrors> {
        Ok(self.0.clone())
    }
}

#[tokio::test]
async fn should_count_ci_hook_runs_for_the_dashboard_queries() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".flowspec/hooks")).unwrap();
    std::fs::write(
        dir.path().join(".flowspec/hooks/hooks.yaml"),
        "hooks:\n  - name: trigger-ci-tests\n    events: [implement.completed]\n    ci: {workflow: integration-tests.yml}\n",
    )
    .unwrap();
    let recorder = RecordingAction::new();
    let metrics = Arc::new(Metrics::new());
    let engine = flowspec_core::EngineBuilder::discover(dir.path())
        .unwrap()
        .action_factory(Arc::new(CiFactory(recorder.clone())))
        .reporter(metrics.reporter())
        .build()
        .await
        .unwrap();
    let mut config = ServerConfig::default();
    config.bind = "127.0.0.1:0".parse().unwrap();
    set(&mut config, "events", "token", TOKEN);
    let server = Server::bind(engine, config, metrics).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let answer = client()
        .post(format!("{base}/events"))
        .bearer_auth(TOKEN)
        .body(r#"{"event_type":"implement.completed","feature":"auth"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    // The metrics reporter hears of the run after the action returns.
    let metrics = || async {
        client()
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    eventually("the ci run is counted", || async {
        metrics()
            .await
            .contains(r#"hooks_cicd_triggers_total{status="success"} 1"#)
    })
    .await;
    let text = metrics().await;
    assert!(
        text.contains(r#"hooks_cicd_triggers_total{status="success"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("hooks_cicd_trigger_duration_seconds_count 1"),
        "{text}"
    );
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn should_work_mounted_inside_another_axum_app() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = RecordingAction::new();
    let metrics = Arc::new(Metrics::new());
    let engine = Engine::builder()
        .hook(
            HookSpec::builder("record")
                .on("*")
                .action(recorder.clone())
                .build()
                .unwrap(),
        )
        .state_path(dir.path().join("state.db"))
        .reporter(metrics.reporter())
        .build()
        .await
        .unwrap();
    let mut config = ServerConfig::default();
    set(&mut config, "events", "token", TOKEN);
    let receiver = flowspec_server::Receiver::start(engine, config, metrics)
        .await
        .unwrap();
    // A bot's own app with its own route, flowspec nested under /flowspec.
    let app = axum::Router::new()
        .route("/hello", axum::routing::get(|| async { "bot" }))
        .nest("/flowspec", receiver.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let answer = client()
        .post(format!("http://{addr}/flowspec/events"))
        .bearer_auth(TOKEN)
        .body(r#"{"event_type":"bot.asked","feature":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    assert_eq!(
        client()
            .get(format!("http://{addr}/hello"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "bot"
    );
    eventually("the hook ran", || async { !recorder.events().is_empty() }).await;
    assert_eq!(recorder.events()[0].event_type().as_str(), "bot.asked");
    receiver.shutdown().await;
    serving.abort();
}

#[tokio::test]
async fn should_verify_circleci_signatures_and_jenkins_tokens() {
    let s = start(|c| {
        set(c, "circleci", "secret", "circle-secret");
        set(c, "jenkins", "token", "jenkins-token");
    })
    .await;
    let circle = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/circleci/workflow-completed.json"
    ))
    .unwrap();
    let hex = sha256_header(b"circle-secret", &circle)
        .trim_start_matches("sha256=")
        .to_owned();
    let post_circle = |signature: String| {
        client()
            .post(s.url("/webhooks/circleci"))
            .header("circleci-signature", signature)
            .body(circle.clone())
            .send()
    };
    assert_eq!(
        post_circle(format!("v1={hex}")).await.unwrap().status(),
        202
    );
    assert_eq!(
        post_circle(format!("v1={hex}")).await.unwrap().status(),
        409,
        "the payload id is the delivery id"
    );
    assert_eq!(post_circle("v1=00ff".into()).await.unwrap().status(), 401);

    let jenkins = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/jenkins/completed.json"
    ))
    .unwrap();
    let with_query = client()
        .post(s.url("/webhooks/jenkins?token=jenkins-token"))
        .body(jenkins.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(with_query.status(), 202);
    let wrong = client()
        .post(s.url("/webhooks/jenkins"))
        .header("x-flowspec-token", "nope")
        .body(jenkins)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let types: Vec<String> = s
        .hook_runs(2)
        .await
        .iter()
        .map(|e| format!("{} {}", e.source().unwrap(), e.event_type()))
        .collect();
    assert!(
        types.contains(&"circleci ci.completed".to_owned())
            && types.contains(&"jenkins ci.completed".to_owned()),
        "{types:?}"
    );
    s.stop().await;
}
