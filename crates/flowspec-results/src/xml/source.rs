//! A bounded buffered reader under the XML pull parser.
//!
//! It is what keeps parsing in constant memory: a fixed buffer, a limit on how much
//! one tag may take (quick-xml copies a whole tag into its event buffer), and line
//! counting done in bulk when the buffer is recycled, so an error can name its line
//! and column without a second pass over the input.

use std::io::{self, BufRead, Read};

use super::tag::is_space;

/// The buffer size: big enough that syscalls do not show in profiles.
const CAPACITY: usize = 256 * 1024;

/// The error kind returned (inside an `io::Error`) when a tag outgrows its limit.
#[derive(Debug)]
pub(crate) struct TagTooLarge {
    pub(crate) limit: u64,
}

impl std::fmt::Display for TagTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a tag longer than {} bytes", self.limit)
    }
}

impl std::error::Error for TagTooLarge {}

/// What kind of tag a [`TagSpan`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TagKind {
    Start,
    Empty,
    End,
}

/// A tag lying whole in the buffer: `<` at `buf[at]`, `len` bytes up to `>`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TagSpan {
    pub(crate) at: usize,
    pub(crate) len: usize,
    pub(crate) kind: TagKind,
    /// The element name's length (start and empty tags).
    pub(crate) name_len: usize,
}

pub(crate) struct Source<R> {
    inner: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    /// Absolute offset of `buf[0]`.
    base: u64,
    /// Newlines before `base`.
    base_lines: u64,
    /// Absolute offset of the first byte of the line `base` is on.
    base_line_start: u64,
    /// Where the current tag started, and its line/column once it left the buffer.
    mark: u64,
    mark_position: Option<(u64, u64)>,
    /// Offsets whose position must survive the buffer (the open elements' starts),
    /// resolved when their bytes leave the buffer.
    watched: Vec<(u64, Option<(u64, u64)>)>,
    /// `Some(offset)` while a tag is being read: consuming more than `tag_limit`
    /// bytes past it is refused.
    guard: Option<u64>,
    tag_limit: u64,
}

impl<R: Read> Source<R> {
    pub(crate) fn new(inner: R, tag_limit: u64) -> Self {
        Source {
            inner,
            buf: vec![0; CAPACITY].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            base: 0,
            base_lines: 0,
            base_line_start: 0,
            mark: 0,
            mark_position: None,
            watched: Vec::new(),
            guard: None,
            tag_limit,
        }
    }

    /// The absolute offset of the next unread byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Starts guarding a tag that begins at the current offset.
    pub(crate) fn begin_tag(&mut self) {
        let offset = self.offset();
        self.mark = offset;
        self.mark_position = None;
        self.guard = Some(offset);
    }

    /// Stops guarding.
    pub(crate) fn end_tag(&mut self) {
        self.guard = None;
    }

    /// Where the current (or last) tag started.
    pub(crate) fn mark(&self) -> u64 {
        self.mark
    }

    /// Keeps the position of `offset` (an element's start) until [`unwatch`](Self::unwatch).
    pub(crate) fn watch(&mut self, offset: u64) {
        let known = (offset < self.base + self.start as u64 && offset == self.mark)
            .then_some(self.mark_position)
            .flatten();
        self.watched.push((offset, known));
    }

    /// Forgets the last watched offset.
    pub(crate) fn unwatch(&mut self) {
        self.watched.pop();
    }

