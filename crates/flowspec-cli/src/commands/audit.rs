//! `flowspec audit`: read and filter the audit log.

use chrono::{DateTime, Utc};
use flowspec_core::HookStatus;
use flowspec_core::audit::{self, AuditError, AuditRecord};

use super::{Context, Failure, print_json};
use crate::cli::{AuditArgs, StatusArg};
use crate::exit_code;
use crate::output::outln;
use crate::terminal::{human_ms, table};

pub fn run(cx: &Context<'_>, args: AuditArgs) -> Result<u8, Failure> {
    let since = args.since.as_deref().map(parse_since).transpose()?;
    // Only flowspec.yaml matters here: a broken hooks.yaml must not hide the audit log.
    let path = cx.project()?.audit_path();

    let status = args.status.map(|s| match s {
        StatusArg::Success => HookStatus::Success,
        StatusArg::Failed => HookStatus::Failed,
        StatusArg::Timeout => HookStatus::Timeout,
        StatusArg::Skipped => HookStatus::Skipped,
    });
    let mut records: Vec<AuditRecord> = Vec::new();
    let mut damaged = 0;
    for item in audit::read(&path).map_err(|e| Failure::error(e.to_string()))? {
        let record = match item {
            Ok(record) => record,
            Err(e @ AuditError::Malformed { .. }) => {
                damaged += 1;
                tracing::warn!(message = "Skipping a damaged audit line.", error = %e);
                continue;
            }
            Err(e) => return Err(Failure::error(e.to_string())),
        };
        let keep = args
            .event_id
            .as_ref()
            .is_none_or(|id| &record.event_id == id)
            && args.hook.as_ref().is_none_or(|h| &record.hook_name == h)
            && status.is_none_or(|s| record.status == s)
            && since.is_none_or(|t| record.time().is_some_and(|rt| rt >= t));
        if keep {
            records.push(record);
        }
    }
    if let Some(limit) = args.limit {
        let skip = records.len().saturating_sub(limit);
        records.drain(..skip);
    }
    if damaged > 0 {
        eprintln!(
            "warning: {damaged} damaged line(s) in {} were skipped (run with -v for details)",
            cx.show_path(&path)
        );
    }

    if args.json {
        print_json(&records)?;
        return Ok(exit_code::OK);
    }
    if records.is_empty() {
        outln!("no audit entries match (log: {})", cx.show_path(&path));
        return Ok(exit_code::OK);
    }
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.time().map_or(r.timestamp.clone(), |t| {
                    t.format("%Y-%m-%d %H:%M:%S").to_string()
                }),
                r.event_type.clone(),
                r.event_id.clone(),
                r.hook_name.clone(),
                r.status.to_string(),
                r.exit_code.map_or("-".into(), |c| c.to_string()),
                human_ms(r.duration_ms),
                r.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    outln!(
        "{}",
        table(
            &[
                "TIME (UTC)",
                "EVENT TYPE",
                "EVENT ID",
                "HOOK",
                "STATUS",
                "EXIT",
                "DURATION",
                "REASON"
            ],
            &rows,
            cx.out
        )
    );
    Ok(exit_code::OK)
}

/// A duration ago (`90` seconds, `30m`, `2h`, `7d`), or an RFC 3339 time.
fn parse_since(text: &str) -> Result<DateTime<Utc>, Failure> {
    if let Ok(duration) = crate::cli::parse_duration(text) {
        let duration = chrono::Duration::from_std(duration)
            .map_err(|_| Failure::usage(format!("--since {text} is too long")))?;
        return Ok(Utc::now() - duration);
    }
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        Failure::usage(format!(
            "invalid --since `{text}`: give seconds (90) or a duration such as 30m, 2h or 7d, or a time such as 2025-12-02T15:00:00Z"
        ))
    })
}
