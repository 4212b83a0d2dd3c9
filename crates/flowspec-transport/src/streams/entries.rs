//! Stream entries as Redis sends them, read without trusting their shape: anyone who
//! can write to the stream can add any fields.

use redis::Value;

/// The largest `event` field a subscriber decodes; larger entries go to the dead letters.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// One entry of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The entry id (`1733234567890-0`).
    pub id: String,
    /// Its fields in order; `None` when the entry was trimmed away while pending.
    pub fields: Option<Vec<(String, Vec<u8>)>>,
}

impl Entry {
    /// The event the entry carries (its `event` field), or why it carries none: the
    /// reason a subscriber writes into the dead letters. Entries come from anyone who can
    /// write to the stream: this never panics and reads at most [`MAX_EVENT_BYTES`].
    ///
    /// ```
    /// use flowspec_transport::Entry;
    ///
    /// let entry = Entry { id: "1-0".into(), fields: Some(vec![("hello".into(), b"world".to_vec())]) };
    /// assert!(entry.event().unwrap_err().contains("no `event` field"));
    /// ```
    pub fn event(&self) -> Result<flowspec_core::Event, String> {
        if self.fields.is_none() {
            return Err("the entry was trimmed from the stream before it was handled".into());
        }
        let Some(json) = self.field("event") else {
            return Err("the entry has no `event` field (it was not published by flowspec)".into());
        };
        if json.len() > MAX_EVENT_BYTES {
            return Err(format!(
                "the event is {} bytes, over the limit of {MAX_EVENT_BYTES}",
                json.len()
            ));
        }
        flowspec_core::Event::from_slice(json)
            .map_err(|e| format!("the `event` field is not a flowspec event: {e}"))
    }

    /// The value of field `name`.
    pub fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .as_ref()?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// Bytes of a string-like value.
pub(crate) fn bytes(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        Value::VerbatimString { text, .. } => Some(text.clone().into_bytes()),
        Value::Int(n) => Some(n.to_string().into_bytes()),
        Value::Okay => Some(b"OK".to_vec()),
        _ => None,
    }
}

/// Text of a string-like value.
pub(crate) fn text(value: &Value) -> Option<String> {
    bytes(value).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The items of an array-like value (`Nil` is empty).
pub(crate) fn items(value: &Value) -> Option<&[Value]> {
    match value {
        Value::Array(items) | Value::Set(items) => Some(items),
        Value::Nil => Some(&[]),
        _ => None,
    }
}

/// `[[id, [field, value, ...] | nil], ...]`.
pub(crate) fn parse_entries(value: &Value) -> Result<Vec<Entry>, String> {
    let list = items(value).ok_or("entries are not a list")?;
    list.iter()
        .map(|item| {
            let pair = items(item).ok_or("an entry is not a list")?;
            let id = pair.first().and_then(text).ok_or("an entry has no id")?;
            let fields = match pair.get(1) {
                None | Some(Value::Nil) => None,
                Some(Value::Map(map)) => Some(
                    map.iter()
                        .filter_map(|(k, v)| Some((text(k)?, bytes(v)?)))
                        .collect(),
                ),
                Some(other) => {
                    let flat = items(other).ok_or("an entry's fields are not a list")?;
                    Some(
                        flat.chunks(2)
                            .filter_map(|kv| Some((text(kv.first()?)?, bytes(kv.get(1)?)?)))
                            .collect(),
                    )
                }
            };
            Ok(Entry { id, fields })
        })
        .collect()
}

/// An `XREADGROUP` answer: `nil` on timeout, else `[[stream, entries]]` (or a map of
/// stream → entries with RESP3).
pub(crate) fn parse_read(value: &Value) -> Result<Vec<Entry>, String> {
    match value {
        Value::Nil => Ok(Vec::new()),
        Value::Map(streams) => match streams.first() {
            Some((_, entries)) => parse_entries(entries),
            None => Ok(Vec::new()),
        },
        other => {
            let streams = items(other).ok_or("the answer is not a list")?;
            match streams.first() {
                None => Ok(Vec::new()),
                Some(stream) => {
                    let pair = items(stream).ok_or("a stream is not a list")?;
                    parse_entries(pair.get(1).unwrap_or(&Value::Nil))
                }
            }
        }
    }
}

/// An `XAUTOCLAIM` answer: `[cursor, entries, deleted ids]`.
pub(crate) fn parse_autoclaim(value: &Value) -> Result<(String, Vec<Entry>), String> {
    let parts = items(value).ok_or("the answer is not a list")?;
    let cursor = parts.first().and_then(text).ok_or("no cursor")?;
    let entries = parse_entries(parts.get(1).unwrap_or(&Value::Nil))?;
    Ok((cursor, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn should_read_entries_trimmed_ones_and_odd_fields_without_panicking() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("flowspec:events"),
            Value::Array(vec![
                Value::Array(vec![
                    bulk("1-0"),
                    Value::Array(vec![bulk("id"), bulk("e1"), bulk("event"), bulk("{}")]),
                ]),
                Value::Array(vec![bulk("2-0"), Value::Nil]),
                // An odd number of field items: the dangling one is ignored.
                Value::Array(vec![bulk("3-0"), Value::Array(vec![bulk("event")])]),
            ]),
        ])]);
        let entries = parse_read(&reply).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].field("event"), Some(&b"{}"[..]));
        assert_eq!(entries[1].fields, None);
        assert_eq!(entries[2].field("event"), None);
        assert!(parse_read(&Value::Nil).unwrap().is_empty());
        assert!(parse_read(&Value::Int(3)).is_err());
    }

    #[test]
    fn should_read_the_cursor_of_an_autoclaim() {
        let reply = Value::Array(vec![
            bulk("0-0"),
            Value::Array(vec![Value::Array(vec![bulk("5-1"), Value::Array(vec![])])]),
            Value::Array(vec![]),
        ]);
        let (cursor, entries) = parse_autoclaim(&reply).unwrap();
        assert_eq!(cursor, "0-0");
        assert_eq!(entries[0].id, "5-1");
    }
}
