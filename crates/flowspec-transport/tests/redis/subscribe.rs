//! Subscribing: groups, consumers sharing a group, claims, restarts, dead letters.

use std::collections::HashSet;

use async_trait::async_trait;
use flowspec_core::{Action, ActionContext, ActionOutcome};

use super::*;

fn ids(recorder: &RecordingAction) -> Vec<String> {
    recorder
        .events()
        .iter()
        .map(|e| e.id().as_str().to_owned())
        .collect()
}

async fn raw(redis: &TempRedis) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Records each event after `delay`.
#[derive(Debug)]
struct Slow {
    delay: Duration,
    seen: Arc<RecordingAction>,
}

#[async_trait]
impl Action for Slow {
    fn summary(&self) -> String {
        "slow".into()
    }
    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome {
        tokio::time::sleep(self.delay).await;
        self.seen.run(cx).await
    }
}

async fn slow_engine(
    state: &tempfile::TempDir,
    delay: Duration,
    seen: Arc<RecordingAction>,
) -> Engine {
    engine_running(state, "slow", Arc::new(Slow { delay, seen })).await
}

/// A subscriber running from the stream's start until `stop_tx` is sent to.
fn running(
    transport: Arc<RedisTransport>,
    engine: Engine,
    reporter: Arc<Outcomes>,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<
        Result<flowspec_transport::SubscribeSummary, flowspec_transport::TransportError>,
    >,
) {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(
        Subscriber::new(transport, engine)
            .unwrap()
            .start_from(StartFrom::Start)
            .reporter(reporter)
            .run(async {
                stop_rx.await.ok();
            }),
    );
    (stop_tx, run)
}

#[tokio::test]
async fn should_give_every_event_to_each_group() {
    let redis = TempRedis::start();
    let sent = events(50);
    let publisher = transport(&redis, "unused", "p");
    publisher.publish_events(&sent).await.unwrap();
    for group in ["laptops", "deployer"] {
        let state = tempfile::tempdir().unwrap();
        let seen = RecordingAction::new();
        let summary = drain(
            transport(&redis, group, "c1"),
            engine(&state, seen.clone()).await,
        )
        .await;
        assert_eq!(summary.done, 50, "group {group}");
        let want: Vec<String> = sent.iter().map(|e| e.id().as_str().to_owned()).collect();
        assert_eq!(ids(&seen), want, "group {group} runs every event, in order");
    }
    let status = publisher.status(None).await.unwrap();
    assert_eq!(status.groups.len(), 2);
    assert!(
        status
            .groups
            .iter()
            .all(|g| g.pending == 0 && g.lag == Some(0))
    );
}

#[tokio::test]
async fn should_share_a_group_between_consumers_and_run_no_event_twice() {
    let redis = TempRedis::start();
    let sent = events(120);
    transport(&redis, "workers", "p")
        .publish_events(&sent)
        .await
        .unwrap();
    let (state_a, state_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (seen_a, seen_b) = (RecordingAction::new(), RecordingAction::new());
    let delay = Duration::from_millis(5);
    let a = drain(
        transport(&redis, "workers", "a"),
        slow_engine(&state_a, delay, seen_a.clone()).await,
    );
    let b = drain(
        transport(&redis, "workers", "b"),
        slow_engine(&state_b, delay, seen_b.clone()).await,
    );
    let (a, b) = tokio::join!(a, b);
    assert_eq!(a.done + b.done, 120);
    let (ran_a, ran_b): (HashSet<String>, HashSet<String>) = (
        ids(&seen_a).into_iter().collect(),
        ids(&seen_b).into_iter().collect(),
    );
    assert!(
        !ran_a.is_empty() && !ran_b.is_empty(),
        "both consumers got events: {} / {}",
        ran_a.len(),
        ran_b.len()
    );
    assert!(ran_a.is_disjoint(&ran_b), "no event ran on both");
    assert_eq!(ran_a.len() + ran_b.len(), 120);
}

#[tokio::test]
async fn should_take_the_entries_a_dead_consumer_left_pending() {
    let redis = TempRedis::start();
    let sent = events(10);
    let publisher = transport(&redis, "workers", "p");
    let mut conn = raw(&redis).await;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg("flowspec:events")
        .arg("workers")
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut conn)
        .await
        .unwrap();
    publisher.publish_events(&sent).await.unwrap();
    // A consumer reads everything and dies before acknowledging.
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("workers")
        .arg("died")
        .arg("COUNT")
        .arg(100)
        .arg("STREAMS")
        .arg("flowspec:events")
        .arg(">")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        publisher.status(Some("workers")).await.unwrap().groups[0].pending,
        10
    );
    tokio::time::sleep(Duration::from_millis(1100)).await; // claim_idle is 1 s
    let state = tempfile::tempdir().unwrap();
    let seen = RecordingAction::new();
    let summary = drain(
        transport(&redis, "workers", "alive"),
        engine(&state, seen.clone()).await,
    )
    .await;
    assert_eq!(summary.claimed, 10);
    assert_eq!(seen.events().len(), 10);
    let group = &publisher.status(Some("workers")).await.unwrap().groups[0];
    assert_eq!(group.pending, 0, "the claimed entries were acknowledged");
}

