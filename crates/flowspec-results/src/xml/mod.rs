//! The streaming XML layer shared by the JUnit and Cobertura parsers.
//!
//! quick-xml reads the tags (names, attributes, well-formedness of the nesting); the
//! content between tags — text, CDATA sections, comments, references — is scanned
//! here with `memchr` straight into a [`Bounded`] collector or skipped, so that a
//! gigabyte of `system-out` never sits in memory. No DTD is ever processed: a
//! document declaring entities is refused, and only the five predefined entities
//! and character references are decoded.

pub(crate) mod elements;
mod source;
mod tag;
pub(crate) mod text;

use std::io::{BufRead, Read};

use quick_xml::events::Event;

use crate::error::{ParseError, ParseErrorKind};
use source::{Source, TagTooLarge};
pub(crate) use tag::{Tag, owned};
pub(crate) use text::Bounded;

/// Limits that keep memory constant.
#[derive(Clone, Copy, Debug)]
pub(crate) struct XmlLimits {
    pub(crate) max_depth: usize,
    pub(crate) max_tag_bytes: u64,
}

/// What the pull parser hands to the format parsers.
pub(crate) enum XmlEvent<'a> {
    /// An element opens (`empty` for `<x/>`, which is not followed by an `End`).
    Start { tag: Tag<'a>, empty: bool },
    /// The innermost open element closes.
    End,
    /// The end of a well-formed document.
    Eof,
}

pub(crate) struct XmlPull<R: Read> {
    reader: quick_xml::Reader<Source<R>>,
    buf: Vec<u8>,
    /// Open elements: their names in one string, and where each started.
    names: String,
    open: Vec<(usize, u64)>,
    limits: XmlLimits,
    done: bool,
}

impl<R: Read> XmlPull<R> {
    pub(crate) fn new(input: R, limits: XmlLimits) -> Self {
        let mut reader = quick_xml::Reader::from_reader(Source::new(input, limits.max_tag_bytes));
        let config = reader.config_mut();
        // End names are checked here (most tags never reach quick-xml).
        config.check_end_names = false;
        config.expand_empty_elements = false;
        XmlPull {
            reader,
            buf: Vec::with_capacity(1024),
            names: String::new(),
            open: Vec::new(),
            limits,
            done: false,
        }
    }

    /// Bytes consumed so far.
    pub(crate) fn offset(&self) -> u64 {
        self.reader.get_ref().offset()
    }

