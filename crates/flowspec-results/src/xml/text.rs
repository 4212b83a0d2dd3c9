//! Bounded text: what keeps messages, stack excerpts and captured output small
//! whatever the report holds, plus XML reference decoding.

use std::borrow::Cow;

/// Collects text up to a bound: the first `head` bytes (and at most `max_lines`
/// lines), and optionally the last `tail` bytes, counting what was left out.
#[derive(Debug)]
pub(crate) struct Bounded {
    head: Vec<u8>,
    tail: Vec<u8>,
    head_cap: usize,
    tail_cap: usize,
    max_lines: usize,
    lines: usize,
    head_full: bool,
    total: u64,
}

impl Bounded {
    pub(crate) fn new(head_cap: usize, tail_cap: usize, max_lines: usize) -> Self {
        Bounded {
            head: Vec::new(),
            tail: Vec::new(),
            head_cap,
            tail_cap,
            max_lines,
            lines: 0,
            head_full: head_cap == 0,
            total: 0,
        }
    }

    /// Whether more text can still change the result.
    pub(crate) fn wants_more(&self) -> bool {
        !self.head_full || self.tail_cap > 0
    }

    pub(crate) fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        if !self.head_full {
            let room = self.head_cap - self.head.len();
            let mut take = bytes.len().min(room);
            if self.head.capacity() == 0 {
                self.head.reserve_exact(take.max(256).min(room));
            }
            // Stop at the line limit.
            for i in memchr::memchr_iter(b'\n', &bytes[..take]) {
                self.lines += 1;
                if self.lines >= self.max_lines {
                    take = i;
                    self.head_full = true;
                    break;
                }
            }
            self.head.extend_from_slice(&bytes[..take]);
            if take == room {
                self.head_full = true;
            }
            bytes = &bytes[take..];
            if self.head_full && !bytes.is_empty() && bytes[0] == b'\n' && take < room {
                bytes = &bytes[1..];
            }
        }
        if bytes.is_empty() || self.tail_cap == 0 {
            return;
        }
        if bytes.len() >= self.tail_cap {
            self.tail.clear();
            self.tail
                .extend_from_slice(&bytes[bytes.len() - self.tail_cap..]);
        } else {
            self.tail.extend_from_slice(bytes);
            if self.tail.len() > 2 * self.tail_cap {
                let cut = self.tail.len() - self.tail_cap;
                self.tail.drain(..cut);
            }
        }
    }

    /// The kept text, trimmed; `None` when only whitespace was seen.
    pub(crate) fn finish(self) -> Option<String> {
        let Bounded {
            head,
            tail,
            tail_cap,
            total,
            ..
        } = self;
        // The head's bytes become the string without a copy when they are UTF-8.
        let mut out = match String::from_utf8(head) {
            Ok(s) => s,
            Err(e) => {
                let cut = e.utf8_error();
                let mut bytes = e.into_bytes();
                if cut.error_len().is_none() {
                    // Cut inside a character at the bound: drop the partial character.
                    bytes.truncate(cut.valid_up_to());
                    String::from_utf8(bytes)
                        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
                } else {
                    String::from_utf8_lossy(&bytes).into_owned()
                }
            }
        };
        let tail = if tail.len() > tail_cap {
            &tail[tail.len() - tail_cap..]
        } else {
            &tail[..]
        };
        let tail = char_suffix(tail);
        let kept = (out.len() + tail.len()) as u64;
        if total > kept {
            out.truncate(out.trim_end().len());
            out.push_str(&format!("\n… [{} bytes omitted] …", total - kept));
            if !tail.is_empty() {
                out.push('\n');
                out.push_str(String::from_utf8_lossy(tail).trim_start());
            }
        }
        out.truncate(out.trim_end().len());
        let start = out.len() - out.trim_start().len();
        if start > 0 {
            out.drain(..start);
        }
        (!out.is_empty()).then_some(out)
    }
}

/// The longest suffix that does not start inside a UTF-8 sequence.
fn char_suffix(bytes: &[u8]) -> &[u8] {
    let skip = bytes
        .iter()
        .take(3)
        .take_while(|b| (**b & 0b1100_0000) == 0b1000_0000)
        .count();
    &bytes[skip..]
}

