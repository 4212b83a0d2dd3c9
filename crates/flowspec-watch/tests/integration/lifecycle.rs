//! Start, restart, shutdown, heartbeat, the lock.

use std::time::{Duration, SystemTime};

use flowspec_core::FailMode;
use flowspec_watch::file::{FileIdentity, parse};
use flowspec_watch::heartbeat::Status;
use flowspec_watch::{Heartbeat, Mode, WatchError, Watcher};

use crate::{Harness, Recorder, builder, command_hook, run_while, wait_until};

fn set_age(path: &std::path::Path, seconds_ago: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(seconds_ago))
        .unwrap();
}

#[tokio::test]
async fn should_dispatch_files_present_at_start_oldest_first() {
    for poll in [false, true] {
        let h = Harness::new();
        for (name, age) in [("b.json", 10), ("c.json", 30), ("a.json", 20)] {
            h.drop_file(
                name,
                &format!(r#"{{"event_type":"start.test","event_id":"{name}"}}"#),
            );
            set_age(&h.dir().join(name), age);
        }
        let (engine, recording) = h.recording_engine().await;
        let recorder = Recorder::new();
        let watcher = builder(&h.dir(), &recorder)
            .poll(poll)
            .build(engine)
            .unwrap();
        run_while(&watcher, async {
            wait_until("the files are processed", || recorder.files().len() == 3).await;
        })
        .await;
        assert_eq!(recorder.start_info().files_at_start, 3, "poll={poll}");
        let order: Vec<String> = recording
            .events()
            .iter()
            .map(|e| e.id().to_string())
            .collect();
        assert_eq!(order, ["c.json", "a.json", "b.json"], "poll={poll}");
    }
}

#[tokio::test]
async fn should_process_what_is_there_and_return_with_once() {
    let h = Harness::new();
    h.drop_file("old.json", r#"{"event_type":"once.test","event_id":"old"}"#);
    set_age(&h.dir().join("old.json"), 60);
    // Just written: checked again one poll interval later, then taken.
    h.drop_file("new.trigger", "");
    h.drop_file("bad.json", "not json");
    set_age(&h.dir().join("bad.json"), 60);
    let (engine, recording) = h.recording_engine().await;
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder).build(engine).unwrap();
    let summary = watcher.run_once().await.unwrap();
    assert_eq!(recorder.start_info().mode, Mode::Polling);
    assert!(recorder.start_info().once);
    assert_eq!(
        (summary.processed, summary.failed, summary.left_incomplete),
        (2, 1, 0)
    );
    assert_eq!(recording.events().len(), 2);
    assert_eq!(h.list("processed"), ["new.trigger", "old.json"]);
}

#[tokio::test]
async fn should_leave_a_file_still_being_written_with_once() {
    let h = Harness::new();
    let (engine, recording) = h.recording_engine().await;
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder).build(engine).unwrap();
    let path = h.dir().join("growing.json");
    let finished = std::sync::atomic::AtomicBool::new(false);
    let once = async {
        let summary = watcher.run_once().await;
        finished.store(true, std::sync::atomic::Ordering::SeqCst);
        summary
    };
    // A writer that keeps writing, a little at a time, until the run is over.
    let write = async {
        let mut content = String::from("{\"event_type\":\"grow.test\",\"pad\":\"");
        while !finished.load(std::sync::atomic::Ordering::SeqCst) {
            content.push_str("xxxx");
            std::fs::write(&path, &content).unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    std::fs::write(&path, "{").unwrap();
    let (summary, ()) = tokio::join!(once, write);
    let summary = summary.unwrap();
    assert_eq!(summary.left_incomplete, 1);
    assert!(recording.events().is_empty());
    assert!(h.exists("growing.json"), "left for the next run");
}

#[tokio::test]
async fn should_write_a_heartbeat_with_the_watcher_state() {
    let h = Harness::new();
    let (engine, _recording) = h.recording_engine().await;
    let recorder = Recorder::new();
    let heartbeat = h.path("beats/watcher.json");
    let watcher = builder(&h.dir(), &recorder)
        .heartbeat(&heartbeat)
        .heartbeat_interval(Duration::from_millis(100))
        .build(engine)
        .unwrap();
    run_while(&watcher, async {
        wait_until("the first heartbeat", || heartbeat.exists()).await;
        let first = Heartbeat::read(&heartbeat).unwrap();
        assert_eq!(first.status, Status::Running);
        assert_eq!(first.files_processed, 0);
        assert_eq!(first.last_event_at, None);
        h.drop_file("ok.json", r#"{"event_type":"hb.test"}"#);
        h.drop_file("bad.json", "[]");
        wait_until("a heartbeat counting both files", || {
            Heartbeat::read(&heartbeat).is_ok_and(|b| b.files_processed == 1 && b.files_failed == 1)
        })
        .await;
        let beat = Heartbeat::read(&heartbeat).unwrap();
        assert!(beat.timestamp > first.timestamp);
        assert!(beat.last_event_at.is_some());
    })
    .await;

    let last = Heartbeat::read(&heartbeat).unwrap();
    assert_eq!(last.status, Status::Stopped);
    assert_eq!(last.pid, std::process::id());
    assert_eq!(last.mode, Mode::Inotify);
    assert_eq!(last.fallback_reason, None);
    assert_eq!(last.watched_dir, h.dir().canonicalize().unwrap());
    assert_eq!((last.files_processed, last.files_failed), (1, 1));
    assert_eq!(
        (last.queue_depth, last.in_flight, last.incomplete),
        (0, 0, 0)
    );
    assert_eq!(last.workers, 1);
    assert_eq!(last.interval_seconds, 0.1);
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&heartbeat).unwrap()).unwrap();
    for key in [
        "timestamp",
        "status",
        "pid",
        "mode",
        "watched_dir",
        "started_at",
        "uptime_seconds",
        "files_processed",
        "files_failed",
        "last_event_at",
        "queue_depth",
    ] {
        assert!(raw.get(key).is_some(), "heartbeat has `{key}`: {raw}");
    }
    let names: Vec<_> = std::fs::read_dir(h.path("beats"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, ["watcher.json"], "no temporary file left behind");
}

#[tokio::test]
async fn should_write_the_heartbeat_as_prometheus_text_when_the_path_ends_in_prom() {
    let h = Harness::new();
    let (engine, _recording) = h.recording_engine().await;
    let recorder = Recorder::new();
    let heartbeat = h.path("textfile/flowspec_watch.prom");
    let watcher = builder(&h.dir(), &recorder)
        .heartbeat(&heartbeat)
        .heartbeat_interval(Duration::from_millis(100))
        .build(engine)
        .unwrap();
    let dir = h.dir().canonicalize().unwrap();
    let label = format!("{{watched_dir=\"{}\"}}", dir.display());
    run_while(&watcher, async {
        h.drop_file("ok.json", r#"{"event_type":"hb.test"}"#);
        wait_until("a heartbeat counting the file", || {
            std::fs::read_to_string(&heartbeat).is_ok_and(|text| {
                text.contains(&format!("flowspec_watch_files_processed_total{label} 1\n"))
            })
        })
        .await;
        let text = std::fs::read_to_string(&heartbeat).unwrap();
        assert!(
            text.contains(&format!("flowspec_watch_running{label} 1\n")),
            "{text}"
        );
        let written: f64 = text
            .lines()
            .find_map(|line| {
                line.strip_prefix(&format!(
                    "flowspec_watch_heartbeat_timestamp_seconds{label} "
                ))
            })
            .expect("a timestamp line")
            .parse()
            .expect("a number");
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            (now - written).abs() < 60.0,
            "{written} is not about now ({now})"
        );
    })
    .await;

    let last = std::fs::read_to_string(&heartbeat).unwrap();
    assert!(
        last.contains(&format!("flowspec_watch_running{label} 0\n")),
        "{last}"
    );
    // What node_exporter's textfile collector reads must be valid exposition text.
    let check = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&heartbeat).unwrap())
        .output()
        .expect("promtool runs (Debian: apt-get install prometheus)");
    assert!(
        check.status.success(),
        "promtool refused the heartbeat: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn should_escape_a_watched_directory_that_could_break_the_prometheus_text() {
    let mut beat: Heartbeat = serde_json::from_value(serde_json::json!({
        "timestamp": "2025-12-02T15:30:45.123Z", "status": "stopping", "pid": 1,
        "mode": "polling", "fallback_reason": "inotify limit", "watched_dir": "/x",
        "started_at": "2025-12-02T15:00:00.000Z", "uptime_seconds": 5,
        "interval_seconds": 10.0, "files_processed": 0, "files_failed": 0,
        "last_event_at": null, "queue_depth": 0, "in_flight": 0, "incomplete": 0,
        "workers": 1, "version": "0.1.0"
    }))
    .unwrap();
    beat.watched_dir = "/srv/a\"} 1\nflowspec_watch_running{x=\"\\".into();
    let text = beat.to_prometheus();
    assert!(
        text.contains(
            r#"flowspec_watch_running{watched_dir="/srv/a\"} 1\nflowspec_watch_running{x=\"\\"} 0"#
        ),
        "{text}"
    );
    assert!(text.contains("flowspec_watch_polling{"), "{text}");
    assert_eq!(
        text.lines().filter(|l| !l.starts_with('#')).count(),
        9,
        "{text}"
    );
}

#[tokio::test]
async fn should_refuse_a_heartbeat_file_that_would_be_taken_as_an_event() {
    let h = Harness::new();
    let (engine, _) = h.recording_engine().await;
    let error = Watcher::builder(h.dir())
        .heartbeat(h.dir().join("heartbeat.json"))
        .build(engine)
        .unwrap_err();
    assert!(
        matches!(error, WatchError::HeartbeatInWatchedDir { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn should_not_run_a_succeeded_hook_again_when_a_file_is_dispatched_after_a_crash() {
    let h = Harness::new();
    let hooks = || {
        vec![command_hook(
            "count",
            "echo \"$FLOWSPEC_EVENT_ID\" >> runs.txt",
            FailMode::Continue,
        )]
    };
    h.drop_file(
        "with-id.json",
        r#"{"event_type":"crash.test","event_id":"crash-1"}"#,
    );
    h.drop_file("without-id.trigger", r#"{"note": "no event_id"}"#);
    // The crash: the previous watcher dispatched both files (same engine, same store)
    // and died before moving them.
    {
        let engine = h.engine(hooks()).await;
        for name in ["with-id.json", "without-id.trigger"] {
            let path = h.dir().join(name);
            let content = std::fs::read(&path).unwrap();
            let identity = FileIdentity::of(&std::fs::metadata(&path).unwrap());
            let event = parse(name, &content, &identity).unwrap();
            let report = engine.emit(event).await.unwrap();
            assert_eq!(report.hooks[0].status.as_str(), "success");
        }
    }
    let runs_before = std::fs::read_to_string(h.path("runs.txt")).unwrap();
    assert_eq!(runs_before.lines().count(), 2);

    let engine = h.engine(hooks()).await;
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder).build(engine).unwrap();
    let summary = watcher.run_once().await.unwrap();
    assert_eq!(summary.processed, 2);
    assert_eq!(
        std::fs::read_to_string(h.path("runs.txt")).unwrap(),
        runs_before,
        "no hook ran twice"
    );
    for outcome in recorder.files() {
        let hook = &outcome.report.as_ref().unwrap().hooks[0];
        assert_eq!(hook.status.as_str(), "skipped", "{}", outcome.file);
    }
    assert_eq!(h.list("processed"), ["with-id.json", "without-id.trigger"]);
}

#[tokio::test]
async fn should_finish_the_file_being_dispatched_on_shutdown_and_leave_the_rest() {
    let h = Harness::new();
    let engine = h
        .engine(vec![command_hook(
            "slow",
            "touch \"started-$FLOWSPEC_EVENT_ID\"; sleep 0.5; touch \"finished-$FLOWSPEC_EVENT_ID\"",
            FailMode::Continue,
        )])
        .await;
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder).build(engine).unwrap();
    let summary = run_while(&watcher, async {
        h.drop_file(
            "first.json",
            r#"{"event_type":"s.test","event_id":"first"}"#,
        );
        h.drop_file(
            "second.json",
            r#"{"event_type":"s.test","event_id":"second"}"#,
        );
        wait_until("the first hook started", || {
            h.path("started-first").exists()
        })
        .await;
    })
    .await;
    assert!(
        h.path("finished-first").exists(),
        "the running hook finished"
    );
    assert!(!h.path("started-second").exists(), "nothing new started");
    assert_eq!(summary.processed, 1);
    assert_eq!(summary.left_queued, 1);
    assert_eq!(h.list("processed"), ["first.json"]);
    assert!(h.exists("second.json"), "left for the next start");
}

#[tokio::test]
async fn should_refuse_a_second_watcher_on_the_same_directory() {
    let h = Harness::new();
    let (engine, _) = h.recording_engine().await;
    let _first = Watcher::builder(h.dir()).build(engine.clone()).unwrap();
    let error = Watcher::builder(h.dir()).build(engine).unwrap_err();
    assert!(
        matches!(error, WatchError::AlreadyWatched { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("another flowspec watcher already watches")
    );
}

#[tokio::test]
async fn should_explain_a_missing_directory() {
    let h = Harness::new();
    let (engine, _) = h.recording_engine().await;
    let error = Watcher::builder(h.path("nope")).build(engine).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{} is not a directory (it does not exist; create it first)",
            h.path("nope").display()
        )
    );
}
