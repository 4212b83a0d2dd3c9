//! xUnit.net v2 XML (`dotnet test --logger xunit`, `xunit.console -xml`): the
//! streaming [`XunitReader`].
//!
//! `<assemblies>` holds an `<assembly>` per test assembly, each with `<collection>`s
//! of `<test>`s, and an `<errors>` list for failures outside any test (a fixture's
//! cleanup, a collection's constructor).

use std::io::Read;

use crate::error::{ParseError, ParseErrorKind};
use crate::junit::Limits;
use crate::model::{FailureDetail, FailureKind, Status, TestCase};
use crate::trx::location_from_trace;
use crate::xml::text::{parse_time, truncate, unescape};
use crate::xml::{Bounded, XmlEvent, XmlLimits, XmlPull};

/// Reads an xUnit.net v2 XML report as a stream of test cases.
///
/// Each `<test>` is one case: `result` `Pass` → passed, `Fail` → failed, `Skip` and
/// `NotRun` → skipped (with the `reason`). The class is the `type` attribute and the
/// name the display `name` without that class prefix (`Sum(a: 1, b: 2)` for a
/// theory row); `source-file`/`source-line`, or else the stack trace, give the
/// location. An entry of an assembly's `<errors>` (a failing fixture cleanup) is an
/// error case named `[type] name` in the assembly's suite.
///
/// ```
/// use flowspec_results::junit::Limits;
/// use flowspec_results::model::Status;
/// use flowspec_results::xunit::XunitReader;
///
/// let xml = r#"<assemblies><assembly name="/src/Calc.Tests.dll">
///   <collection name="Test collection for Calc.Tests.CalcTests">
///     <test name="Calc.Tests.CalcTests.Divides" type="Calc.Tests.CalcTests" method="Divides"
///           time="0.003" result="Fail">
///       <failure exception-type="Xunit.Sdk.EqualException">
///         <message><![CDATA[Assert.Equal() Failure]]></message>
///       </failure>
///     </test>
///   </collection>
/// </assembly></assemblies>"#;
/// let mut reader = XunitReader::new(xml.as_bytes(), Limits::default());
/// let case = reader.next_case()?.expect("one case");
/// assert_eq!(case.id(), "Calc.Tests.CalcTests::Divides");
/// assert_eq!(case.status, Status::Failed);
/// let failure = case.failure.unwrap();
/// assert_eq!(failure.failure_type.as_deref(), Some("Xunit.Sdk.EqualException"));
/// assert_eq!(failure.message.as_deref(), Some("Assert.Equal() Failure"));
/// # Ok::<(), flowspec_results::ParseError>(())
/// ```
pub struct XunitReader<R: Read> {
    xml: XmlPull<R>,
    limits: Limits,
    seen_root: bool,
    stack: Vec<Frame>,
    ready: Option<Box<TestCase>>,
    error: Option<ParseError>,
    done: bool,
}

