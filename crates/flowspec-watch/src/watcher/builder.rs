//! Configuring a watcher: [`WatcherBuilder`] and the checks made when it is built.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use flowspec_core::Engine;
use flowspec_core::transport::Publisher;

use crate::error::WatchError;
use crate::file::{classify, file_name};
use crate::layout::{Layout, check_real};

use super::{
    DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_MAX_FILE_BYTES, DEFAULT_POLL_INTERVAL, DEFAULT_STALE_AFTER,
    Publishing, SilentWatchReporter, WatchReporter, Watcher,
};

/// Builds a [`Watcher`].
#[must_use]
pub struct WatcherBuilder {
    dir: PathBuf,
    poll: bool,
    poll_interval: Duration,
    heartbeat: Option<PathBuf>,
    heartbeat_interval: Duration,
    workers: usize,
    stale_after: Duration,
    max_file_bytes: u64,
    reporter: Arc<dyn WatchReporter>,
    publisher: Option<Arc<dyn Publisher>>,
    simulate_watch_limit: bool,
}

impl WatcherBuilder {
    /// A builder for a watcher of `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        WatcherBuilder {
            dir: dir.into(),
            poll: false,
            poll_interval: DEFAULT_POLL_INTERVAL,
            heartbeat: None,
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            workers: 1,
            stale_after: DEFAULT_STALE_AFTER,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            reporter: Arc::new(SilentWatchReporter),
            publisher: None,
            simulate_watch_limit: false,
        }
    }

    /// Polls instead of using inotify.
    pub fn poll(mut self, poll: bool) -> Self {
        self.poll = poll;
        self
    }

    /// How often to scan when polling; also how long a file found by a scan must stay
    /// unchanged to be taken (default 1 s).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Writes a heartbeat file at `path` (see [`crate::heartbeat`]).
    pub fn heartbeat(mut self, path: impl Into<PathBuf>) -> Self {
        self.heartbeat = Some(path.into());
        self
    }

    /// How often the heartbeat is rewritten (default 10 s).
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Dispatches up to `workers` files at once (default 1: one after the other, in
    /// order of arrival).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Takes a file still open by a writer anyway after the writer has been silent
    /// this long (default 60 s).
    pub fn stale_after(mut self, after: Duration) -> Self {
        self.stale_after = after;
        self
    }

    /// Files larger than this go to `failed/` unread (default 16 MiB).
    pub fn max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }

    /// Receives progress callbacks.
    pub fn reporter(mut self, reporter: Arc<dyn WatchReporter>) -> Self {
        self.reporter = reporter;
        self
    }

    /// Publishes each file's event through `publisher` instead of running the hooks of
    /// the engine (which then runs none).
    ///
    /// A published file moves to `processed/`, and its [`FileOutcome`](crate::FileOutcome)
    /// carries the transport's entry id in `published`. While publishing fails (the
    /// transport is down, or refuses the event), the worker retries with backoff
    /// (200 ms, doubling up to 10 s) and the file stays in the directory, never in
    /// `failed/` for that reason; the reporter gets one warning when failures start and
    /// one when publishing works again. On a stop, a file not published yet stays in the
    /// directory for the next start; [`run_once`](Watcher::run_once), which has no stop,
    /// retries until the transport answers.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use flowspec_core::EngineBuilder;
    /// use flowspec_core::transport::Publisher;
    /// use flowspec_watch::Watcher;
    ///
    /// # async fn run(redis: Arc<dyn Publisher>) -> Result<(), Box<dyn std::error::Error>> {
    /// // `redis`: a Redis Streams publisher, or any other transport.
    /// let engine = EngineBuilder::discover(&std::env::current_dir()?)?.build().await?;
    /// let watcher = Watcher::builder("/srv/triggers")
    ///     .publish_to(redis)
    ///     .build(engine)?;
    /// let summary = watcher
    ///     .run(async {
    ///         let _ = tokio::signal::ctrl_c().await;
    ///     })
    ///     .await?;
    /// println!("{} published", summary.processed);
    /// # Ok(()) }
    /// ```
    pub fn publish_to(mut self, publisher: Arc<dyn Publisher>) -> Self {
        self.publisher = Some(publisher);
        self
    }

    /// Makes inotify fail as if its watch limit were reached (tests of the fallback).
    #[doc(hidden)]
    pub fn simulate_inotify_watch_limit(mut self) -> Self {
        self.simulate_watch_limit = true;
        self
    }

    /// Checks the directory, creates `processed/` and `failed/`, and takes the
    /// directory's lock (one watcher per directory).
    pub fn build(self, engine: Engine) -> Result<Watcher, WatchError> {
        let layout = Layout::create(&self.dir)?;
        let lock_path = layout.lock_path();
        let lock = open_lock(&lock_path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(WatchError::AlreadyWatched {
                    dir: layout.dir.clone(),
                    lock: lock_path,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(WatchError::io("lock", lock_path, e));
            }
        }
        let heartbeat = match self.heartbeat {
            Some(path) => Some(check_heartbeat_path(&layout, path)?),
            None => None,
        };
        Ok(Watcher {
            engine,
            layout,
            poll: self.poll,
            poll_interval: self.poll_interval,
            heartbeat,
            heartbeat_interval: self.heartbeat_interval,
            workers: self.workers,
            stale_after: self.stale_after,
            max_file_bytes: self.max_file_bytes,
            reporter: self.reporter,
            publishing: self.publisher.map(Publishing::new),
            simulate_watch_limit: self.simulate_watch_limit,
            _lock: lock,
        })
    }
}

/// Opens (or creates) the lock file, refusing a symbolic link (`O_NOFOLLOW`) and
/// anything but a regular file (a FIFO does not block the open: `O_NONBLOCK`).
fn open_lock(path: &Path) -> Result<File, WatchError> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(flags.bits() as i32)
        .open(path);
    let lock = match lock {
        Ok(lock) => lock,
        // ELOOP: the name is a symbolic link; ENXIO: a FIFO nobody reads.
        Err(e)
            if [rustix::io::Errno::LOOP, rustix::io::Errno::NXIO]
                .iter()
                .any(|n| e.raw_os_error() == Some(n.raw_os_error())) =>
        {
            check_real(path, "regular file")?;
            return Err(WatchError::io("open", path, e));
        }
        Err(e) => return Err(WatchError::io("open", path, e)),
    };
    let metadata = lock
        .metadata()
        .map_err(|e| WatchError::io("inspect", path, e))?;
    if !metadata.is_file() {
        return Err(WatchError::UnsafeStatePath {
            path: path.to_owned(),
            target: None,
            expected: "regular file",
        });
    }
    Ok(lock)
}

fn check_heartbeat_path(layout: &Layout, path: PathBuf) -> Result<PathBuf, WatchError> {
    let path = std::path::absolute(&path).map_err(|e| WatchError::io("resolve", &path, e))?;
    let parent = path.parent().unwrap_or(Path::new("/")).to_owned();
    std::fs::create_dir_all(&parent).map_err(|e| WatchError::io("create", &parent, e))?;
    let parent = parent
        .canonicalize()
        .map_err(|e| WatchError::io("resolve", &parent, e))?;
    let name = file_name(&path).unwrap_or_default();
    if parent == layout.dir && classify(name).is_some() {
        return Err(WatchError::HeartbeatInWatchedDir { path });
    }
    Ok(parent.join(name))
}
