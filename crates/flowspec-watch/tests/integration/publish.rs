//! Publishing events through a transport instead of running the hooks.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flowspec_core::transport::{PublishError, Publisher};
use flowspec_core::{Event, FailMode};
use flowspec_watch::FileStatus;

use crate::{Harness, Recorder, builder, command_hook, run_while, wait_until};

/// A transport in memory, idempotent by event id like a real one; it can be told to
/// fail its next calls.
#[derive(Default)]
struct FakePublisher {
    state: Mutex<FakeState>,
}

#[derive(Default)]
struct FakeState {
    /// Calls still to fail.
    fail_next: u64,
    /// Every call, failed or not.
    attempts: u64,
    /// The event id of each successful call, in order.
    successes: Vec<String>,
    /// The entry id given to each event id.
    entries: HashMap<String, String>,
}

impl FakePublisher {
    fn failing(times: u64) -> Arc<Self> {
        let fake = FakePublisher::default();
        fake.state.lock().unwrap().fail_next = times;
        Arc::new(fake)
    }

    fn attempts(&self) -> u64 {
        self.state.lock().unwrap().attempts
    }

    fn successes(&self) -> Vec<String> {
        self.state.lock().unwrap().successes.clone()
    }

    fn entry(&self, event_id: &str) -> Option<String> {
        self.state.lock().unwrap().entries.get(event_id).cloned()
    }

    fn call(&self, events: &[Event]) -> Result<Vec<String>, PublishError> {
        let mut state = self.state.lock().unwrap();
        state.attempts += 1;
        if state.fail_next > 0 {
            state.fail_next -= 1;
            return Err(PublishError::Unavailable("connection refused".into()));
        }
        let mut ids = Vec::new();
        for event in events {
            let event_id = event.id().to_string();
            let next = format!("1700000000000-{}", state.entries.len());
            let id = state
                .entries
                .entry(event_id.clone())
                .or_insert(next)
                .clone();
            state.successes.push(event_id);
            ids.push(id);
        }
        Ok(ids)
    }
}

// `Publisher` is an `async_trait` trait; this crate does not depend on the macro, so
// the method is written as the macro expands it.
impl Publisher for FakePublisher {
    fn publish<'a, 'b, 'r>(
        &'a self,
        events: &'b [Event],
    ) -> Pin<Box<dyn Future<Output = Result<Vec<String>, PublishError>> + Send + 'r>>
    where
        'a: 'r,
        'b: 'r,
        Self: 'r,
    {
        Box::pin(async move { self.call(events) })
    }

    fn target(&self) -> String {
        "memory stream flowspec:events".into()
    }
}

fn event(id: &str) -> String {
    format!(r#"{{"event_type":"publish.test","event_id":"{id}"}}"#)
}

fn warnings(recorder: &Recorder, starting: &str) -> usize {
    recorder
        .warnings
        .lock()
        .unwrap()
        .iter()
        .filter(|w| w.starts_with(starting))
        .count()
}

#[tokio::test]
async fn should_publish_instead_of_running_the_hooks() {
    let h = Harness::new();
    let marker = h.path("hook-ran");
    let hook = || command_hook("mark", "touch hook-ran", FailMode::Continue);
    let publisher = FakePublisher::failing(0);
    let recorder = Recorder::new();
    {
        let watcher = builder(&h.dir(), &recorder)
            .publish_to(publisher.clone())
            .build(h.engine(vec![hook()]).await)
            .unwrap();
        let summary = run_while(&watcher, async {
            h.drop_file("deploy.json", &event("deploy-1"));
            wait_until("the file is done", || recorder.files().len() == 1).await;
        })
        .await;
        assert_eq!(summary.processed, 1);
    }

    assert!(!marker.exists(), "no hook ran");
    assert_eq!(publisher.successes(), ["deploy-1"]);
    assert_eq!(h.list("processed"), ["deploy.json"]);
    assert!(h.list("failed").is_empty());
    let outcome = &recorder.files()[0];
    assert_eq!(outcome.status, FileStatus::Processed);
    assert_eq!(outcome.event_id.as_deref(), Some("deploy-1"));
    let entry = publisher.entry("deploy-1").expect("published");
    assert_eq!(outcome.published.as_deref(), Some(entry.as_str()));
    assert!(outcome.report.is_none(), "nothing dispatched");
    let json = serde_json::to_value(outcome).unwrap();
    assert_eq!(json["published"], entry.as_str());
    assert_eq!(
        recorder.start_info().publish_target.as_deref(),
        Some("memory stream flowspec:events")
    );
    assert!(recorder.warnings.lock().unwrap().is_empty());

    // The same hook without a publisher does leave the marker: its absence above means
    // something.
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder)
        .build(h.engine(vec![hook()]).await)
        .unwrap();
    run_while(&watcher, async {
        h.drop_file("local.json", &event("local-1"));
        wait_until("the file is done", || recorder.files().len() == 1).await;
    })
    .await;
    assert!(marker.exists(), "the hook ran");
    let json = serde_json::to_value(&recorder.files()[0]).unwrap();
    assert!(json.get("published").is_none(), "{json}");
    assert!(json.get("report").is_some(), "{json}");
    assert!(recorder.start_info().publish_target.is_none());
}