/// A `<test>` (or an assembly-level `<error>`) as read.
struct RawTest {
    /// Set for an `<error>` of the assembly's `<errors>`.
    assembly_error: bool,
    name: String,
    class: Option<String>,
    result: String,
    time: Option<f64>,
    file: Option<String>,
    line: Option<u32>,
    failure_type: Option<String>,
    message: Bounded,
    stack: Bounded,
    reason: Bounded,
    output: Bounded,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TextSlot {
    Message,
    Stack,
    Reason,
    Output,
}

enum Frame {
    /// An `<assembly>`: its file name without the directory.
    Assembly(String),
    Errors,
    Test(Box<RawTest>),
    Failure,
    Text(TextSlot),
    Other,
}

#[derive(Default)]
struct Tag {
    local: Vec<u8>,
    name: Option<String>,
    class: Option<String>,
    result: Option<String>,
    time: Option<String>,
    file: Option<String>,
    line: Option<String>,
    kind: Option<String>,
    exception: Option<String>,
}

impl Tag {
    fn of(tag: &quick_xml::events::BytesStart<'_>) -> Tag {
        let mut out = Tag {
            local: tag.local_name().as_ref().as_bytes().to_vec(),
            ..Tag::default()
        };
        if !matches!(
            out.local.as_slice(),
            b"assembly" | b"test" | b"error" | b"failure"
        ) {
            return out;
        }
        for a in tag.attributes().with_checks(false).flatten() {
            let slot = match a.key.local_name().as_ref().as_bytes() {
                b"name" => &mut out.name,
                b"type" if out.local == b"test" => &mut out.class,
                b"type" => &mut out.kind,
                b"result" => &mut out.result,
                b"time" => &mut out.time,
                b"source-file" => &mut out.file,
                b"source-line" => &mut out.line,
                b"exception-type" => &mut out.exception,
                _ => continue,
            };
            *slot = Some(unescape(&a.value).into_owned());
        }
        out
    }
}

impl<R: Read> XunitReader<R> {
    /// A reader over `input` (buffered inside).
    pub fn new(input: R, limits: Limits) -> Self {
        XunitReader {
            xml: XmlPull::new(
                input,
                XmlLimits {
                    max_depth: limits.max_depth,
                    max_tag_bytes: limits.max_tag_bytes,
                },
            ),
            limits,
            seen_root: false,
            stack: Vec::new(),
            ready: None,
            error: None,
            done: false,
        }
    }

    /// The next test case; `None` at the end. On an error, the cases read before it
    /// have been yielded; the error comes once, then `None`.
    pub fn next_case(&mut self) -> Result<Option<Box<TestCase>>, ParseError> {
        loop {
            if let Some(case) = self.ready.take() {
                return Ok(Some(case));
            }
            if let Some(e) = self.error.take() {
                return Err(e);
            }
            if self.done {
                return Ok(None);
            }
            if let Err(e) = self.advance() {
                self.done = true;
                self.error = Some(e);
            }
        }
    }

