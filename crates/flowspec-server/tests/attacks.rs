//! Attacks on the receiver over real HTTP, each as an attacker would send it, and what
//! stops it (replays, forged sources, bad bytes, unbounded metrics, extreme
//! timestamps). Each test ends with a plain event sent last and waited for, so "the
//! hook ran once" is observed, not guessed at.

use flowspec_http::signature::{sha256_header, standard_signature};
use serde_json::{Value, json};

mod support;

use support::*;

const JENKINS_TOKEN: &str = "jenkins-token-789012";

/// A server with one worker: events are dispatched one at a time, in arrival order.
async fn serve(adjust: impl FnOnce(&mut flowspec_server::ServerConfig)) -> TestServer {
    start(|c| {
        c.workers = 1;
        adjust(c);
    })
    .await
}

/// Sends a last, distinct event and waits until the hook has seen it: with one worker,
/// every event accepted before it has been dispatched by then, so the recorder's list
/// is complete.
async fn settle(s: &TestServer) -> Vec<flowspec_core::Event> {
    let (status, answer) = json_of(
        client()
            .post(s.url("/events"))
            .bearer_auth(TOKEN)
            .json(&json!({"event_type": "test.sentinel"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    eventually("the sentinel has been dispatched", || async {
        s.recorder
            .events()
            .iter()
            .any(|e| e.event_type().as_str() == "test.sentinel")
    })
    .await;
    s.recorder
        .events()
        .into_iter()
        .filter(|e| e.event_type().as_str() != "test.sentinel")
        .collect()
}

/// a body signed with `X-Signature-256` is accepted once, whether it
/// comes back with the hex in upper case, with a new `Idempotency-Key`, or both, and
/// without an `event_id` (which used to give it a fresh id each time).
#[tokio::test]
async fn should_refuse_a_replayed_signed_body_whatever_its_headers() {
    let s = serve(|_| {}).await;
    let body = br#"{"event_type":"deploy.completed","environment":"production"}"#;
    let signature = sha256_header(b"hmac-secret", body);
    let upper = format!("sha256={}", signature["sha256=".len()..].to_uppercase());
    let send = |signature: &str, key: Option<&str>| {
        let mut request = client()
            .post(s.url("/events"))
            .header("x-signature-256", signature)
            .body(body.to_vec());
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send()
    };
    let (status, answer) = json_of(send(&signature, None).await.unwrap()).await;
    assert_eq!(status, 202, "{answer}");
    for (signature, key) in [
        (upper.as_str(), None),
        (signature.as_str(), Some("a-new-key-1")),
        (upper.as_str(), Some("a-new-key-2")),
    ] {
        let (status, answer) = json_of(send(signature, key).await.unwrap()).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (409, Some("replayed")),
            "{signature} {key:?}: {answer}"
        );
    }
    let runs = settle(&s).await;
    assert_eq!(runs.len(), 1, "the hook ran for each replay: {runs:?}");
    s.stop().await;
}

fn github_body() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/github/workflow_run.completed.json"
    ))
    .unwrap()
}

/// a signed GitHub delivery sent again under a new `X-GitHub-Delivery`
/// is a replay, and one without the header is refused.
#[tokio::test]
async fn should_refuse_a_github_delivery_under_a_new_or_missing_delivery_id() {
    let s = serve(|_| {}).await;
    let body = github_body();
    let send = |delivery: Option<&str>| {
        let mut request = client()
            .post(s.url("/webhooks/github"))
            .header("x-github-event", "workflow_run")
            .header(
                "x-hub-signature-256",
                sha256_header(GITHUB_SECRET.as_bytes(), &body),
            )
            .body(body.clone());
        if let Some(delivery) = delivery {
            request = request.header("x-github-delivery", delivery);
        }
        request.send()
    };
    let (status, answer) = json_of(send(Some("11111111-aaaa")).await.unwrap()).await;
    assert_eq!(status, 202, "{answer}");
    let (status, answer) = json_of(send(Some("22222222-bbbb")).await.unwrap()).await;
    assert_eq!((status, answer["code"].as_str()), (409, Some("replayed")));
    let (status, answer) = json_of(send(None).await.unwrap()).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("missing_delivery")),
        "{answer}"
    );
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("X-GitHub-Delivery"),
        "{answer}"
    );
    let runs = settle(&s).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].id().as_str(), "github-11111111-aaaa");
    s.stop().await;
}

/// a holder of the `/events` token cannot take the id Jenkins will use
/// for build 58 (`jenkins-app-58-completed`) nor pass for Jenkins, so the real
/// FAILURE still runs the hooks.
#[tokio::test]
async fn should_keep_forge_ids_for_the_forge_so_a_forged_success_cannot_hide_a_failure() {
    let s = serve(|c| set(c, "jenkins", "token", JENKINS_TOKEN)).await;
    let forged = [
        json!({"event_type": "ci.completed", "event_id": "jenkins-app-58-completed",
               "source": "jenkins", "conclusion": "success", "provider": "jenkins"}),
        json!({"event_type": "ci.completed", "event_id": "jenkins-app-58-completed",
               "conclusion": "success"}),
        json!({"event_type": "ci.completed", "source": "jenkins", "conclusion": "success"}),
        json!([{"event_type": "a.b"},
               {"event_type": "ci.completed", "event_id": "Jenkins-app-58-completed"}]),
    ];
    for body in &forged {
        let (status, answer) = json_of(
            client()
                .post(s.url("/events"))
                .bearer_auth(TOKEN)
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("forged_source")),
            "{body}: {answer}"
        );
        assert!(
            answer["error"].as_str().unwrap().contains("reserved"),
            "{answer}"
        );
    }
    let failure = json!({
        "name": "app", "url": "job/app/",
        "build": {"number": 58, "phase": "COMPLETED", "status": "FAILURE",
                  "full_url": "https://jenkins.example.com/job/app/58/"}
    });
    let (status, answer) = json_of(
        client()
            .post(s.url("/webhooks/jenkins"))
            .header("x-flowspec-token", JENKINS_TOKEN)
            .json(&failure)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["accepted"], json!(["jenkins-app-58-completed"]));
    let runs = settle(&s).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].source(), Some("jenkins"));
    assert_eq!(runs[0].data()["conclusion"], "failure");
    s.stop().await;
}