    /// At least `n` bytes (fewer only at the end of the input), without consuming them.
    pub(crate) fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        debug_assert!(n <= 64);
        while self.end - self.start < n && !self.eof {
            if self.start > 0 {
                self.compact();
            }
            self.read_more()?;
        }
        Ok(&self.buf[self.start..self.end])
    }

    /// The element tag at the read position when it lies whole in the buffer (and
    /// within the tag limit); `None` for anything else, which quick-xml then reads.
    pub(crate) fn tag_span(&self) -> Option<TagSpan> {
        let bytes = &self.buf[self.start..self.end];
        if bytes.len() < 3 || bytes[0] != b'<' {
            return None;
        }
        let (end, kind) = if bytes[1] == b'/' {
            let end = memchr::memchr(b'>', &bytes[2..])? + 2;
            (end, TagKind::End)
        } else {
            if matches!(bytes[1], b'!' | b'?' | b'/' | b'>' | b'<') || is_space(bytes[1]) {
                return None;
            }
            // The closing `>`, outside quoted attribute values. Usually the first `>`
            // with only (an even number of) double quotes before it.
            let first = memchr::memchr(b'>', bytes)?;
            let head = &bytes[..first];
            let end = if memchr::memchr(b'\'', head).is_none()
                && memchr::memchr_iter(b'"', head).count().is_multiple_of(2)
            {
                first
            } else {
                let mut i = 1;
                loop {
                    let j = memchr::memchr3(b'>', b'"', b'\'', &bytes[i..])? + i;
                    match bytes[j] {
                        b'>' => break j,
                        quote => i = memchr::memchr(quote, &bytes[j + 1..])? + j + 2,
                    }
                }
            };
            let kind = if bytes[end - 1] == b'/' {
                TagKind::Empty
            } else {
                TagKind::Start
            };
            (end, kind)
        };
        let len = end + 1;
        if len as u64 > self.tag_limit {
            return None;
        }
        let name_len = match kind {
            TagKind::End if end == 2 => return None,
            TagKind::End => 0,
            _ => {
                let content = &bytes[1..if kind == TagKind::Empty { end - 1 } else { end }];
                let n = content
                    .iter()
                    .position(|&b| is_space(b))
                    .unwrap_or(content.len());
                if n == 0 {
                    return None;
                }
                n
            }
        };
        Some(TagSpan {
            at: self.start,
            len,
            kind,
            name_len,
        })
    }

    /// Bytes of the buffer consumed since the last read: `buf[at..at + len]`.
    pub(crate) fn consumed(&self, at: usize, len: usize) -> &[u8] {
        &self.buf[at..at + len]
    }

    /// 1-based line and column (in bytes) of an absolute offset: exact for offsets in
    /// the buffer and for the current tag's start, the line's start otherwise.
    pub(crate) fn position(&self, offset: u64) -> (u64, u64) {
        if offset == self.mark
            && let Some(position) = self.mark_position
        {
            return position;
        }
        if let Some((_, Some(position))) = self.watched.iter().rev().find(|(o, _)| *o == offset) {
            return *position;
        }
        if offset >= self.base {
            let upto = ((offset - self.base) as usize).min(self.end);
            let slice = &self.buf[..upto];
            let lines = memchr::memchr_iter(b'\n', slice).count() as u64;
            let line_start = match memchr::memrchr(b'\n', slice) {
                Some(i) => self.base + i as u64 + 1,
                None => self.base_line_start,
            };
            return (self.base_lines + lines + 1, offset - line_start + 1);
        }
        (self.base_lines + 1, 1)
    }

    fn compact(&mut self) {
        let dropped_end = self.base + self.start as u64;
        let in_dropped = |offset: u64| offset >= self.base && offset < dropped_end;
        // Offsets whose position must be known before their bytes leave: the current
        // tag's start and open elements that started here. One pass over the dropped
        // bytes counts lines up to each of them, then to the end.
        let mut wanted: Vec<u64> = self
            .watched
            .iter()
            .filter(|(offset, known)| known.is_none() && in_dropped(*offset))
            .map(|(offset, _)| *offset)
            .collect();
        if in_dropped(self.mark) {
            wanted.push(self.mark);
        }
        wanted.sort_unstable();
        wanted.dedup();
        let mut lines = self.base_lines;
        let mut line_start = self.base_line_start;
        let mut from = 0usize;
        let mut resolved: Vec<(u64, (u64, u64))> = Vec::with_capacity(wanted.len());
        for offset in wanted {
            let to = (offset - self.base) as usize;
            let segment = &self.buf[from..to];
            lines += memchr::memchr_iter(b'\n', segment).count() as u64;
            if let Some(i) = memchr::memrchr(b'\n', segment) {
                line_start = self.base + (from + i) as u64 + 1;
            }
            resolved.push((offset, (lines + 1, offset - line_start + 1)));
            from = to;
        }
        let segment = &self.buf[from..self.start];
        lines += memchr::memchr_iter(b'\n', segment).count() as u64;
        if let Some(i) = memchr::memrchr(b'\n', segment) {
            line_start = self.base + (from + i) as u64 + 1;
        }
        for (offset, position) in resolved {
            if offset == self.mark {
                self.mark_position = Some(position);
            }
            for entry in self
                .watched
                .iter_mut()
                .filter(|(o, known)| *o == offset && known.is_none())
            {
                entry.1 = Some(position);
            }
        }
        self.base_lines = lines;
        self.base_line_start = line_start;
        self.base += self.start as u64;
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
    }

    fn read_more(&mut self) -> io::Result<()> {
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Source<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if let Some(from) = self.guard
            && self.offset() - from > self.tag_limit
        {
            return Err(io::Error::other(TagTooLarge {
                limit: self.tag_limit,
            }));
        }
        if self.start == self.end && !self.eof {
            self.compact();
            self.read_more()?;
        }
        Ok(&self.buf[self.start..self.end])
    }

    fn consume(&mut self, amount: usize) {
        self.start = (self.start + amount).min(self.end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns one byte at a time, to exercise every buffer boundary.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || out.is_empty() {
                return Ok(0);
            }
            out[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    #[test]
    fn should_name_line_and_column_of_an_offset() {
        let text = b"ab\ncd\nef";
        let mut source = Source::new(Trickle(text), 100);
        let mut all = Vec::new();
        source.read_to_end(&mut all).unwrap();
        assert_eq!(all, text);
        // Everything was compacted away one byte at a time; line counts survive.
        assert_eq!(source.base_lines, 2);
        let mut source = Source::new(&text[..], 100);
        source.fill_buf().unwrap();
        assert_eq!(source.position(0), (1, 1));
        assert_eq!(source.position(4), (2, 2));
        assert_eq!(source.position(7), (3, 2));
    }

    #[test]
    fn should_peek_across_reads() {
        let mut source = Source::new(Trickle(b"<![CDATA[x]]>"), 100);
        assert_eq!(source.peek(9).unwrap(), b"<![CDATA[");
        source.consume(9);
        assert_eq!(source.peek(4).unwrap(), b"x]]>");
    }

    #[test]
    fn should_refuse_a_tag_past_its_limit() {
        let mut source = Source::new(&b"0123456789"[..], 4);
        source.begin_tag();
        source.fill_buf().unwrap();
        source.consume(5);
        let err = source.fill_buf().unwrap_err();
        assert!(err.to_string().contains("longer than 4 bytes"), "{err}");
        source.end_tag();
        assert!(source.fill_buf().is_ok());
    }
}
