//! The event queue against a real PostgreSQL server: the same SQL as SQLite.

use std::time::Duration;

use flowspec_core::Event;
use flowspec_core::store::{Durability, Store};
use flowspec_core::testing::TempPostgres;
use flowspec_server::queue::{
    DispatchOutcome, Enqueued, Incoming, Queue, QueueStatus, RetrySchedule, Stored,
};

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
