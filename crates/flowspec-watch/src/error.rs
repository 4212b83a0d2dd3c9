//! Errors: [`WatchError`] stops the watcher; [`FileError`] sends one file to `failed/`.

use std::path::PathBuf;

use serde::Serialize;
use thiserror::Error;

/// Why the watcher could not start or had to stop.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The watched path does not exist or is not a directory.
    #[error("{} is not a directory{}", path.display(), if *missing { " (it does not exist; create it first)" } else { "" })]
    NotADirectory {
        /// The path given.
        path: PathBuf,
        /// Whether it does not exist at all.
        missing: bool,
    },
    /// Another watcher already watches this directory.
    #[error(
        "another flowspec watcher already watches {} (lock file {}); stop it first",
        dir.display(),
        lock.display()
    )]
    AlreadyWatched {
        /// The watched directory.
        dir: PathBuf,
        /// The lock file held by the other watcher.
        lock: PathBuf,
    },
    /// The heartbeat file would be taken as an event.
    #[error(
        "the heartbeat file {} is inside the watched directory with an event file name; put it elsewhere (or give it a name starting with a dot)",
        path.display()
    )]
    HeartbeatInWatchedDir {
        /// The heartbeat path.
        path: PathBuf,
    },
    /// The watched directory was removed or moved away while watching.
    #[error("the watched directory {} was removed or moved away", dir.display())]
    DirectoryGone {
        /// The watched directory.
        dir: PathBuf,
    },
    /// A state path of the watcher (`processed/`, `failed/`, the lock file) is a
    /// symbolic link, or not what it should be: the watcher never follows a link for
    /// its own files, since one would move dispatched files (or take a lock) wherever
    /// it points.
    #[error(
        "{} is {}; the watcher does not follow links or use anything but a real {expected} there (hint: remove it, or replace it with a real {expected})",
        path.display(),
        match target {
            Some(t) => format!("a symbolic link to {}", t.display()),
            None => format!("not a {expected}"),
        }
    )]
    UnsafeStatePath {
        /// The path found.
        path: PathBuf,
        /// Where the link points, when it is one.
        target: Option<PathBuf>,
        /// What should be there: "directory" or "regular file".
        expected: &'static str,
    },
    /// A filesystem operation on the watcher's own files failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("create", "read", "lock"...).
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl WatchError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        WatchError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Why one file went to `failed/`.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{message}")]
pub struct FileError {
    kind: FileErrorKind,
    message: String,
}

impl FileError {
    /// A file error of `kind`.
    pub fn new(kind: FileErrorKind, message: impl Into<String>) -> Self {
        FileError {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> FileErrorKind {
        self.kind
    }

    /// The explanation.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The kinds of [`FileError`], as written in `failed/<name>.error.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FileErrorKind {
    /// The file could not be read (permissions, too large, not a regular file).
    Unreadable,
    /// The content is not JSON.
    InvalidJson,
    /// The JSON is not a valid event (no `event_type`, a malformed reserved field...).
    InvalidEvent,
    /// A `fail_mode: stop` hook failed: the event was blocked.
    Blocked,
    /// The engine could not dispatch (for example the state store failed); no hook
    /// ran blind. Moving the file back into the directory retries it.
    Engine,
}

impl FileErrorKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FileErrorKind::Unreadable => "unreadable",
            FileErrorKind::InvalidJson => "invalid_json",
            FileErrorKind::InvalidEvent => "invalid_event",
            FileErrorKind::Blocked => "blocked",
            FileErrorKind::Engine => "engine",
        }
    }
}

impl std::fmt::Display for FileErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
