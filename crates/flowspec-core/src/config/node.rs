//! A YAML document as a tree of [`Node`]s that remember where they came from.
//!
//! Parsing goes through serde-saphyr (pure Rust, no `unsafe`, duplicate keys refused
//! on the right line). The tree keeps every value's location so that validation can
//! report *all* problems of a file at once, each with its line and column, instead of
//! stopping at the first serde error.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

/// Where a value sits in its source file: 1-based line and column, and the byte range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Loc {
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column (in characters), 0 when unknown.
    pub column: u32,
    /// Byte offset of the value in the source.
    pub offset: usize,
    /// Length of the value in bytes (0 for an empty value).
    pub len: usize,
}

impl Loc {
    /// Whether the location points somewhere real.
    pub fn is_known(&self) -> bool {
        self.line > 0
    }

    pub(crate) fn from_saphyr(loc: Location, source: &str) -> Self {
        let span = loc.span();
        let offset = span
            .byte_offset()
            .map(|o| o as usize)
            .unwrap_or_else(|| offset_of(source, loc.line() as u32, loc.column() as u32));
        let len = span.byte_len().map(|l| l as usize).unwrap_or(0);
        Loc {
            line: loc.line() as u32,
            column: loc.column() as u32,
            offset,
            len,
        }
    }
}

/// Byte offset of a 1-based (line, character column) position.
fn offset_of(source: &str, line: u32, column: u32) -> usize {
    let line_start: usize = source
        .split_inclusive('\n')
        .take(line.saturating_sub(1) as usize)
        .map(str::len)
        .sum();
    let rest = &source[line_start.min(source.len())..];
    line_start
        + rest
            .char_indices()
            .nth(column.saturating_sub(1) as usize)
            .map_or(rest.len(), |(i, _)| i)
}

/// One YAML value with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it was written.
    pub loc: Loc,
}

/// A mapping key with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The key as written (integer keys keep their spelling).
    pub name: String,
    /// Where the key was written.
    pub loc: Loc,
}

/// A YAML value whose children are [`Node`]s.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `~`, `null` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// A string.
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Key, Node)>),
}

impl Value {
    /// A short name of the value's type for error messages ("a string", "a list").
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// A node without a source location (for values built in Rust).
    pub fn synthetic(value: Value) -> Self {
        Node {
            value,
            loc: Loc::default(),
        }
    }

    /// Parses a YAML document. An empty document is `Null` at line 1.
    pub fn parse(source: &str) -> Result<Node, serde_saphyr::Error> {
        if source.trim().is_empty() {
            return Ok(Node {
                value: Value::Null,
                loc: Loc {
                    line: 1,
                    column: 1,
                    offset: 0,
                    len: 0,
                },
            });
        }
        // YAML 1.2 booleans: only `true`/`false`, so `name: off` or `country: no` stay
        // strings instead of turning into booleans (the "Norway problem").
        let options = serde_saphyr::options! { strict_booleans: true };
        let raw: RawNode = serde_saphyr::from_str_with_options(source, options)?;
        Ok(raw.resolve(source))
    }

    /// The entries of a mapping, or `None` for other values.
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The string, or `None` for other values.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    /// Scalars rendered as text (`8080` → `"8080"`); `None` for null, lists and mappings.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::String(s) => Some(s.clone()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// Converts to JSON (locations are dropped).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::String(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Value::String(s) => write!(f, "{s:?}"),
            _ => write!(f, "{}", self.to_json()),
        }
    }
}

// The tree as deserialized by serde-saphyr; locations are resolved against the source
// afterwards, because only the source knows byte offsets when the span lacks them.
struct RawNode {
    value: RawValue,
    loc: Location,
}

enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<RawNode>),
    Map(Vec<(Spanned<String>, RawNode)>),
}

impl RawNode {
    fn resolve(self, source: &str) -> Node {
        let value = match self.value {
            RawValue::Null => Value::Null,
            RawValue::Bool(b) => Value::Bool(b),
            RawValue::Int(i) => Value::Int(i),
            RawValue::Float(f) => Value::Float(f),
            RawValue::String(s) => Value::String(s),
            RawValue::Seq(items) => {
                Value::Seq(items.into_iter().map(|n| n.resolve(source)).collect())
            }
            RawValue::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let key = Key {
                            loc: Loc::from_saphyr(k.referenced, source),
                            name: k.value,
                        };
                        (key, v.resolve(source))
                    })
                    .collect(),
            ),
        };
        Node {
            value,
            loc: Loc::from_saphyr(self.loc, source),
        }
    }
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<RawValue>::deserialize(deserializer)?;
        Ok(RawNode {
            value: spanned.value,
            loc: spanned.referenced,
        })
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawValueVisitor)
    }
}

struct RawValueVisitor;

impl<'de> Visitor<'de> for RawValueVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<RawValue, E> {
        Ok(i64::try_from(v).map_or(RawValue::Float(v as f64), RawValue::Int))
    }

    fn visit_i128<E>(self, v: i128) -> Result<RawValue, E> {
        Ok(i64::try_from(v).map_or(RawValue::Float(v as f64), RawValue::Int))
    }

    fn visit_u128<E>(self, v: u128) -> Result<RawValue, E> {
        Ok(i64::try_from(v).map_or(RawValue::Float(v as f64), RawValue::Int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::String(v))
    }

    fn visit_unit<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }

    fn visit_none<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawValue, D::Error> {
        RawValue::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<RawNode>()? {
            items.push(item);
        }
        Ok(RawValue::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<RawNode>()?;
            entries.push((key, value));
        }
        Ok(RawValue::Map(entries))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<RawValue, E> {
        Err(E::custom("binary values are not supported here"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_keep_locations_of_nested_values() {
        let src = "hooks:\n  - name: a\n    timeout: 5\n";
        let root = Node::parse(src).unwrap();
        let hooks = root.get("hooks").unwrap();
        let Value::Seq(items) = &hooks.value else {
            panic!("expected a list")
        };
        let timeout = items[0].get("timeout").unwrap();
        assert_eq!(timeout.value, Value::Int(5));
        assert_eq!((timeout.loc.line, timeout.loc.column), (3, 14));
        assert_eq!(&src[timeout.loc.offset..timeout.loc.offset + 1], "5");
        let (key, _) = &items[0].as_map().unwrap()[1];
        assert_eq!(
            (key.name.as_str(), key.loc.line, key.loc.column),
            ("timeout", 3, 5)
        );
    }

    #[test]
    fn should_refuse_duplicate_keys_with_their_line() {
        let err = Node::parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.location().map(|l| l.line()), Some(3), "{err}");
    }

    #[test]
    fn should_keep_yaml_1_1_boolean_words_as_strings() {
        let root = Node::parse("a: off\nb: no\nc: true\nd: yes\n").unwrap();
        assert_eq!(root.get("a").unwrap().as_str(), Some("off"));
        assert_eq!(root.get("b").unwrap().as_str(), Some("no"));
        assert_eq!(root.get("c").unwrap().value, Value::Bool(true));
        assert_eq!(root.get("d").unwrap().as_str(), Some("yes"));
    }

    #[test]
    fn should_treat_empty_document_as_null() {
        assert_eq!(Node::parse("  \n").unwrap().value, Value::Null);
    }

    #[test]
    fn should_compute_offsets_from_line_and_column() {
        assert_eq!(offset_of("ab\ncdé\nx", 2, 3), 5);
        assert_eq!(offset_of("ab\ncdé\nx", 3, 1), 8);
    }
}
