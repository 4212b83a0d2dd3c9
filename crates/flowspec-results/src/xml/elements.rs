//! One streaming reading loop for the XML formats that are a tree of elements to
//! fold (NUnit, xUnit.net, TRX, JaCoCo, Cobertura): each format only says what an
//! element opens as, where its text goes and what closing it does.

use std::collections::VecDeque;
use std::io::Read;

use super::text::truncate;
use super::{Bounded, Tag, XmlEvent, XmlLimits, XmlPull};
use crate::error::{ParseError, ParseErrorKind};
use crate::junit::Limits;
use crate::model::TestCase;
use crate::queue::CaseQueue;

/// What a format states about its elements.
pub(crate) trait Elements {
    /// What is kept for each open element.
    type Frame;
    /// The root elements accepted (local names).
    const ROOTS: &'static [&'static str];
    /// The format, as in "not an NUnit report".
    const FORMAT: &'static str;

    /// The frame of an element opening inside `stack` (its parent last).
    fn open(&mut self, stack: &mut [Self::Frame], tag: &Tag<'_>) -> Self::Frame;

    /// An element closes (right after [`open`](Self::open) for `<x/>`); a test case it
    /// finishes goes to `out`.
    fn close(&mut self, frame: Self::Frame, stack: &mut [Self::Frame], out: &mut Cases);

    /// Which text of a test an element's content is, if it is one.
    fn text_slot(_frame: &Self::Frame) -> Option<TextSlot> {
        None
    }

    /// The texts of the test an element is.
    fn texts(_frame: &mut Self::Frame) -> Option<&mut Texts> {
        None
    }

    /// The document ended, or reading stopped at an error.
    fn end(&mut self, _out: &mut Cases) {}
}

/// Test cases finished and not yet yielded, in order.
pub(crate) type Cases = VecDeque<Box<TestCase>>;

/// The [`Elements::text_slot`] and [`Elements::texts`] of a format whose frames have
/// a `Text(TextSlot)` variant and a variant holding the test, with a `texts` field.
macro_rules! text_frames {
    ($frame:ident :: $test:ident) => {
        fn text_slot(frame: &$frame) -> Option<TextSlot> {
            match frame {
                $frame::Text(slot) => Some(*slot),
                _ => None,
            }
        }

        fn texts(frame: &mut $frame) -> Option<&mut Texts> {
            match frame {
                $frame::$test(test) => Some(&mut test.texts),
                _ => None,
            }
        }
    };
}
pub(crate) use text_frames;

/// Reads a document of format `E` element by element, in constant memory.
pub(crate) struct ElementReader<R: Read, E: Elements> {
    xml: XmlPull<R>,
    /// The format's own state.
    pub(crate) format: E,
    stack: Vec<E::Frame>,
    queue: CaseQueue,
    seen_root: bool,
}

impl<R: Read, E: Elements> ElementReader<R, E> {
    pub(crate) fn new(input: R, limits: Limits, format: E) -> Self {
        ElementReader {
            xml: XmlPull::new(
                input,
                XmlLimits {
                    max_depth: limits.max_depth,
                    max_tag_bytes: limits.max_tag_bytes,
                },
            ),
            format,
            stack: Vec::new(),
            queue: CaseQueue::default(),
            seen_root: false,
        }
    }

    /// Reads to the end of the document; the error that stopped it early, if any.
    pub(crate) fn run(mut self) -> (E, Option<ParseError>) {
        let error = loop {
            match self.step() {
                Ok(true) => {}
                Ok(false) => break None,
                Err(e) => {
                    self.format.end(&mut self.queue.ready);
                    break Some(e);
                }
            }
        };
        (self.format, error)
    }

