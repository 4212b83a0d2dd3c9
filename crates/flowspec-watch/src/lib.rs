//! # flowspec-watch
//!
//! A trigger-directory watcher for [flowspec](https://github.com/flowspec/flowspec):
//! files dropped in a directory become events, dispatched through the same
//! [`Engine`](flowspec_core::Engine) as `flowspec emit` — so an event id runs each hook
//! once, whatever the number of times its file is seen.
//!
//! ## Overview
//! - [`Watcher`], built with [`WatcherBuilder`]: watches one directory with inotify
//!   (falling back to polling when inotify cannot be used, see [`mode`]), takes each
//!   file once it is complete (see [`tracker`](crate#when-a-file-is-complete)),
//!   dispatches it, and moves it to `processed/` or `failed/` (see [`layout`]).
//! - [`file`](mod@file): which names are taken (`*.json` events, `*.trigger` trigger files) and
//!   how a file becomes an [`Event`](flowspec_core::Event).
//! - [`heartbeat`]: the JSON file rewritten every interval for monitors.
//! - [`WatchReporter`]: progress callbacks (one per file dispatched).
//! - [`WatcherBuilder::publish_to`]: each file's event is published through a
//!   [`Publisher`](flowspec_core::transport::Publisher) (to other machines) instead of
//!   running the hooks; the file stays in the directory until the transport takes it.
//!
//! ## Writing files: the atomic rename convention
//! Write the file under a temporary name (`name.json.tmp`, `name.json.part`, a dotfile
//! such as `.name.json`, or a file in another directory **on the same filesystem**),
//! then `rename(2)` it into the watched directory (`mv` does that). The watcher never
//! sees a partial file. Writers that cannot rename are handled too: with inotify a file
//! is read once its writer closes it (`IN_CLOSE_WRITE`); when polling, once its size
//! and modification time stop changing for one poll interval.
//!
//! Give every file a unique name (a `@tag` in trigger names, see [`file`](mod@file)), and an
//! `event_id` when its hooks must run exactly once (files without one get a stable id
//! derived from the file, see [`file::stable_id`]).
//!
//! ## When a file is complete
//! - renamed into the directory, or closed after writing (inotify): at once;
//! - found by a scan (at start, when polling): once unchanged for one poll interval
//!   (at once if last modified longer ago than that);
//! - open by a writer that stays silent for [`WatcherBuilder::stale_after`]: taken anyway.
//!
//! ## Example
//! ```no_run
//! use std::time::Duration;
//! use flowspec_core::EngineBuilder;
//! use flowspec_watch::Watcher;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // The project around the current directory: hooks.yaml, the store, the audit log.
//! let engine = EngineBuilder::discover(&std::env::current_dir()?)?.build().await?;
//! let watcher = Watcher::builder("/srv/triggers")
//!     .heartbeat("/srv/heartbeats/watcher.json")
//!     .heartbeat_interval(Duration::from_secs(10))
//!     .build(engine)?;
//! // Watch until Ctrl-C, then finish the file being dispatched.
//! let summary = watcher
//!     .run(async {
//!         let _ = tokio::signal::ctrl_c().await;
//!     })
//!     .await?;
//! println!("{} processed, {} failed", summary.processed, summary.failed);
//! # Ok(()) }
//! ```
//!
//! ## Platforms
//! inotify is Linux-only; elsewhere the watcher polls. Minimum supported Rust
//! version: 1.89.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod error;
pub mod file;
pub mod heartbeat;
pub mod layout;
pub mod mode;
mod source;
mod tracker;
mod watcher;

pub use error::{FileError, FileErrorKind, WatchError};
pub use heartbeat::Heartbeat;
pub use mode::Mode;
pub use watcher::{
    DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_MAX_FILE_BYTES, DEFAULT_POLL_INTERVAL, DEFAULT_STALE_AFTER,
    ErrorInfo, FileOutcome, FileStatus, SilentWatchReporter, StartInfo, Summary, WatchReporter,
    Watcher, WatcherBuilder,
};
