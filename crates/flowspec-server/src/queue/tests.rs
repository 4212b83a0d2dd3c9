//! The queue against SQLite.
use super::*;

async fn queue(schedule: RetrySchedule) -> (tempfile::TempDir, Queue) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("q.db")).await.unwrap();
    (dir, Queue::open(store, schedule).await.unwrap())
}

fn incoming(ids: &[&str], delivery: Option<&str>) -> Incoming {
    Incoming {
        source: "github".into(),
        delivery_id: delivery.map(str::to_owned),
        events: ids
            .iter()
            .map(|id| Event::builder("deploy.completed").id(*id).build().unwrap())
            .collect(),
    }
}

#[tokio::test]
async fn should_refuse_replayed_deliveries_and_keep_one_copy_per_event_id() {
    let (_dir, q) = queue(RetrySchedule::default()).await;
    let q = q.with_durability(Durability::Synced);
    let results = q
        .enqueue(&[
            incoming(&["e1"], Some("d1")),
            incoming(&["e1", "e3"], Some("d2")),
            incoming(&["e2", "e4"], Some("d1")),
        ])
        .await
        .unwrap();
    assert_eq!(
        results,
        [
            Enqueued::Stored(vec![Stored::Accepted]),
            Enqueued::Stored(vec![Stored::Duplicate, Stored::Accepted]),
            Enqueued::Replayed,
        ]
    );
    assert_eq!(
        q.list(None, 10).await.unwrap().len(),
        2,
        "a replayed request stores none of its events"
    );
    q.forget_deliveries(-1).await.unwrap();
    assert_eq!(
        q.enqueue(&[incoming(&["e2"], Some("d1"))]).await.unwrap(),
        [Enqueued::Stored(vec![Stored::Accepted])]
    );
}

#[tokio::test]
async fn should_judge_a_batch_larger_than_one_statement_as_if_stored_one_by_one() {
    let (_dir, q) = queue(RetrySchedule::default()).await;
    let ids: Vec<String> = (0..1_200).map(|i| format!("e{i}")).collect();
    let deliveries: Vec<String> = (0..1_200).map(|i| format!("d{i}")).collect();
    let mut batch: Vec<Incoming> = ids
        .iter()
        .zip(&deliveries)
        .map(|(id, d)| incoming(&[id], Some(d)))
        .collect();
    // Repeats that land in later statements than their first copy.
    batch.push(incoming(&["e3"], Some("d-new")));
    batch.push(incoming(&["e-new"], Some("d7")));
    let results = q.enqueue(&batch).await.unwrap();
    assert_eq!(results.len(), 1_202);
    assert!(
        results[..1_200]
            .iter()
            .all(|r| *r == Enqueued::Stored(vec![Stored::Accepted]))
    );
    assert_eq!(results[1_200], Enqueued::Stored(vec![Stored::Duplicate]));
    assert_eq!(results[1_201], Enqueued::Replayed);
    assert_eq!(q.list(None, 2_000).await.unwrap().len(), 1_200);
}

#[tokio::test]
async fn should_hand_each_event_to_one_worker_then_retry_then_bury_it() {
    let schedule = RetrySchedule {
        max_attempts: 2,
        base_delay_ms: 0,
        max_delay_ms: 0,
    };
    let (_dir, q) = queue(schedule).await;
    q.enqueue(&[incoming(&["e1"], None)]).await.unwrap();
    let lease = q.take(None, 60_000).await.unwrap().expect("due");
    assert_eq!(lease.attempt, 1);
    assert!(
        q.take(None, 60_000).await.unwrap().is_none(),
        "a running event is not handed out twice"
    );
    let failed = DispatchOutcome::Failed {
        error: "exit code 1".into(),
    };
    assert_eq!(
        q.complete(&lease, &failed).await.unwrap(),
        QueueStatus::Pending
    );
    let again = q
        .take(Some("e1"), 60_000)
        .await
        .unwrap()
        .expect("retry due");
    assert_eq!(again.attempt, 2);
    assert_eq!(
        q.complete(&again, &failed).await.unwrap(),
        QueueStatus::Dead
    );
    let record = q.get("e1").await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.last_error.as_deref()),
        (QueueStatus::Dead, Some("exit code 1"))
    );
    q.replay("e1", true).await.unwrap();
    let replayed = q.take(None, 60_000).await.unwrap().unwrap();
    assert!(replayed.force);
    assert_eq!(
        q.complete(&replayed, &DispatchOutcome::Done).await.unwrap(),
        QueueStatus::Done
    );
}

