//! The audit log: one JSON line per hook execution, appended whole and flushed.
//!
//! ```json
//! {"timestamp":"2025-12-02T15:30:45.123Z","event_id":"0193…","event_type":"implement.completed",
//!  "hook_name":"run-local-tests","status":"success","exit_code":0,"duration_ms":212,"attempt":1,
//!  "output":"ok\n"}
//! ```
//!
//! Each line is written with a single `write(2)` on a file opened with `O_APPEND`, so
//! lines from concurrent hooks and concurrent flowspec processes never interleave.
//! Values are masked before they are written.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::report::HookStatus;

/// One audit line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditRecord {
    /// When the run finished (RFC 3339 UTC).
    pub timestamp: String,
    /// The event id.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// The hook.
    pub hook_name: String,
    /// `success`, `failed`, `timeout` or `skipped`.
    pub status: HookStatus,
    /// The exit code, when a process exited.
    pub exit_code: Option<i32>,
    /// Run time in milliseconds.
    pub duration_ms: u64,
    /// Attempt number for this (event id, hook).
    #[serde(default)]
    pub attempt: u32,
    /// The event's feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The tail of the output (masked).
    #[serde(default)]
    pub output: String,
    /// Fields added by the action (for example `target` and `response` of a CI trigger).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AuditRecord {
    /// A record stamped now, with no exit code, output or extra fields; set the
    /// public fields for the rest (for lines written by other crates, such as
    /// notification deliveries).
    pub fn new(
        event_id: impl Into<String>,
        event_type: impl Into<String>,
        hook_name: impl Into<String>,
        status: HookStatus,
    ) -> Self {
        AuditRecord {
            timestamp: AuditRecord::now(),
            event_id: event_id.into(),
            event_type: event_type.into(),
            hook_name: hook_name.into(),
            status,
            exit_code: None,
            duration_ms: 0,
            attempt: 1,
            feature: None,
            reason: None,
            output: String::new(),
            extra: Map::new(),
        }
    }

    /// The timestamp parsed, if valid.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.timestamp)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The current time as an audit timestamp.
    pub fn now() -> String {
        Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

/// An audit log file opened for appending.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: File,
}

/// An audit log error.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The file could not be opened or written.
    #[error("audit log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line is not a valid audit record.
    #[error("{path}:{line}: not a valid audit record: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl AuditLog {
    /// Opens `path` for appending, creating it and its directory.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let io = |source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            file,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as one line.
    pub fn append(&self, record: &AuditRecord) -> Result<(), AuditError> {
        let mut line = serde_json::to_vec(record).unwrap_or_default();
        line.push(b'\n');
        // One write call per line: O_APPEND makes it atomic with respect to other appends.
        (&self.file)
            .write_all(&line)
            .map_err(|source| AuditError::Io {
                path: self.path.clone(),
                source,
            })
    }
}

/// Reads an audit log: every line in order with its number, malformed lines as errors
/// (so one damaged line does not hide the rest). A missing file reads as empty.
pub fn read(
    path: &Path,
) -> Result<impl Iterator<Item = Result<AuditRecord, AuditError>>, AuditError> {
    let file = match File::open(path) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(AuditError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let path = path.to_path_buf();
    let lines = file
        .into_iter()
        .flat_map(|f| BufReader::new(f).lines())
        .enumerate();
    Ok(lines.filter_map(move |(i, line)| {
        let line = match line {
            Ok(line) => line,
            Err(source) => {
                return Some(Err(AuditError::Io {
                    path: path.clone(),
                    source,
                }));
            }
        };
        if line.trim().is_empty() {
            return None;
        }
        Some(
            serde_json::from_str(&line).map_err(|e| AuditError::Malformed {
                path: path.clone(),
                line: i + 1,
                message: e.to_string(),
            }),
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(hook: &str) -> AuditRecord {
        AuditRecord {
            timestamp: AuditRecord::now(),
            event_id: "e1".into(),
            event_type: "implement.completed".into(),
            hook_name: hook.into(),
            status: HookStatus::Success,
            exit_code: Some(0),
            duration_ms: 5,
            attempt: 1,
            feature: None,
            reason: None,
            output: "ok\n".into(),
            extra: Map::new(),
        }
    }

    #[test]
    fn should_append_whole_lines_and_read_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/audit.log");
        let log = AuditLog::open(&path).unwrap();
        log.append(&record("a")).unwrap();
        let mut with_extra = record("b");
        with_extra.extra.insert(
            "target".into(),
            serde_json::json!({"platform": "github-actions"}),
        );
        log.append(&with_extra).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"not json\n")
            .unwrap();

        let items: Vec<_> = read(&path).unwrap().collect();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].as_ref().unwrap().hook_name, "a");
        assert_eq!(
            items[1].as_ref().unwrap().extra["target"]["platform"],
            "github-actions"
        );
        assert!(matches!(
            items[2],
            Err(AuditError::Malformed { line: 3, .. })
        ));
    }

    #[test]
    fn should_not_interleave_lines_from_many_threads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let big = "x".repeat(20_000);
        std::thread::scope(|s| {
            for t in 0..8 {
                let path = &path;
                let big = &big;
                s.spawn(move || {
                    let log = AuditLog::open(path).unwrap();
                    for _ in 0..50 {
                        let mut r = record(&format!("h{t}"));
                        r.output = big.clone();
                        log.append(&r).unwrap();
                    }
                });
            }
        });
        let records: Vec<_> = read(&path).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(records.len(), 400);
    }

    #[test]
    fn should_read_a_missing_log_as_empty() {
        assert_eq!(
            read(Path::new("/nonexistent/audit.log")).unwrap().count(),
            0
        );
    }
}
