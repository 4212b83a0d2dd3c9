//! A start tag as the format readers see it, and a fast scanner of its attributes.
//!
//! The tag borrows the parser's input buffer (or quick-xml's event buffer for a tag
//! that straddles two reads): nothing is copied until a reader keeps a value.

use std::borrow::Cow;

use super::text::unescape;

/// An element's start tag (`<name attr="v" …>` or `<name …/>`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tag<'a> {
    name: &'a str,
    attributes: &'a str,
}

impl<'a> Tag<'a> {
    /// `content` is what lies between `<` and `>` (or `/>`), `name_len` the length
    /// of the element name at its start.
    pub(crate) fn new(content: &'a str, name_len: usize) -> Self {
        let (name, attributes) = content.split_at(name_len);
        Tag { name, attributes }
    }

    /// The qualified name: `t:TestRun`.
    pub(crate) fn name(&self) -> &'a str {
        self.name
    }

    /// The name without its namespace prefix: `TestRun`.
    pub(crate) fn local(&self) -> &'a [u8] {
        local(self.name).as_bytes()
    }

    /// The attributes in document order: (local name, raw value).
    pub(crate) fn attributes(&self) -> Attributes<'a> {
        Attributes {
            rest: self.attributes,
        }
    }

    /// The values of the attributes named (by local name) in `keys`, decoded (and
    /// borrowed from the tag when they hold no reference); an attribute the
    /// document repeats keeps its last value. Malformed attributes end the list
    /// (strict readers use [`attributes`](Self::attributes)).
    pub(crate) fn values<const N: usize>(&self, keys: [&[u8]; N]) -> [Option<Cow<'a, str>>; N] {
        let mut out = [const { None }; N];
        for (key, value) in self.attributes().map_while(Result::ok) {
            if let Some(i) = keys.iter().position(|k| *k == key.as_bytes()) {
                out[i] = Some(unescape(value));
            }
        }
        out
    }

    /// One attribute's decoded value.
    pub(crate) fn value(&self, key: &[u8]) -> Option<Cow<'a, str>> {
        self.attributes()
            .map_while(Result::ok)
            .find(|(k, _)| k.as_bytes() == key)
            .map(|(_, v)| unescape(v))
    }
}

fn local(name: &str) -> &str {
    // Names are a few bytes: a plain loop is cheaper than a vectorised search here.
    match name.bytes().position(|b| b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// An attribute's value, kept.
pub(crate) fn owned(value: Option<Cow<'_, str>>) -> Option<String> {
    value.map(Cow::into_owned)
}

/// XML whitespace.
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Iterates `key="value"` pairs; after a malformed one, yields its error and stops.
pub(crate) struct Attributes<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Attributes<'a> {
    /// (local name, raw value) or what is wrong.
    type Item = Result<(&'a str, &'a str), String>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest.trim_ascii_start();
        if rest.is_empty() {
            self.rest = rest;
            return None;
        }
        self.rest = "";
        let Some(eq) = memchr::memchr(b'=', rest.as_bytes()) else {
            return Some(Err(format!(
                "invalid attribute: `{}` has no value",
                short(rest)
            )));
        };
        let key = rest[..eq].trim_ascii_end();
        if key.is_empty() || key.bytes().any(is_space) {
            return Some(Err(format!(
                "invalid attribute: `{}` before `=` is not a name",
                short(key)
            )));
        }
        let after = rest[eq + 1..].trim_ascii_start();
        let quote = match after.as_bytes().first() {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => {
                return Some(Err(format!(
                    "invalid attribute: the value of `{}` is not quoted",
                    short(key)
                )));
            }
        };
        let Some(end) = memchr::memchr(quote, &after.as_bytes()[1..]) else {
            return Some(Err(format!(
                "invalid attribute: the value of `{}` is not closed",
                short(key)
            )));
        };
        let value = &after[1..1 + end];
        self.rest = &after[end + 2..];
        Some(Ok((local(key), value)))
    }
}

fn short(text: &str) -> String {
    super::text::truncate(text.to_owned(), 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_read_attributes_in_either_quotes_with_spaces() {
        let tag = Tag::new("t:a x = \"1\"\ty='a\"b' ns:z=\"&lt;\" ", 3);
        assert_eq!(tag.name(), "t:a");
        assert_eq!(tag.local(), b"a");
        let all: Vec<_> = tag.attributes().collect::<Result<_, _>>().unwrap();
        assert_eq!(all, [("x", "1"), ("y", "a\"b"), ("z", "&lt;")]);
        assert_eq!(
            tag.values([b"z", b"x", b"w"]),
            [Some("<".into()), Some("1".into()), None]
        );
        assert_eq!(tag.value(b"y").as_deref(), Some("a\"b"));
    }

    #[test]
    fn should_stop_at_a_malformed_attribute() {
        for bad in ["a b", "a=1", "a=\"1", "=\"1\"", "a b=\"1\""] {
            let tag = Tag::new(bad, 0);
            let items: Vec<_> = tag.attributes().collect();
            assert!(items.last().unwrap().is_err(), "{bad}: {items:?}");
        }
    }
}
