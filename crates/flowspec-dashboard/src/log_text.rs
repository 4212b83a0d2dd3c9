//! A job's log with its lines indexed, so that a page of a large log costs its window
//! rather than the whole log, and a search scans one prepared copy of it (escape
//! sequences removed, lower case) instead of converting every line on every search.

use std::sync::OnceLock;

use axum::body::Bytes;
use memchr::memmem;

use crate::ansi;

/// A log and where each of its lines starts.
pub(crate) struct LogText {
    bytes: Bytes,
    /// The start of every line, then one past the end of the last (so line `i` is
    /// `starts[i]..starts[i + 1] - 1`).
    starts: Vec<usize>,
    /// Built on the first search.
    search: OnceLock<Indexed>,
}

/// Text and its line starts, as [`LogText`] keeps them.
struct Indexed {
    text: Vec<u8>,
    starts: Vec<usize>,
}

/// Line starts of `text` whose lines each end in `\n` (the last one may not).
fn line_starts(text: &[u8]) -> Vec<usize> {
    if text.is_empty() {
        return Vec::new();
    }
    // A final `\n` ends the last line; it does not start another one.
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let mut starts = Vec::with_capacity(body.len() / 64 + 2);
    starts.push(0);
    starts.extend(memchr::memchr_iter(b'\n', body).map(|i| i + 1));
    starts.push(body.len() + 1);
    starts
}

/// `line` as a search sees it: without escape sequences and control characters, in
/// lower case.
fn searchable(line: &[u8], out: &mut Vec<u8>) {
    let simple = line.iter().all(|b| (0x20..0x7f).contains(b));
    if simple {
        out.extend(line.iter().map(u8::to_ascii_lowercase));
    } else {
        let text = String::from_utf8_lossy(line);
        out.extend_from_slice(ansi::plain(&text).to_lowercase().as_bytes());
    }
}

impl LogText {
    /// `bytes`, indexed.
    pub(crate) fn new(bytes: impl Into<Bytes>) -> LogText {
        let bytes = bytes.into();
        let starts = line_starts(&bytes);
        LogText {
            bytes,
            starts,
            search: OnceLock::new(),
        }
    }

    /// The log as the platform sent it.
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// How many lines it has (a final `\n` does not start another).
    pub(crate) fn line_count(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// Line `index` (from 0), without its `\n`.
    pub(crate) fn line(&self, index: usize) -> &[u8] {
        &self.bytes[self.starts[index]..self.starts[index + 1] - 1]
    }

    /// The lines (from 0) that contain `needle`, ignoring case and escape sequences:
    /// the first `most` of them, and how many there are in all.
    pub(crate) fn find(&self, needle: &str, most: usize) -> (Vec<usize>, usize) {
        let needle = needle.to_lowercase();
        if needle.is_empty() || needle.contains('\n') {
            return (Vec::new(), 0);
        }
        let index = self.search.get_or_init(|| {
            let mut text = Vec::with_capacity(self.bytes.len());
            for i in 0..self.line_count() {
                searchable(self.line(i), &mut text);
                text.push(b'\n');
            }
            let starts = line_starts(&text);
            Indexed { text, starts }
        });
        let (mut shown, mut matched) = (Vec::new(), 0);
        let mut from = 0;
        let finder = memmem::Finder::new(needle.as_bytes());
        while let Some(at) = finder.find(&index.text[from..]) {
            let line = index.starts.partition_point(|s| *s <= from + at) - 1;
            matched += 1;
            if shown.len() < most {
                shown.push(line);
            }
            // One match per line: go on after this line's end.
            from = index.starts[line + 1];
            if from >= index.text.len() {
                break;
            }
        }
        (shown, matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_count_lines_without_a_phantom_last_one() {
        assert_eq!(LogText::new(&b"a\nb\n"[..]).line_count(), 2);
        assert_eq!(LogText::new(&b"a\nb"[..]).line_count(), 2);
        assert_eq!(LogText::new(&b""[..]).line_count(), 0);
        assert_eq!(LogText::new(&b"\n"[..]).line_count(), 1);
        let log = LogText::new(&b"one\n\nthree"[..]);
        let lines: Vec<&[u8]> = (0..3).map(|i| log.line(i)).collect();
        assert_eq!(lines, [&b"one"[..], b"", b"three"]);
    }

    #[test]
    fn should_find_lines_ignoring_case_and_colours_once_per_line() {
        let log = LogText::new(
            "compiling\n\u{1b}[31mFAI\u{1b}[0mLED: failed twice\nok\nÉCHEC Failed\nfailed",
        );
        assert_eq!(log.find("failed", 10), (vec![1, 3, 4], 3));
        assert_eq!(
            log.find("failed", 1),
            (vec![1], 3),
            "the first shown, all counted"
        );
        assert_eq!(log.find("échec", 10), (vec![3], 1), "beyond ASCII too");
        assert_eq!(
            log.find("[31m", 10),
            (vec![], 0),
            "escape sequences are not text"
        );
        assert_eq!(log.find("", 10), (vec![], 0));
    }
}
