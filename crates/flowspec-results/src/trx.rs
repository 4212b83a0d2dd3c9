//! .NET TRX (Visual Studio test results: `dotnet test --logger trx`, MSTest, and the
//! xUnit and NUnit adapters): the streaming [`TrxReader`].
//!
//! A `<TestRun>` in the TeamTest namespace lists `<UnitTestResult>`s under
//! `<Results>` and, usually after them, `<TestDefinitions>` naming each test's class.
//! Results are held (each bounded) until the definitions are read, then yielded.

use std::collections::{HashMap, VecDeque};
use std::io::Read;

use crate::error::{ParseError, ParseErrorKind};
use crate::junit::{Limits, location_from_stack};
use crate::model::{FailureDetail, FailureKind, Status, TestCase};
use crate::xml::text::unescape;
use crate::xml::{Bounded, XmlEvent, XmlLimits, XmlPull};

/// The namespace a TRX root element is in.
pub(crate) const TEAMTEST_NAMESPACE: &str = "microsoft.com/schemas/VisualStudio/TeamTest";

/// Reads a TRX file as a stream of test cases.
///
/// Each `UnitTestResult` is one case; a data-driven result's `InnerResults` are its
/// rows, one case each (the parent is not counted again). Outcomes: `Passed` →
/// passed; `Failed` → failed; `Error`, `Timeout`, `Aborted` → error; `NotExecuted`,
/// `Inconclusive` → skipped. The id is the definition's `className` and the
/// `testName` (without the class prefix xUnit repeats in it).
///
/// ```
/// use flowspec_results::junit::Limits;
/// use flowspec_results::model::Status;
/// use flowspec_results::trx::TrxReader;
///
/// let trx = r#"<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
///   <Results>
///     <UnitTestResult testId="t1" testName="Adds" outcome="Failed" duration="00:00:01.5000000">
///       <Output><ErrorInfo><Message>Expected 3, got 4</Message></ErrorInfo></Output>
///     </UnitTestResult>
///   </Results>
///   <TestDefinitions>
///     <UnitTest id="t1" name="Adds"><TestMethod className="Calc.Tests" name="Adds"/></UnitTest>
///   </TestDefinitions>
/// </TestRun>"#;
/// let mut reader = TrxReader::new(trx.as_bytes(), Limits::default());
/// let case = reader.next_case()?.expect("one case");
/// assert_eq!(case.id(), "Calc.Tests::Adds");
/// assert_eq!((case.status, case.time), (Status::Failed, Some(1.5)));
/// assert_eq!(case.failure.unwrap().message.as_deref(), Some("Expected 3, got 4"));
/// # Ok::<(), flowspec_results::ParseError>(())
/// ```
pub struct TrxReader<R: Read> {
    xml: XmlPull<R>,
    limits: Limits,
    stack: Vec<Frame>,
    /// Test id → class name, from `TestDefinitions`.
    classes: HashMap<String, String>,
    definitions_read: bool,
    /// Results read before the definitions.
    pending: Vec<RawResult>,
    ready: VecDeque<Box<TestCase>>,
    error: Option<ParseError>,
    seen_root: bool,
    done: bool,
}

