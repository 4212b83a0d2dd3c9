//! NUnit XML (the NUnit 3 console's `TestResult.xml`, and the NUnit 2.5 format that
//! older runners and converters still write): the streaming [`NunitReader`].
//!
//! NUnit 3 nests `<test-suite>`s (assembly, namespace, fixture, parameterised method)
//! under a `<test-run>`; each `<test-case>` carries `result`, `label`, `duration` and
//! usually `classname`. NUnit 2.5 nests `<test-suite>`s (each with a `<results>`)
//! under `<test-results>`; a `<test-case>` has a fully qualified `name`, `executed`,
//! `result` and `success`.

use std::io::Read;

use crate::error::{ParseError, ParseErrorKind};
use crate::junit::Limits;
use crate::model::{FailureDetail, FailureKind, Status, TestCase};
use crate::trx::location_from_trace;
use crate::xml::text::{parse_time, truncate, unescape};
use crate::xml::{Bounded, XmlEvent, XmlLimits, XmlPull};

/// Which NUnit format the root element announced.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    /// `<test-run>`.
    Three,
    /// `<test-results>`.
    Two,
}

/// Reads an NUnit 3 or NUnit 2.5 XML report as a stream of test cases.
///
/// NUnit 3 results: `Passed` and `Warning` → passed; `Failed` → failed, or error
/// with label `Error`, `Cancelled` or `Invalid`; `Skipped` (labels `Ignored`,
/// `Explicit`) and `Inconclusive` → skipped, with the reason's message. NUnit 2.5:
/// `Success` → passed, `Failure` → failed, `Error` and `Cancelled` → error, not
/// executed (`Ignored`, `Skipped`) and `Inconclusive` → skipped, `NotRunnable` →
/// error. A parameterised case keeps its arguments in its name: `Sum(1,2)`. The file
/// and line come from the first `in File:line N` of the stack trace.
///
/// ```
/// use flowspec_results::junit::Limits;
/// use flowspec_results::model::Status;
/// use flowspec_results::nunit::NunitReader;
///
/// let xml = r#"<test-run id="2" testcasecount="1" result="Failed">
///   <test-suite type="TestFixture" name="CalcTests" fullname="Calc.Tests.CalcTests">
///     <test-case name="Sum(1,2)" fullname="Calc.Tests.CalcTests.Sum(1,2)"
///                classname="Calc.Tests.CalcTests" result="Failed" duration="0.25">
///       <failure><message><![CDATA[Expected: 3 But was: 4]]></message></failure>
///     </test-case>
///   </test-suite>
/// </test-run>"#;
/// let mut reader = NunitReader::new(xml.as_bytes(), Limits::default());
/// let case = reader.next_case()?.expect("one case");
/// assert_eq!(case.id(), "Calc.Tests.CalcTests::Sum(1,2)");
/// assert_eq!((case.status, case.time), (Status::Failed, Some(0.25)));
/// assert_eq!(case.failure.unwrap().message.as_deref(), Some("Expected: 3 But was: 4"));
/// # Ok::<(), flowspec_results::ParseError>(())
/// ```
pub struct NunitReader<R: Read> {
    xml: XmlPull<R>,
    limits: Limits,
    version: Option<Version>,
    stack: Vec<Frame>,
    ready: Option<Box<TestCase>>,
    error: Option<ParseError>,
    done: bool,
}

/// A `<test-case>` as read.
struct RawCase {
    name: String,
    fullname: Option<String>,
    classname: Option<String>,
    result: String,
    label: String,
    executed: Option<String>,
    success: Option<String>,
    time: Option<f64>,
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
    /// A `<test-suite>`: its full name (NUnit 3) or name (NUnit 2.5).
    Suite(String),
    Case(Box<RawCase>),
    Failure,
    Reason,
    Text(TextSlot),
    Other,
}

/// The attributes read of a start tag.
#[derive(Default)]
struct Tag {
    local: Vec<u8>,
    name: Option<String>,
    fullname: Option<String>,
    classname: Option<String>,
    result: Option<String>,
    label: Option<String>,
    executed: Option<String>,
    success: Option<String>,
    duration: Option<String>,
    time: Option<String>,
}

