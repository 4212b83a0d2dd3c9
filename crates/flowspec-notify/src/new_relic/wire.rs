//! What New Relic is sent and what it answers: payloads, and its errors mapped to `NotifyError`s.

use super::*;

/// A New Relic attribute value: strings (≤ 4096 characters) and numbers as they are,
/// booleans as text; anything else is left out.
pub(super) fn attribute(value: &Value) -> Option<Value> {
    match value {
        Value::String(s) => Some(Value::String(truncate_chars(s, 4096))),
        Value::Number(_) => Some(value.clone()),
        Value::Bool(b) => Some(Value::String(b.to_string())),
        _ => None,
    }
}
