//! Modes, and taking files only when they are complete.

use std::io::Write;
use std::time::Duration;

use flowspec_watch::{FileStatus, Mode};

use crate::{Harness, Recorder, builder, run_while, wait_until};

async fn renamed_files_are_dispatched(poll: bool) {
    let h = Harness::new();
    let (engine, recording) = h.recording_engine().await;
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder)
        .poll(poll)
        .build(engine)
        .unwrap();
    let summary = run_while(&watcher, async {
        h.drop_file(
            "one.json",
            r#"{"event_type":"deploy.completed","event_id":"e-1","environment":"staging"}"#,
        );
        h.drop_file("deploy.completed@2.trigger", "");
        wait_until("both files are processed", || recorder.files().len() == 2).await;
    })
    .await;

    let expected = if poll { Mode::Polling } else { Mode::Inotify };
    assert_eq!(recorder.start_info().mode, expected);
    assert_eq!(recorder.start_info().fallback_reason, None);
    assert_eq!(summary.processed, 2);
    let mut events = recording.events();
    assert_eq!(events.len(), 2);
    // Polling sees both in one scan and orders them by modification time, then name.
    events.sort_by_key(|e| e.id().as_str() != "e-1");
    assert_eq!(events[0].id().as_str(), "e-1");
    assert_eq!(events[0].data()["environment"], "staging");
    assert_eq!(events[1].event_type().as_str(), "deploy.completed");
    assert_eq!(events[1].source(), Some("watch"));
    assert_eq!(
        h.list("processed"),
        ["deploy.completed@2.trigger", "one.json"]
    );
    assert!(h.list("failed").is_empty());
    assert!(!h.exists("one.json"));
}

#[tokio::test]
async fn should_dispatch_renamed_files_with_inotify() {
    renamed_files_are_dispatched(false).await;
}

#[tokio::test]
async fn should_dispatch_renamed_files_when_polling() {
    renamed_files_are_dispatched(true).await;
}

/// Opens a file in the watched directory, writes an event in `chunks` pieces with
/// `pause` between them, then closes it.
async fn write_slowly(path: &std::path::Path, chunks: usize, pause: Duration) {
    let body = format!(
        r#"{{"event_type":"slow.written","event_id":"slow-1","padding":"{}"}}"#,
        "x".repeat(3000)
    );
    let mut file = std::fs::File::create(path).unwrap();
    let size = body.len().div_ceil(chunks);
    for piece in body.as_bytes().chunks(size) {
        file.write_all(piece).unwrap();
        file.flush().unwrap();
        tokio::time::sleep(pause).await;
    }
    drop(file);
}

#[tokio::test]
async fn should_read_a_slowly_written_file_once_closed_with_inotify() {
    let h = Harness::new();
    let (engine, recording) = h.recording_engine().await;
    let recorder = Recorder::new();
    // Pauses longer than the poll interval: only the close may make the file complete.
    let watcher = builder(&h.dir(), &recorder).build(engine).unwrap();
    let summary = run_while(&watcher, async {
        write_slowly(&h.dir().join("slow.json"), 4, Duration::from_millis(500)).await;
        wait_until("the file is processed", || !recorder.files().is_empty()).await;
    })
    .await;
    // Anything read early would have gone to failed/ as invalid JSON, before the
    // processed file; a second read would be queued or reported.
    assert_eq!((summary.failed, summary.left_queued), (0, 0));
    assert!(
        recorder.times_pending("slow.json") >= 1,
        "it waited for the close"
    );

    assert_eq!(recorder.start_info().mode, Mode::Inotify);
    let files = recorder.files();
    assert_eq!(files.len(), 1, "read exactly once: {files:?}");
    assert_eq!(files[0].status, FileStatus::Processed);
    let events = recording.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data()["padding"].as_str().unwrap().len(), 3000);
    assert!(h.list("failed").is_empty());
}

