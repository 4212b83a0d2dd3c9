//! Building an [`Event`] from pieces, as a command line or a chat command gives them:
//! an event type, a JSON payload (a file or any reader), `key=value` and `key:=JSON`
//! fields, a feature, an id and a source.
//!
//! ```
//! use flowspec::event_input::EventInput;
//!
//! let event = EventInput::new()
//!     .event_type("deploy.completed")
//!     .data("environment=staging")?
//!     .data("attempt:=2")?
//!     .feature("auth")
//!     .default_source("chat-bot")
//!     .build()?;
//! assert_eq!(event.event_type().as_str(), "deploy.completed");
//! assert_eq!(event.data()["attempt"], serde_json::json!(2));
//! # Ok::<(), flowspec::Error>(())
//! ```

use std::io::Read;
use std::path::Path;

use flowspec_core::Event;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The fields an event sets itself; `--data` cannot set them.
const RESERVED: &[&str] = &["event_type", "event_id", "feature", "source", "timestamp"];

/// An event being put together; [`EventInput::build`] checks it and makes the [`Event`].
#[derive(Debug, Default)]
pub struct EventInput {
    event_type: Option<String>,
    payload: Map<String, Value>,
    fields: Vec<(String, Value)>,
    feature: Option<String>,
    event_id: Option<String>,
    source: Option<String>,
    default_source: Option<String>,
}

impl EventInput {
    /// Nothing set yet.
    pub fn new() -> Self {
        EventInput::default()
    }

    /// The event type (it may come from the payload instead; both must agree).
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.event_type = Some(event_type.into());
        self
    }

    /// The payload: a JSON object read from the file at `path`.
    pub fn payload_file(self, path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("cannot read payload {}", path.display()), e))?;
        self.payload_text(&path.display().to_string(), &text)
    }

    /// The payload: a JSON object read from `reader` (stdin), called `name` in errors.
    pub fn payload_reader(self, name: &str, mut reader: impl Read) -> Result<Self> {
        let mut text = String::new();
        reader
            .read_to_string(&mut text)
            .map_err(|e| Error::io(format!("cannot read the payload from {name}"), e))?;
        self.payload_text(name, &text)
    }

    /// The payload: the JSON object in `text`, called `name` in errors.
    pub fn payload_text(mut self, name: &str, text: &str) -> Result<Self> {
        self.payload = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            Ok(other) => {
                return Err(Error::Usage(format!(
                    "the payload in {name} must be a JSON object, found {}",
                    json_kind(&other)
                )));
            }
            Err(e) => {
                return Err(Error::Usage(format!(
                    "the payload in {name} is not valid JSON: {e} (line {}, column {})",
                    e.line(),
                    e.column()
                )));
            }
        };
        Ok(self)
    }

    /// A top-level field: `key=value` sets a string, `key:=JSON` a typed value
    /// (`count:=3`, `draft:=false`, `tags:=["a"]`). Later fields win over the payload.
    pub fn data(mut self, item: &str) -> Result<Self> {
        self.fields.push(parse_data(item)?);
        Ok(self)
    }

    /// A top-level field with its value.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.push((key.into(), value.into()));
        self
    }

    /// The feature.
    pub fn feature(mut self, feature: impl Into<String>) -> Self {
        self.feature = Some(feature.into());
        self
    }

    /// The event id (default: a new UUIDv7).
    pub fn event_id(mut self, id: impl Into<String>) -> Self {
        self.event_id = Some(id.into());
        self
    }

    /// The source, whatever the payload says.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The source when neither [`EventInput::source`] nor the payload gives one.
    pub fn default_source(mut self, source: impl Into<String>) -> Self {
        self.default_source = Some(source.into());
        self
    }

    /// The event, or a usage error saying what is missing or contradictory.
    pub fn build(self) -> Result<Event> {
        let mut fields = self.payload;
        match (self.event_type, fields.get("event_type")) {
            (Some(given), Some(Value::String(in_payload))) if given != *in_payload => {
                return Err(Error::Usage(format!(
                    "the event type is given twice: `{given}` on the command line and `{in_payload}` in the payload"
                )));
            }
            (Some(given), _) => {
                fields.insert("event_type".into(), Value::String(given));
            }
            (None, Some(_)) => {}
            (None, None) => {
                return Err(Error::Usage(
                    "no event type: give one (`flowspec emit implement.completed`) or put `event_type` in the --payload".into(),
                ));
            }
        }
        for (key, value) in self.fields {
            fields.insert(key, value);
        }
        for (key, value) in [
            ("feature", self.feature),
            ("event_id", self.event_id),
            ("source", self.source),
        ] {
            if let Some(value) = value {
                fields.insert(key.into(), Value::String(value));
            }
        }
        let mut event = Event::from_json(Value::Object(fields))
            .map_err(|e| Error::Usage(format!("invalid event: {e}")))?;
        if let Some(source) = &self.default_source {
            event.set_source_if_missing(source);
        }
        Ok(event)
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "an array",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Object(_) => "an object",
        Value::Null => "null",
    }
}

/// `key=value` (a string) or `key:=JSON` (typed).
fn parse_data(item: &str) -> Result<(String, Value)> {
    let bad = || {
        Error::Usage(format!(
            "invalid --data `{item}`: write key=value for a string, or key:=JSON for a number, boolean, list or object"
        ))
    };
    let eq = item.find('=').ok_or_else(bad)?;
    let (key, value) = if eq > 0 && item.as_bytes()[eq - 1] == b':' {
        let value = serde_json::from_str(&item[eq + 1..])
            .map_err(|e| Error::Usage(format!("invalid JSON in --data `{item}`: {e}")))?;
        (&item[..eq - 1], value)
    } else {
        (&item[..eq], Value::String(item[eq + 1..].to_owned()))
    };
    if key.is_empty() {
        return Err(bad());
    }
    if RESERVED.contains(&key) {
        return Err(Error::Usage(format!(
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

    #[test]
    fn should_take_the_type_from_the_payload_and_refuse_a_second_one() {
        let event = EventInput::new()
            .payload_text(
                "stdin",
                r#"{"event_type": "deploy.completed", "env": "prod"}"#,
            )
            .unwrap()
            .data("env=staging")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(event.event_type().as_str(), "deploy.completed");
        assert_eq!(event.data()["env"], json!("staging"), "--data wins");

        let err = EventInput::new()
            .event_type("implement.completed")
            .payload_text("stdin", r#"{"event_type": "deploy.completed"}"#)
            .unwrap()
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Usage);
        assert!(err.to_string().contains("given twice"), "{err}");
    }

    #[test]
    fn should_say_what_a_payload_that_is_not_an_object_is() {
        let err = EventInput::new().payload_text("p.json", "[1]").unwrap_err();
        assert!(err.to_string().contains("found an array"), "{err}");
        let err = EventInput::new().payload_text("p.json", "{").unwrap_err();
        assert!(err.to_string().contains("line 1, column 1"), "{err}");
        assert!(EventInput::new().build().is_err(), "no event type at all");
    }

    #[test]
    fn should_default_the_source_only_when_none_is_given() {
        let event = |input: EventInput| input.event_type("a.b").default_source("cli").build();
        assert_eq!(event(EventInput::new()).unwrap().source(), Some("cli"));
        assert_eq!(
            event(EventInput::new().source("bot")).unwrap().source(),
            Some("bot")
        );
    }
}