impl Tag {
    fn of(tag: &quick_xml::events::BytesStart<'_>) -> Tag {
        let mut out = Tag {
            local: tag.local_name().as_ref().as_bytes().to_vec(),
            ..Tag::default()
        };
        if !matches!(out.local.as_slice(), b"test-case" | b"test-suite") {
            return out;
        }
        for a in tag.attributes().with_checks(false).flatten() {
            let slot = match a.key.local_name().as_ref().as_bytes() {
                b"name" => &mut out.name,
                b"fullname" => &mut out.fullname,
                b"classname" => &mut out.classname,
                b"result" => &mut out.result,
                b"label" => &mut out.label,
                b"executed" => &mut out.executed,
                b"success" => &mut out.success,
                b"duration" => &mut out.duration,
                b"time" => &mut out.time,
                _ => continue,
            };
            *slot = Some(unescape(&a.value).into_owned());
        }
        out
    }
}

/// `Ns.Class.Method(1.5,"a.b")` → (`Ns.Class`, `Method(1.5,"a.b")`): the last dot
/// before the arguments separates the class from the test.
fn split_qualified(full: &str) -> (Option<&str>, &str) {
    let args = full.find('(').unwrap_or(full.len());
    match full[..args].rfind('.') {
        Some(dot) if dot > 0 => (Some(&full[..dot]), &full[dot + 1..]),
        _ => (None, full),
    }
}

