//! Reading a whole JSON report (CTRF, Jest, mocha, RSpec), bounded in size.

use std::io::Read;

use serde::de::DeserializeOwned;

use crate::error::{ParseError, ParseErrorKind};
use crate::xml::text::truncate;

/// A larger JSON report is refused (it is read whole).
pub const MAX_JSON_REPORT_BYTES: u64 = 512 * 1024 * 1024;

/// Reads and parses a whole document of the format named `what`.
pub(crate) fn read_json<T: DeserializeOwned, R: Read>(
    input: R,
    what: &str,
) -> Result<T, ParseError> {
    let mut bytes = Vec::new();
    input
        .take(MAX_JSON_REPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ParseError::new(ParseErrorKind::Io, 1, 1, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_JSON_REPORT_BYTES {
        return Err(ParseError::new(
            ParseErrorKind::TooLarge,
            1,
            1,
            format!(
                "the {what} report is larger than {} MiB; split the run into several reports",
                MAX_JSON_REPORT_BYTES / (1024 * 1024)
            ),
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        let kind = if e.is_eof() {
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
    })
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