    /// The next tag event; the content before it goes to `sink` (or is skipped).
    pub(crate) fn next(&mut self, sink: Option<&mut Bounded>) -> Result<XmlEvent<'_>, ParseError> {
        if self.done {
            return Ok(XmlEvent::Eof);
        }
        let mut sink = sink;
        // Skip declarations, processing instructions and the DOCTYPE; stop before an
        // element tag. (The event is read after the loop: a borrow of the event buffer
        // cannot be returned from inside it.)
        loop {
            self.scan_content(sink.as_deref_mut())?;
            let head = match self.reader.get_mut().peek(2) {
                Ok(h) => h,
                Err(e) => return Err(self.fail_io(e)),
            };
            if head.is_empty() {
                return self.end_of_input();
            }
            if !(head.starts_with(b"<?") || head.starts_with(b"<!")) {
                break;
            }
            self.reader.get_mut().begin_tag();
            self.buf.clear();
            let result = self.reader.read_event_into(&mut self.buf);
            self.reader.get_mut().end_tag();
            match result {
                Err(e) => {
                    self.done = true;
                    return Err(quick_xml_error(&self.reader, e));
                }
                Ok(Event::DocType(doctype)) => {
                    if doctype.as_ref().contains("<!ENTITY") {
                        return Err(self.fail_at_mark(
                            ParseErrorKind::EntityRefused,
                            "the document declares entities in its DTD; entity expansion is refused (remove the <!DOCTYPE ...> internal subset)".to_owned(),
                        ));
                    }
                }
                Ok(_) => {}
            }
        }
        // Once the root is open, a tag that lies whole in the buffer is read in place.
        if !self.open.is_empty()
            && let Some(span) = self.reader.get_mut().tag_span()
        {
            return self.in_place(span);
        }
        self.reader.get_mut().begin_tag();
        self.buf.clear();
        let result = self.reader.read_event_into(&mut self.buf);
        self.reader.get_mut().end_tag();
        // Only fields other than `buf` below: a returned tag borrows it.
        let (at, len, name_len, empty) = match result {
            Err(e) => {
                self.done = true;
                return Err(quick_xml_error(&self.reader, e));
            }
            Ok(Event::End(end)) => {
                let checked = check_end(
                    &self.names,
                    &self.open,
                    end.name().as_ref().as_bytes(),
                    self.reader.get_ref(),
                );
                return self.closed(checked);
            }
            Ok(Event::Empty(tag)) => (
                tag.as_ptr() as usize,
                tag.len(),
                tag.name().as_ref().len(),
                true,
            ),
            Ok(Event::Start(tag)) => (
                tag.as_ptr() as usize,
                tag.len(),
                tag.name().as_ref().len(),
                false,
            ),
            Ok(Event::Eof) => {
                self.done = true;
                return match self.open.last() {
                    Some(&(start, at)) => {
                        Err(truncated(self.reader.get_ref(), &self.names[start..], at))
                    }
                    None => Ok(XmlEvent::Eof),
                };
            }
            Ok(_) => {
                return Err(error_at_mark(
                    self.reader.get_ref(),
                    ParseErrorKind::Syntax,
                    "unexpected markup".to_owned(),
                ));
            }
        };
        // Where in the event buffer the tag is.
        let at = at.wrapping_sub(self.buf.as_ptr() as usize);
        self.open_element(empty)?;
        // quick-xml validated the tag as UTF-8.
        let content = self
            .buf
            .get(at..at.saturating_add(len))
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default();
        let tag = Tag::new(content, name_len.min(content.len()));
        if !empty {
            self.names.push_str(tag.name());
        }
        Ok(XmlEvent::Start { tag, empty })
    }

    /// The tag `span` found whole in the buffer, consumed.
    fn in_place(&mut self, span: source::TagSpan) -> Result<XmlEvent<'_>, ParseError> {
        let source = self.reader.get_mut();
        source.begin_tag();
        source.consume(span.len);
        source.end_tag();
        let empty = span.kind == source::TagKind::Empty;
        if span.kind != source::TagKind::End {
            self.open_element(empty)?;
        }
        if span.kind == source::TagKind::End {
            let source = self.reader.get_ref();
            let name = source.consumed(span.at + 2, span.len - 3).trim_ascii_end();
            let checked = check_end(&self.names, &self.open, name, source);
            return self.closed(checked);
        }
        let source = self.reader.get_ref();
        let content_len = span.len - if empty { 3 } else { 2 };
        let Ok(content) = std::str::from_utf8(source.consumed(span.at + 1, content_len)) else {
            self.done = true;
            return Err(error_at_mark(
                source,
                ParseErrorKind::Encoding,
                "a tag is not valid UTF-8".to_owned(),
            ));
        };
        let tag = Tag::new(content, span.name_len);
        if !empty {
            self.names.push_str(tag.name());
        }
        Ok(XmlEvent::Start { tag, empty })
    }

    /// Before a start tag's event: a non-empty element is opened (the depth limit,
    /// its start kept for errors; its name is added by the caller).
    fn open_element(&mut self, empty: bool) -> Result<(), ParseError> {
        if empty {
            return Ok(());
        }
        let source = self.reader.get_mut();
        if self.open.len() >= self.limits.max_depth {
            self.done = true;
            return Err(error_at_mark(
                source,
                ParseErrorKind::TooDeep,
                format!(
                    "elements are nested more than {} deep",
                    self.limits.max_depth
                ),
            ));
        }
        let at = source.mark();
        self.open.push((self.names.len(), at));
        source.watch(at);
        Ok(())
    }

    /// After an end tag was checked: the innermost element is closed.
    fn closed(
        &mut self,
        checked: Result<usize, ParseError>,
    ) -> Result<XmlEvent<'static>, ParseError> {
        let start = checked.inspect_err(|_| self.done = true)?;
        self.open.pop();
        self.names.truncate(start);
        self.reader.get_mut().unwatch();
        Ok(XmlEvent::End)
    }

    fn end_of_input(&mut self) -> Result<XmlEvent<'static>, ParseError> {
        self.done = true;
        match self.open.last() {
            Some(&(start, at)) => Err(truncated(self.reader.get_ref(), &self.names[start..], at)),
            None => Ok(XmlEvent::Eof),
        }
    }

    /// Consumes content up to the next tag.
    fn scan_content(&mut self, mut sink: Option<&mut Bounded>) -> Result<(), ParseError> {
        loop {
            if sink.as_deref().is_some_and(|s| !s.wants_more()) {
                sink = None;
            }
            let source = self.reader.get_mut();
            let available = match source.fill_buf() {
                Ok(a) => a,
                Err(e) => return Err(self.fail_io(e)),
            };
            if available.is_empty() {
                return Ok(());
            }
            let found = match &sink {
                Some(_) => memchr::memchr2(b'<', b'&', available),
                None => memchr::memchr(b'<', available),
            };
            let Some(i) = found else {
                let n = available.len();
                if let Some(s) = sink.as_deref_mut() {
                    s.push(available);
                }
                source.consume(n);
                continue;
            };
            if let Some(s) = sink.as_deref_mut() {
                s.push(&available[..i]);
            }
            let special = available[i];
            source.consume(i);
            if special == b'&' {
                self.scan_reference(sink.as_deref_mut())?;
                continue;
            }
            let head = match source.peek(9) {
                Ok(h) => h,
                Err(e) => return Err(self.fail_io(e)),
            };
            if head.starts_with(b"<![CDATA[") {
                source.consume(9);
                self.scan_until(b"]]>", sink.as_deref_mut(), "CDATA section")?;
            } else if head.starts_with(b"<!--") {
                source.consume(4);
                self.scan_until(b"-->", None, "comment")?;
            } else {
                return Ok(());
            }
        }
    }

    /// At `&`: decodes a reference into the sink; unknown ones are kept as written.
    fn scan_reference(&mut self, sink: Option<&mut Bounded>) -> Result<(), ParseError> {
        let source = self.reader.get_mut();
        let head = match source.peek(12) {
            Ok(h) => h,
            Err(e) => return Err(self.fail_io(e)),
        };
        let decoded = head[1..]
            .iter()
            .position(|&b| b == b';')
            .and_then(|semi| text::decode_reference(&head[1..semi + 1]).map(|c| (c, semi + 2)));
        let sink = sink.expect("references are only scanned into a sink");
        match decoded {
            Some((c, len)) => {
                let mut utf8 = [0u8; 4];
                sink.push(c.encode_utf8(&mut utf8).as_bytes());
                source.consume(len);
            }
            None => {
                sink.push(b"&");
                source.consume(1);
            }
        }
        Ok(())
    }

    /// Consumes up to and including `end`, passing what comes before it to the sink.
    fn scan_until(
        &mut self,
        end: &[u8; 3],
        mut sink: Option<&mut Bounded>,
        what: &str,
    ) -> Result<(), ParseError> {
        let started = self.offset();
        loop {
            let source = self.reader.get_mut();
            let available = match source.peek(3) {
                Ok(a) => a,
                Err(e) => return Err(self.fail_io(e)),
            };
            if available.len() < 3 {
                let (line, column) = self.reader.get_ref().position(started);
                return Err(ParseError::new(
                    ParseErrorKind::Truncated,
                    line,
                    column,
                    format!("the file ends inside a {what} (truncated report?)"),
                ));
            }
            let available = source.fill_buf().map_err(|e| e.to_string());
            let available = match available {
                Ok(a) => a,
                Err(message) => {
                    let (line, column) = self.reader.get_ref().position(started);
                    return Err(ParseError::new(ParseErrorKind::Io, line, column, message));
                }
            };
            match memchr::memmem::find(available, end) {
                Some(i) => {
                    if let Some(s) = sink.as_deref_mut() {
                        s.push(&available[..i]);
                    }
                    source.consume(i + 3);
                    return Ok(());
                }
                None => {
                    // Keep the last two bytes: the end marker may straddle the buffer.
                    let n = available.len() - 2;
                    if let Some(s) = sink.as_deref_mut() {
                        s.push(&available[..n]);
                    }
                    source.consume(n);
                }
            }
        }
    }

    /// 1-based line and column of the current tag's start.
    pub(crate) fn mark_position(&self) -> (u64, u64) {
        let source = self.reader.get_ref();
        source.position(source.mark())
    }

    pub(crate) fn fail_at_mark(&self, kind: ParseErrorKind, message: String) -> ParseError {
        error_at_mark(self.reader.get_ref(), kind, message)
    }

    fn fail_io(&self, error: std::io::Error) -> ParseError {
        let offset = self.offset();
        let (line, column) = self.reader.get_ref().position(offset);
        ParseError::new(
            ParseErrorKind::Io,
            line,
            column,
            format!("cannot read: {error}"),
        )
    }
}