/// Truncates `text` to at most `max` bytes at a character boundary, marking the cut.
pub(crate) fn truncate(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push('…');
    // A cut text must not keep the allocation of the whole one: a list of cut
    // messages would otherwise hold every original.
    text.shrink_to_fit();
    text
}

/// The value of a reference body (`amp`, `#10`, `#x1F600`), or `None` when it is not
/// one of the five predefined entities or a valid character reference. Entities
/// declared in a DTD are never expanded.
pub(crate) fn decode_reference(name: &[u8]) -> Option<char> {
    match name {
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"amp" => Some('&'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        [b'#', b'x' | b'X', hex @ ..] => std::str::from_utf8(hex)
            .ok()
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32),
        [b'#', dec @ ..] => std::str::from_utf8(dec)
            .ok()
            .and_then(|d| d.parse::<u32>().ok())
            .and_then(char::from_u32),
        _ => None,
    }
}

/// Decodes references in an attribute value; unknown ones are kept as written.
pub(crate) fn unescape(raw: &str) -> Cow<'_, str> {
    if memchr::memchr(b'&', raw.as_bytes()).is_none() {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest[1..]
            .find(';')
            .filter(|&semi| semi <= 10)
            .and_then(|semi| decode_reference(&rest.as_bytes()[1..semi + 1]).map(|c| (c, semi)));
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &rest[semi + 2..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Parses a JUnit `time`: `1.5`, `0,25` (decimal comma), `1,234.5` or `1.234,5`
/// (grouping), `12s`; `None` when missing, empty, negative or not a number.
pub(crate) fn parse_time(raw: &str) -> Option<f64> {
    let text = raw.trim();
    let text = text.strip_suffix('s').unwrap_or(text).trim_end();
    if text.is_empty() {
        return None;
    }
    let parsed = if memchr::memchr(b',', text.as_bytes()).is_none() {
        text.parse::<f64>()
    } else {
        match (text.rfind('.'), text.rfind(',')) {
            (Some(dot), Some(comma)) if comma > dot => text.replace('.', "").replace(',', "."),
            (Some(_), Some(_)) => text.replace(',', ""),
            (None, Some(_)) if text.matches(',').count() == 1 => text.replace(',', "."),
            _ => text.replace(',', ""),
        }
        .parse::<f64>()
    };
    parsed.ok().filter(|v| v.is_finite() && *v >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_parse_time_in_its_real_forms() {
        assert_eq!(parse_time("1.5"), Some(1.5));
        assert_eq!(parse_time("0,25"), Some(0.25));
        assert_eq!(parse_time("1,234.5"), Some(1234.5));
        assert_eq!(parse_time("1.234,5"), Some(1234.5));
        assert_eq!(parse_time("1,234,567"), Some(1_234_567.0));
        assert_eq!(parse_time(" 3s "), Some(3.0));
        assert_eq!(parse_time(""), None);
        assert_eq!(parse_time("-1"), None);
        assert_eq!(parse_time("NaN"), None);
        assert_eq!(parse_time("soon"), None);
    }

    #[test]
    fn should_keep_head_and_tail_of_long_output() {
        let mut b = Bounded::new(10, 5, usize::MAX);
        b.push(b"0123456789abcdefghij");
        b.push(b"KLMNOPQRST");
        let text = b.finish().unwrap();
        assert_eq!(text, "0123456789\n… [15 bytes omitted] …\nPQRST");
    }

    #[test]
    fn should_stop_the_head_at_the_line_limit() {
        let mut b = Bounded::new(1000, 0, 2);
        b.push(b"one\ntwo\nthree\nfour");
        assert_eq!(b.finish().unwrap(), "one\ntwo\n… [11 bytes omitted] …");
    }

    #[test]
    fn should_not_split_characters() {
        let mut b = Bounded::new(4, 0, usize::MAX);
        b.push("abcé".as_bytes());
        assert!(b.finish().unwrap().starts_with("abc\n…"));
        assert_eq!(truncate("héllo".into(), 2), "h…");
    }

    #[test]
    fn should_decode_predefined_and_character_references_only() {
        assert_eq!(unescape("a &lt;b&gt; &amp; &#10;&#x41;"), "a <b> & \nA");
        assert_eq!(unescape("&lol9; & &bogus"), "&lol9; & &bogus");
        assert_eq!(decode_reference(b"#xD800"), None);
    }
}
