//! What Discord is sent and what it answers: payloads, and its errors mapped to `NotifyError`s.

use super::*;

/// The embed color of an outcome (integer RGB).
pub(super) fn color(outcome: WorkOutcome) -> u32 {
    match outcome {
        WorkOutcome::Completed => 0x2E_CC_71,
        WorkOutcome::Failed => 0xE7_4C_3C,
        WorkOutcome::Started => 0x34_98_DB,
        WorkOutcome::Cancelled => 0xE6_7E_22,
        _ => 0x95_A5_A6,
    }
}

/// `embeds.0.title: Must be 256 or fewer in length.` lines from Discord's nested `errors`.
pub(super) fn flatten_errors(prefix: &str, value: &Value, out: &mut Vec<String>) {
    let Value::Object(map) = value else {
        return;
    };
    if let Some(Value::Array(list)) = map.get("_errors") {
        for e in list {
            let msg = e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("invalid");
            out.push(format!("{prefix}: {msg}"));
        }
    }
    for (k, v) in map.iter().filter(|(k, _)| *k != "_errors") {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        flatten_errors(&path, v, out);
    }
}