#[tokio::test]
async fn should_keep_files_while_publishing_fails_and_publish_each_once_after() {
    let h = Harness::new();
    // Two workers fail twice each: attempts at 0 and 200 ms, success at 600 ms.
    let publisher = FakePublisher::failing(4);
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder)
        .workers(2)
        .publish_to(publisher.clone())
        .build(h.engine(vec![]).await)
        .unwrap();
    run_while(&watcher, async {
        h.drop_file("a.json", &event("a"));
        h.drop_file("b.json", &event("b"));
        wait_until("three attempts failed", || publisher.attempts() >= 3).await;
        assert!(
            h.exists("a.json") && h.exists("b.json"),
            "the files stay put"
        );
        assert!(h.list("processed").is_empty());
        assert!(h.list("failed").is_empty());
        assert!(recorder.files().is_empty());
        wait_until("both files are done", || recorder.files().len() == 2).await;
        // Time for a duplicate publication to show.
        tokio::time::sleep(Duration::from_millis(500)).await;
    })
    .await;

    let mut successes = publisher.successes();
    successes.sort();
    assert_eq!(successes, ["a", "b"], "each published exactly once");
    assert_eq!(publisher.attempts(), 6);
    assert_eq!(h.list("processed"), ["a.json", "b.json"]);
    assert!(h.list("failed").is_empty());
    for outcome in recorder.files() {
        let id = outcome.event_id.as_deref().unwrap();
        assert_eq!(outcome.published, publisher.entry(id), "{id}");
    }
    assert_eq!(warnings(&recorder, "cannot publish"), 1, "one per streak");
    assert_eq!(
        warnings(&recorder, "publishing to memory"),
        1,
        "one recovery"
    );
    assert_eq!(recorder.warnings.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn should_leave_the_file_in_the_directory_when_stopped_while_publishing_fails() {
    let h = Harness::new();
    let publisher = FakePublisher::failing(u64::MAX);
    let recorder = Recorder::new();
    {
        let watcher = builder(&h.dir(), &recorder)
            .publish_to(publisher.clone())
            .build(h.engine(vec![]).await)
            .unwrap();
        let mut stop_asked = None;
        let run = run_while(&watcher, async {
            h.drop_file("stuck.json", &event("stuck"));
            // After 200 + 400 + 800 ms of waits the next is 1.6 s: the stop cuts it short.
            wait_until("four attempts failed", || publisher.attempts() >= 4).await;
            stop_asked = Some(Instant::now());
        });
        let summary = tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .expect("the watcher stopped");
        let stopped_in = stop_asked.unwrap().elapsed();
        assert!(stopped_in < Duration::from_secs(1), "{stopped_in:?}");
        assert_eq!(summary.processed, 0);
        assert_eq!(summary.failed, 0);
        assert_eq!(summary.left_queued, 1, "left for the next start");
    }

    assert!(h.exists("stuck.json"), "the file stays in the directory");
    assert!(h.list("processed").is_empty());
    assert!(h.list("failed").is_empty());
    assert!(recorder.files().is_empty());
    assert!(publisher.successes().is_empty());
    assert_eq!(warnings(&recorder, "cannot publish"), 1);
    assert_eq!(warnings(&recorder, "publishing to memory"), 0);
    let left = recorder
        .warnings
        .lock()
        .unwrap()
        .iter()
        .filter(|w| w.contains("stuck.json was not published before the stop"))
        .count();
    assert_eq!(left, 1, "the file left behind is reported");

    // The next start publishes it.
    let publisher = FakePublisher::failing(0);
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder)
        .publish_to(publisher.clone())
        .build(h.engine(vec![]).await)
        .unwrap();
    run_while(&watcher, async {
        wait_until("the file is done", || recorder.files().len() == 1).await;
    })
    .await;
    assert_eq!(publisher.successes(), ["stuck"]);
    assert_eq!(h.list("processed"), ["stuck.json"]);
}
