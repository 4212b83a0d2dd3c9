//! `flowspec notify replay`: a dead letter delivered again to the endpoint that failed.

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::notify::project;
use crate::{run, shown};

/// Runs a blocking command while the mock server keeps serving.
async fn output(mut cmd: assert_cmd::Command) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .unwrap()
}

fn dead_letters(p: &crate::TestProject, all: bool) -> Vec<serde_json::Value> {
    let mut cmd = p.cmd();
    cmd.args(["notify", "dead-letters", "--json"])
        .env("SINK_TOKEN", "tok_replay");
    if all {
        cmd.arg("--all");
    }
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{}", shown(&out, &err));
    serde_json::from_str::<serde_json::Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_deliver_a_dead_letter_again_with_the_same_delivery_id() {
    let server = MockServer::start().await;
    // The endpoint fails once, then accepts.
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(500).set_body_string("down for maintenance"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let p = project(&server.uri());
    let mut send = p.cmd();
    send.args([
        "notify",
        "send",
        "--event",
        "implementation_completed",
        "--feature",
        "auth",
    ])
    .env("SINK_TOKEN", "tok_replay");
    let (code, out, err) = output(send).await;
    assert_eq!(code, 7, "{}", shown(&out, &err));
    let letters = dead_letters(&p, false);
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["integration"], "webhooks.sink");
    let id = letters[0]["id"]
        .as_str()
        .expect("a dead letter id")
        .to_owned();

    let mut replay = p.cmd();
    replay
        .args(["notify", "replay", &id, "--json"])
        .env("SINK_TOKEN", "tok_replay");
    let (code, out, err) = output(replay).await;
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let deliveries: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        deliveries[0]["integration"], "webhooks.sink",
        "{deliveries}"
    );
    assert_eq!(deliveries[0]["status"], "delivered", "{deliveries}");

    // The receiver got the same notification twice, under one delivery id.
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let delivery = |i: usize| {
        requests[i]
            .headers
            .get("x-flowspec-delivery")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert!(delivery(0).is_some());
    assert_eq!(delivery(0), delivery(1), "a replay keeps the delivery id");
    assert_eq!(requests[0].body, requests[1].body);
    assert_eq!(
        requests[1].headers.get("authorization").unwrap(),
        "Bearer tok_replay"
    );

    assert!(
        dead_letters(&p, false).is_empty(),
        "a replayed letter is no longer pending"
    );
    assert_eq!(dead_letters(&p, true).len(), 1, "--all still lists it");
}

#[test]
fn should_refuse_an_unknown_dead_letter_id() {
    let p = project("http://127.0.0.1:9");
    let (code, out, err) = run(p
        .cmd()
        .args(["notify", "replay", "no-such-letter"])
        .env("SINK_TOKEN", "tok_replay"));
    assert_eq!(code, 2, "{}", shown(&out, &err));
    assert!(err.contains("no-such-letter"), "{}", shown(&out, &err));
}
