//! The watcher: finds complete files, dispatches them through the engine, moves them.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::future::Future;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use flowspec_core::{DispatchReport, Engine, Event};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::json;

use crate::error::{FileError, FileErrorKind, WatchError};
use crate::file::{FileIdentity, classify, file_name, parse};
use crate::heartbeat::{Heartbeat, Status};
use crate::layout::{ERROR_SUFFIX, Layout, move_into, write_new};
use crate::mode::Mode;
use crate::source::{self, FsEvent};
use crate::tracker::{Check, Tracker};

mod builder;
mod file_io;
mod publish;
mod report;

pub use builder::WatcherBuilder;
use file_io::{ReadResult, read_file, write_copy};
use publish::Publishing;
pub use report::{
    ErrorInfo, FileOutcome, FileStatus, SilentWatchReporter, StartInfo, Summary, WatchReporter,
};

/// Default poll interval (and settle time of files found by a scan).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Default heartbeat interval.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);
/// Default time after which a file still open by a silent writer is taken anyway.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(60);
/// Default largest file read (larger files go to `failed/`).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// How often the inotify mode scans the directory anyway, as a safety net.
const SAFETY_RESCAN: Duration = Duration::from_secs(60);

/// Watches a directory and dispatches the files dropped there through an [`Engine`].
///
/// See the [crate docs](crate) for the file formats and the layout.
pub struct Watcher {
    engine: Engine,
    layout: Layout,
    poll: bool,
    poll_interval: Duration,
    heartbeat: Option<PathBuf>,
    heartbeat_interval: Duration,
    workers: usize,
    stale_after: Duration,
    max_file_bytes: u64,
    reporter: Arc<dyn WatchReporter>,
    publishing: Option<Publishing>,
    simulate_watch_limit: bool,
    _lock: File,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("dir", &self.layout.dir)
            .field("poll", &self.poll)
            .field("poll_interval", &self.poll_interval)
            .field("heartbeat", &self.heartbeat)
            .field("workers", &self.workers)
            .field(
                "publish_to",
                &self.publishing.as_ref().map(Publishing::target),
            )
            .finish_non_exhaustive()
    }
}

/// The result of dispatching one file.
enum Done {
    /// Dispatched and moved.
    Moved(Box<FileOutcome>),
    /// The file had gone before it could be read, or is not a regular file.
    Vanished,
    /// Dispatched, but the name now holds another file: dispatch that one too.
    Replaced(Box<FileOutcome>),
    /// Dispatched, but could not be moved; it stays for the next start.
    Stuck(String),
    /// Dispatched, but `processed/` or `failed/` is no longer a real directory: the
    /// file stays in place and the watcher stops.
    Unsafe(WatchError),
    /// Not published before the stop: the file stays for the next start.
    Unpublished,
}

type Dispatch<'a> = Pin<Box<dyn Future<Output = (PathBuf, Done)> + 'a>>;

/// The mutable state of one run.
struct State {
    mode: Mode,
    fallback_reason: Option<String>,
    tracker: Tracker,
    queue: VecDeque<PathBuf>,
    queued: HashSet<PathBuf>,
    in_flight: HashSet<PathBuf>,
    started_at: DateTime<Utc>,
    summary: Summary,
    last_event_at: Option<DateTime<Utc>>,
    heartbeat_failing: bool,
    /// Files left in the directory because their publication had not succeeded.
    unpublished: usize,
}

impl State {
    fn enqueue(&mut self, path: PathBuf) {
        if self.in_flight.contains(&path) || !self.queued.insert(path.clone()) {
            return;
        }
        self.tracker.forget(&path);
        self.queue.push_back(path);
    }

    fn unqueue(&mut self, path: &Path) {
        if self.queued.remove(path) {
            self.queue.retain(|p| p != path);
        }
    }
}

impl Watcher {
    /// Starts building a watcher of `dir`.
    pub fn builder(dir: impl Into<PathBuf>) -> WatcherBuilder {
        WatcherBuilder::new(dir)
    }

