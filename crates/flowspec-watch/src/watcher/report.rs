//! What a watcher tells its reporter: progress callbacks, per-file outcomes, the summary.

use std::path::{Path, PathBuf};

use flowspec_core::DispatchReport;
use serde::Serialize;

use crate::error::{FileError, FileErrorKind};
use crate::mode::Mode;

/// Progress callbacks of a watcher; every method has an empty default.
pub trait WatchReporter: Send + Sync {
    /// The watcher started (after the mode was chosen, before files present at start
    /// are dispatched).
    fn started(&self, _info: &StartInfo) {}
    /// A file was dispatched (or published) and moved.
    fn file_done(&self, _outcome: &FileOutcome) {}
    /// Something worth a warning (a writer silent for too long, a heartbeat that
    /// cannot be written...).
    fn warning(&self, _message: &str) {}
    /// Shutdown was asked for; `in_flight` files are being finished.
    fn stopping(&self, _in_flight: usize) {}
    /// A file was looked at and is not complete yet (still open, or still changing):
    /// it waits.
    fn pending(&self, _path: &Path) {}
    /// A file in the directory was looked at and left alone: its name is not one the
    /// watcher takes (`*.tmp`, `*.part`, dotfiles, other extensions).
    fn ignored(&self, _path: &Path) {}
    /// A pass over the directory (polling) or over the files waiting to be complete
    /// ended.
    fn pass_done(&self) {}
}

/// A [`WatchReporter`] that shows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct SilentWatchReporter;

impl WatchReporter for SilentWatchReporter {}

/// What a watcher is about to do.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct StartInfo {
    /// The watched directory (absolute).
    pub dir: PathBuf,
    /// inotify or polling.
    pub mode: Mode,
    /// Why inotify was not used although it was not refused, when so.
    pub fallback_reason: Option<String>,
    /// The poll interval (also the settle time of files found by a scan).
    pub poll_interval_ms: u64,
    /// Files found at start (complete ones are dispatched oldest first; those written
    /// less than a poll interval ago are checked again first).
    pub files_at_start: usize,
    /// How many files may be dispatched at once.
    pub workers: usize,
    /// `--once`: process what is there, then stop.
    pub once: bool,
    /// Where events are published instead of running the hooks
    /// ([`publish_to`](crate::WatcherBuilder::publish_to)), without credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_target: Option<String>,
}

/// Where a file ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Moved to `processed/`.
    Processed,
    /// Moved to `failed/`, with the reason next to it.
    Failed,
}

/// One file dispatched and moved.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct FileOutcome {
    /// The file's name in the watched directory.
    pub file: String,
    /// Processed or failed.
    pub status: FileStatus,
    /// Where it is now.
    pub moved_to: PathBuf,
    /// The event's id, when the file held a valid event.
    pub event_id: Option<String>,
    /// The event's type, when the file held a valid event.
    pub event_type: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// What the hooks did, when the event was dispatched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<DispatchReport>,
    /// The transport's entry id, when the event was published instead
    /// ([`publish_to`](crate::WatcherBuilder::publish_to)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// From reading the file to its move, in milliseconds.
    pub duration_ms: u64,
}

/// A [`FileError`] as written in JSON.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorInfo {
    /// The kind (`invalid_json`, `invalid_event`, `blocked`...).
    pub kind: FileErrorKind,
    /// The explanation.
    pub message: String,
}

impl From<&FileError> for ErrorInfo {
    fn from(error: &FileError) -> Self {
        ErrorInfo {
            kind: error.kind(),
            message: error.message().to_owned(),
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// Files moved to `processed/`.
    pub processed: u64,
    /// Files moved to `failed/`.
    pub failed: u64,
    /// Files left in the directory because they were still being written (`--once`).
    pub left_incomplete: usize,
    /// Complete files left for the next start (shutdown before their turn, or before
    /// their publication succeeded).
    pub left_queued: usize,
}