    /// The next test case; `None` at the end. On an error, the cases finished
    /// before it are yielded first, then the error, once, then `None`.
    pub(crate) fn next_case(&mut self) -> Result<Option<Box<TestCase>>, ParseError> {
        loop {
            if let Some(next) = self.queue.take() {
                return next;
            }
            match self.step() {
                Ok(true) => {}
                Ok(false) => self.queue.done = true,
                Err(e) => {
                    self.format.end(&mut self.queue.ready);
                    self.queue.fail(e);
                }
            }
        }
    }

    /// Reads up to the next tag; `false` at the end of the document.
    fn step(&mut self) -> Result<bool, ParseError> {
        // The innermost element's text goes to its test's texts, or is skipped.
        let sink = self
            .stack
            .last()
            .and_then(E::text_slot)
            .and_then(|slot| innermost(&mut self.stack, E::texts).map(|t| t.slot(slot)));
        let (tag, empty) = match self.xml.next(sink)? {
            XmlEvent::Eof if !self.seen_root => {
                return Err(ParseError::new(
                    ParseErrorKind::Truncated,
                    1,
                    1,
                    "the file holds no XML element (empty report?)".to_owned(),
                ));
            }
            XmlEvent::Eof => {
                self.format.end(&mut self.queue.ready);
                return Ok(false);
            }
            XmlEvent::End => {
                if let Some(frame) = self.stack.pop() {
                    self.format
                        .close(frame, &mut self.stack, &mut self.queue.ready);
                }
                return Ok(true);
            }
            XmlEvent::Start { tag, empty } => (tag, empty),
        };
        if !self.seen_root {
            self.seen_root = true;
            if !E::ROOTS.iter().any(|r| r.as_bytes() == tag.local()) {
                let expected: Vec<String> = E::ROOTS.iter().map(|r| format!("<{r}>")).collect();
                let message = format!(
                    "the root element is <{}>, not {}: not {}",
                    truncate(tag.name().to_owned(), 100),
                    expected.join(" or "),
                    E::FORMAT
                );
                return Err(self
                    .xml
                    .fail_at_mark(ParseErrorKind::UnknownFormat, message));
            }
        }
        let frame = self.format.open(&mut self.stack, &tag);
        if empty {
            self.format
                .close(frame, &mut self.stack, &mut self.queue.ready);
        } else {
            self.stack.push(frame);
        }
        Ok(true)
    }
}

/// Which text of a test an element holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextSlot {
    Message,
    Stack,
    /// Why it was skipped.
    Reason,
    /// Its standard output.
    Output,
    /// Its standard error.
    Error,
}

/// The texts of one test while it is read, each bounded.
pub(crate) struct Texts {
    pub(crate) message: Bounded,
    pub(crate) stack: Bounded,
    pub(crate) reason: Bounded,
    pub(crate) output: Bounded,
    pub(crate) error: Bounded,
}

impl Texts {
    /// Empty texts with the bounds of `limits` (nothing is allocated yet).
    pub(crate) fn new(limits: &Limits) -> Self {
        let output = || Bounded::new(limits.max_output_head, limits.max_output_tail, usize::MAX);
        Texts {
            message: Bounded::new(limits.max_message_bytes, 0, usize::MAX),
            stack: Bounded::new(limits.max_stack_bytes, 0, limits.max_stack_lines),
            reason: Bounded::new(limits.max_message_bytes, 0, usize::MAX),
            output: output(),
            error: output(),
        }
    }

    fn slot(&mut self, slot: TextSlot) -> &mut Bounded {
        match slot {
            TextSlot::Message => &mut self.message,
            TextSlot::Stack => &mut self.stack,
            TextSlot::Reason => &mut self.reason,
            TextSlot::Output => &mut self.output,
            TextSlot::Error => &mut self.error,
        }
    }
}

/// The innermost frame that `pick` accepts.
pub(crate) fn innermost<F, T>(
    stack: &mut [F],
    pick: impl FnMut(&mut F) -> Option<&mut T>,
) -> Option<&mut T> {
    stack.iter_mut().rev().find_map(pick)
}
