//! Text from untrusted input, made safe to print on a terminal.
//!
//! Test names and messages from a JUnit file, webhook payloads, CI logs and the names a
//! CI API returns can hold control characters: `ESC ] 0 ; … BEL` retitles a terminal,
//! other sequences move the cursor, clear the screen or change colours for good.
//! [`escape_controls`] shows every control character as a Rust escape (`\u{1b}`), so
//! it is seen instead of obeyed; [`LogEscaper`] does the same for a byte stream that
//! arrives in pieces (a followed log).
//!
//! Escaped: the C0 controls (U+0000–U+001F), DEL, the C1 controls (U+0080–U+009F,
//! which some terminals read as `ESC [`), and the bidirectional overrides that make
//! text display in another order than it reads (U+202A–U+202E, U+2066–U+2069, U+200E,
//! U+200F, U+061C). With [`Keep::Lines`], newlines, tabs and the `\r` of a `\r\n` are
//! kept.
//!
//! ```
//! use flowspec::text::{Keep, escape_controls};
//!
//! assert_eq!(escape_controls("\u{1b}]0;TITLE\u{7}", Keep::Nothing), r"\u{1b}]0;TITLE\u{7}");
//! assert_eq!(escape_controls("line 1\n\tline 2", Keep::Lines), "line 1\n\tline 2");
//! assert_eq!(escape_controls("line 1\nline 2", Keep::Nothing), r"line 1\u{a}line 2");
//! ```

use std::borrow::Cow;
use std::fmt::Write as _;

/// Which layout characters [`escape_controls`] keeps as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// None: the text stays on one line (names, ids, a status).
    Nothing,
    /// Newlines, tabs and the `\r` of `\r\n` (messages, logs, table cells).
    Lines,
}

/// Whether `c` is shown escaped (`next` is the character after it, for `\r\n`).
fn is_unsafe(c: char, next: Option<char>, keep: Keep) -> bool {
    let layout = match c {
        '\n' | '\t' => true,
        '\r' => next == Some('\n'),
        _ => false,
    };
    if layout && keep == Keep::Lines {
        return false;
    }
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every control character shown as `\u{…}` (ESC as `\u{1b}`); borrowed
/// when nothing needed escaping.
pub fn escape_controls(text: &str, keep: Keep) -> Cow<'_, str> {
    let mut chars = text.char_indices().peekable();
    let first = loop {
        let Some((i, c)) = chars.next() else {
            return Cow::Borrowed(text);
        };
        if is_unsafe(c, chars.peek().map(|&(_, n)| n), keep) {
            break i;
        }
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    let mut chars = text[first..].chars().peekable();
    while let Some(c) = chars.next() {
        if is_unsafe(c, chars.peek().copied(), keep) {
            let _ = write!(out, "{}", c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Escapes a byte stream that arrives in pieces, such as a log read chunk by chunk:
/// the control characters of [`escape_controls`] with [`Keep::Lines`], and bytes that
/// are not UTF-8 as `\xNN`. A character cut between two pieces (or a `\r` whose `\n`
/// may follow) is held until the next piece, so a split never changes the result.
#[derive(Debug, Default)]
pub struct LogEscaper {
    held: Vec<u8>,
}

impl LogEscaper {
    /// A new escaper, holding nothing.
    pub fn new() -> Self {
        LogEscaper::default()
    }

    /// The printable text of `bytes`, after what was held from the last piece.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        let mut data = std::mem::take(&mut self.held);
        data.extend_from_slice(bytes);
        let keep_from = data.len() - held_back(&data);
        self.held = data.split_off(keep_from);
        escape_bytes(&data)
    }

    /// The text of what is still held (at the end of the stream).
    pub fn finish(&mut self) -> String {
        let held = std::mem::take(&mut self.held);
        escape_bytes(&held)
    }
}

/// How many bytes at the end of `data` may change meaning with the next piece: a
/// trailing `\r`, or the start of a UTF-8 sequence that is not complete yet.
fn held_back(data: &[u8]) -> usize {
    if data.last() == Some(&b'\r') {
        return 1;
    }
    for back in 1..=data.len().min(3) {
        let byte = data[data.len() - back];
        let needed = match byte {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            0x80..=0xbf => continue,
            _ => return 0,
        };
        return if back < needed { back } else { 0 };
    }
    0
}

fn escape_bytes(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    for chunk in data.utf8_chunks() {
        out.push_str(&escape_controls(chunk.valid(), Keep::Lines));
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_escape_a_terminal_title_sequence_from_a_test_name() {
        let name = "\u{1b}]0;TITLE\u{7}";
        let shown = escape_controls(name, Keep::Nothing);
        assert_eq!(shown, r"\u{1b}]0;TITLE\u{7}");
        assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}'));
    }

    #[test]
    fn should_borrow_text_that_needs_no_escaping() {
        assert!(matches!(
            escape_controls("com.example.CheckoutIT::paysWithCard é ✓", Keep::Nothing),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            escape_controls("a\n\tb\r\n", Keep::Lines),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn should_keep_lines_and_tabs_only_when_asked() {
        assert_eq!(escape_controls("a\nb\tc", Keep::Lines), "a\nb\tc");
        assert_eq!(escape_controls("a\nb\tc", Keep::Nothing), r"a\u{a}b\u{9}c");
        assert_eq!(escape_controls("a\r\nb", Keep::Lines), "a\r\nb");
        assert_eq!(
            escape_controls("done\rfake", Keep::Lines),
            r"done\u{d}fake",
            "a lone carriage return would overwrite the line"
        );
    }

    #[test]
    fn should_escape_c1_controls_delete_and_bidirectional_overrides() {
        assert_eq!(escape_controls("\u{9b}2J", Keep::Lines), r"\u{9b}2J");
        assert_eq!(escape_controls("x\u{7f}", Keep::Lines), r"x\u{7f}");
        assert_eq!(
            escape_controls("admin\u{202e}txt.exe", Keep::Lines),
            r"admin\u{202e}txt.exe"
        );
    }

    #[test]
    fn should_escape_a_log_the_same_however_it_is_cut() {
        let log = "ok ✓\r\n\u{1b}[2Jgone\u{9b}\r\ndone".as_bytes();
        let whole = {
            let mut e = LogEscaper::new();
            let mut text = e.push(log);
            text.push_str(&e.finish());
            text
        };
        assert_eq!(whole, "ok ✓\r\n\\u{1b}[2Jgone\\u{9b}\r\ndone");
        for cut in 0..=log.len() {
            let mut e = LogEscaper::new();
            let mut text = e.push(&log[..cut]);
            text.push_str(&e.push(&log[cut..]));
            text.push_str(&e.finish());
            assert_eq!(text, whole, "cut at byte {cut}");
        }
    }

    #[test]
    fn should_show_bytes_that_are_not_utf8_as_hex() {
        let mut e = LogEscaper::new();
        assert_eq!(e.push(b"a\xffb\x9bc"), r"a\xffb\x9bc");
        assert_eq!(e.push(b"end\xe2\x9c"), "end");
        assert_eq!(e.finish(), r"\xe2\x9c", "a character cut at the end");
    }
}
