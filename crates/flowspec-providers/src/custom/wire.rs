//! the custom HTTP CI's wire types (the JSON its API sends and receives) and their mapping to the normalized model ([`RunStatus`](flowspec_core::provider::RunStatus), runs, jobs).

use super::*;

/// The built-in meaning of common status words (after `status_map`).
pub fn default_status(value: &str) -> RunStatus {
    match value.to_ascii_lowercase().as_str() {
        "pending" | "queued" | "created" | "scheduled" => RunStatus::Queued,
        "running" | "in_progress" | "started" | "building" => RunStatus::Running,
        "waiting" | "manual" | "on_hold" | "blocked" => RunStatus::Waiting,
        "success" | "succeeded" | "passed" | "ok" | "completed" => RunStatus::Success,
        "failed" | "failure" | "error" | "errored" | "broken" => RunStatus::Failed,
        "canceled" | "cancelled" | "aborted" | "stopped" => RunStatus::Cancelled,
        "skipped" => RunStatus::Skipped,
        _ => RunStatus::Unknown,
    }
}

pub(super) fn at_pointer<'v>(value: &'v Value, pointer: &str) -> Option<&'v Value> {
    value.pointer(pointer).filter(|v| !v.is_null())
}

pub(super) fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn keys_of(value: &Value) -> String {
    match value {
        Value::Object(map) if !map.is_empty() => format!(
            "it has {}",
            map.keys()
                .map(|k| format!("`/{}`", k.replace('~', "~0").replace('/', "~1")))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(items) => format!("it is an array of {} items", items.len()),
        other => format!("it is {other}"),
    }
}
