//! Publishing accepted events through the outbox, over real HTTP, with an in-memory
//! publisher that can be told to fail.

use flowspec_core::store::Store;
use flowspec_server::queue::{Queue, RetrySchedule};
use serde_json::{Value, json};

mod support;

use support::*;

fn event(id: &str) -> Value {
    json!({"event_type": "deploy.completed", "event_id": id})
}

async fn post_with_key(s: &TestServer, body: &Value, key: &str) -> (u16, Value) {
    json_of(
        client()
            .post(s.url("/events"))
            .bearer_auth(TOKEN)
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .unwrap(),
    )
    .await
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

/// The value of an unlabelled metric line (`name value`).
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

async fn readyz(s: &TestServer) -> (u16, Value) {
    json_of(client().get(s.url("/readyz")).send().await.unwrap()).await
}

/// The outbox of a stopped server's state file.
async fn outbox_depth(path: &std::path::Path) -> u64 {
    let store = Store::open_sqlite(path).await.unwrap();
    let queue = Queue::open(store, RetrySchedule::default()).await.unwrap();
    queue.outbox_depth().await.unwrap()
}

#[tokio::test]
async fn should_publish_every_accepted_event_once_in_arrival_order() {
    let fake = FakeTransport::new();
    let publisher = fake.clone();
    let s = start(move |c| *c = c.clone().publish_to(publisher)).await;
    let mut expected = Vec::new();
    for i in 0..4 {
        let id = format!("ev-{i}");
        let (status, answer) = post_events(&s, &event(&id)).await;
        assert_eq!(status, 202, "{answer}");
        expected.push(id);
    }
    // One request with several events keeps their order too.
    let batch: Vec<Value> = ["ev-z", "ev-a", "ev-m"]
        .iter()
        .map(|id| event(id))
        .collect();
    let (status, answer) = post_events(&s, &json!(batch)).await;
    assert_eq!(status, 202, "{answer}");
    expected.extend(["ev-z", "ev-a", "ev-m"].map(String::from));

    fake.has_published(expected.len()).await;
    eventually("the counter shows them", || async {
        metric(&metrics_text(&s).await, "flowspec_published_total") == Some(7.0)
    })
    .await;
    s.hook_runs(expected.len()).await;
    s.stop().await;
    assert_eq!(fake.published(), expected, "each once, in arrival order");
    assert_eq!(fake.sent(), expected.len(), "none sent twice");
}

#[tokio::test]
async fn should_not_publish_duplicates_or_replayed_deliveries() {
    let fake = FakeTransport::new();
    let publisher = fake.clone();
    let s = start(move |c| c.publisher = Some(publisher)).await;
    let (status, _) = post_with_key(&s, &event("ev-1"), "k1").await;
    assert_eq!(status, 202);
    // The same delivery again: refused as a replay.
    let (status, answer) = post_with_key(&s, &json!([event("ev-2")]), "k1").await;
    assert_eq!((status, answer["code"].as_str()), (409, Some("replayed")));
    // A new delivery repeating ev-1: a duplicate, stored once.
    let (status, answer) = post_with_key(&s, &json!([event("ev-1"), event("ev-3")]), "k2").await;
    assert_eq!(status, 202);
    assert_eq!(answer["duplicates"], json!(["ev-1"]), "{answer}");
    fake.has_published(2).await;
    s.hook_runs(2).await;
    s.stop().await;
    assert_eq!(fake.published(), ["ev-1", "ev-3"]);
}

#[tokio::test]
async fn should_keep_events_in_the_outbox_while_the_transport_fails_then_publish_them() {
    let fake = FakeTransport::failing();
    let publisher = fake.clone();
    let s = start(move |c| c.publisher = Some(publisher)).await;
    for id in ["ev-1", "ev-2", "ev-3"] {
        let (status, answer) = post_events(&s, &event(id)).await;
        assert_eq!(
            status, 202,
            "accepted while the transport is down: {answer}"
        );
    }
    eventually("the outbox depth and failures show in /metrics", || async {
        let text = metrics_text(&s).await;
        metric(&text, "flowspec_outbox_depth") == Some(3.0)
            && metric(&text, "flowspec_publish_failures_total").is_some_and(|n| n >= 1.0)
    })
    .await;
    let (status, ready) = readyz(&s).await;
    assert_eq!(status, 200, "still ready: {ready}");
    let transport = &ready["transport"];
    assert_eq!(transport["target"], "memory://fake", "{ready}");
    assert_eq!(transport["outbox"], 3, "{ready}");
    assert!(
        transport["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("connection refused (fake)")),
        "{ready}"
    );
    assert!(transport["failing_since_ms"].as_i64().is_some(), "{ready}");
    assert!(fake.published().is_empty());

    fake.set_failing(false);
    fake.has_published(3).await;
    eventually("/readyz shows the transport healthy", || async {
        let (_, ready) = readyz(&s).await;
        ready["transport"]["outbox"] == 0 && ready["transport"]["last_error"].is_null()
    })
    .await;
    let (_, ready) = readyz(&s).await;
    assert!(ready["transport"]["failing_since_ms"].is_null(), "{ready}");
    assert_eq!(
        metric(&metrics_text(&s).await, "flowspec_outbox_depth"),
        Some(0.0)
    );
    s.stop().await;
    assert_eq!(fake.published(), ["ev-1", "ev-2", "ev-3"]);
}

#[tokio::test]
async fn should_publish_what_a_previous_receiver_left_in_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let down = FakeTransport::failing();
    let publisher = down.clone();
    let first = start_on(StateAt::File(state.clone()), move |c| {
        c.publisher = Some(publisher)
    })
    .await;
    for id in ["ev-1", "ev-2"] {
        assert_eq!(post_events(&first, &event(id)).await.0, 202);
    }
    eventually("the first receiver tried", || async { down.calls() >= 1 }).await;
    first.stop().await;
    assert!(down.published().is_empty());
    assert_eq!(outbox_depth(&state).await, 2, "left for the next start");

    let up = FakeTransport::new();
    let publisher = up.clone();
    let second = start_on(StateAt::File(state.clone()), move |c| {
        c.publisher = Some(publisher)
    })
    .await;
    assert_eq!(post_events(&second, &event("ev-3")).await.0, 202);
    up.has_published(3).await;
    second.stop().await;
    assert_eq!(up.published(), ["ev-1", "ev-2", "ev-3"], "the oldest first");
    assert_eq!(up.sent(), 3, "none sent twice");
    assert_eq!(outbox_depth(&state).await, 0);
}

#[tokio::test]
async fn should_finish_a_publish_in_flight_at_a_stop_and_send_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let fake = FakeTransport::new();
    // The transport stores the events at once and answers late, so the stop below
    // arrives after the send and before the rows are removed.
    fake.reply_after(std::time::Duration::from_millis(400));
    let publisher = fake.clone();
    let s = start_on(StateAt::File(state.clone()), move |c| {
        c.publisher = Some(publisher)
    })
    .await;
    let batch: Vec<Value> = ["ev-1", "ev-2", "ev-3"]
        .iter()
        .map(|id| event(id))
        .collect();
    assert_eq!(post_events(&s, &json!(batch)).await.0, 202);
    fake.has_published(3).await;
    s.stop().await;
    assert_eq!(fake.sent(), 3, "the batch in flight was not sent again");
    assert_eq!(outbox_depth(&state).await, 0, "its rows are removed");
}

#[tokio::test]
async fn should_write_no_outbox_rows_without_a_publisher() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let s = start_on(StateAt::File(state.clone()), |_| {}).await;
    for id in ["ev-1", "ev-2"] {
        assert_eq!(post_events(&s, &event(id)).await.0, 202);
    }
    s.hook_runs(2).await;
    let (status, ready) = readyz(&s).await;
    assert_eq!(status, 200);
    assert!(ready.get("transport").is_none(), "{ready}");
    s.stop().await;
    assert_eq!(outbox_depth(&state).await, 0);
}