#[tokio::test]
async fn should_recover_events_whose_worker_died() {
    let (_dir, q) = queue(RetrySchedule::default()).await;
    q.enqueue(&[incoming(&["e1"], None)]).await.unwrap();
    q.take(None, 60_000).await.unwrap().unwrap();
    // Pretend the taker was a process of this host that no longer exists.
    let dead_here = format!(
        "{}|{}|gone",
        q.store.owner_id().split('|').next().unwrap(),
        i32::MAX - 3
    );
    sqlx::query("UPDATE event_queue SET owner = $1")
        .bind(dead_here)
        .execute(&mut *q.store.conn().await.unwrap())
        .await
        .unwrap();
    assert_eq!(q.recover().await.unwrap(), 1);
    assert_eq!(
        q.get("e1").await.unwrap().unwrap().status,
        QueueStatus::Pending
    );
    assert_eq!(q.counts().await.unwrap(), [(QueueStatus::Pending, 1)]);
}

/// Dispatches `ids` to `done` and backdates them by `age_ms`.
async fn finished(q: &Queue, ids: &[&str], age_ms: i64) {
    q.enqueue(&[incoming(ids, None)]).await.unwrap();
    for id in ids {
        let lease = q.take(Some(id), 60_000).await.unwrap().unwrap();
        q.complete(&lease, &DispatchOutcome::Done).await.unwrap();
        sqlx::query("INSERT INTO hook_runs (event_id, hook_name, status, attempt, owner, lease_until, started_at, finished_at) VALUES ($1, 'h', 'success', 1, 'o', 0, $2, $2)")
            .bind(*id)
            .bind(now_ms() - age_ms)
            .execute(q.store().pool())
            .await
            .unwrap();
        sqlx::query("UPDATE event_queue SET updated_at = $1 WHERE event_id = $2")
            .bind(now_ms() - age_ms)
            .bind(*id)
            .execute(q.store().pool())
            .await
            .unwrap();
    }
}