impl<R: Read> NunitReader<R> {
    /// A reader over `input` (buffered inside).
    pub fn new(input: R, limits: Limits) -> Self {
        NunitReader {
            xml: XmlPull::new(
                input,
                XmlLimits {
                    max_depth: limits.max_depth,
                    max_tag_bytes: limits.max_tag_bytes,
                },
            ),
            limits,
            version: None,
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
                    Frame::Case(c) => Some(match slot {
                        TextSlot::Message => &mut c.message,
                        TextSlot::Stack => &mut c.stack,
                        TextSlot::Reason => &mut c.reason,
                        TextSlot::Output => &mut c.output,
                    }),
                    _ => None,
                })
            }
            _ => None,
        };
        let (tag, empty) = match self.xml.next(sink)? {
            XmlEvent::Eof => {
                self.done = true;
                if self.version.is_none() {
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
        if self.version.is_none() {
            self.version = Some(match tag.local.as_slice() {
                b"test-run" => Version::Three,
                b"test-results" => Version::Two,
                other => {
                    return Err(self.xml.fail_at_mark(
                        ParseErrorKind::UnknownFormat,
                        format!(
                            "the root element is <{}>, not <test-run> or <test-results>: not an NUnit report",
                            truncate(String::from_utf8_lossy(other).into_owned(), 100)
                        ),
                    ));
                }
            });
        }
        let in_case = matches!(self.stack.last(), Some(Frame::Case(_)));
        let parent_failure = matches!(self.stack.last(), Some(Frame::Failure));
        let parent_reason = matches!(self.stack.last(), Some(Frame::Reason));
        let limits = self.limits;
        let frame = match tag.local.as_slice() {
            b"test-suite" => Frame::Suite(tag.fullname.or(tag.name).unwrap_or_default()),
            b"test-case" => Frame::Case(Box::new(RawCase {
                name: tag.name.unwrap_or_default(),
                fullname: tag.fullname,
                classname: tag.classname,
                result: tag.result.unwrap_or_default(),
                label: tag.label.unwrap_or_default(),
                executed: tag.executed,
                success: tag.success,
                time: tag.duration.or(tag.time).as_deref().and_then(parse_time),
                message: Bounded::new(limits.max_message_bytes, 0, usize::MAX),
                stack: Bounded::new(limits.max_stack_bytes, 0, limits.max_stack_lines),
                reason: Bounded::new(limits.max_message_bytes, 0, usize::MAX),
                output: Bounded::new(limits.max_output_head, limits.max_output_tail, usize::MAX),
            })),
            b"failure" if in_case => Frame::Failure,
            b"reason" if in_case => Frame::Reason,
            b"output" if in_case => Frame::Text(TextSlot::Output),
            b"message" if parent_failure => Frame::Text(TextSlot::Message),
            b"stack-trace" if parent_failure => Frame::Text(TextSlot::Stack),
            b"message" if parent_reason => Frame::Text(TextSlot::Reason),
            _ => Frame::Other,
        };
        self.stack.push(frame);
        if empty {
            self.close();
        }
        Ok(())
    }

    fn close(&mut self) {
        if let Some(Frame::Case(raw)) = self.stack.pop() {
            let fixture = self.stack.iter().rev().find_map(|f| match f {
                Frame::Suite(name) => Some(name.as_str()),
                _ => None,
            });
            let case = finish(*raw, self.version == Some(Version::Two), fixture);
            self.ready = Some(case);
        }
    }
}

/// The normalized case. `fixture` is the innermost suite's name.
fn finish(raw: RawCase, two: bool, fixture: Option<&str>) -> Box<TestCase> {
    // NUnit 2.5 names a case fully (`Ns.Class.Method`); NUnit 3 gives `classname`,
    // or at least `fullname`.
    let qualified = if two {
        Some(raw.name.as_str())
    } else {
        raw.fullname.as_deref()
    };
    let split = qualified.map(split_qualified);
    let classname = raw
        .classname
        .clone()
        .or_else(|| split.and_then(|(class, _)| class.map(str::to_owned)))
        .filter(|c| !c.is_empty());
    let name = if two {
        split.map_or(raw.name.as_str(), |(_, name)| name).to_owned()
    } else {
        raw.name.clone()
    };
    let suite = classname
        .clone()
        .or_else(|| fixture.map(str::to_owned))
        .unwrap_or_else(|| "NUnit".to_owned());
    let mut case = Box::new(TestCase::new(suite, name));
    case.classname = classname;
    case.time = raw.time;
    case.system_out = raw.output.finish();
    let message = raw.message.finish();
    let stack = raw.stack.finish();
    let reason = raw.reason.finish();
    let outcome = if two {
        outcome_v2(&raw.result, raw.executed.as_deref(), raw.success.as_deref())
    } else {
        outcome_v3(&raw.result, &raw.label)
    };
    match outcome {
        Outcome::Passed => {}
        Outcome::Skipped => {
            case.status = Status::Skipped;
            case.skip_message = reason.or(message);
        }
        Outcome::Failed(kind, fallback) => {
            case.status = kind.status();
            if let Some((file, line)) = stack.as_deref().and_then(location_from_trace) {
                case.file = Some(file);
                case.line = Some(line);
            }
            case.failure = Some(FailureDetail {
                kind,
                failure_type: None,
                message: message.or(reason).or(fallback),
                stack,
            });
        }
    }
    case
}

enum Outcome {
    Passed,
    Skipped,
    /// The kind, and a message when the report gives none.
    Failed(FailureKind, Option<String>),
}

fn outcome_v3(result: &str, label: &str) -> Outcome {
    match result {
        "Passed" | "Warning" => Outcome::Passed,
        "Skipped" | "Inconclusive" => Outcome::Skipped,
        "Failed" => match label {
            "Error" => Outcome::Failed(FailureKind::Error, None),
            "Cancelled" => Outcome::Failed(FailureKind::Error, Some("cancelled".to_owned())),
            "Invalid" => Outcome::Failed(FailureKind::Error, Some("not runnable".to_owned())),
            _ => Outcome::Failed(FailureKind::Failure, None),
        },
        "" => Outcome::Failed(FailureKind::Error, Some("no result recorded".to_owned())),
        other => Outcome::Failed(
            FailureKind::Error,
            Some(format!("result `{}`", truncate(other.to_owned(), 64))),
        ),
    }
}

fn outcome_v2(result: &str, executed: Option<&str>, success: Option<&str>) -> Outcome {
    let is_true = |v: Option<&str>| v.is_some_and(|v| v.eq_ignore_ascii_case("true"));
    match result {
        "Success" => Outcome::Passed,
        "Failure" => Outcome::Failed(FailureKind::Failure, None),
        "Error" => Outcome::Failed(FailureKind::Error, None),
        "Cancelled" => Outcome::Failed(FailureKind::Error, Some("cancelled".to_owned())),
        "NotRunnable" => Outcome::Failed(FailureKind::Error, Some("not runnable".to_owned())),
        "Ignored" | "Skipped" | "Inconclusive" => Outcome::Skipped,
        _ if executed.is_some_and(|e| e.eq_ignore_ascii_case("false")) => Outcome::Skipped,
        _ if is_true(success) => Outcome::Passed,
        _ if success.is_some() => Outcome::Failed(FailureKind::Failure, None),
        _ => Outcome::Failed(FailureKind::Error, Some("no result recorded".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::split_qualified;

    #[test]
    fn should_split_the_class_off_a_qualified_name_before_its_arguments() {
        assert_eq!(
            split_qualified("Calc.Tests.Sum(1.5,\"a.b\")"),
            (Some("Calc.Tests"), "Sum(1.5,\"a.b\")")
        );
        assert_eq!(split_qualified("Adds"), (None, "Adds"));
    }
}