/// a NUL byte in any field (or `=` in a field name) would keep every
/// hook from starting; it is refused at the door, naming the field.
#[tokio::test]
async fn should_refuse_fields_that_cannot_reach_a_hooks_environment() {
    let s = serve(|_| {}).await;
    for (body, field) in [
        (
            r#"{"event_type":"deploy.completed","feature":"auth\u0000"}"#,
            "`feature`",
        ),
        (
            r#"{"event_type":"deploy.completed","env":{"tags":["ok","n\u0000"]}}"#,
            "`env.tags.1`",
        ),
        (
            r#"{"event_type":"deploy.completed","LD_PRELOAD=/tmp/x.so":"1"}"#,
            "`LD_PRELOAD=/tmp/x.so`",
        ),
    ] {
        let (status, answer) = json_of(
            client()
                .post(s.url("/events"))
                .bearer_auth(TOKEN)
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("bad_event")),
            "{body}: {answer}"
        );
        let error = answer["error"].as_str().unwrap();
        assert!(
            error.contains(field) && error.contains("environment variable"),
            "{error}"
        );
    }
    assert!(settle(&s).await.is_empty());
    s.stop().await;
}

async fn metrics_text(s: &TestServer) -> String {
    client()
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// 500 `ci.completed` events with distinct `provider` values leave
/// `/metrics` bounded (they used to add a histogram each: 6 KB to 765 KB).
#[tokio::test]
async fn should_keep_metrics_bounded_whatever_providers_events_name() {
    let s = serve(|_| {}).await;
    let before = metrics_text(&s).await.len();
    let events: Vec<Value> = (0..500)
        .map(|i| {
            json!({"event_type": "ci.completed", "provider": format!("ci-{i}"),
                   "duration_secs": i, "conclusion": "success"})
        })
        .collect();
    let (status, answer) = post_events(&s, &events).await;
    assert_eq!(status, 202, "{answer}");
    let text = metrics_text(&s).await;
    let providers = text
        .lines()
        .filter(|l| l.starts_with("flowspec_pipeline_duration_seconds_count{"))
        .count();
    assert_eq!(
        providers,
        flowspec_server::metrics::MAX_OTHER_PROVIDERS + 1,
        "{text}"
    );
    assert!(text.contains(r#"flowspec_pipeline_duration_seconds_count{provider="other"} 484"#));
    assert!(
        text.len() < before + 40_000,
        "/metrics grew from {before} to {} bytes",
        text.len()
    );
    settle(&s).await;
    s.stop().await;
}

/// with `server.metrics_token`, `/metrics` answers 401 without the token
/// (or with a wrong one) and 200 with it, the scheme in any case.
#[tokio::test]
async fn should_serve_metrics_only_with_the_metrics_token_when_one_is_set() {
    let token = "metrics-token-abcdef";
    let s = serve(|c| c.metrics_token = Some(token.to_owned().into())).await;
    let get = |authorization: Option<String>| {
        let mut request = client().get(s.url("/metrics"));
        if let Some(a) = authorization {
            request = request.header("authorization", a);
        }
        request.send()
    };
    for (authorization, code) in [
        (None, "missing_credentials"),
        (Some("Bearer wrong".to_owned()), "bad_token"),
        (Some(format!("Basic {token}")), "missing_credentials"),
    ] {
        let response = get(authorization.clone()).await.unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer realm="metrics""#
        );
        let (status, answer) = json_of(response).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (401, Some(code)),
            "{authorization:?}"
        );
        assert!(!answer.to_string().contains(token), "{answer}");
    }
    for authorization in [format!("Bearer {token}"), format!("bearer {token}")] {
        let response = get(Some(authorization)).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("# TYPE flowspec_queue_depth gauge")
        );
    }
    s.stop().await;
}

/// `webhook-timestamp` values at the ends of the i64 range are stale,
/// not an arithmetic overflow, and `Authorization: bearer` (any case) is accepted.
#[tokio::test]
async fn should_refuse_extreme_timestamps_and_accept_the_bearer_scheme_in_any_case() {
    let s = serve(|_| {}).await;
    let body = br#"{"event_type":"task.completed"}"#;
    for ts in [i64::MIN, i64::MAX, i64::MIN + 1] {
        let (status, answer) = json_of(
            client()
                .post(s.url("/events"))
                .header("webhook-id", "msg_extreme")
                .header("webhook-timestamp", ts.to_string())
                .header(
                    "webhook-signature",
                    standard_signature(&[whsec()], "msg_extreme", ts, body),
                )
                .body(body.to_vec())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (401, Some("stale_timestamp")),
            "{ts}: {answer}"
        );
    }
    for scheme in ["bearer", "BEARER"] {
        let (status, answer) = json_of(
            client()
                .post(s.url("/events"))
                .header("authorization", format!("{scheme} {TOKEN}"))
                .body(r#"{"event_type":"task.completed"}"#)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 202, "{scheme}: {answer}");
    }
    assert_eq!(settle(&s).await.len(), 2);
    s.stop().await;
}
