//! Events: flat JSON objects with a few reserved fields.
//!
//! ```json
//! {"event_id": "0193…", "event_type": "deploy.completed", "timestamp": "2025-12-02T15:30:45.123Z",
//!  "feature": "auth", "source": "ci", "environment": "staging"}
//! ```
//!
//! `event_id`, `event_type`, `timestamp`, `feature` and `source` are reserved; every
//! other top-level field is data. Only `event_type` is required: a missing id is
//! generated (UUIDv7, so ids sort by creation time) and a missing timestamp is now.
//!
//! Hooks get an event's fields in environment variables, which cannot hold a NUL byte
//! nor a name with `=`: an event with a NUL anywhere (a value or a key, at any depth)
//! or a top-level field name containing `=` is refused with
//! [`EventError::InvalidBytes`], naming the field.

pub mod names;

use std::borrow::Borrow;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use thiserror::Error;

/// The reserved top-level fields of an event.
pub const RESERVED_FIELDS: [&str; 5] = ["event_id", "event_type", "timestamp", "feature", "source"];

/// An event id: any non-empty string without control characters, at most 200 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(String);

impl EventId {
    /// A new sortable id (UUIDv7).
    pub fn generate() -> Self {
        EventId(uuid::Uuid::now_v7().to_string())
    }

    /// Checks and wraps an id given by a caller.
    pub fn new(id: impl Into<String>) -> Result<Self, EventError> {
        let id = id.into();
        if id.is_empty() || id.len() > 200 || id.chars().any(char::is_control) {
            return Err(EventError::InvalidId { id });
        }
        Ok(EventId(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A dotted event type such as `implement.completed`: segments of letters, digits,
/// `_` and `-`, separated by single dots.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EventType(String);

impl EventType {
    /// Checks and wraps an event type.
    ///
    /// ```
    /// use flowspec_core::EventType;
    /// assert!(EventType::new("deploy.completed").is_ok());
    /// assert!(EventType::new("deploy..completed").is_err());
    /// assert!(EventType::new("deploy.*").is_err()); // wildcards belong to selectors
    /// ```
    pub fn new(event_type: impl Into<String>) -> Result<Self, EventError> {
        let value = event_type.into();
        match check_dotted_name(&value, false) {
            Ok(()) => Ok(EventType(value)),
            Err(reason) => Err(EventError::InvalidType { value, reason }),
        }
    }

    /// The type as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EventType::new(s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Borrow<str> for EventType {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Checks a dotted name; `allow_star` admits `*` (for selectors).
pub(crate) fn check_dotted_name(value: &str, allow_star: bool) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".into());
    }
    if value.len() > 200 {
        return Err("it is longer than 200 bytes".into());
    }
    for segment in value.split('.') {
        if segment.is_empty() {
            return Err(
                "it has an empty segment (two dots in a row, or a leading or trailing dot)".into(),
            );
        }
        if let Some(c) = segment.chars().find(|&c| {
            !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || (allow_star && c == '*'))
        }) {
            return Err(format!(
                "`{c}` is not allowed (use letters, digits, `_`, `-`{} and dots)",
                if allow_star { ", `*`" } else { "" }
            ));
        }
    }
    Ok(())
}

/// Why an event is invalid.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EventError {
    /// The payload is not a JSON object.
    #[error("an event must be a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// The payload is not JSON at all.
    #[error("the event is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// No `event_type`.
    #[error("the event has no `event_type`")]
    MissingType,
    /// A malformed `event_type`.
    #[error("invalid event type `{value}`: {reason}")]
    InvalidType {
        /// The type as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A malformed `event_id`.
    #[error(
        "invalid event id {id:?}: it must be a non-empty string of at most 200 bytes without control characters"
    )]
    InvalidId {
        /// The id as given.
        id: String,
    },
    /// A reserved field with the wrong type or format.
    #[error("invalid `{field}`: expected {expected}")]
    InvalidField {
        /// The reserved field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// A data field that uses a reserved name.
    #[error("`{0}` is a reserved event field; set it with its own option instead of as data")]
    ReservedField(String),
    /// A field holding bytes that cannot reach a hook's environment: a NUL byte in a
    /// value or key, or `=` in a top-level field name.
    #[error(
        "invalid field `{field}`: {problem}, which cannot be passed to hooks in an environment variable (hint: remove it)"
    )]
    InvalidBytes {
        /// Where: the dotted path of the field (`payload.commits.0.message`).
        field: String,
        /// What is wrong (`it contains a NUL byte`).
        problem: &'static str,
    },
}

