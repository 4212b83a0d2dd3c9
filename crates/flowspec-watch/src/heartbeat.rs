//! The heartbeat file: a JSON object rewritten atomically every interval, so a
//! monitor (a Kubernetes probe, a cron check, a person) can tell the watcher is alive
//! and how it is doing.
//!
//! ```json
//! {
//!   "timestamp": "2025-12-02T15:30:45.123Z",
//!   "status": "running",
//!   "pid": 4242,
//!   "mode": "inotify",
//!   "fallback_reason": null,
//!   "watched_dir": "/srv/triggers",
//!   "started_at": "2025-12-02T15:00:00.000Z",
//!   "uptime_seconds": 1845,
//!   "interval_seconds": 10.0,
//!   "files_processed": 120,
//!   "files_failed": 2,
//!   "last_event_at": "2025-12-02T15:29:01.456Z",
//!   "queue_depth": 0,
//!   "in_flight": 0,
//!   "incomplete": 0,
//!   "workers": 1,
//!   "version": "0.1.0"
//! }
//! ```
//!
//! A monitor should consider the watcher down when `timestamp` is older than a few
//! `interval_seconds`, or when `status` is `stopped`.
//!
//! A heartbeat path ending in `.prom` gets the same facts in the Prometheus text format
//! instead, for node_exporter's textfile collector (`--collector.textfile.directory`),
//! so an alert can fire on `time() - flowspec_watch_heartbeat_timestamp_seconds > 60`:
//!
//! ```text
//! flowspec_watch_heartbeat_timestamp_seconds{watched_dir="/srv/triggers"} 1764689445.123
//! flowspec_watch_running{watched_dir="/srv/triggers"} 1
//! flowspec_watch_files_processed_total{watched_dir="/srv/triggers"} 120
//! ```

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::layout::write_atomic;
use crate::mode::Mode;

/// Whether the watcher is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Status {
    /// Watching.
    Running,
    /// Shutting down: finishing the files being dispatched.
    Stopping,
    /// Stopped (the last heartbeat of a run).
    Stopped,
}

/// The content of the heartbeat file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Heartbeat {
    /// When this heartbeat was written (RFC 3339, UTC, milliseconds).
    #[serde(with = "rfc3339")]
    pub timestamp: DateTime<Utc>,
    /// Running, stopping or stopped.
    pub status: Status,
    /// The watcher's process id.
    pub pid: u32,
    /// inotify or polling.
    pub mode: Mode,
    /// Why the watcher fell back to polling, when it did.
    pub fallback_reason: Option<String>,
    /// The watched directory (absolute).
    pub watched_dir: PathBuf,
    /// When the watcher started.
    #[serde(with = "rfc3339")]
    pub started_at: DateTime<Utc>,
    /// Seconds since the start.
    pub uptime_seconds: u64,
    /// How often the heartbeat is rewritten.
    pub interval_seconds: f64,
    /// Files moved to `processed/` since the start.
    pub files_processed: u64,
    /// Files moved to `failed/` since the start.
    pub files_failed: u64,
    /// When the last file was dispatched, if any.
    #[serde(with = "rfc3339_option")]
    pub last_event_at: Option<DateTime<Utc>>,
    /// Complete files waiting for a worker.
    pub queue_depth: usize,
    /// Files being dispatched now.
    pub in_flight: usize,
    /// Files seen but not complete yet (still being written).
    pub incomplete: usize,
    /// How many files may be dispatched at once.
    pub workers: usize,
    /// The flowspec-watch version.
    pub version: String,
}

impl Heartbeat {
    /// Writes the heartbeat to `path` atomically (temporary file, then rename): JSON, or
    /// the Prometheus text format when `path` ends in `.prom`.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if path.extension().is_some_and(|e| e == "prom") {
            return write_atomic(path, self.to_prometheus().as_bytes());
        }
        let mut bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        write_atomic(path, &bytes)
    }

    /// The heartbeat in the Prometheus text exposition format, labelled with the watched
    /// directory (escaped as the format requires).
    ///
    /// ```
    /// # let heartbeat: flowspec_watch::Heartbeat = serde_json::from_str(r#"{"timestamp":"2025-12-02T15:30:45.123Z","status":"running","pid":1,"mode":"inotify","fallback_reason":null,"watched_dir":"/srv/triggers","started_at":"2025-12-02T15:00:00.000Z","uptime_seconds":1845,"interval_seconds":10.0,"files_processed":120,"files_failed":2,"last_event_at":null,"queue_depth":0,"in_flight":0,"incomplete":0,"workers":1,"version":"0.1.0"}"#).unwrap();
    /// let text = heartbeat.to_prometheus();
    /// assert!(text.contains("flowspec_watch_heartbeat_timestamp_seconds{watched_dir=\"/srv/triggers\"} 1764689445.123\n"));
    /// ```
    pub fn to_prometheus(&self) -> String {
        use std::fmt::Write as _;

        let dir = escape_label(&self.watched_dir.to_string_lossy());
        let running = u8::from(self.status == Status::Running);
        let timestamp = self.timestamp.timestamp_millis() as f64 / 1000.0;
        let metrics: [(&str, &str, &str, String); 9] = [
            (
                "heartbeat_timestamp_seconds",
                "gauge",
                "When the watcher last wrote its heartbeat (Unix time)",
                format!("{timestamp:.3}"),
            ),
            (
                "running",
                "gauge",
                "1 while the watcher runs, 0 once it stops",
                running.to_string(),
            ),
            (
                "uptime_seconds",
                "gauge",
                "Seconds since the watcher started",
                self.uptime_seconds.to_string(),
            ),
            (
                "files_processed_total",
                "counter",
                "Files moved to processed/ since the start",
                self.files_processed.to_string(),
            ),
            (
                "files_failed_total",
                "counter",
                "Files moved to failed/ since the start",
                self.files_failed.to_string(),
            ),
            (
                "queue_depth",
                "gauge",
                "Complete files waiting for a worker",
                self.queue_depth.to_string(),
            ),
            (
                "in_flight",
                "gauge",
                "Files being dispatched now",
                self.in_flight.to_string(),
            ),
            (
                "incomplete",
                "gauge",
                "Files seen but still being written",
                self.incomplete.to_string(),
            ),
            (
                "polling",
                "gauge",
                "1 when the watcher fell back to polling",
                u8::from(self.mode == Mode::Polling).to_string(),
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in metrics {
            let _ = writeln!(out, "# HELP flowspec_watch_{name} {help}.");
            let _ = writeln!(out, "# TYPE flowspec_watch_{name} {kind}");
            let _ = writeln!(
                out,
                "flowspec_watch_{name}{{watched_dir=\"{dir}\"}} {value}"
            );
        }
        out
    }

    /// Reads a heartbeat file.
    pub fn read(path: &Path) -> std::io::Result<Heartbeat> {
        let bytes = std::fs::read(path)?;
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }
}

/// A label value as the text format wants it: backslash, double quote and line feed
/// escaped, so a directory name cannot end the label or add a line.
fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

mod rfc3339 {
    use super::*;

    pub fn serialize<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

mod rfc3339_option {
    use super::*;

    pub fn serialize<S: serde::Serializer>(
        t: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => rfc3339::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => DateTime::parse_from_rfc3339(&s)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}