/// A `UnitTestResult` as read.
struct RawResult {
    test_id: Option<String>,
    name: String,
    outcome: String,
    time: Option<f64>,
    message: Bounded,
    stack: Bounded,
    stdout: Bounded,
    stderr: Bounded,
    has_inner: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TextSlot {
    Message,
    Stack,
    StdOut,
    StdErr,
}

enum Frame {
    Result(Box<RawResult>),
    Text(TextSlot),
    Definitions,
    UnitTest {
        id: Option<String>,
        class: Option<String>,
    },
    Other,
}

/// What is read of a start tag.
struct Tag {
    local: Vec<u8>,
    name: String,
    id: Option<String>,
    test_id: Option<String>,
    test_name: Option<String>,
    outcome: Option<String>,
    duration: Option<String>,
    class_name: Option<String>,
}

impl Tag {
    fn of(tag: &quick_xml::events::BytesStart<'_>) -> Tag {
        let mut out = Tag {
            local: tag.local_name().as_ref().as_bytes().to_vec(),
            name: tag.name().as_ref().to_owned(),
            id: None,
            test_id: None,
            test_name: None,
            outcome: None,
            duration: None,
            class_name: None,
        };
        if !matches!(
            out.local.as_slice(),
            b"UnitTestResult" | b"UnitTest" | b"TestMethod"
        ) {
            return out;
        }
        for a in tag.attributes().with_checks(false).flatten() {
            let slot = match a.key.local_name().as_ref().as_bytes() {
                b"id" => &mut out.id,
                b"testId" => &mut out.test_id,
                b"testName" => &mut out.test_name,
                b"outcome" => &mut out.outcome,
                b"duration" => &mut out.duration,
                b"className" => &mut out.class_name,
                _ => continue,
            };
            *slot = Some(unescape(&a.value).into_owned());
        }
        out
    }
}

/// The innermost open `UnitTestResult`.
fn innermost(stack: &mut [Frame]) -> Option<&mut RawResult> {
    stack.iter_mut().rev().find_map(|f| match f {
        Frame::Result(r) => Some(&mut **r),
        _ => None,
    })
}

/// `hh:mm:ss.fffffff`, with an optional `d.` day prefix (.NET `TimeSpan`).
fn parse_duration(text: &str) -> Option<f64> {
    let mut parts = text.trim().rsplitn(3, ':');
    let (seconds, minutes, hours) = (parts.next()?, parts.next()?, parts.next()?);
    let (days, hours) = match hours.split_once('.') {
        Some((d, h)) => (d.parse::<f64>().ok()?, h),
        None => (0.0, hours),
    };
    let total = days * 86_400.0
        + hours.parse::<f64>().ok()? * 3600.0
        + minutes.parse::<f64>().ok()? * 60.0
        + seconds.parse::<f64>().ok()?;
    Some((total * 1e6).round() / 1e6)
}

impl<R: Read> TrxReader<R> {
    /// A reader over `input` (buffered inside).
    pub fn new(input: R, limits: Limits) -> Self {
        TrxReader {
            xml: XmlPull::new(
                input,
                XmlLimits {
                    max_depth: limits.max_depth,
                    max_tag_bytes: limits.max_tag_bytes,
                },
            ),
            limits,
            stack: Vec::new(),
            classes: HashMap::new(),
            definitions_read: false,
            pending: Vec::new(),
            ready: VecDeque::new(),
            error: None,
            seen_root: false,
            done: false,
        }
    }

    /// The next test case; `None` at the end. On an error, the cases read before
    /// it are yielded first (without their class when the definitions were never
    /// reached), then the error, then `None`.
    pub fn next_case(&mut self) -> Result<Option<Box<TestCase>>, ParseError> {
        loop {
            if let Some(case) = self.ready.pop_front() {
                return Ok(Some(case));
            }
            if let Some(e) = self.error.take() {
                return Err(e);
            }
            if self.done {
                return Ok(None);
            }
            match self.advance() {
                Ok(()) => {}
                Err(e) => {
                    self.done = true;
                    self.release_pending();
                    self.error = Some(e);
                }
            }
        }
    }

    /// Reads up to the next tag (or the end).
    fn advance(&mut self) -> Result<(), ParseError> {
        let sink = match self.stack.last() {
            Some(Frame::Text(slot)) => {
                let slot = *slot;
                innermost(&mut self.stack).map(|r| match slot {
                    TextSlot::Message => &mut r.message,
                    TextSlot::Stack => &mut r.stack,
                    TextSlot::StdOut => &mut r.stdout,
                    TextSlot::StdErr => &mut r.stderr,
                })
            }
            _ => None,
        };
        let (tag, empty) = match self.xml.next(sink)? {
            XmlEvent::Eof => {
                self.done = true;
                if !self.seen_root {
                    return Err(ParseError::new(
                        ParseErrorKind::Truncated,
                        1,
                        1,
                        "the file holds no XML element (empty report?)".to_owned(),
                    ));
                }
                self.release_pending();
                return Ok(());
            }
            XmlEvent::End => {
                self.close();
                return Ok(());
            }
            XmlEvent::Start { tag, empty } => (Tag::of(&tag), empty),
        };
        if !self.seen_root {
            self.seen_root = true;
            if tag.local != b"TestRun" {
                return Err(self.xml.fail_at_mark(
                    ParseErrorKind::UnknownFormat,
                    format!(
                        "the root element is <{}>, not <TestRun>: not a TRX report",
                        tag.name
                    ),
                ));
            }
        }
        let limits = self.limits;
        let frame = match tag.local.as_slice() {
            b"UnitTestResult" => {
                let parent = innermost(&mut self.stack);
                let parent_id = parent.and_then(|p| {
                    p.has_inner = true;
                    p.test_id.clone()
                });
                Frame::Result(Box::new(RawResult {
                    test_id: tag.test_id.or(parent_id),
                    name: tag.test_name.unwrap_or_default(),
                    outcome: tag.outcome.unwrap_or_default(),
                    time: tag.duration.as_deref().and_then(parse_duration),
                    message: Bounded::new(limits.max_message_bytes, 0, usize::MAX),
                    stack: Bounded::new(limits.max_stack_bytes, 0, limits.max_stack_lines),
                    stdout: Bounded::new(
                        limits.max_output_head,
                        limits.max_output_tail,
                        usize::MAX,
                    ),
                    stderr: Bounded::new(
                        limits.max_output_head,
                        limits.max_output_tail,
                        usize::MAX,
                    ),
                    has_inner: false,
                }))
            }
            b"Message" | b"StackTrace" | b"StdOut" | b"StdErr"
                if innermost(&mut self.stack).is_some() =>
            {
                Frame::Text(match tag.local.as_slice() {
                    b"Message" => TextSlot::Message,
                    b"StackTrace" => TextSlot::Stack,
                    b"StdOut" => TextSlot::StdOut,
                    _ => TextSlot::StdErr,
                })
            }
            b"TestDefinitions" => Frame::Definitions,
            b"UnitTest" => Frame::UnitTest {
                id: tag.id,
                class: None,
            },
            b"TestMethod" => {
                if let Some(Frame::UnitTest { class, .. }) = self.stack.last_mut() {
                    *class = tag.class_name;
                }
                Frame::Other
            }
            _ => Frame::Other,
        };
        self.stack.push(frame);
        if empty {
            self.close();
        }
        Ok(())
    }

