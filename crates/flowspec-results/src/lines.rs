//! Reading line-based reports (TAP, JSON lines) one bounded line at a time.

use std::io::{BufRead, BufReader, Read};

use crate::error::{ParseError, ParseErrorKind};

/// A longer line is cut (the rest of it skipped).
pub(crate) const MAX_LINE_BYTES: usize = 1024 * 1024;

pub(crate) struct LineReader<R: Read> {
    input: BufReader<R>,
    /// Lines read so far: the 1-based number of the line in `buf`.
    pub(crate) line: u64,
    pub(crate) buf: Vec<u8>,
}

impl<R: Read> LineReader<R> {
    pub(crate) fn new(input: R) -> Self {
        LineReader {
            input: BufReader::with_capacity(64 * 1024, input),
            line: 0,
            buf: Vec::new(),
        }
    }

    /// Reads one line into `buf` without its line ending (cut at
    /// [`MAX_LINE_BYTES`]); false at the end of the input.
    pub(crate) fn read_line(&mut self) -> Result<bool, ParseError> {
        self.buf.clear();
        let mut any = false;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(ParseError::new(
                        ParseErrorKind::Io,
                        self.line + 1,
                        1,
                        format!("cannot read: {e}"),
                    ));
                }
            };
            if chunk.is_empty() {
                if any {
                    self.line += 1;
                }
                return Ok(any);
            }
            any = true;
            let (take, end) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            self.input.consume(take);
            if end {
                self.line += 1;
                while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                    self.buf.pop();
                }
                return Ok(true);
            }
        }
    }

    /// The current line as text (invalid UTF-8 replaced).
    pub(crate) fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.buf)
    }
}