    fn advance(&mut self) -> Result<(), ParseError> {
        let sink = match self.stack.last() {
            Some(Frame::Text(slot)) => {
                let slot = *slot;
                self.stack.iter_mut().rev().find_map(|f| match f {
                    Frame::Test(t) => Some(match slot {
                        TextSlot::Message => &mut t.message,
                        TextSlot::Stack => &mut t.stack,
                        TextSlot::Reason => &mut t.reason,
                        TextSlot::Output => &mut t.output,
                    }),
                    _ => None,
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
            if !matches!(tag.local.as_slice(), b"assemblies" | b"assembly") {
                return Err(self.xml.fail_at_mark(
                    ParseErrorKind::UnknownFormat,
                    format!(
                        "the root element is <{}>, not <assemblies>: not an xUnit.net v2 report",
                        truncate(String::from_utf8_lossy(&tag.local).into_owned(), 100)
                    ),
                ));
            }
        }
        let parent = self.stack.last();
        let in_test = matches!(parent, Some(Frame::Test(_)));
        let in_failure = matches!(parent, Some(Frame::Failure));
        let in_errors = matches!(parent, Some(Frame::Errors));
        let limits = self.limits;
        let raw = |assembly_error: bool, tag: Tag| {
            Frame::Test(Box::new(RawTest {
                assembly_error,
                name: tag.name.unwrap_or_default(),
                class: tag.class.filter(|c| !c.is_empty()),
                result: if assembly_error {
                    tag.kind.unwrap_or_default()
                } else {
                    tag.result.unwrap_or_default()
                },
                time: tag.time.as_deref().and_then(parse_time),
                file: tag.file.filter(|f| !f.is_empty()),
                line: tag.line.and_then(|l| l.trim().parse().ok()),
                failure_type: None,
                message: Bounded::new(limits.max_message_bytes, 0, usize::MAX),
                stack: Bounded::new(limits.max_stack_bytes, 0, limits.max_stack_lines),
                reason: Bounded::new(limits.max_message_bytes, 0, usize::MAX),
                output: Bounded::new(limits.max_output_head, limits.max_output_tail, usize::MAX),
            }))
        };
        let frame = match tag.local.as_slice() {
            b"assembly" => {
                let name = tag.name.unwrap_or_default();
                let file = name.rsplit(['/', '\\']).next().unwrap_or(&name).to_owned();
                Frame::Assembly(file)
            }
            b"errors" => Frame::Errors,
            b"error" if in_errors => raw(true, tag),
            b"test" => raw(false, tag),
            b"failure" if in_test => {
                if let Some(Frame::Test(t)) = self.stack.last_mut() {
                    t.failure_type = tag.exception.filter(|e| !e.is_empty());
                }
                Frame::Failure
            }
            b"reason" if in_test => Frame::Text(TextSlot::Reason),
            b"output" if in_test => Frame::Text(TextSlot::Output),
            b"message" if in_failure => Frame::Text(TextSlot::Message),
            b"stack-trace" if in_failure => Frame::Text(TextSlot::Stack),
            _ => Frame::Other,
        };
        self.stack.push(frame);
        if empty {
            self.close();
        }
        Ok(())
    }

    fn close(&mut self) {
        if let Some(Frame::Test(raw)) = self.stack.pop() {
            let assembly = self.stack.iter().rev().find_map(|f| match f {
                Frame::Assembly(name) => Some(name.as_str()),
                _ => None,
            });
            self.ready = Some(finish(*raw, assembly));
        }
    }
}

fn finish(raw: RawTest, assembly: Option<&str>) -> Box<TestCase> {
    let assembly = assembly.filter(|a| !a.is_empty()).unwrap_or("xUnit");
    if raw.assembly_error {
        let name = match (raw.result.as_str(), raw.name.as_str()) {
            ("", "") => "[error]".to_owned(),
            (kind, "") => format!("[{kind}]"),
            ("", name) => format!("[error] {name}"),
            (kind, name) => format!("[{kind}] {name}"),
        };
        let mut case = Box::new(TestCase::new(assembly, name));
        let stack = raw.stack.finish();
        case.status = Status::Error;
        case.failure = Some(FailureDetail {
            kind: FailureKind::Error,
            failure_type: raw.failure_type,
            message: raw.message.finish(),
            stack,
        });
        return case;
    }
    // The display name repeats the class: `Ns.Class.Method(x: 1)`.
    let name = match &raw.class {
        Some(class) => raw
            .name
            .strip_prefix(class.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
            .filter(|rest| !rest.is_empty())
            .unwrap_or(&raw.name)
            .to_owned(),
        None => raw.name.clone(),
    };
    let mut case = Box::new(TestCase::new(
        raw.class.clone().unwrap_or_else(|| assembly.to_owned()),
        name,
    ));
    case.classname = raw.class;
    case.time = raw.time;
    case.file = raw.file;
    case.line = raw.line;
    case.system_out = raw.output.finish();
    let message = raw.message.finish();
    let stack = raw.stack.finish();
    match raw.result.as_str() {
        "Pass" => {}
        "Skip" | "NotRun" => {
            case.status = Status::Skipped;
            case.skip_message = raw.reason.finish();
        }
        other => {
            let (kind, fallback) = match other {
                "Fail" => (FailureKind::Failure, None),
                "" => (FailureKind::Error, Some("no result recorded".to_owned())),
                other => (
                    FailureKind::Error,
                    Some(format!("result `{}`", truncate(other.to_owned(), 64))),
                ),
            };
            if case.file.is_none()
                && let Some((file, line)) = stack.as_deref().and_then(location_from_trace)
            {
                case.file = Some(file);
                case.line = Some(line);
            }
            case.status = kind.status();
            case.failure = Some(FailureDetail {
                kind,
                failure_type: raw.failure_type,
                message: message.or(fallback),
                stack,
            });
        }
    }
    case
}
