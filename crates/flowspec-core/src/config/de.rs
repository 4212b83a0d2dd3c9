//! Typed deserialization from a [`Node`], with errors that keep their location.
//!
//! Backends (CI providers, notifiers, actions) describe their config as plain serde
//! structs with `#[serde(deny_unknown_fields)]`; [`from_node`] turns a problem into a
//! [`ConfigError`] that names the line, column and key path, and suggests the right
//! name for a mistyped key.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::error::{ConfigError, ConfigErrorKind, suggest};
use super::node::{Key, Loc, Node, Value};

/// Deserializes `T` from `node`. `key_path` is the path of `node` in its file
/// (`integrations.slack`) and prefixes the path in errors.
///
/// ```
/// use flowspec_core::config::{Node, from_node};
///
/// #[derive(Debug, serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Slack { channel: String }
///
/// let node = Node::parse("chanel: '#eng'").unwrap();
/// let err = from_node::<Slack>(&node, "integrations.slack").unwrap_err();
/// assert_eq!(err.hint_text(), Some("did you mean `channel`?"));
/// assert_eq!(err.line_column(), Some((1, 1)));
/// ```
pub fn from_node<T: DeserializeOwned>(node: &Node, key_path: &str) -> Result<T, ConfigError> {
    T::deserialize(NodeDe(node)).map_err(|e| e.into_config_error(key_path))
}

/// [`from_node`] that also names the file (and keeps its text for snippets).
pub fn from_node_in<T: DeserializeOwned>(
    node: &Node,
    key_path: &str,
    file: &Path,
    text: Option<Arc<str>>,
) -> Result<T, ConfigError> {
    from_node(node, key_path).map_err(|e| e.in_file(file, text))
}

/// The error while deserializing; converted into a [`ConfigError`] at the end.
#[derive(Debug)]
pub struct NodeError {
    kind: ConfigErrorKind,
    message: String,
    hint: Option<String>,
    loc: Option<Loc>,
    // Innermost segment last once complete; built from the inside out.
    path: Vec<String>,
}

impl NodeError {
    fn locate(mut self, loc: Loc) -> Self {
        if self.loc.is_none() && loc.is_known() {
            self.loc = Some(loc);
        }
        self
    }

    fn under(mut self, segment: String) -> Self {
        self.path.push(segment);
        self
    }

    fn into_config_error(self, prefix: &str) -> ConfigError {
        let mut path = prefix.to_owned();
        for segment in self.path.iter().rev() {
            if segment.starts_with('[') || path.is_empty() {
                path.push_str(segment);
            } else {
                path.push('.');
                path.push_str(segment);
            }
        }
        let mut err = ConfigError::new(self.kind, self.message).path(path);
        if let Some(loc) = self.loc {
            err = err.at(loc);
        }
        if let Some(hint) = self.hint {
            err = err.hint(hint);
        }
        err
    }
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NodeError {}

impl de::Error for NodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        NodeError {
            kind: ConfigErrorKind::InvalidValue,
            message: msg.to_string(),
            hint: None,
            loc: None,
            path: Vec::new(),
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let hint = match suggest(field, expected.iter().copied()) {
            Some(name) => format!("did you mean `{name}`?"),
            None => format!("known fields: {}", backticked(expected)),
        };
        NodeError {
            kind: ConfigErrorKind::UnknownField,
            message: format!("unknown field `{field}`"),
            hint: Some(hint),
            loc: None,
            path: Vec::new(),
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let hint = match suggest(variant, expected.iter().copied()) {
            Some(name) => format!("did you mean `{name}`?"),
            None => format!("expected one of {}", backticked(expected)),
        };
        NodeError {
            kind: ConfigErrorKind::InvalidValue,
            message: format!("unknown value `{variant}`"),
            hint: Some(hint),
            loc: None,
            path: Vec::new(),
        }
    }

    fn missing_field(field: &'static str) -> Self {
        NodeError {
            kind: ConfigErrorKind::MissingField,
            message: format!("missing field `{field}`"),
            hint: None,
            loc: None,
            path: Vec::new(),
        }
    }
}

pub(crate) fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

struct NodeDe<'a>(&'a Node);