    /// The watched directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.layout.dir
    }

    /// The directories of the watched directory.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Dispatches the complete files in the directory (oldest first) and returns.
    ///
    /// Files modified less than a poll interval ago are checked again one poll
    /// interval later; those still changing then are left for the next run.
    pub async fn run_once(&self) -> Result<Summary, WatchError> {
        self.run_inner(None::<std::future::Pending<()>>, true).await
    }

    /// [`run_once`](Watcher::run_once), stopping early like [`run`](Watcher::run)
    /// when `shutdown` completes.
    pub async fn run_once_until(
        &self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<Summary, WatchError> {
        self.run_inner(Some(shutdown), true).await
    }

    /// Watches until `shutdown` completes, then finishes the files being dispatched
    /// (others stay in the directory for the next start) and returns.
    ///
    /// Files already in the directory are dispatched first, oldest first.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<Summary, WatchError> {
        self.run_inner(Some(shutdown), false).await
    }

    async fn run_inner(
        &self,
        shutdown: Option<impl Future<Output = ()>>,
        once: bool,
    ) -> Result<Summary, WatchError> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (mode, fallback_reason, _source) = if once || self.poll {
            (Mode::Polling, None, None)
        } else {
            match source::start(&self.layout.dir, tx, self.simulate_watch_limit) {
                Ok(source) => (Mode::Inotify, None, Some(source)),
                Err(reason) => {
                    tracing::warn!(message = "Falling back to polling.", %reason);
                    (Mode::Polling, Some(reason), None)
                }
            }
        };
        let mut state = State {
            mode,
            fallback_reason,
            tracker: Tracker::new(self.poll_interval, self.stale_after),
            queue: VecDeque::new(),
            queued: HashSet::new(),
            in_flight: HashSet::new(),
            started_at: Utc::now(),
            summary: Summary::default(),
            last_event_at: None,
            heartbeat_failing: false,
            unpublished: 0,
        };

        self.scan(&mut state)?;
        self.reporter.started(&StartInfo {
            dir: self.layout.dir.clone(),
            mode: state.mode,
            fallback_reason: state.fallback_reason.clone(),
            poll_interval_ms: self.poll_interval.as_millis() as u64,
            files_at_start: state.queue.len() + state.tracker.len(),
            workers: self.workers,
            once,
            publish_target: self.publishing.as_ref().map(Publishing::target),
        });
        tracing::info!(
            message = "Watching.",
            dir = %self.layout.dir.display(),
            mode = %state.mode,
            files_at_start = state.queue.len(),
        );
        self.write_heartbeat(&mut state, Status::Running);

        let mut shutdown = shutdown.map(Box::pin);
        let mut stopping = false;
        // Tells the workers retrying a publication to give up on a stop.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut rechecked = false;
        let mut dispatches: FuturesUnordered<Dispatch<'_>> = FuturesUnordered::new();
        let mut tick = tokio::time::interval(self.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.reset();
        let mut heartbeat = tokio::time::interval(self.heartbeat_interval);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        heartbeat.reset();
        // inotify mode: a directory scan now and then as a safety net, and no wake-ups
        // at all between them unless some file is waiting to be complete.
        let mut safety = tokio::time::interval(SAFETY_RESCAN);
        safety.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        safety.reset();

        let result = loop {
            if !stopping {
                while dispatches.len() < self.workers {
                    let Some(path) = state.queue.pop_front() else {
                        break;
                    };
                    state.queued.remove(&path);
                    state.in_flight.insert(path.clone());
                    let stop = stop_rx.clone();
                    dispatches.push(Box::pin(async move {
                        let done = self.process(&path, stop).await;
                        (path, done)
                    }));
                }
            }
            if once
                && dispatches.is_empty()
                && state.queue.is_empty()
                && (state.tracker.len() == 0 || rechecked)
            {
                state.summary.left_incomplete = state.tracker.len();
                break Ok(());
            }
            if stopping && dispatches.is_empty() {
                break Ok(());
            }

            tokio::select! {
                biased;
                () = async { shutdown.as_mut().expect("guarded").await }, if !stopping && shutdown.is_some() => {
                    stopping = true;
                    stop_tx.send_replace(true);
                    self.reporter.stopping(dispatches.len());
                    tracing::info!(message = "Stopping: finishing the files being dispatched.", in_flight = dispatches.len());
                    self.write_heartbeat(&mut state, Status::Stopping);
                }
                Some((path, done)) = dispatches.next(), if !dispatches.is_empty() => {
                    state.in_flight.remove(&path);
                    if let Err(e) = self.finished(&mut state, path, done) {
                        break Err(e);
                    }
                }
                Some(event) = rx.recv(), if state.mode == Mode::Inotify => {
                    // Take every notification already waiting before dispatching, so
                    // a burst is seen whole.
                    let mut result = self.on_event(&mut state, event);
                    while let (Ok(()), Ok(event)) = (&result, rx.try_recv()) {
                        result = self.on_event(&mut state, event);
                    }
                    if let Err(e) = result {
                        break Err(e);
                    }
                }
                _ = tick.tick(), if !stopping && (once || state.mode == Mode::Polling || state.tracker.len() > 0) => {
                    if once {
                        self.recheck_pending(&mut state);
                        rechecked = true;
                    } else if state.mode == Mode::Polling {
                        if let Err(e) = self.scan(&mut state) {
                            break Err(e);
                        }
                    } else {
                        self.recheck_pending(&mut state);
                    }
                    self.reporter.pass_done();
                }
                _ = safety.tick(), if !stopping && !once && state.mode == Mode::Inotify => {
                    if let Err(e) = self.scan(&mut state) {
                        break Err(e);
                    }
                }
                _ = heartbeat.tick(), if self.heartbeat.is_some() => {
                    self.write_heartbeat(&mut state, if stopping { Status::Stopping } else { Status::Running });
                }
            }
        };

        state.summary.left_queued = state.queue.len() + state.unpublished;
        self.write_heartbeat(&mut state, Status::Stopped);
        result?;
        tracing::info!(
            message = "Stopped.",
            processed = state.summary.processed,
            failed = state.summary.failed,
            left_queued = state.summary.left_queued,
        );
        Ok(state.summary)
    }

    /// Reads the directory: complete files are queued (oldest first), others tracked.
    fn scan(&self, state: &mut State) -> Result<(), WatchError> {
        let entries = match std::fs::read_dir(&self.layout.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(WatchError::DirectoryGone {
                    dir: self.layout.dir.clone(),
                });
            }
            Err(e) => return Err(WatchError::io("read", &self.layout.dir, e)),
        };
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut ready = Vec::new();
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            if classify(&name).is_none() {
                self.reporter.ignored(&entry.path());
                continue;
            }
            let path = entry.path();
            if state.queued.contains(&path) || state.in_flight.contains(&path) {
                continue;
            }
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if let Some(mtime) = self.check(state, &path, &metadata, now, wall) {
                ready.push((mtime, name, path));
            }
        }
        ready.sort();
        for (_, _, path) in ready {
            state.enqueue(path);
        }
        Ok(())
    }

    /// Checks the files waiting to be complete again.
    fn recheck_pending(&self, state: &mut State) {
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut ready = Vec::new();
        for path in state.tracker.paths() {
            match path.symlink_metadata() {
                Ok(metadata) if metadata.is_file() => {
                    if let Some(mtime) = self.check(state, &path, &metadata, now, wall) {
                        ready.push((mtime, path));
                    }
                }
                _ => state.tracker.forget(&path),
            }
        }
        ready.sort();
        for (_, path) in ready {
            state.enqueue(path);
        }
    }

    /// The tracker's verdict on one file; its modification time when it is complete.
    fn check(
        &self,
        state: &mut State,
        path: &Path,
        metadata: &std::fs::Metadata,
        now: Instant,
        wall: SystemTime,
    ) -> Option<i128> {
        let identity = FileIdentity::of(metadata);
        let age = metadata
            .modified()
            .ok()
            .and_then(|m| wall.duration_since(m).ok())
            .unwrap_or_default();
        match state
            .tracker
            .check(path, (identity.size, identity.mtime_ns), age, now)
        {
            Check::Ready => Some(identity.mtime_ns),
            Check::ReadyStale => {
                let message = format!(
                    "{} was still open by its writer, silent for {:?}: taking it as complete",
                    path.display(),
                    self.stale_after
                );
                tracing::warn!(message = %message);
                self.reporter.warning(&message);
                Some(identity.mtime_ns)
            }
            Check::Pending => {
                self.reporter.pending(path);
                None
            }
        }
    }

    fn on_event(&self, state: &mut State, event: FsEvent) -> Result<(), WatchError> {
        let relevant = |p: &Path| file_name(p).and_then(classify).is_some();
        match event {
            FsEvent::Writing(path) if relevant(&path) => {
                if !state.in_flight.contains(&path) {
                    state.unqueue(&path);
                    state.tracker.writing(&path, Instant::now());
                    self.reporter.pending(&path);
                }
            }
            FsEvent::Complete(path) if relevant(&path) => state.enqueue(path),
            FsEvent::Gone(path) => {
                state.tracker.forget(&path);
                state.unqueue(&path);
            }
            FsEvent::DirectoryGone => {
                return Err(WatchError::DirectoryGone {
                    dir: self.layout.dir.clone(),
                });
            }
            FsEvent::Rescan => self.scan(state)?,
            FsEvent::Writing(path) | FsEvent::Complete(path) => self.reporter.ignored(&path),
        }
        Ok(())
    }

    fn finished(&self, state: &mut State, path: PathBuf, done: Done) -> Result<(), WatchError> {
        let outcome = match done {
            Done::Moved(outcome) => outcome,
            Done::Replaced(outcome) => {
                let message = format!(
                    "{} was replaced by another file while it was dispatched; the dispatched content is in {}, the new file is dispatched next",
                    path.display(),
                    outcome.moved_to.display()
                );
                tracing::warn!(message = %message);
                self.reporter.warning(&message);
                state.enqueue(path);
                outcome
            }
            Done::Vanished => return Ok(()),
            Done::Stuck(message) => {
                tracing::error!(message = %message);
                self.reporter.warning(&message);
                return Ok(());
            }
            Done::Unsafe(error) => return Err(error),
            Done::Unpublished => {
                state.unpublished += 1;
                let message = format!(
                    "{} was not published before the stop: it stays in the directory and is published at the next start",
                    path.display()
                );
                tracing::warn!(message = %message);
                self.reporter.warning(&message);
                return Ok(());
            }
        };
        match outcome.status {
            FileStatus::Processed => state.summary.processed += 1,
            FileStatus::Failed => state.summary.failed += 1,
        }
        if outcome.event_id.is_some() {
            state.last_event_at = Some(Utc::now());
        }
        tracing::info!(
            message = "File done.",
            file = %outcome.file,
            status = ?outcome.status,
            moved_to = %outcome.moved_to.display(),
            event_id = outcome.event_id.as_deref().unwrap_or(""),
        );
        self.reporter.file_done(&outcome);
        Ok(())
    }

    fn write_heartbeat(&self, state: &mut State, status: Status) {
        let Some(path) = &self.heartbeat else { return };
        let now = Utc::now();
        let heartbeat = Heartbeat {
            timestamp: now,
            status,
            pid: std::process::id(),
            mode: state.mode,
            fallback_reason: state.fallback_reason.clone(),
            watched_dir: self.layout.dir.clone(),
            started_at: state.started_at,
            uptime_seconds: (now - state.started_at).num_seconds().max(0) as u64,
            interval_seconds: self.heartbeat_interval.as_secs_f64(),
            files_processed: state.summary.processed,
            files_failed: state.summary.failed,
            last_event_at: state.last_event_at,
            queue_depth: state.queue.len(),
            in_flight: state.in_flight.len(),
            incomplete: state.tracker.len(),
            workers: self.workers,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        match heartbeat.write(path) {
            Ok(()) => state.heartbeat_failing = false,
            Err(e) if !state.heartbeat_failing => {
                state.heartbeat_failing = true;
                let message = format!("cannot write the heartbeat file {}: {e}", path.display());
                tracing::warn!(message = %message);
                self.reporter.warning(&message);
            }
            Err(_) => {}
        }
    }

    /// Reads, dispatches (or publishes) and moves one file.
    async fn process(&self, path: &Path, mut stop: tokio::sync::watch::Receiver<bool>) -> Done {
        let started = Instant::now();
        let Some(name) = file_name(path).map(str::to_owned) else {
            return Done::Vanished;
        };
        let (content, identity, mut result) = match read_file(path, self.max_file_bytes) {
            ReadResult::Gone => return Done::Vanished,
            ReadResult::Ok(content, identity) => (Some(content), Some(identity), Ok(())),
            ReadResult::Failed(error, identity) => (None, identity, Err(error)),
        };
        let mut event: Option<Event> = None;
        if let (Some(content), Some(identity)) = (&content, &identity) {
            match parse(&name, content, identity) {
                Ok(e) => event = Some(e),
                Err(e) => result = Err(e),
            }
        }
        let event_id = event.as_ref().map(|e| e.id().to_string());
        let event_type = event.as_ref().map(|e| e.event_type().to_string());
        let mut report = None;
        let mut published = None;
        if let (Some(event), Some(publishing)) = (&event, &self.publishing) {
            let reporter = &*self.reporter;
            match publishing.publish(&name, event, &mut stop, reporter).await {
                Some(id) => published = Some(id),
                None => return Done::Unpublished,
            }
        } else if let Some(event) = event {
            match self.engine.emit(event).await {
                Ok(r) => {
                    if r.is_blocked() {
                        result = Err(blocked_error(&r));
                    }
                    report = Some(r);
                }
                Err(e) => {
                    result = Err(FileError::new(
                        FileErrorKind::Engine,
                        format!("{e} (move the file back into the directory to retry)"),
                    ));
                }
            }
        }

        let (status, dest) = match &result {
            Ok(()) => (FileStatus::Processed, &self.layout.processed),
            Err(_) => (FileStatus::Failed, &self.layout.failed),
        };
        // A state directory swapped for a link while running: move nothing through it.
        if let Err(e) = self.layout.check() {
            return Done::Unsafe(e);
        }
        let sidecar = result.is_err().then_some(ERROR_SUFFIX);
        let current = path.symlink_metadata().ok().map(|m| FileIdentity::of(&m));
        let unchanged = match (&identity, &current) {
            (Some(read), Some(now)) => read.same_file(now),
            (None, Some(_)) => true,
            (_, None) => false,
        };
        let mut replaced = false;
        let moved = if unchanged {
            move_into(path, dest, sidecar)
        } else {
            // The name now holds another file (or none): keep what was dispatched.
            replaced = current.is_some();
            write_copy(dest, &name, content.as_deref().unwrap_or_default(), sidecar)
        };
        let moved_to = match moved {
            Ok(p) => p,
            Err(e) => {
                return Done::Stuck(format!(
                    "{} was dispatched but cannot be moved to {}: {e}; it stays in place and is dispatched again at the next start",
                    path.display(),
                    dest.display()
                ));
            }
        };
        let error = result.err();
        if let Some(error) = &error {
            let mut side = moved_to.clone().into_os_string();
            side.push(ERROR_SUFFIX);
            let body = json!({
                "file": name,
                "failed_at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "error": ErrorInfo::from(error),
                "event_id": event_id,
                "event_type": event_type,
                "report": report,
            });
            let mut bytes = serde_json::to_vec_pretty(&body).unwrap_or_default();
            bytes.push(b'\n');
            if let Err(e) = write_new(Path::new(&side), &bytes) {
                let message = format!("cannot write {}: {e}", Path::new(&side).display());
                tracing::warn!(message = %message);
                self.reporter.warning(&message);
            }
        }
        let outcome = Box::new(FileOutcome {
            file: name,
            status,
            moved_to: moved_to
                .strip_prefix(&self.layout.dir)
                .map(Path::to_path_buf)
                .unwrap_or(moved_to.clone()),
            event_id,
            event_type,
            error: error.as_ref().map(ErrorInfo::from),
            report,
            published,
            duration_ms: started.elapsed().as_millis() as u64,
        });
        if replaced {
            Done::Replaced(outcome)
        } else {
            Done::Moved(outcome)
        }
    }
}

fn blocked_error(report: &DispatchReport) -> FileError {
    fn find(report: &DispatchReport) -> Option<&flowspec_core::HookReport> {
        report
            .blocked_by
            .as_deref()
            .and_then(|name| report.hook(name))
            .or_else(|| report.follow_ups.iter().find_map(find))
    }
    let message = match find(report) {
        Some(hook) => format!(
            "hook `{}` failed with fail_mode: stop ({})",
            hook.hook,
            hook.message.as_deref().unwrap_or(hook.status.as_str())
        ),
        None => "a fail_mode: stop hook failed".to_owned(),
    };
    FileError::new(FileErrorKind::Blocked, message)
}
