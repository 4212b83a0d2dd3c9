//! Streaming a JSON report (CTRF, Jest, mocha, RSpec): the document is walked with
//! serde visitors and each test entry is handed on as soon as it is read, so memory
//! stays flat whatever the number of tests.

use std::fmt;
use std::io::{BufReader, Read};
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{DeserializeSeed, SeqAccess, Visitor};

use crate::error::{ParseError, ParseErrorKind};
use crate::xml::text::truncate;

/// Walks the document read from `input` with `seed` (a visitor over the top-level
/// object), then checks that nothing but whitespace follows it.
pub(crate) fn stream_json<R: Read, S>(input: R, what: &str, seed: S) -> Result<(), ParseError>
where
    S: for<'de> DeserializeSeed<'de, Value = ()>,
{
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(64 * 1024, input));
    seed.deserialize(&mut de).map_err(|e| json_error(e, what))?;
    de.end().map_err(|e| json_error(e, what))
}

fn json_error(e: serde_json::Error, what: &str) -> ParseError {
    let kind = if e.is_io() {
        ParseErrorKind::Io
    } else if e.is_eof() {
        ParseErrorKind::Truncated
    } else {
        ParseErrorKind::Syntax
    };
    ParseError::new(
        kind,
        e.line() as u64,
        e.column() as u64,
        format!("not a valid {what} report: {e}"),
    )
}

/// Deserializes a JSON array element by element, handing each to `on_item`; the array
/// itself is never held. `null` counts as an empty array.
pub(crate) struct EachOf<'f, T, F> {
    on_item: &'f mut F,
    item: PhantomData<fn() -> T>,
}

impl<'f, T, F> EachOf<'f, T, F> {
    pub(crate) fn new(on_item: &'f mut F) -> Self {
        EachOf {
            on_item,
            item: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>, F: FnMut(T)> DeserializeSeed<'de> for EachOf<'_, T, F> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, T: Deserialize<'de>, F: FnMut(T)> Visitor<'de> for EachOf<'_, T, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<T>()? {
            (self.on_item)(item);
        }
        Ok(())
    }
}

/// Removes ANSI colour sequences (`ESC [ … m`) that test runners leave in messages.
pub(crate) fn strip_ansi(text: &str) -> String {
    // Most messages hold no escape at all: one search, one copy.
    if memchr::memchr(0x1b, text.as_bytes()).is_none() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// At most `max_bytes` and `max_lines` lines of `text`, trimmed; `None` if blank.
pub(crate) fn excerpt(text: &str, max_bytes: usize, max_lines: usize) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let cut = match text.match_indices('\n').nth(max_lines.saturating_sub(1)) {
        Some((at, _)) => &text[..at],
        None => text,
    };
    Some(truncate(cut.to_owned(), max_bytes))
}

/// The first line that is not blank, bounded.
pub(crate) fn first_line(text: &str, max_bytes: usize) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| truncate(l.to_owned(), max_bytes))
}

/// The location of the first JavaScript stack frame (`at fn (path:line:col)` or
/// `at path:line:col`) in `file` when given, else outside `node_modules` and node's
/// internals.
pub(crate) fn js_location(stack: &str, file: Option<&str>) -> Option<(String, u32)> {
    stack.lines().find_map(|line| {
        let frame = line.trim().strip_prefix("at ")?;
        let place = match frame.rfind('(') {
            Some(open) => frame[open + 1..].trim_end_matches(')'),
            None => frame,
        };
        let place = place.strip_prefix("file://").unwrap_or(place);
        let mut parts = place.rsplitn(3, ':');
        let (_column, line, path) = (parts.next()?, parts.next()?, parts.next()?);
        let line: u32 = line.parse().ok()?;
        let wanted = match file {
            Some(file) => path == file || path.ends_with(file) || file.ends_with(path),
            None => !path.contains("node_modules") && !path.starts_with("node:"),
        };
        wanted.then(|| (path.to_owned(), line))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_find_the_frame_of_the_test_file_in_a_js_stack() {
        let stack = "Error: boom\n    at helper (/app/node_modules/x/index.js:3:9)\n    at Context.<anonymous> (file:///app/test/cart.js:8:20)";
        assert_eq!(
            js_location(stack, None),
            Some(("/app/test/cart.js".to_owned(), 8))
        );
        assert_eq!(
            js_location(stack, Some("/app/test/cart.js")).map(|l| l.1),
            Some(8)
        );
        assert_eq!(js_location(stack, Some("/app/other.js")), None);
    }

    #[test]
    fn should_strip_colour_sequences() {
        assert_eq!(strip_ansi("\u{1b}[31mred\u{1b}[39m ok"), "red ok");
    }
}
