//! What happens to a file after dispatch: processed/, failed/ with the reason, order,
//! parallel workers, no clobbering.

use flowspec_core::FailMode;
use flowspec_watch::{FileErrorKind, FileStatus};
use serde_json::Value;

use crate::{Harness, Recorder, builder, command_hook, run_while, wait_until};

fn error_file(h: &Harness, name: &str) -> Value {
    let text = h.read(&format!("failed/{name}.error.json"));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("failed/{name}.error.json: {e}: {text:?}"))
}

#[tokio::test]
async fn should_move_invalid_files_to_failed_with_the_reason() {
    let h = Harness::new();
    let (engine, recording) = h.recording_engine().await;
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder).build(engine).unwrap();
    run_while(&watcher, async {
        h.drop_file("broken.json", r#"{"event_type": "deploy.completed", "#);
        h.drop_file("untyped.json", r#"{"environment": "staging"}"#);
        h.drop_file("bad..type.trigger", "");
        wait_until("three files are done", || recorder.files().len() == 3).await;
    })
    .await;

    assert!(recording.events().is_empty(), "no hook ran");
    assert!(h.list("processed").is_empty());
    assert_eq!(
        h.list("failed"),
        [
            "bad..type.trigger",
            "bad..type.trigger.error.json",
            "broken.json",
            "broken.json.error.json",
            "untyped.json",
            "untyped.json.error.json"
        ]
    );
    assert_eq!(
        h.read("failed/broken.json"),
        r#"{"event_type": "deploy.completed", "#,
        "kept as it was"
    );
    let broken = error_file(&h, "broken.json");
    assert_eq!(broken["file"], "broken.json");
    assert_eq!(broken["error"]["kind"], "invalid_json");
    assert_eq!(
        broken["error"]["message"],
        "an event file is not valid JSON: EOF while parsing a value at line 1 column 35"
    );
    assert_eq!(broken["event_id"], Value::Null);
    let untyped = error_file(&h, "untyped.json");
    assert_eq!(untyped["error"]["kind"], "invalid_event");
    assert!(
        untyped["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("the event has no `event_type`"),
        "{untyped}"
    );
    let bad = error_file(&h, "bad..type.trigger");
    assert_eq!(bad["error"]["kind"], "invalid_event");

    let outcomes = recorder.files();
    assert!(outcomes.iter().all(|o| o.status == FileStatus::Failed));
    assert_eq!(
        outcomes[0].error.as_ref().unwrap().kind,
        FileErrorKind::InvalidJson
    );
}

#[tokio::test]
async fn should_move_a_blocked_event_to_failed_with_its_report() {
    let h = Harness::new();
    let engine = h
        .engine(vec![
            command_hook(
                "gate",
                "echo 'coverage too low' >&2; exit 3",
                FailMode::Stop,
            ),
            command_hook("deploy", "touch deployed", FailMode::Continue),
        ])
        .await;
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder).build(engine).unwrap();
    run_while(&watcher, async {
        h.drop_file(
            "release.json",
            r#"{"event_type":"release.requested","event_id":"rel-1"}"#,
        );
        wait_until("the file is done", || recorder.files().len() == 1).await;
    })
    .await;

    assert!(!h.path("deployed").exists(), "the blocked hook did not run");
    assert_eq!(
        h.list("failed"),
        ["release.json", "release.json.error.json"]
    );
    let error = error_file(&h, "release.json");
    assert_eq!(error["error"]["kind"], "blocked");
    assert_eq!(
        error["error"]["message"],
        "hook `gate` failed with fail_mode: stop (exit code 3)"
    );
    assert_eq!(error["event_id"], "rel-1");
    assert_eq!(error["event_type"], "release.requested");
    assert_eq!(error["report"]["blocked_by"], "gate");
    assert_eq!(error["report"]["hooks"][0]["output"], "coverage too low\n");
    assert_eq!(error["report"]["hooks"][1]["status"], "skipped");
}

#[tokio::test]
async fn should_process_a_file_whose_continue_hook_failed() {
    let h = Harness::new();
    let engine = h
        .engine(vec![command_hook("notify", "exit 1", FailMode::Continue)])
        .await;
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder).build(engine).unwrap();
    run_while(&watcher, async {
        h.drop_file("e.json", r#"{"event_type":"task.completed"}"#);
        wait_until("the file is done", || recorder.files().len() == 1).await;
    })
    .await;
    assert_eq!(h.list("processed"), ["e.json"]);
    let outcome = &recorder.files()[0];
    assert_eq!(outcome.status, FileStatus::Processed);
    assert_eq!(
        outcome.report.as_ref().unwrap().hooks[0].status.as_str(),
        "failed"
    );
}

#[tokio::test]
async fn should_never_clobber_files_in_processed() {
    let h = Harness::new();
    let (engine, recording) = h.recording_engine().await;
    std::fs::create_dir_all(h.dir().join("processed")).unwrap();
    std::fs::write(h.dir().join("processed/go.trigger"), "earlier").unwrap();
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder).build(engine).unwrap();
    run_while(&watcher, async {
        for round in 0..2 {
            h.drop_file("go.trigger", &format!(r#"{{"round": {round}}}"#));
            wait_until("the file is done", || recorder.files().len() == round + 1).await;
        }
    })
    .await;
    assert_eq!(recording.events().len(), 2, "each drop is a new event");
    assert_ne!(recording.events()[0].id(), recording.events()[1].id());
    assert_eq!(
        h.list("processed"),
        ["go.trigger", "go~2.trigger", "go~3.trigger"]
    );
    assert_eq!(h.read("processed/go.trigger"), "earlier");
    assert_eq!(h.read("processed/go~3.trigger"), r#"{"round": 1}"#);
    assert_eq!(
        recorder.files()[1].moved_to,
        std::path::Path::new("processed/go~3.trigger")
    );
}

#[tokio::test]
async fn should_dispatch_in_order_of_arrival_with_one_worker() {
    let h = Harness::new();
    let (engine, recording) = h.recording_engine().await;
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder).build(engine).unwrap();
    let names = ["m", "c", "x", "a", "q", "b"];
    run_while(&watcher, async {
        for name in names {
            h.drop_file(
                &format!("{name}.json"),
                &format!(r#"{{"event_type":"order.test","event_id":"{name}"}}"#),
            );
        }
        wait_until("all files are done", || {
            recorder.files().len() == names.len()
        })
        .await;
    })
    .await;
    let order: Vec<String> = recording
        .events()
        .iter()
        .map(|e| e.id().to_string())
        .collect();
    assert_eq!(order, names);
}

#[tokio::test]
async fn should_dispatch_files_in_parallel_with_several_workers() {
    // Each hook waits until both hooks have started: with one worker at a time, the
    // first would time out and fail.
    let hook = "touch \"started-$FLOWSPEC_EVENT_ID\"; i=0; \
                while [ \"$(ls started-* | wc -l)\" -lt 2 ]; do i=$((i+1)); [ $i -gt 100 ] && exit 1; sleep 0.05; done";
    for workers in [2, 1] {
        let h = Harness::new();
        let engine = h
            .engine(vec![command_hook("meet", hook, FailMode::Continue)])
            .await;
        let recorder = Recorder::new();
        let watcher = builder(&h.dir(), &recorder)
            .workers(workers)
            .build(engine)
            .unwrap();
        run_while(&watcher, async {
            h.drop_file("one.json", r#"{"event_type":"p.test","event_id":"one"}"#);
            h.drop_file("two.json", r#"{"event_type":"p.test","event_id":"two"}"#);
            wait_until("both files are done", || recorder.files().len() == 2).await;
        })
        .await;
        let statuses: Vec<&str> = recorder
            .files()
            .iter()
            .map(|o| o.report.as_ref().unwrap().hooks[0].status.as_str())
            .collect();
        if workers == 2 {
            assert_eq!(statuses, ["success", "success"], "both ran at once");
        } else {
            assert_eq!(statuses[0], "failed", "one worker: the first waited alone");
        }
    }
}

#[tokio::test]
async fn should_dispatch_both_files_when_a_name_is_replaced_during_dispatch() {
    let h = Harness::new();
    // The first event's hook drops another file under the same name (a writer that
    // reuses names): both events must run, and both files be kept.
    let replace = format!(
        "if [ \"$FLOWSPEC_EVENT_ID\" = first ]; then \
           printf '{{\"event_type\":\"r.test\",\"event_id\":\"second\"}}' > {dir}/.next && mv {dir}/.next {dir}/same.json; \
         fi; echo \"$FLOWSPEC_EVENT_ID\" >> ran.txt",
        dir = h.dir().display()
    );
    let engine = h
        .engine(vec![command_hook("replace", &replace, FailMode::Continue)])
        .await;
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder).build(engine).unwrap();
    run_while(&watcher, async {
        h.drop_file("same.json", r#"{"event_type":"r.test","event_id":"first"}"#);
        wait_until("both files are done", || recorder.files().len() == 2).await;
    })
    .await;
    assert_eq!(
        std::fs::read_to_string(h.path("ran.txt")).unwrap(),
        "first\nsecond\n"
    );
    assert_eq!(h.list("processed"), ["same.json", "same~2.json"]);
    assert!(h.read("processed/same.json").contains("first"));
    assert!(h.read("processed/same~2.json").contains("second"));
    assert!(!h.exists("same.json"));
    let warnings = recorder.warnings.lock().unwrap().clone();
    assert!(
        warnings[0].contains("was replaced by another file"),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn should_send_files_too_large_to_failed_unread() {
    let h = Harness::new();
    let (engine, recording) = h.recording_engine().await;
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder)
        .max_file_bytes(100)
        .build(engine)
        .unwrap();
    run_while(&watcher, async {
        h.drop_file(
            "big.json",
            &format!(r#"{{"event_type":"big.x","pad":"{}"}}"#, "x".repeat(200)),
        );
        wait_until("the file is done", || recorder.files().len() == 1).await;
    })
    .await;
    assert!(recording.events().is_empty());
    let text = h.read("failed/big.json.error.json");
    assert!(
        text.contains("more than the 100 bytes an event file may have"),
        "{text}"
    );
}