    fn close(&mut self) {
        match self.stack.pop() {
            Some(Frame::Result(raw)) if !raw.has_inner => {
                if self.definitions_read {
                    let case = self.finish(*raw);
                    self.ready.push_back(case);
                } else {
                    self.pending.push(*raw);
                }
            }
            Some(Frame::UnitTest {
                id: Some(id),
                class: Some(class),
            }) => {
                self.classes.insert(id, class);
            }
            Some(Frame::Definitions) => {
                self.definitions_read = true;
                self.release_pending();
            }
            _ => {}
        }
    }

    fn release_pending(&mut self) {
        for raw in std::mem::take(&mut self.pending) {
            let case = self.finish(raw);
            self.ready.push_back(case);
        }
    }

    fn finish(&self, raw: RawResult) -> Box<TestCase> {
        let class = raw
            .test_id
            .as_ref()
            .and_then(|id| self.classes.get(id))
            // MSTest v1 writes an assembly-qualified name: `Ns.Class, Assembly, Version=…`.
            .map(|c| c.split(',').next().unwrap_or(c).trim().to_owned())
            .filter(|c| !c.is_empty());
        let name = match &class {
            // xUnit's testName repeats the class: `Ns.Class.Method(x: 1)`.
            Some(c) => raw
                .name
                .strip_prefix(c.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .filter(|rest| !rest.is_empty())
                .unwrap_or(&raw.name)
                .to_owned(),
            None => raw.name.clone(),
        };
        let mut case = Box::new(TestCase::new(
            class.clone().unwrap_or_else(|| "TestRun".to_owned()),
            name,
        ));
        case.classname = class;
        case.time = raw.time;
        case.system_out = raw.stdout.finish();
        case.system_err = raw.stderr.finish();
        let message = raw.message.finish();
        let stack = raw.stack.finish();
        let failure = |kind: FailureKind, message: Option<String>| FailureDetail {
            kind,
            failure_type: None,
            message,
            stack: stack.clone(),
        };
        match raw.outcome.as_str() {
            "Passed" | "PassedButRunAborted" | "Completed" | "Warning" => {}
            "NotExecuted" | "Inconclusive" | "NotRunnable" | "Pending" => {
                case.status = Status::Skipped;
                case.skip_message = message;
            }
            "Failed" => {
                case.status = Status::Failed;
                case.failure = Some(failure(FailureKind::Failure, message));
            }
            other => {
                // Error, Timeout, Aborted, Disconnected, InProgress (the run stopped).
                let fallback = match other {
                    "Timeout" => "timed out".to_owned(),
                    "Aborted" => "aborted".to_owned(),
                    "" => "no outcome recorded".to_owned(),
                    other => format!(
                        "outcome `{}`",
                        crate::xml::text::truncate(other.to_owned(), 64)
                    ),
                };
                case.status = Status::Error;
                case.failure = Some(failure(FailureKind::Error, message.or(Some(fallback))));
            }
        }
        if let Some((file, line)) = stack.as_deref().and_then(location_from_trace) {
            case.file = Some(file);
            case.line = Some(line);
        }
        case
    }
}

/// The first `in Path:line N` of a .NET stack trace.
pub(crate) fn location_from_trace(stack: &str) -> Option<(String, u32)> {
    stack
        .lines()
        .find_map(|l| {
            let (_, rest) = l.split_once(" in ")?;
            let (file, line) = rest.rsplit_once(":line ")?;
            Some((file.trim().to_owned(), line.trim().parse().ok()?))
        })
        .or_else(|| location_from_stack(stack))
}