/// A workflow event.
///
/// ```
/// use flowspec_core::Event;
///
/// let event = Event::builder("implement.completed")
///     .feature("auth")
///     .field("branch", "feature/auth")
///     .build()
///     .unwrap();
/// assert_eq!(event.event_type().as_str(), "implement.completed");
/// let json = event.to_json();
/// assert_eq!(json["feature"], "auth");
/// assert_eq!(json["branch"], "feature/auth");
///
/// let parsed = Event::from_json(serde_json::json!({
///     "event_type": "deploy.completed", "environment": "staging", "commit": "abc123"
/// })).unwrap();
/// assert_eq!(parsed.data()["environment"], "staging");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    id: EventId,
    event_type: EventType,
    timestamp: DateTime<Utc>,
    feature: Option<String>,
    source: Option<String>,
    data: Map<String, Value>,
}

impl Event {
    /// An event of `event_type` with a new id, the current time and no data.
    pub fn new(event_type: EventType) -> Self {
        Event {
            id: EventId::generate(),
            event_type,
            timestamp: Utc::now(),
            feature: None,
            source: None,
            data: Map::new(),
        }
    }

    /// Starts building an event; the type is checked in [`EventBuilder::build`].
    pub fn builder(event_type: impl Into<String>) -> EventBuilder {
        EventBuilder {
            event_type: event_type.into(),
            id: None,
            timestamp: None,
            feature: None,
            source: None,
            data: Map::new(),
        }
    }

    /// Reads an event from a JSON value (a flat object).
    pub fn from_json(value: Value) -> Result<Self, EventError> {
        let Value::Object(mut map) = value else {
            return Err(EventError::NotAnObject {
                found: json_kind(&value),
            });
        };
        check_passable(&map)?;
        let event_type = match map.shift_remove("event_type") {
            Some(Value::String(s)) => EventType::new(s)?,
            Some(Value::Null) | None => return Err(EventError::MissingType),
            Some(_) => {
                return Err(EventError::InvalidField {
                    field: "event_type",
                    expected: "a string such as \"deploy.completed\"",
                });
            }
        };
        let id = match map.shift_remove("event_id") {
            Some(Value::String(s)) => EventId::new(s)?,
            Some(Value::Null) | None => EventId::generate(),
            Some(_) => {
                return Err(EventError::InvalidField {
                    field: "event_id",
                    expected: "a string",
                });
            }
        };
        let timestamp = match map.shift_remove("timestamp") {
            Some(Value::String(s)) => parse_timestamp(&s)?,
            Some(Value::Null) | None => Utc::now(),
            Some(_) => {
                return Err(EventError::InvalidField {
                    field: "timestamp",
                    expected: "an RFC 3339 string such as \"2025-12-02T15:30:45.123Z\"",
                });
            }
        };
        let feature = optional_string(&mut map, "feature")?;
        let source = optional_string(&mut map, "source")?;
        Ok(Event {
            id,
            event_type,
            timestamp,
            feature,
            source,
            data: map,
        })
    }

