//! The receiver's queue for people: the queued events and one event's detail.

use flowspec_server::queue::QueuedEvent;

use super::{Painter, line, safe, safe_lines, table, utc_time};
use crate::events::EventDetail;

/// A table of queued events (`flowspec events list`), or `no queued events`.
pub fn list(p: Painter, events: &[QueuedEvent]) -> String {
    if events.is_empty() {
        return "no queued events\n".to_owned();
    }
    let rows = events.iter().map(|e| {
        vec![
            utc_time(e.received_at),
            e.event_id.clone(),
            e.event_type.clone(),
            e.source.clone(),
            e.status.to_string(),
            e.attempts.to_string(),
            e.last_error.clone().unwrap_or_default(),
        ]
    });
    let header = [
        "RECEIVED (UTC)",
        "EVENT ID",
        "TYPE",
        "SOURCE",
        "STATUS",
        "ATTEMPTS",
        "LAST ERROR",
    ];
    format!("{}\n", table(&header, rows, p))
}

/// One event (`flowspec events show ID`): its queue state, payload and hook runs.
pub fn detail(p: Painter, id: &str, detail: &EventDetail) -> String {
    let mut out = String::new();
    match &detail.queue {
        Some(r) => {
            let (id, kind, source) = (safe(&r.event_id), safe(&r.event_type), safe(&r.source));
            line!(out, "{} {id} ({kind}) from {source}", p.bold("event"));
            line!(
                out,
                "  status {} after {} attempt(s), received {}",
                r.status,
                r.attempts,
                utc_time(r.received_at)
            );
            if let Some(error) = &r.last_error {
                line!(out, "  last error: {}", safe_lines(error));
            }
        }
        None => line!(
            out,
            "{} {} (not in the queue: emitted directly)",
            p.bold("event"),
            safe(id)
        ),
    }
    if let Some(event) = &detail.event {
        // serde_json escapes every control character inside strings.
        line!(
            out,
            "{}\n{}",
            p.bold("payload"),
            serde_json::to_string_pretty(event).unwrap_or_default()
        );
    }
    if !detail.hook_runs.is_empty() {
        let rows = detail.hook_runs.iter().map(|r| {
            let exit = r.exit_code.map_or("-".into(), |c| c.to_string());
            vec![
                r.hook.clone(),
                r.status.clone(),
                r.attempt.to_string(),
                exit,
            ]
        });
        line!(
            out,
            "{}",
            table(&["HOOK", "STATUS", "ATTEMPTS", "EXIT"], rows, p)
        );
    }
    out
}
