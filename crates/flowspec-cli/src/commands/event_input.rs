//! Building an event from the command line: --payload, positional type, --feature,
//! --data, --event-id, --source.

use std::io::Read;

use flowspec_core::Event;
use serde_json::{Map, Value};

use super::Failure;
use crate::cli::EventArgs;

/// Builds the event. `event_type` may be absent when the payload has one.
pub fn build_event(event_type: Option<&str>, args: &EventArgs) -> Result<Event, Failure> {
    let mut fields = match &args.payload {
        Some(source) => read_payload(source)?,
        None => Map::new(),
    };
    match (event_type, fields.get("event_type")) {
        (Some(given), Some(Value::String(in_payload))) if given != in_payload => {
            return Err(Failure::usage(format!(
                "the event type is given twice: `{given}` on the command line and `{in_payload}` in the payload"
            )));
        }
        (Some(given), _) => {
            fields.insert("event_type".into(), Value::String(given.to_owned()));
        }
        (None, Some(_)) => {}
        (None, None) => {
            return Err(Failure::usage(
                "no event type: give one (`flowspec emit implement.completed`) or put `event_type` in the --payload",
            ));
        }
    }
    for item in &args.data {
        let (key, value) = parse_data(item)?;
        fields.insert(key, value);
    }
    if let Some(feature) = &args.feature {
        fields.insert("feature".into(), Value::String(feature.clone()));
    }
    if let Some(id) = &args.event_id {
        fields.insert("event_id".into(), Value::String(id.clone()));
    }
    if let Some(source) = &args.source {
        fields.insert("source".into(), Value::String(source.clone()));
    }
    let mut event = Event::from_json(Value::Object(fields))
        .map_err(|e| Failure::usage(format!("invalid event: {e}")))?;
    event.set_source_if_missing("cli");
    Ok(event)
}

fn read_payload(source: &str) -> Result<Map<String, Value>, Failure> {
    let (name, text) = if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::error(format!("cannot read the payload from stdin: {e}")))?;
        ("stdin".to_owned(), text)
    } else {
        let text = std::fs::read_to_string(source)
            .map_err(|e| Failure::error(format!("cannot read payload {source}: {e}")))?;
        (source.to_owned(), text)
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(Failure::usage(format!(
            "the payload in {name} must be a JSON object, found {}",
            match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            }
        ))),
        Err(e) => Err(Failure::usage(format!(
            "the payload in {name} is not valid JSON: {e} (line {}, column {})",
            e.line(),
            e.column()
        ))),
    }
}

/// `key=value` (a string) or `key:=JSON` (typed).
fn parse_data(item: &str) -> Result<(String, Value), Failure> {
    let bad = || {
        Failure::usage(format!(
            "invalid --data `{item}`: write key=value for a string, or key:=JSON for a number, boolean, list or object"
        ))
    };
    let eq = item.find('=').ok_or_else(bad)?;
    let (key, value) = if eq > 0 && item.as_bytes()[eq - 1] == b':' {
        let raw = &item[eq + 1..];
        let value = serde_json::from_str(raw)
            .map_err(|e| Failure::usage(format!("invalid JSON in --data `{item}`: {e}")))?;
        (&item[..eq - 1], value)
    } else {
        (&item[..eq], Value::String(item[eq + 1..].to_owned()))
    };
    if key.is_empty() {
        return Err(bad());
    }
    if matches!(
        key,
        "event_type" | "event_id" | "feature" | "source" | "timestamp"
    ) {
        return Err(Failure::usage(format!(
            "`{key}` is a reserved event field; use the positional event type, --event-id, --feature or --source"
        )));
    }
    Ok((key.to_owned(), value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn should_parse_string_and_typed_data() {
        assert_eq!(
            parse_data("env=staging").unwrap(),
            ("env".into(), json!("staging"))
        );
        assert_eq!(
            parse_data("url=https://x?a=b").unwrap(),
            ("url".into(), json!("https://x?a=b"))
        );
        assert_eq!(parse_data("n:=3").unwrap(), ("n".into(), json!(3)));
        assert_eq!(
            parse_data("tags:=[\"a\"]").unwrap(),
            ("tags".into(), json!(["a"]))
        );
        assert!(parse_data("novalue").is_err());
        assert!(parse_data("=x").is_err());
        assert!(parse_data("n:=nope").is_err());
        assert!(parse_data("feature=x").is_err());
    }
}
