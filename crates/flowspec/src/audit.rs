//! Reading a project's audit log (JSON lines, one per hook run) with filters: an
//! event id, a hook, a status, a time, the last N entries. Damaged lines are counted
//! and skipped, so one bad line never hides the rest.
//!
//! ```no_run
//! use flowspec::audit::{AuditQuery, since};
//!
//! let project = flowspec::Project::discover(std::path::Path::new("."))?;
//! let query = AuditQuery { since: Some(since("2h")?), limit: Some(20), ..AuditQuery::default() };
//! for record in flowspec::audit::query(&project.audit_path(), &query)?.records {
//!     println!("{} {} {}", record.timestamp, record.hook_name, record.status);
//! }
//! # Ok::<(), flowspec::Error>(())
//! ```

use std::path::Path;

use chrono::{DateTime, Utc};
use flowspec_core::HookStatus;
use flowspec_core::audit::{self, AuditError, AuditRecord};

use crate::error::{Error, Result};

/// Which audit lines [`query`] returns; every filter set must match.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// Only this event id.
    pub event_id: Option<String>,
    /// Only this hook.
    pub hook: Option<String>,
    /// Only this status.
    pub status: Option<HookStatus>,
    /// Only lines at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// At most the last N matching lines.
    pub limit: Option<usize>,
}

impl AuditQuery {
    fn keeps(&self, record: &AuditRecord) -> bool {
        self.event_id
            .as_ref()
            .is_none_or(|id| &record.event_id == id)
            && self.hook.as_ref().is_none_or(|h| &record.hook_name == h)
            && self.status.is_none_or(|s| record.status == s)
            && self
                .since
                .is_none_or(|t| record.time().is_some_and(|rt| rt >= t))
    }
}

/// The lines [`query`] found.
#[derive(Clone, Debug, Default)]
pub struct AuditLines {
    /// The matching records, oldest first.
    pub records: Vec<AuditRecord>,
    /// How many damaged lines were skipped.
    pub damaged: usize,
}

/// The records of the audit log at `path` that `query` keeps (none when the log does
/// not exist yet).
pub fn query(path: &Path, query: &AuditQuery) -> Result<AuditLines> {
    let mut lines = AuditLines::default();
    for item in audit::read(path).map_err(audit_error)? {
        match item {
            Ok(record) if query.keeps(&record) => lines.records.push(record),
            Ok(_) => {}
            Err(e @ AuditError::Malformed { .. }) => {
                lines.damaged += 1;
                tracing::warn!(message = "Skipping a damaged audit line.", error = %e);
            }
            Err(e) => return Err(audit_error(e)),
        }
    }
    if let Some(limit) = query.limit {
        let skip = lines.records.len().saturating_sub(limit);
        lines.records.drain(..skip);
    }
    Ok(lines)
}

fn audit_error(error: AuditError) -> Error {
    Error::Build(error.into())
}

/// A time from `text`: a duration ago (`90` seconds, `30m`, `2h`, `7d`) or an RFC 3339
/// time (`2025-12-02T15:00:00Z`).
pub fn since(text: &str) -> Result<DateTime<Utc>> {
    if let Ok(duration) = flowspec_core::duration::parse(text) {
        let duration = chrono::Duration::from_std(duration)
            .map_err(|_| Error::Usage(format!("--since {text} is too long")))?;
        return Ok(Utc::now() - duration);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            Error::Usage(format!(
                "invalid --since `{text}`: give seconds (90) or a duration such as 30m, 2h or 7d, or a time such as 2025-12-02T15:00:00Z"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_read_since_as_a_duration_ago_or_a_time() {
        let ago = Utc::now() - since("90").unwrap();
        assert!((89..=91).contains(&ago.num_seconds()), "{ago}");
        let ago = Utc::now() - since("2h").unwrap();
        assert!((7199..=7201).contains(&ago.num_seconds()), "{ago}");
        assert_eq!(
            since("2025-12-02T16:00:00+01:00").unwrap().to_rfc3339(),
            "2025-12-02T15:00:00+00:00"
        );
        let err = since("yesterday").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Usage);
        assert!(err.to_string().contains("30m"), "{err}");
    }

    #[test]
    fn should_keep_the_last_matching_lines_and_count_damaged_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let line = |id: &str, hook: &str, status: &str| {
            format!(
                r#"{{"timestamp":"2026-01-01T00:00:00.000Z","event_id":"{id}","event_type":"a.b","hook_name":"{hook}","status":"{status}","exit_code":0,"duration_ms":1,"attempt":1,"output":""}}"#
            )
        };
        let text = [
            line("e1", "lint", "success"),
            "{not json".to_owned(),
            line("e2", "lint", "failed"),
            line("e3", "test", "failed"),
            line("e4", "lint", "failed"),
        ]
        .join("\n");
        std::fs::write(&path, text + "\n").unwrap();
        let found = super::query(
            &path,
            &AuditQuery {
                hook: Some("lint".into()),
                status: Some(HookStatus::Failed),
                limit: Some(1),
                ..AuditQuery::default()
            },
        )
        .unwrap();
        let ids: Vec<&str> = found.records.iter().map(|r| r.event_id.as_str()).collect();
        assert_eq!(ids, ["e4"]);
        assert_eq!(found.damaged, 1);
        let none = super::query(&dir.path().join("missing.log"), &AuditQuery::default()).unwrap();
        assert!(none.records.is_empty(), "no log yet is no lines");
    }
}
