//! Integration tests of the watcher: real directories, real inotify, a real engine.

mod complete;
mod dispatch;
mod lifecycle;
mod publish;
mod symlinks;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flowspec_core::testing::RecordingAction;
use flowspec_core::{Engine, FailMode, HookSpec};
use flowspec_watch::{FileOutcome, StartInfo, Summary, WatchReporter, Watcher, WatcherBuilder};

/// A temporary directory with a `watch/` directory and a state database.
pub struct Harness {
    pub root: tempfile::TempDir,
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new()
    }
}

impl Harness {
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(root.path().join("watch")).unwrap();
        Harness { root }
    }

    pub fn dir(&self) -> PathBuf {
        self.root.path().join("watch")
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    /// An engine with `hooks`, idempotency in `state.db` (kept across engines).
    pub async fn engine(&self, hooks: Vec<HookSpec>) -> Engine {
        let mut builder = Engine::builder()
            .project_root(self.root.path())
            .state_path(self.path("state.db"));
        for hook in hooks {
            builder = builder.hook(hook);
        }
        builder.build().await.expect("engine")
    }

    /// An engine with one recording hook on every event.
    pub async fn recording_engine(&self) -> (Engine, Arc<RecordingAction>) {
        let recording = RecordingAction::new();
        let engine = self
            .engine(vec![recording_hook("record", &recording)])
            .await;
        (engine, recording)
    }

    /// Writes `name` in the watched directory the atomic way: a `.tmp` file, then rename.
    pub fn drop_file(&self, name: &str, content: &str) {
        let tmp = self.dir().join(format!("{name}.tmp"));
        std::fs::write(&tmp, content).unwrap();
        std::fs::rename(&tmp, self.dir().join(name)).unwrap();
    }

    pub fn exists(&self, relative: &str) -> bool {
        self.dir().join(relative).exists()
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.dir().join(relative)).unwrap_or_default()
    }

    /// Names in a sub-directory of the watched directory, sorted.
    pub fn list(&self, sub: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir().join(sub))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

pub fn recording_hook(name: &str, recording: &Arc<RecordingAction>) -> HookSpec {
    HookSpec::builder(name)
        .on("*")
        .action(recording.clone())
        .build()
        .unwrap()
}

pub fn command_hook(name: &str, command: &str, fail_mode: FailMode) -> HookSpec {
    HookSpec::builder(name)
        .on("*")
        .command(command)
        .fail_mode(fail_mode)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Keeps everything the watcher reports.
#[derive(Default)]
pub struct Recorder {
    pub started: Mutex<Vec<StartInfo>>,
    pub files: Mutex<Vec<FileOutcome>>,
    pub warnings: Mutex<Vec<String>>,
    /// File names the watcher found not complete yet, each time it looked.
    pub pending: Mutex<Vec<String>>,
    /// File names the watcher left alone, each time it looked.
    pub ignored: Mutex<Vec<String>>,
    /// Passes over the directory or the waiting files.
    pub passes: std::sync::atomic::AtomicUsize,
}

impl Recorder {
    pub fn new() -> Arc<Self> {
        Arc::new(Recorder::default())
    }

    pub fn files(&self) -> Vec<FileOutcome> {
        self.files.lock().unwrap().clone()
    }

    /// How many times the watcher found `name` not complete yet.
    pub fn times_pending(&self, name: &str) -> usize {
        self.pending
            .lock()
            .unwrap()
            .iter()
            .filter(|n| *n == name)
            .count()
    }

    /// Whether the watcher has looked at `name` and left it alone.
    pub fn was_ignored(&self, name: &str) -> bool {
        self.ignored.lock().unwrap().iter().any(|n| n == name)
    }

    /// Passes so far.
    pub fn passes(&self) -> usize {
        self.passes.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn start_info(&self) -> StartInfo {
        self.started
            .lock()
            .unwrap()
            .first()
            .cloned()
            .expect("started")
    }
}

impl WatchReporter for Recorder {
    fn started(&self, info: &StartInfo) {
        self.started.lock().unwrap().push(info.clone());
    }
    fn file_done(&self, outcome: &FileOutcome) {
        self.files.lock().unwrap().push(outcome.clone());
    }
    fn warning(&self, message: &str) {
        self.warnings.lock().unwrap().push(message.to_owned());
    }
    fn pending(&self, path: &Path) {
        self.pending.lock().unwrap().push(name_of(path));
    }
    fn ignored(&self, path: &Path) {
        self.ignored.lock().unwrap().push(name_of(path));
    }
    fn pass_done(&self) {
        self.passes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Waits (asynchronously) until `condition` holds; fails after a generous 60 s.
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs `watcher` while `driver` runs; stops the watcher when the driver is done.
pub async fn run_while<F: Future<Output = ()>>(watcher: &Watcher, driver: F) -> Summary {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = watcher.run(async {
        let _ = stop_rx.await;
    });
    let drive = async {
        driver.await;
        let _ = stop_tx.send(());
    };
    let (summary, ()) = tokio::join!(run, drive);
    summary.expect("the watcher ran")
}

/// A builder with a recorder and a short poll interval.
pub fn builder(dir: &Path, recorder: &Arc<Recorder>) -> WatcherBuilder {
    Watcher::builder(dir)
        .reporter(recorder.clone())
        .poll_interval(Duration::from_millis(200))
}
