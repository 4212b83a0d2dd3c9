//! Durable accepts: how many events per second the queue stores with synced commits
//! (fsync before the answer), as `flowspec serve`'s group commit writes them: each
//! batch is one transaction holding one request per waiting client.
//!
//! `cargo bench -p flowspec-server --bench queue_intake [-- EVENTS]`   (default 50,000)
//! Target: ≥ 10,000 durable accepts per second.

use std::time::Instant;

use flowspec_core::Event;
use flowspec_core::store::{Durability, Store};
use flowspec_server::queue::{Enqueued, Incoming, Queue, RetrySchedule};

fn incoming(i: usize) -> Incoming {
    let event = Event::builder("git.push")
        .field("repository", "acme/shop")
        .field("ref", "refs/heads/main")
        .field("after", format!("{i:040x}"))
        .build()
        .expect("event");
    Incoming {
        source: "github".into(),
        delivery_id: Some(format!("delivery-{i}")),
        events: vec![event],
    }
}

fn main() {
    let total: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("{total} events, one per request, synced commits (fsync per batch)");
    println!(
        "{:<24} {:>12} {:>14}",
        "requests per batch", "accepts/s", "µs per batch"
    );
    for batch in [1usize, 8, 64, 256] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (rate, per_batch) = runtime.block_on(async {
            let store = Store::open_sqlite(&dir.path().join("queue.db"))
                .await
                .expect("store");
            let queue = Queue::open(store, RetrySchedule::default())
                .await
                .expect("queue")
                .with_durability(Durability::Synced);
            // Single requests are slow (one fsync each): fewer of them.
            let n = if batch == 1 { total / 10 } else { total };
            let requests: Vec<Incoming> = (0..n).map(incoming).collect();
            let started = Instant::now();
            let mut batches = 0;
            for chunk in requests.chunks(batch) {
                let results = queue.enqueue(chunk).await.expect("enqueue");
                assert!(results.iter().all(|r| matches!(r, Enqueued::Stored(_))));
                batches += 1;
            }
            let elapsed = started.elapsed().as_secs_f64();
            (n as f64 / elapsed, elapsed * 1e6 / batches as f64)
        });
        println!("{batch:<24} {rate:>12.0} {per_batch:>14.0}");
    }
}