    /// Reads an event from JSON bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, EventError> {
        Event::from_json(serde_json::from_slice(bytes)?)
    }

    /// The event as one flat JSON object, reserved fields first.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The event as compact JSON bytes (what hooks read on stdin).
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The id.
    pub fn id(&self) -> &EventId {
        &self.id
    }

    /// The type.
    pub fn event_type(&self) -> &EventType {
        &self.event_type
    }

    /// When the event happened.
    pub fn timestamp(&self) -> DateTime<Utc> {
        self.timestamp
    }

    /// The timestamp as RFC 3339 UTC with milliseconds.
    pub fn timestamp_rfc3339(&self) -> String {
        self.timestamp.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// The feature the event is about, if any.
    pub fn feature(&self) -> Option<&str> {
        self.feature.as_deref()
    }

    /// Who sent the event, if known (`cli`, `ci`, `github`...).
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The non-reserved top-level fields.
    pub fn data(&self) -> &Map<String, Value> {
        &self.data
    }

    /// Replaces the id (for example with one given on the command line).
    pub fn set_id(&mut self, id: EventId) {
        self.id = id;
    }

    /// Sets the source if none was given.
    pub fn set_source_if_missing(&mut self, source: &str) {
        if self.source.is_none() {
            self.source = Some(source.to_owned());
        }
    }

    /// A field as text: strings as they are, other JSON values (numbers, `true`,
    /// objects) as JSON text. For comparisons and keys (`run_id` may be a number).
    ///
    /// ```
    /// let event = flowspec_core::Event::builder("ci.completed").field("run_id", 42).build().unwrap();
    /// assert_eq!(event.field_text("run_id").as_deref(), Some("42"));
    /// assert_eq!(event.field_text("missing"), None);
    /// ```
    pub fn field_text(&self, path: &str) -> Option<String> {
        Some(match self.field(path)? {
            FieldValue::Str(s) => s.to_owned(),
            FieldValue::Json(serde_json::Value::String(s)) => s.clone(),
            FieldValue::Json(other) => other.to_string(),
        })
    }

    /// Looks up a field by name or dotted path (`environment`, `repo.name`,
    /// `commits.0.id`). A top-level key containing dots wins over a path.
    pub fn field(&self, path: &str) -> Option<FieldValue<'_>> {
        match path {
            "event_id" => return Some(FieldValue::Str(self.id.as_str())),
            "event_type" => return Some(FieldValue::Str(self.event_type.as_str())),
            "feature" => return self.feature.as_deref().map(FieldValue::Str),
            "source" => return self.source.as_deref().map(FieldValue::Str),
            _ => {}
        }
        if let Some(v) = self.data.get(path) {
            return Some(FieldValue::Json(v));
        }
        let mut segments = path.split('.');
        let mut current = self.data.get(segments.next()?)?;
        for segment in segments {
            current = match current {
                Value::Object(map) => map.get(segment)?,
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(FieldValue::Json(current))
    }
}

/// A field of an event found by [`Event::field`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldValue<'a> {
    /// A reserved string field.
    Str(&'a str),
    /// A data field.
    Json(&'a Value),
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("event_id", &self.id)?;
        map.serialize_entry("event_type", &self.event_type)?;
        map.serialize_entry("timestamp", &self.timestamp_rfc3339())?;
        if let Some(feature) = &self.feature {
            map.serialize_entry("feature", feature)?;
        }
        if let Some(source) = &self.source {
            map.serialize_entry("source", source)?;
        }
        for (k, v) in &self.data {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Event::from_json(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Builds an [`Event`]; see [`Event::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct EventBuilder {
    event_type: String,
    id: Option<String>,
    timestamp: Option<DateTime<Utc>>,
    feature: Option<String>,
    source: Option<String>,
    data: Map<String, Value>,
}

impl EventBuilder {
    /// Sets the id (default: a new UUIDv7).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the timestamp (default: now).
    pub fn timestamp(mut self, timestamp: DateTime<Utc>) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Sets the feature.
    pub fn feature(mut self, feature: impl Into<String>) -> Self {
        self.feature = Some(feature.into());
        self
    }

    /// Sets the source.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets a top-level data field.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.data.insert(key.into(), value.into());
        self
    }

    /// Merges the fields of a JSON object (reserved fields in it are taken as such).
    pub fn fields(mut self, fields: Map<String, Value>) -> Self {
        self.data.extend(fields);
        self
    }

    /// Checks everything and builds the event.
    pub fn build(self) -> Result<Event, EventError> {
        let mut map = self.data;
        map.insert("event_type".into(), Value::String(self.event_type));
        if let Some(id) = self.id {
            map.insert("event_id".into(), Value::String(id));
        }
        if let Some(feature) = self.feature {
            map.insert("feature".into(), Value::String(feature));
        }
        if let Some(source) = self.source {
            map.insert("source".into(), Value::String(source));
        }
        let mut event = Event::from_json(Value::Object(map))?;
        if let Some(ts) = self.timestamp {
            event.timestamp = ts;
        }
        Ok(event)
    }
}

/// Refuses what a hook's environment cannot hold: NUL anywhere, `=` in a top-level
/// name.
fn check_passable(map: &Map<String, Value>) -> Result<(), EventError> {
    for key in map.keys() {
        if key.contains('=') {
            return Err(EventError::InvalidBytes {
                field: key.escape_debug().to_string(),
                problem: "its name contains `=`",
            });
        }
    }
    let mut path = Vec::new();
    check_no_nul(map, &mut path)
}

fn check_no_nul(map: &Map<String, Value>, path: &mut Vec<String>) -> Result<(), EventError> {
    fn walk(value: &Value, path: &mut Vec<String>) -> Result<(), EventError> {
        match value {
            Value::String(s) if s.contains('\0') => Err(EventError::InvalidBytes {
                field: path.join("."),
                problem: "it contains a NUL byte",
            }),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    walk(item, path)?;
                    path.pop();
                }
                Ok(())
            }
            Value::Object(map) => check_no_nul(map, path),
            _ => Ok(()),
        }
    }
    for (key, value) in map {
        path.push(key.escape_debug().to_string());
        if key.contains('\0') {
            return Err(EventError::InvalidBytes {
                field: path.join("."),
                problem: "its name contains a NUL byte",
            });
        }
        walk(value, path)?;
        path.pop();
    }
    Ok(())
}

fn optional_string(
    map: &mut Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, EventError> {
    match map.shift_remove(field) {
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Null) | None => Ok(None),
        Some(_) => Err(EventError::InvalidField {
            field,
            expected: "a string",
        }),
    }
}

fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, EventError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| EventError::InvalidField {
            field: "timestamp",
            expected: "an RFC 3339 string such as \"2025-12-02T15:30:45.123Z\"",
        })
}

pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn should_accept_a_ci_payload_as_an_event() {
        let e = Event::from_json(json!({
            "event_type": "deploy.completed",
            "environment": "staging",
            "commit": "abc",
            "feature": "auto-extracted"
        }))
        .unwrap();
        assert_eq!(e.feature(), Some("auto-extracted"));
        assert_eq!(e.data().len(), 2);
        assert!(uuid::Uuid::parse_str(e.id().as_str()).is_ok());
    }

    #[test]
    fn should_generate_sortable_ids() {
        let a = EventId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = EventId::generate();
        assert!(a < b);
    }

    #[test]
    fn should_round_trip_through_json_with_reserved_fields_first() {
        let e = Event::builder("task.completed")
            .id("evt-1")
            .feature("auth")
            .field("task_id", "T-1")
            .build()
            .unwrap();
        let text = serde_json::to_string(&e).unwrap();
        assert!(
            text.starts_with(r#"{"event_id":"evt-1","event_type":"task.completed","timestamp":""#)
        );
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back,
            Event {
                timestamp: back.timestamp,
                ..e.clone()
            }
        );
        assert_eq!(back.timestamp_rfc3339(), e.timestamp_rfc3339());
    }

    #[test]
    fn should_reject_bad_reserved_fields() {
        assert!(matches!(
            Event::from_json(json!({})),
            Err(EventError::MissingType)
        ));
        assert!(matches!(
            Event::from_json(json!({"event_type": "a b"})),
            Err(EventError::InvalidType { .. })
        ));
        assert!(matches!(
            Event::from_json(json!({"event_type": "a", "timestamp": "yesterday"})),
            Err(EventError::InvalidField {
                field: "timestamp",
                ..
            })
        ));
        assert!(matches!(
            Event::from_json(json!({"event_type": "a", "event_id": 5})),
            Err(EventError::InvalidField {
                field: "event_id",
                ..
            })
        ));
        assert!(matches!(
            Event::from_json(json!([1])),
            Err(EventError::NotAnObject { .. })
        ));
    }

    #[test]
    fn should_normalise_timestamps_to_utc() {
        let e = Event::from_json(
            json!({"event_type": "a", "timestamp": "2025-12-02T16:30:45.123+01:00"}),
        )
        .unwrap();
        assert_eq!(e.timestamp_rfc3339(), "2025-12-02T15:30:45.123Z");
    }

    #[test]
    fn should_look_up_dotted_paths() {
        let e = Event::from_json(json!({
            "event_type": "push",
            "repo": {"name": "flowspec"},
            "commits": [{"id": "c1"}],
            "a.b": "literal"
        }))
        .unwrap();
        assert_eq!(
            e.field("repo.name"),
            Some(FieldValue::Json(&json!("flowspec")))
        );
        assert_eq!(
            e.field("commits.0.id"),
            Some(FieldValue::Json(&json!("c1")))
        );
        assert_eq!(e.field("a.b"), Some(FieldValue::Json(&json!("literal"))));
        assert_eq!(e.field("event_type"), Some(FieldValue::Str("push")));
        assert_eq!(e.field("repo.owner"), None);
    }

    #[test]
    fn should_refuse_nul_bytes_anywhere_and_equals_in_field_names() {
        let cases = [
            (json!({"event_type": "a", "feature": "auth\0x"}), "feature"),
            (json!({"event_type": "a", "source": "\0"}), "source"),
            (json!({"event_type": "a", "note": "a\0b"}), "note"),
            (
                json!({"event_type": "a", "payload": {"commits": [{"message": "fix\0"}]}}),
                "payload.commits.0.message",
            ),
            (json!({"event_type": "a", "bad\0key": 1}), "bad\\0key"),
            (json!({"event_type": "a", "x": {"k\0": 1}}), "x.k\\0"),
            (json!({"event_type": "a", "PATH=/tmp": "x"}), "PATH=/tmp"),
        ];
        for (value, field) in cases {
            match Event::from_json(value.clone()) {
                Err(EventError::InvalidBytes { field: f, .. }) => assert_eq!(f, field, "{value}"),
                other => panic!("{value}: {other:?}"),
            }
        }
        let err = Event::builder("a")
            .feature("x\0y")
            .build()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid field `feature`: it contains a NUL byte, which cannot be passed to hooks in an environment variable (hint: remove it)"
        );
        let err: Result<Event, _> = serde_json::from_str(r#"{"event_type":"a","n":"\u0000"}"#);
        assert!(err.unwrap_err().to_string().contains("`n`"));
        // `=` inside values and nested names is fine, and so are other control characters.
        assert!(
            Event::from_json(json!({"event_type": "a", "q": "a=b", "m": {"k=v": "\t\n"}})).is_ok()
        );
    }
}