#[tokio::test]
async fn should_run_an_event_published_twice_once_on_a_machine() {
    let redis = TempRedis::start();
    let event = events(1).remove(0);
    let mut conn = raw(&redis).await;
    for _ in 0..2 {
        // Two entries of one event (not through the deduplicating publisher).
        let _: String = redis::cmd("XADD")
            .arg("flowspec:events")
            .arg("*")
            .arg("event")
            .arg(event.to_vec())
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let state = tempfile::tempdir().unwrap();
    let seen = RecordingAction::new();
    let summary = drain(
        transport(&redis, "g", "c"),
        engine(&state, seen.clone()).await,
    )
    .await;
    assert_eq!(summary.done, 2, "both entries are acknowledged");
    assert_eq!(seen.events().len(), 1, "the hook ran once for the event id");
}

#[tokio::test]
async fn should_move_entries_that_are_not_events_to_the_dead_letters_and_go_on() {
    let redis = TempRedis::start();
    let mut conn = raw(&redis).await;
    let add = |fields: Vec<(&'static str, Vec<u8>)>| {
        let mut cmd = redis::cmd("XADD");
        cmd.arg("flowspec:events").arg("*");
        for (k, v) in fields {
            cmd.arg(k).arg(v);
        }
        cmd
    };
    let _: String = add(vec![("hello", b"world".to_vec())])
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: String = add(vec![("event", b"{not json".to_vec())])
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: String = add(vec![("event", br#"{"type":"Not A Type!"}"#.to_vec())])
        .query_async(&mut conn)
        .await
        .unwrap();
    let good = events(1).remove(0);
    let _: String = add(vec![("event", good.to_vec())])
        .query_async(&mut conn)
        .await
        .unwrap();

    let state = tempfile::tempdir().unwrap();
    let seen = RecordingAction::new();
    let transport = transport(&redis, "g", "c");
    let summary = drain(transport.clone(), engine(&state, seen.clone()).await).await;
    assert_eq!((summary.done, summary.dead_lettered), (1, 3));
    assert_eq!(ids(&seen), vec![good.id().as_str().to_owned()]);
    let dead: Vec<Raw<String>> = redis::cmd("XRANGE")
        .arg("flowspec:events:dead")
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let reasons: Vec<String> = dead
        .iter()
        .map(|(_, f)| f.iter().find(|(k, _)| k == "reason").unwrap().1.clone())
        .collect();
    assert!(reasons[0].contains("no `event` field"), "{reasons:?}");
    assert!(reasons[1].contains("not a flowspec event"), "{reasons:?}");
    assert!(reasons[2].contains("not a flowspec event"), "{reasons:?}");
    assert!(
        dead[0].1.iter().any(|(k, v)| k == "hello" && v == "world"),
        "the original fields are kept"
    );
    let status = transport.status(Some("g")).await.unwrap();
    assert_eq!(status.groups[0].pending, 0);
    assert_eq!(status.dead_letters, 3);
}

#[tokio::test]
async fn should_retry_failing_hooks_then_dead_letter_the_entry_with_the_reason() {
    let redis = TempRedis::start();
    let transport = transport(&redis, "g", "c"); // max_attempts 3, claim_idle 1 s
    let state = tempfile::tempdir().unwrap();
    let engine = engine_running(&state, "broken", RecordingAction::failing("exit code 3")).await;
    let outcomes = Arc::new(Outcomes::default());
    let (stop_tx, run) = running(transport.clone(), engine, outcomes.clone());
    transport.publish_events(&events(1)).await.unwrap();
    eventually("the dead letter", || {
        outcomes
            .all()
            .iter()
            .any(|o| matches!(o, EntryOutcome::DeadLettered { .. }))
    })
    .await;
    let _ = stop_tx.send(());
    let summary = run.await.unwrap().unwrap();
    let all = outcomes.all();
    let retries = all
        .iter()
        .filter(|o| matches!(o, EntryOutcome::WillRetry { .. }))
        .count();
    assert_eq!(retries, 2, "{all:?}");
    let EntryOutcome::DeadLettered { reason, .. } = all.last().unwrap() else {
        panic!("{all:?}")
    };
    assert!(
        reason.contains("3 deliveries") && reason.contains("broken"),
        "{reason}"
    );
    assert_eq!(summary.dead_lettered, 1);
    assert_eq!(
        transport.status(Some("g")).await.unwrap().groups[0].pending,
        0
    );
}

#[tokio::test]
async fn should_lose_nothing_acknowledged_when_redis_restarts_mid_stream() {
    let mut redis = TempRedis::start();
    let transport = transport(&redis, "g", "c");
    let state = tempfile::tempdir().unwrap();
    let seen = RecordingAction::new();
    let engine = engine(&state, seen.clone()).await;
    let (stop_tx, run) = running(transport.clone(), engine, Arc::new(Outcomes::default()));
    let first = events(40);
    transport.publish_events(&first).await.unwrap();
    eventually("the first 40", || seen.events().len() == 40).await;
    redis.restart();
    let second = events(40);
    // The publisher's connection was lost: the first try may fail, a retry goes through.
    let mut tries = 0;
    while transport.publish_events(&second).await.is_err() {
        tries += 1;
        assert!(tries < 50, "publishing after the restart keeps failing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eventually("all 80", || seen.events().len() == 80).await;
    let _ = stop_tx.send(());
    let summary = run.await.unwrap().unwrap();
    assert!(summary.reconnects >= 1, "{summary:?}");
    let status = transport.status(Some("g")).await.unwrap();
    assert_eq!(
        status.length, 80,
        "every acknowledged publication survived the restart"
    );
    assert_eq!(status.groups[0].pending, 0);
    let unique: HashSet<String> = ids(&seen).into_iter().collect();
    assert_eq!(unique.len(), 80);
}

#[tokio::test]
async fn should_finish_running_hooks_and_acknowledge_them_when_stopped() {
    let redis = TempRedis::start();
    let transport = transport(&redis, "g", "c");
    let state = tempfile::tempdir().unwrap();
    let seen = RecordingAction::new();
    let engine = slow_engine(&state, Duration::from_millis(700), seen.clone()).await;
    let started = Arc::new(Outcomes::default());
    let (stop_tx, run) = running(transport.clone(), engine, started.clone());
    transport.publish_events(&events(1)).await.unwrap();
    eventually("the entry to be read", || group_has_pending(&redis)).await;
    let _ = stop_tx.send(());
    let summary = run.await.unwrap().unwrap();
    assert_eq!(
        summary.done, 1,
        "the running hook finished before the subscriber stopped"
    );
    assert_eq!(seen.events().len(), 1);
    assert_eq!(
        transport.status(Some("g")).await.unwrap().groups[0].pending,
        0
    );
}

/// Whether the group has a pending entry (read, not yet acknowledged).
fn group_has_pending(redis: &TempRedis) -> bool {
    let client = redis::Client::open(redis.url()).unwrap();
    let Ok(mut conn) = client.get_connection() else {
        return false;
    };
    let pending: redis::Value = match redis::cmd("XPENDING")
        .arg("flowspec:events")
        .arg("g")
        .query(&mut conn)
    {
        Ok(v) => v,
        Err(_) => return false,
    };
    matches!(pending, redis::Value::Array(ref parts) if matches!(parts.first(), Some(redis::Value::Int(n)) if *n > 0))
}

#[tokio::test]
async fn should_forget_stopped_consumers_but_never_one_holding_entries() {
    let redis = TempRedis::start();
    let publisher = transport(&redis, "g", "p");
    let mut conn = raw(&redis).await;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg("flowspec:events")
        .arg("g")
        .arg("$")
        .arg("MKSTREAM")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: i64 = redis::cmd("XGROUP")
        .arg("CREATECONSUMER")
        .arg("flowspec:events")
        .arg("g")
        .arg("stopped-1")
        .query_async(&mut conn)
        .await
        .unwrap();
    publisher.publish_events(&events(1)).await.unwrap();
    // `holding` reads the entry and dies with it.
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("g")
        .arg("holding")
        .arg("STREAMS")
        .arg("flowspec:events")
        .arg(">")
        .query_async(&mut conn)
        .await
        .unwrap();
    let state = tempfile::tempdir().unwrap();
    let seen = RecordingAction::new();
    // claim_idle is 1 s: `holding`'s entry is not idle yet, so it keeps it.
    Subscriber::new(transport(&redis, "g", "alive"), engine(&state, seen).await)
        .unwrap()
        .once(true)
        .forget_consumers_after(Duration::ZERO)
        .run(std::future::pending())
        .await
        .unwrap();
    let status = publisher.status(Some("g")).await.unwrap();
    let names: Vec<&str> = status.groups[0]
        .consumers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert!(!names.contains(&"stopped-1"), "{names:?}");
    assert!(
        names.contains(&"holding"),
        "a consumer with pending entries stays: {names:?}"
    );
    assert_eq!(status.groups[0].pending, 1, "its entry was not dropped");
}
