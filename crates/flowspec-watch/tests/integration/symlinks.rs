//! Someone who can write in the watched directory plants symbolic links where the
//! watcher keeps its own files (`processed/`, `failed/`, the lock file), hoping the
//! watcher moves dispatched files, or creates its lock, wherever the link points.

use std::os::unix::fs::symlink;

use flowspec_core::FailMode;
use flowspec_watch::layout::LOCK_FILE;
use flowspec_watch::{WatchError, Watcher};

use crate::{Harness, Recorder, builder, command_hook};

/// The names in `dir`, sorted.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn should_refuse_symlinked_state_directories_and_move_nothing_there() {
    for sub in ["processed", "failed"] {
        let h = Harness::new();
        let elsewhere = h.path("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        symlink(&elsewhere, h.dir().join(sub)).unwrap();
        h.drop_file("deploy.json", r#"{"event_type":"deploy.completed"}"#);
        let (engine, recording) = h.recording_engine().await;

        let error = Watcher::builder(h.dir()).build(engine).unwrap_err();

        assert!(
            matches!(error, WatchError::UnsafeStatePath { .. }),
            "{error}"
        );
        let text = error.to_string();
        assert!(
            text.contains(&format!(
                "{} is a symbolic link to {}",
                h.dir().canonicalize().unwrap().join(sub).display(),
                elsewhere.display()
            )),
            "{text}"
        );
        assert!(text.contains("hint: remove it"), "{text}");
        assert!(names(&elsewhere).is_empty(), "{sub}: nothing moved there");
        assert!(h.exists("deploy.json"), "the file stays in place");
        assert!(recording.events().is_empty(), "nothing was dispatched");
    }
}

#[tokio::test]
async fn should_refuse_a_symlinked_lock_file_and_create_nothing_where_it_points() {
    let h = Harness::new();
    let target = h.path("victim");
    symlink(&target, h.dir().join(LOCK_FILE)).unwrap();
    let (engine, _) = h.recording_engine().await;

    let error = Watcher::builder(h.dir()).build(engine).unwrap_err();

    assert!(
        matches!(error, WatchError::UnsafeStatePath { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains(&format!("is a symbolic link to {}", target.display())),
        "{error}"
    );
    assert!(!target.exists(), "the link's target was not created");
}

#[tokio::test]
async fn should_stop_when_processed_becomes_a_symlink_while_watching() {
    let h = Harness::new();
    let elsewhere = h.path("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    // The hook swaps `processed/` for a link while its event is being dispatched.
    let swap = "mv watch/processed watch/processed.real && ln -s ../elsewhere watch/processed";
    let engine = h
        .engine(vec![command_hook("swap", swap, FailMode::Continue)])
        .await;
    let recorder = Recorder::new();
    let watcher = builder(&h.dir(), &recorder).build(engine).unwrap();
    h.drop_file("deploy.json", r#"{"event_type":"deploy.completed"}"#);

    let error = watcher.run_once().await.unwrap_err();

    assert!(
        matches!(error, WatchError::UnsafeStatePath { .. }),
        "{error}"
    );
    assert!(
        names(&elsewhere).is_empty(),
        "nothing moved through the link"
    );
    assert!(h.exists("deploy.json"), "the file stays for the next start");
}