/// The end tag `name` must close the innermost open element: where its name starts.
fn check_end<R: Read>(
    names: &str,
    open: &[(usize, u64)],
    name: &[u8],
    source: &Source<R>,
) -> Result<usize, ParseError> {
    let message = match open.last() {
        Some(&(start, _)) if names.as_bytes()[start..] == *name => return Ok(start),
        Some(&(start, _)) => format!(
            "</{}> closes <{}>",
            String::from_utf8_lossy(name),
            &names[start..]
        ),
        None => format!("</{}> closes nothing", String::from_utf8_lossy(name)),
    };
    Err(error_at_mark(source, ParseErrorKind::Syntax, message))
}

fn error_at_mark<R: Read>(source: &Source<R>, kind: ParseErrorKind, message: String) -> ParseError {
    let (line, column) = source.position(source.mark());
    ParseError::new(kind, line, column, message)
}

fn truncated<R: Read>(source: &Source<R>, name: &str, at: u64) -> ParseError {
    let (line, column) = source.position(at);
    let (end_line, end_column) = source.position(source.offset());
    ParseError::new(
        ParseErrorKind::Truncated,
        end_line,
        end_column,
        format!(
            "the file ends inside <{name}> opened at line {line}, column {column} (truncated report?)"
        ),
    )
}

