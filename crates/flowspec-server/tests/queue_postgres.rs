//! The event queue against a real PostgreSQL server: the same SQL as SQLite.

use std::collections::HashSet;
use std::time::Duration;

use flowspec_core::Event;
use flowspec_core::store::{Durability, Store};
use flowspec_core::testing::TempPostgres;
use flowspec_server::queue::{
    DispatchOutcome, Enqueued, Incoming, Queue, QueueStatus, RetrySchedule, Stored,
};
use serde_json::json;

mod support;

async fn open(url: &str) -> Store {
    // The server may accept TCP a moment before it accepts logins: retry until it does.
    for _ in 0..50 {
        if let Ok(store) = Store::open(url).await {
            return store;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Store::open(url).await.expect("open the PostgreSQL store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_share_the_event_queue_between_servers_in_postgres() {
    let server = TempPostgres::start();
    let a = Queue::open(open(&server.url()).await, RetrySchedule::default())
        .await
        .unwrap()
        .with_durability(Durability::Synced);
    let b = Queue::open(open(&server.url()).await, RetrySchedule::default())
        .await
        .unwrap();
    let incoming = |id: &str, delivery: &str| Incoming {
        source: "github".into(),
        delivery_id: Some(delivery.into()),
        events: vec![Event::builder("ci.completed").id(id).build().unwrap()],
    };
    assert_eq!(
        a.enqueue(&[incoming("e1", "d1")]).await.unwrap(),
        [Enqueued::Stored(vec![Stored::Accepted])]
    );
    assert_eq!(
        b.enqueue(&[incoming("e1", "d1")]).await.unwrap(),
        [Enqueued::Replayed],
        "the other server sees the delivery"
    );

    let lease = a.take(None, 60_000).await.unwrap().expect("due");
    assert!(
        b.take(None, 60_000).await.unwrap().is_none(),
        "one worker of one server takes it"
    );
    assert_eq!(
        a.complete(&lease, &DispatchOutcome::Done).await.unwrap(),
        QueueStatus::Done
    );
    let listed = b.list(None, 10).await.unwrap();
    assert_eq!((listed.len(), listed[0].status), (1, QueueStatus::Done));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_write_the_outbox_with_the_events_and_hand_each_row_to_one_claimer() {
    let server = TempPostgres::start();
    let a = Queue::open(open(&server.url()).await, RetrySchedule::default())
        .await
        .unwrap()
        .with_outbox(true);
    let b = Queue::open(open(&server.url()).await, RetrySchedule::default())
        .await
        .unwrap()
        .with_outbox(true);
    // More rows than one multi-row statement holds, in an order ids do not sort.
    let ids: Vec<String> = (0..1_200).map(|i| format!("e{}", 1_200 - i)).collect();
    let batch: Vec<Incoming> = ids
        .chunks(3)
        .enumerate()
        .map(|(n, chunk)| Incoming {
            source: "events".into(),
            delivery_id: Some(format!("d{n}")),
            events: chunk
                .iter()
                .map(|id| Event::builder("deploy.completed").id(id).build().unwrap())
                .collect(),
        })
        .collect();
    a.enqueue(&batch).await.unwrap();
    // Replays and duplicates add nothing.
    let again = b
        .enqueue(&[
            batch[0].clone(),
            Incoming {
                delivery_id: Some("d-new".into()),
                ..batch[1].clone()
            },
        ])
        .await
        .unwrap();
    assert_eq!(again[0], Enqueued::Replayed);
    assert_eq!(again[1], Enqueued::Stored(vec![Stored::Duplicate; 3]));
    assert_eq!(b.outbox_depth().await.unwrap(), 1_200);

    let mut claimed: Vec<Vec<String>> = Vec::new();
    loop {
        let (x, y) = tokio::join!(a.claim_outbox(100, 60_000), b.claim_outbox(100, 60_000));
        let (x, y) = (x.unwrap(), y.unwrap());
        if x.is_none() && y.is_none() {
            break;
        }
        for (queue, batch) in [(&a, x), (&b, y)] {
            if let Some(batch) = batch {
                claimed.push(batch.events.iter().map(|e| e.id().to_string()).collect());
                queue.outbox_published(&batch).await.unwrap();
            }
        }
    }
    let all: Vec<&String> = claimed.iter().flatten().collect();
    let unique: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(
        (all.len(), unique.len()),
        (1_200, 1_200),
        "each row claimed once"
    );
    let position = |id: &String| ids.iter().position(|i| i == id).unwrap();
    for batch in &claimed {
        assert!(
            batch.windows(2).all(|w| position(&w[0]) < position(&w[1])),
            "a batch is in arrival order: {batch:?}"
        );
    }
    assert_eq!(a.outbox_depth().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_publish_each_event_once_from_two_receivers_on_one_postgres() {
    let server = TempPostgres::start();
    open(&server.url()).await; // Accepting logins.
    let fake = support::FakeTransport::new();
    let (one, two) = (fake.clone(), fake.clone());
    let a = support::start_on(support::StateAt::Url(server.url()), move |c| {
        c.publisher = Some(one)
    })
    .await;
    let b = support::start_on(support::StateAt::Url(server.url()), move |c| {
        c.publisher = Some(two)
    })
    .await;
    let mut expected = Vec::new();
    for i in 0..40 {
        let id = format!("ev-{i:02}");
        let s = if i % 2 == 0 { &a } else { &b };
        let (status, answer) = support::post_events(
            s,
            &json!({"event_type": "deploy.completed", "event_id": id}),
        )
        .await;
        assert_eq!(status, 202, "{answer}");
        expected.push(id);
    }
    fake.has_published(expected.len()).await;
    a.stop().await;
    b.stop().await;
    let mut published = fake.published();
    published.sort();
    assert_eq!(published, expected, "each event once");
}