#[tokio::test]
async fn should_read_a_slowly_written_file_once_unchanged_when_polling() {
    let h = Harness::new();
    let (engine, recording) = h.recording_engine().await;
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder)
        .poll(true)
        .poll_interval(Duration::from_millis(400))
        .build(engine)
        .unwrap();
    run_while(&watcher, async {
        write_slowly(&h.dir().join("slow.json"), 6, Duration::from_millis(100)).await;
        wait_until("the file is processed", || !recorder.files().is_empty()).await;
        // Two more passes over the directory: none reads it again.
        let passes = recorder.passes();
        wait_until("two more passes", || recorder.passes() >= passes + 2).await;
    })
    .await;

    let files = recorder.files();
    assert_eq!(files.len(), 1, "read exactly once: {files:?}");
    assert_eq!(files[0].status, FileStatus::Processed);
    assert_eq!(recording.events().len(), 1);
    assert_eq!(
        recording.events()[0].data()["padding"]
            .as_str()
            .unwrap()
            .len(),
        3000
    );
}

#[tokio::test]
async fn should_ignore_temporary_names_and_dotfiles_until_renamed() {
    for poll in [false, true] {
        let h = Harness::new();
        let (engine, recording) = h.recording_engine().await;
        let recorder = Recorder::new();
        let watcher = builder(&h.dir(), &recorder)
            .poll(poll)
            .build(engine)
            .unwrap();
        run_while(&watcher, async {
            for name in ["a.json.tmp", "b.json.part", ".c.json", "notes.txt"] {
                std::fs::write(
                    h.dir().join(name),
                    format!(r#"{{"event_type":"ignored.event","event_id":"{name}"}}"#),
                )
                .unwrap();
            }
            // The watcher has seen each of them (and, polling, passed over them
            // twice more): none of them is taken.
            let names = ["a.json.tmp", "b.json.part", ".c.json", "notes.txt"];
            wait_until("the watcher has seen every file", || {
                names.iter().all(|n| recorder.was_ignored(n))
            })
            .await;
            if poll {
                let passes = recorder.passes();
                wait_until("two more passes", || recorder.passes() >= passes + 2).await;
            }
            assert!(
                recorder.files().is_empty(),
                "poll={poll}: {:?}",
                recorder.files()
            );
            std::fs::rename(h.dir().join("a.json.tmp"), h.dir().join("a.json")).unwrap();
            std::fs::rename(h.dir().join(".c.json"), h.dir().join("c.json")).unwrap();
            wait_until("the renamed files are processed", || {
                recorder.files().len() == 2
            })
            .await;
        })
        .await;
        assert_eq!(recording.events().len(), 2, "poll={poll}");
        assert_eq!(h.list("processed"), ["a.json", "c.json"], "poll={poll}");
        for left in ["b.json.part", "notes.txt"] {
            assert!(h.exists(left), "poll={poll}: {left} is left alone");
        }
    }
}

#[tokio::test]
async fn should_fall_back_to_polling_when_the_inotify_watch_limit_is_reached() {
    let h = Harness::new();
    let (engine, recording) = h.recording_engine().await;
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder)
        .simulate_inotify_watch_limit()
        .build(engine)
        .unwrap();
    run_while(&watcher, async {
        h.drop_file("x.trigger", "");
        wait_until("the file is processed", || recorder.files().len() == 1).await;
    })
    .await;
    let info = recorder.start_info();
    assert_eq!(info.mode, Mode::Polling);
    assert_eq!(
        info.fallback_reason.as_deref(),
        Some("the inotify watch limit is reached (raise fs.inotify.max_user_watches)")
    );
    assert_eq!(recording.events().len(), 1);
}

#[tokio::test]
async fn should_take_a_file_whose_writer_went_silent_with_a_warning() {
    let h = Harness::new();
    let (engine, recording) = h.recording_engine().await;
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder)
        .stale_after(Duration::from_millis(600))
        .build(engine)
        .unwrap();
    let path = h.dir().join("held.json");
    run_while(&watcher, async {
        // Written in full, but never closed (a writer that hangs, or died holding it).
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(br#"{"event_type":"held.open","event_id":"held"}"#)
            .unwrap();
        wait_until("the watcher has seen the open file", || {
            recorder.times_pending("held.json") >= 1
        })
        .await;
        assert!(
            recorder.files().is_empty(),
            "an open file waits for its close"
        );
        wait_until("the silent file is taken", || recorder.files().len() == 1).await;
        drop(file);
    })
    .await;
    assert_eq!(recording.events().len(), 1);
    let warnings = recorder.warnings.lock().unwrap().clone();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .ends_with("was still open by its writer, silent for 600ms: taking it as complete"),
        "{warnings:?}"
    );
}