fn quick_xml_error<R: Read>(
    reader: &quick_xml::Reader<Source<R>>,
    error: quick_xml::Error,
) -> ParseError {
    let source = reader.get_ref();
    if let quick_xml::Error::Io(io) = &error
        && let Some(inner) = io.get_ref().and_then(|e| e.downcast_ref::<TagTooLarge>())
    {
        let (line, column) = source.position(source.mark());
        return ParseError::new(
            ParseErrorKind::TagTooLarge,
            line,
            column,
            format!("{inner} (the limit keeps memory bounded)"),
        );
    }
    let kind = match &error {
        quick_xml::Error::Io(_) => ParseErrorKind::Io,
        quick_xml::Error::Encoding(_) => ParseErrorKind::Encoding,
        _ => ParseErrorKind::Syntax,
    };
    // Syntax errors that run into the end of the input mean a truncated file.
    let at_eof = matches!(
        &error,
        quick_xml::Error::Syntax(
            quick_xml::errors::SyntaxError::UnclosedTag
                | quick_xml::errors::SyntaxError::UnclosedCData
                | quick_xml::errors::SyntaxError::UnclosedComment
                | quick_xml::errors::SyntaxError::UnclosedDoctype
                | quick_xml::errors::SyntaxError::UnclosedPI
                | quick_xml::errors::SyntaxError::UnclosedXmlDecl
                | quick_xml::errors::SyntaxError::UnclosedSingleQuotedAttributeValue
                | quick_xml::errors::SyntaxError::UnclosedDoubleQuotedAttributeValue
        )
    );
    let kind = if at_eof {
        ParseErrorKind::Truncated
    } else {
        kind
    };
    // Where the tag in error starts: more useful than where quick-xml gave up.
    let (line, column) = source.position(source.mark());
    let message = match &error {
        quick_xml::Error::IllFormed(quick_xml::errors::IllFormedError::MismatchedEndTag {
            expected,
            found,
        }) => format!("</{found}> closes <{expected}>"),
        quick_xml::Error::IllFormed(quick_xml::errors::IllFormedError::UnmatchedEndTag(name)) => {
            format!("</{name}> closes nothing")
        }
        other if at_eof => format!("the file ends inside this tag: {other} (truncated report?)"),
        other => other.to_string(),
    };
    ParseError::new(kind, line, column, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns a few bytes at a time, so that tags straddle reads and
    /// go through quick-xml while the others are read in place.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(self.0.len()).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    const LIMITS: XmlLimits = XmlLimits {
        max_depth: 8,
        max_tag_bytes: 1024,
    };

    /// Every event as text: `<name attrs>`, `<name attrs/>`, `</>`, or the error.
    fn events(input: impl Read) -> Vec<String> {
        let mut xml = XmlPull::new(input, LIMITS);
        let mut out = Vec::new();
        loop {
            match xml.next(None) {
                Ok(XmlEvent::Start { tag, empty }) => {
                    let attrs: Vec<String> = tag
                        .attributes()
                        .map(|a| a.map_or_else(|e| e, |(k, v)| format!("{k}={v}")))
                        .collect();
                    let slash = if empty { "/" } else { "" };
                    out.push(format!("<{} {}{slash}>", tag.name(), attrs.join(",")));
                }
                Ok(XmlEvent::End) => out.push("</>".to_owned()),
                Ok(XmlEvent::Eof) => return out,
                Err(e) => {
                    out.push(e.to_string());
                    return out;
                }
            }
        }
    }

    #[test]
    fn should_read_tags_in_place_as_quick_xml_reads_them() {
        let doc = "<?xml version=\"1.0\"?>\n<r a=\"1\">\n <t:x n='a>b' m=\"c'd\" /><y\tk = \"v\"\n>text</y ><z/></r>";
        let whole = events(doc.as_bytes());
        assert_eq!(
            whole,
            [
                "<r a=1>",
                "<t:x n=a>b,m=c'd/>",
                "<y k=v>",
                "</>",
                "<z />",
                "</>"
            ]
        );
        for step in [1, 2, 3, 7] {
            assert_eq!(
                events(Trickle(doc.as_bytes(), step)),
                whole,
                "{step} bytes a read"
            );
        }
    }

    #[test]
    fn should_name_a_mismatched_or_unmatched_end_tag_either_way() {
        for step in [1, 4096] {
            let got = events(Trickle(b"<r>\n<a></b></r>", step));
            assert_eq!(
                got.last().unwrap(),
                "line 2, column 4: </b> closes <a>",
                "{got:?}"
            );
            let got = events(Trickle(b"<r></r></r>", step));
            assert!(
                got.last().unwrap().ends_with("</r> closes nothing"),
                "{got:?}"
            );
        }
    }

    #[test]
    fn should_refuse_invalid_utf8_and_deep_nesting_in_place() {
        let got = events(&b"<r><a n=\"\xff\"/></r>"[..]);
        assert!(got.last().unwrap().contains("not valid UTF-8"), "{got:?}");
        let deep = "<a>".repeat(9);
        let got = events(deep.as_bytes());
        assert!(got.last().unwrap().contains("more than 8 deep"), "{got:?}");
    }
}
