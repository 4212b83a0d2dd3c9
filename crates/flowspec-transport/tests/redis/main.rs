//! The Redis transport against a real `redis-server` started by each test (append-only
//! file on): publishing, groups, consumers sharing a group, claims, restarts, dead letters.

use std::sync::Arc;
use std::time::Duration;

use flowspec_core::testing::{RecordingAction, TempRedis};
use flowspec_core::{Engine, Event, HookSpec};
use flowspec_transport::{
    EntryOutcome, RedisTransport, StartFrom, SubscribeReporter, Subscriber, TransportConfig,
};

/// An entry as `XRANGE` returns it: id and fields.
type Raw<V> = (String, Vec<(String, V)>);

mod publish;
mod subscribe;

/// A transport on `redis` for `group`, with a short `claim_idle`.
fn transport(redis: &TempRedis, group: &str, consumer: &str) -> Arc<RedisTransport> {
    let mut config = TransportConfig::new(&redis.url()).unwrap().group(group);
    config.consumer = consumer.to_owned();
    config.claim_idle = Duration::from_secs(1);
    config.max_attempts = 3;
    Arc::new(RedisTransport::new(config).unwrap())
}

/// An engine whose one hook, `name`, runs `action` on every `build.completed`.
async fn engine_running(
    state: &tempfile::TempDir,
    name: &str,
    action: Arc<dyn flowspec_core::Action>,
) -> Engine {
    Engine::builder()
        .hook(
            HookSpec::builder(name)
                .on("build.completed")
                .action(action)
                .build()
                .unwrap(),
        )
        .state_path(state.path().join("state.db"))
        .no_audit()
        .build()
        .await
        .unwrap()
}

/// An engine whose one hook records every `build.completed`.
async fn engine(state: &tempfile::TempDir, action: Arc<RecordingAction>) -> Engine {
    engine_running(state, "record", action).await
}

fn events(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            Event::builder("build.completed")
                .field("n", i as u64)
                .build()
                .unwrap()
        })
        .collect()
}

/// Keeps every outcome.
#[derive(Default)]
struct Outcomes(std::sync::Mutex<Vec<EntryOutcome>>);

impl Outcomes {
    fn all(&self) -> Vec<EntryOutcome> {
        self.0.lock().unwrap().clone()
    }
}

impl SubscribeReporter for Outcomes {
    fn entry(&self, outcome: &EntryOutcome) {
        self.0.lock().unwrap().push(outcome.clone());
    }
}

/// Runs a subscriber until the stream has nothing new.
async fn drain(
    transport: Arc<RedisTransport>,
    engine: Engine,
) -> flowspec_transport::SubscribeSummary {
    Subscriber::new(transport, engine)
        .unwrap()
        .start_from(StartFrom::Start)
        .once(true)
        .run(std::future::pending())
        .await
        .unwrap()
}

/// Waits until `done` holds, up to 30 s.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