impl<'de, 'a> de::Deserializer<'de> for NodeDe<'a> {
    type Error = NodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        let node = self.0;
        let result = match &node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::String(s) => visitor.visit_str(s),
            Value::Seq(items) => visitor.visit_seq(SeqDe {
                items: items.iter(),
                index: 0,
            }),
            Value::Map(entries) => visitor.visit_map(MapDe {
                entries: entries.iter(),
                current: None,
            }),
        };
        result.map_err(|e| e.locate(node.loc))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        match self.0.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        let node = self.0;
        let result = match &node.value {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Map(entries) if entries.len() == 1 => {
                let (key, value) = &entries[0];
                visitor.visit_enum(EnumDe { key, value })
            }
            other => Err(de::Error::custom(format!(
                "expected a name or a mapping with one key, found {}",
                other.kind()
            ))),
        };
        result.map_err(|e| e.locate(node.loc))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

struct SeqDe<'a> {
    items: std::slice::Iter<'a, Node>,
    index: usize,
}

impl<'de, 'a> SeqAccess<'de> for SeqDe<'a> {
    type Error = NodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, NodeError> {
        let Some(node) = self.items.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(NodeDe(node))
            .map(Some)
            .map_err(|e| e.under(format!("[{index}]")))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'a> {
    entries: std::slice::Iter<'a, (Key, Node)>,
    current: Option<&'a (Key, Node)>,
}

impl<'de, 'a> MapAccess<'de> for MapDe<'a> {
    type Error = NodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, NodeError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some(entry);
        let key = &entry.0;
        seed.deserialize(key.name.as_str().into_deserializer())
            .map(Some)
            .map_err(|e: NodeError| e.locate(key.loc))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, NodeError> {
        let (key, value) = self
            .current
            .take()
            .ok_or_else(|| de::Error::custom("value requested before its key"))?;
        seed.deserialize(NodeDe(value))
            .map_err(|e| e.under(key.name.clone()))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct EnumDe<'a> {
    key: &'a Key,
    value: &'a Node,
}

impl<'de, 'a> EnumAccess<'de> for EnumDe<'a> {
    type Error = NodeError;
    type Variant = NodeDe<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, NodeDe<'a>), NodeError> {
        let variant = seed
            .deserialize(self.key.name.as_str().into_deserializer())
            .map_err(|e: NodeError| e.locate(self.key.loc))?;
        Ok((variant, NodeDe(self.value)))
    }
}

impl<'de, 'a> VariantAccess<'de> for NodeDe<'a> {
    type Error = NodeError;

    fn unit_variant(self) -> Result<(), NodeError> {
        match self.0.value {
            Value::Null => Ok(()),
            _ => Err(
                <NodeError as de::Error>::custom("this variant takes no value").locate(self.0.loc),
            ),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, NodeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Endpoint {
        url: String,
        #[serde(default)]
        retries: u32,
        mode: Option<Mode>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Fast,
        Safe,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Root {
        #[allow(dead_code)]
        endpoints: Vec<Endpoint>,
    }

    fn parse<T: DeserializeOwned>(src: &str) -> Result<T, ConfigError> {
        from_node(&Node::parse(src).unwrap(), "")
    }

    #[test]
    fn should_deserialize_typed_structs() {
        let e: Endpoint = parse("url: https://x\nretries: 3\nmode: safe\n").unwrap();
        assert_eq!(
            e,
            Endpoint {
                url: "https://x".into(),
                retries: 3,
                mode: Some(Mode::Safe)
            }
        );
    }

    #[test]
    fn should_locate_a_wrong_type_deep_in_the_tree() {
        let err =
            parse::<Root>("endpoints:\n  - url: a\n  - url: b\n    retries: many\n").unwrap_err();
        assert_eq!(err.key_path(), "endpoints[1].retries");
        assert_eq!(err.line_column(), Some((4, 14)));
        assert!(err.message().contains("invalid type"), "{err}");
    }

    #[test]
    fn should_locate_unknown_keys_and_suggest() {
        let err = parse::<Root>("endpoints:\n  - url: a\n    retires: 2\n").unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::UnknownField);
        assert_eq!(err.line_column(), Some((3, 5)));
        assert_eq!(err.hint_text(), Some("did you mean `retries`?"));
    }

    #[test]
    fn should_suggest_enum_values() {
        let err = parse::<Endpoint>("url: a\nmode: fats\n").unwrap_err();
        assert_eq!(err.hint_text(), Some("did you mean `fast`?"));
        assert_eq!(err.line_column(), Some((2, 7)));
    }

    #[test]
    fn should_report_missing_fields_at_the_mapping() {
        let err = parse::<Root>("endpoints:\n  - retries: 1\n").unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::MissingField);
        assert_eq!(err.key_path(), "endpoints[0]");
        assert_eq!(err.line_column().map(|(l, _)| l), Some(2));
    }
}
