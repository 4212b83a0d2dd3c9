//! `flowspec audit`: the audit log through `flowspec::audit`, as a table or JSON.

use flowspec::audit::{AuditQuery, since};

use super::{Context, Failure, OrFail, print_json};
use crate::cli::AuditArgs;
use crate::exit_code;
use crate::output::outln;
use flowspec::render::{human_ms, table};

pub fn run(cx: &Context<'_>, args: AuditArgs) -> Result<u8, Failure> {
    let query = AuditQuery {
        event_id: args.event_id,
        hook: args.hook,
        status: args.status,
        since: args.since.as_deref().map(since).transpose().or_fail(cx)?,
        limit: args.limit,
    };
    // Only flowspec.yaml matters here: a broken hooks.yaml must not hide the audit log.
    let path = cx.project()?.audit_path();
    let lines = flowspec::audit::query(&path, &query).or_fail(cx)?;
    if lines.damaged > 0 {
        eprintln!(
            "warning: {} damaged line(s) in {} were skipped (run with -v for details)",
            lines.damaged,
            cx.show_path(&path)
        );
    }
    if args.json {
        print_json(&lines.records)?;
    } else if lines.records.is_empty() {
        outln!("no audit entries match (log: {})", cx.show_path(&path));
    } else {
        let rows = lines.records.iter().map(|r| {
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
        });
        let header = [
            "TIME (UTC)",
            "EVENT TYPE",
            "EVENT ID",
            "HOOK",
            "STATUS",
            "EXIT",
            "DURATION",
            "REASON",
        ];
        outln!("{}", table(&header, rows, cx.out));
    }
    Ok(exit_code::OK)
}