async fn ids(q: &Queue) -> Vec<String> {
    let mut ids: Vec<String> = q
        .list(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    ids.sort();
    ids
}

async fn hook_run_count(q: &Queue) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM hook_runs")
        .fetch_one(q.store().pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

const DAY_MS: i64 = 24 * 3600 * 1000;

#[tokio::test]
async fn should_prune_old_finished_events_with_their_hook_runs_and_keep_waiting_ones() {
    let (_dir, q) = queue(RetrySchedule::default()).await;
    finished(&q, &["old1", "old2"], 40 * DAY_MS).await;
    finished(&q, &["recent"], DAY_MS).await;
    // A pending event older than the limit is still work to do.
    q.enqueue(&[incoming(&["waiting"], None)]).await.unwrap();
    sqlx::query("UPDATE event_queue SET updated_at = 0 WHERE event_id = 'waiting'")
        .execute(q.store().pool())
        .await
        .unwrap();

    let pruned = q
        .prune(
            &flowspec_core::retention::Retention::default(),
            PruneScope::Done,
        )
        .await
        .unwrap();
    assert_eq!((pruned.events, pruned.hook_runs), (2, 2));
    assert_eq!(ids(&q).await, ["recent", "waiting"]);
    assert_eq!(hook_run_count(&q).await, 1);
}

#[tokio::test]
async fn should_keep_only_the_newest_finished_events_beyond_the_count_limit() {
    let (_dir, q) = queue(RetrySchedule::default()).await;
    for (n, id) in ["e1", "e2", "e3", "e4", "e5"].iter().enumerate() {
        finished(&q, &[id], (10 - n as i64) * 1000).await;
    }
    let mut keep = flowspec_core::retention::Retention::keep_everything();
    keep.max_events = 2;
    let pruned = q.prune(&keep, PruneScope::Done).await.unwrap();
    assert_eq!(pruned.events, 3);
    assert_eq!(ids(&q).await, ["e4", "e5"]);
}

#[tokio::test]
async fn should_keep_dead_letters_unless_asked_to_prune_them() {
    let (_dir, q) = queue(RetrySchedule {
        max_attempts: 1,
        ..RetrySchedule::default()
    })
    .await;
    q.enqueue(&[incoming(&["dead1"], None)]).await.unwrap();
    let lease = q.take(Some("dead1"), 60_000).await.unwrap().unwrap();
    let failed = DispatchOutcome::Failed {
        error: "hook failed".into(),
    };
    assert_eq!(
        q.complete(&lease, &failed).await.unwrap(),
        QueueStatus::Dead
    );
    sqlx::query("UPDATE event_queue SET updated_at = 0")
        .execute(q.store().pool())
        .await
        .unwrap();
    let keep = flowspec_core::retention::Retention::default();
    assert_eq!(q.prune(&keep, PruneScope::Done).await.unwrap().events, 0);
    assert_eq!(ids(&q).await, ["dead1"]);
    assert_eq!(
        q.prune(&keep, PruneScope::DoneAndDead)
            .await
            .unwrap()
            .events,
        1
    );
    assert!(ids(&q).await.is_empty());
}

#[tokio::test]
async fn should_prune_old_hook_runs_of_emitted_events_that_never_were_queued() {
    let (_dir, q) = queue(RetrySchedule::default()).await;
    for (id, age) in [("emitted-old", 40 * DAY_MS), ("emitted-new", DAY_MS)] {
        sqlx::query("INSERT INTO hook_runs (event_id, hook_name, status, attempt, owner, lease_until, started_at, finished_at) VALUES ($1, 'h', 'failed', 1, 'o', 0, $2, $2)")
            .bind(id)
            .bind(now_ms() - age)
            .execute(q.store().pool())
            .await
            .unwrap();
    }
    let keep = flowspec_core::retention::Retention::default();
    assert_eq!(q.prune(&keep, PruneScope::Done).await.unwrap().hook_runs, 1);
    assert_eq!(hook_run_count(&q).await, 1);
}

#[tokio::test]
async fn should_count_events_finished_in_the_same_millisecond_one_by_one() {
    let (_dir, q) = queue(RetrySchedule::default()).await;
    finished(&q, &["t1", "t2", "t3"], 5_000).await;
    sqlx::query("UPDATE event_queue SET updated_at = 1000")
        .execute(q.store().pool())
        .await
        .unwrap();
    let mut keep = flowspec_core::retention::Retention::keep_everything();
    keep.max_events = 2;
    assert_eq!(q.prune(&keep, PruneScope::Done).await.unwrap().events, 1);
    assert_eq!(ids(&q).await.len(), 2);
}

fn claimed_ids(batch: &OutboxBatch) -> Vec<&str> {
    batch.events.iter().map(|e| e.id().as_str()).collect()
}

#[tokio::test]
async fn should_put_only_newly_accepted_events_in_the_outbox_and_only_when_asked() {
    let (_dir, q) = queue(RetrySchedule::default()).await;
    let batch = [
        incoming(&["e1", "e2"], Some("d1")),
        incoming(&["e1", "e3"], Some("d2")),
        incoming(&["e4"], Some("d1")),
    ];
    q.enqueue(&batch).await.unwrap();
    assert_eq!(q.outbox_depth().await.unwrap(), 0, "off by default");
    assert!(q.claim_outbox(500, 60_000).await.unwrap().is_none());

    let (_dir, q) = queue(RetrySchedule::default()).await;
    let q = q.with_outbox(true).with_durability(Durability::Synced);
    q.enqueue(&batch).await.unwrap();
    // A second request for e3 later: a duplicate, not published again.
    q.enqueue(&[incoming(&["e3", "e5"], None)]).await.unwrap();
    assert_eq!(q.outbox_depth().await.unwrap(), 4);
    let claimed = q.claim_outbox(500, 60_000).await.unwrap().expect("due");
    assert_eq!(claimed_ids(&claimed), ["e1", "e2", "e3", "e5"]);
    assert!(claimed.unreadable.is_empty());
    assert_eq!(q.outbox_published(&claimed).await.unwrap(), 4);
    assert_eq!(q.outbox_depth().await.unwrap(), 0);
}

#[tokio::test]
async fn should_hand_outbox_rows_out_once_in_arrival_order_and_back_after_a_failure() {
    let (_dir, q) = queue(RetrySchedule::default()).await;
    let q = q.with_outbox(true);
    // More events in one millisecond than a claim takes, in an order ids do not sort.
    let ids: Vec<String> = (0..700).map(|i| format!("e{}", 700 - i)).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    q.enqueue(&[incoming(&refs, None)]).await.unwrap();
    let first = q.claim_outbox(500, 60_000).await.unwrap().expect("due");
    assert_eq!(claimed_ids(&first), refs[..500]);
    let second = q
        .claim_outbox(500, 60_000)
        .await
        .unwrap()
        .expect("the rest");
    assert_eq!(
        claimed_ids(&second),
        refs[500..],
        "claimed rows are not handed out twice"
    );
    assert!(q.claim_outbox(500, 60_000).await.unwrap().is_none());

    let later = now_ms() + 60_000;
    assert_eq!(q.outbox_failed(&first, "down", later).await.unwrap(), 500);
    assert!(
        q.claim_outbox(500, 60_000).await.unwrap().is_none(),
        "not due before its retry"
    );
    let (attempts, error): (i64, Option<String>) = {
        let row = sqlx::query("SELECT MAX(attempts) AS a, MAX(last_error) AS e FROM event_outbox")
            .fetch_one(&mut *q.store.conn().await.unwrap())
            .await
            .unwrap();
        (row.try_get("a").unwrap(), row.try_get("e").unwrap())
    };
    assert_eq!((attempts, error.as_deref()), (1, Some("down")));
    assert_eq!(q.outbox_published(&second).await.unwrap(), 200);
    // A new start retries at once, oldest first.
    q.release_outbox().await.unwrap();
    let again = q
        .claim_outbox(500, 60_000)
        .await
        .unwrap()
        .expect("due again");
    assert_eq!(claimed_ids(&again), refs[..500]);
    assert_eq!(again.attempts, 1);
    q.outbox_published(&again).await.unwrap();
    assert_eq!(q.outbox_depth().await.unwrap(), 0);
}

#[tokio::test]
async fn should_release_the_outbox_claims_of_a_dead_publisher_and_drop_unreadable_rows() {
    let (_dir, q) = queue(RetrySchedule::default()).await;
    let q = q.with_outbox(true);
    q.enqueue(&[incoming(&["e1", "e2", "e3"], None)])
        .await
        .unwrap();
    q.claim_outbox(500, 60_000).await.unwrap().expect("due");
    let dead_here = format!(
        "{}|{}|gone",
        q.store.owner_id().split('|').next().unwrap(),
        i32::MAX - 3
    );
    sqlx::query("UPDATE event_outbox SET owner = $1")
        .bind(dead_here)
        .execute(&mut *q.store.conn().await.unwrap())
        .await
        .unwrap();
    assert!(q.claim_outbox(500, 60_000).await.unwrap().is_none());
    assert_eq!(q.release_outbox().await.unwrap(), 3);
    sqlx::query("UPDATE event_queue SET payload = 'not json' WHERE event_id = 'e2'")
        .execute(&mut *q.store.conn().await.unwrap())
        .await
        .unwrap();
    let batch = q
        .claim_outbox(500, 60_000)
        .await
        .unwrap()
        .expect("released");
    assert_eq!(claimed_ids(&batch), ["e1", "e3"]);
    assert_eq!(batch.unreadable.len(), 1);
    assert_eq!(batch.unreadable[0].0, "e2");
    assert_eq!(
        q.outbox_depth().await.unwrap(),
        2,
        "the unreadable row is gone"
    );
}

#[tokio::test]
async fn should_keep_finished_events_that_wait_in_the_outbox_when_pruning() {
    let (_dir, q) = queue(RetrySchedule::default()).await;
    let q = q.with_outbox(true);
    finished(&q, &["old1", "old2"], 40 * DAY_MS).await;
    let batch = q.claim_outbox(1, 60_000).await.unwrap().expect("due");
    assert_eq!(claimed_ids(&batch), ["old1"]);
    q.outbox_published(&batch).await.unwrap();
    let pruned = q
        .prune(
            &flowspec_core::retention::Retention::default(),
            PruneScope::Done,
        )
        .await
        .unwrap();
    assert_eq!(pruned.events, 1);
    assert_eq!(
        ids(&q).await,
        ["old2"],
        "its payload is still to be published"
    );
}

#[tokio::test]
async fn should_add_the_outbox_to_a_queue_written_by_an_earlier_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("q.db")).await.unwrap();
    assert_eq!(store.migrate("queue", &MIGRATIONS[..2]).await.unwrap(), 2);
    let q = Queue::open(store, RetrySchedule::default())
        .await
        .unwrap()
        .with_outbox(true);
    q.enqueue(&[incoming(&["e1"], None)]).await.unwrap();
    assert_eq!(q.outbox_depth().await.unwrap(), 1);
}
