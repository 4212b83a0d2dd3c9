//! NUnit XML (the NUnit 3 console's `TestResult.xml`, and the NUnit 2.5 format that
//! older runners and converters still write): the streaming [`NunitReader`].
//!
//! NUnit 3 nests `<test-suite>`s (assembly, namespace, fixture, parameterised method)
//! under a `<test-run>`; each `<test-case>` carries `result`, `label`, `duration` and
//! usually `classname`. NUnit 2.5 nests `<test-suite>`s (each with a `<results>`)
//! under `<test-results>`; a `<test-case>` has a fully qualified `name`, `executed`,
//! `result` and `success`.

use std::io::Read;

use crate::error::ParseError;
use crate::junit::Limits;
use crate::model::{FailureDetail, FailureKind, Status, TestCase};
use crate::trx::location_from_trace;
use crate::xml::elements::{Cases, ElementReader, Elements, TextSlot, Texts, text_frames};
use crate::xml::text::{parse_time, truncate};
use crate::xml::{Tag, owned};

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
    reader: ElementReader<R, Nunit>,
}

/// What the NUnit reader keeps between elements.
struct Nunit {
    limits: Limits,
    version: Option<Version>,
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
    texts: Texts,
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
        let format = Nunit {
            limits,
            version: None,
        };
        NunitReader {
            reader: ElementReader::new(input, limits, format),
        }
    }

    /// The next test case; `None` at the end. On an error, the cases read before it
    /// have been yielded; the error comes once, then `None`.
    pub fn next_case(&mut self) -> Result<Option<Box<TestCase>>, ParseError> {
        self.reader.next_case()
    }
}

impl Elements for Nunit {
    type Frame = Frame;
    const ROOTS: &'static [&'static str] = &["test-run", "test-results"];
    const FORMAT: &'static str = "an NUnit report";

    fn open(&mut self, stack: &mut [Frame], tag: &Tag<'_>) -> Frame {
        let local = tag.local();
        if self.version.is_none() {
            self.version = Some(if local == b"test-run" {
                Version::Three
            } else {
                Version::Two
            });
        }
        let parent = stack.last();
        let in_case = matches!(parent, Some(Frame::Case(_)));
        let parent_failure = matches!(parent, Some(Frame::Failure));
        let parent_reason = matches!(parent, Some(Frame::Reason));
        match local {
            b"test-suite" => {
                let [name, fullname] = tag.values([b"name", b"fullname"]);
                Frame::Suite(owned(fullname.or(name)).unwrap_or_default())
            }
            b"test-case" => {
                let [
                    name,
                    fullname,
                    classname,
                    result,
                    label,
                    executed,
                    success,
                    duration,
                    time,
                ] = tag.values([
                    b"name",
                    b"fullname",
                    b"classname",
                    b"result",
                    b"label",
                    b"executed",
                    b"success",
                    b"duration",
                    b"time",
                ]);
                Frame::Case(Box::new(RawCase {
                    name: owned(name).unwrap_or_default(),
                    fullname: owned(fullname),
                    classname: owned(classname),
                    result: owned(result).unwrap_or_default(),
                    label: owned(label).unwrap_or_default(),
                    executed: owned(executed),
                    success: owned(success),
                    time: duration.or(time).as_deref().and_then(parse_time),
                    texts: Texts::new(&self.limits),
                }))
            }
            b"failure" if in_case => Frame::Failure,
            b"reason" if in_case => Frame::Reason,
            b"output" if in_case => Frame::Text(TextSlot::Output),
            b"message" if parent_failure => Frame::Text(TextSlot::Message),
            b"stack-trace" if parent_failure => Frame::Text(TextSlot::Stack),
            b"message" if parent_reason => Frame::Text(TextSlot::Reason),
            _ => Frame::Other,
        }
    }

    fn close(&mut self, frame: Frame, stack: &mut [Frame], out: &mut Cases) {
        if let Frame::Case(raw) = frame {
            let fixture = stack.iter().rev().find_map(|f| match f {
                Frame::Suite(name) => Some(name.as_str()),
                _ => None,
            });
            let case = finish(*raw, self.version == Some(Version::Two), fixture);
            out.push_back(case);
        }
    }

    text_frames!(Frame::Case);
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
    case.system_out = raw.texts.output.finish();
    let message = raw.texts.message.finish();
    let stack = raw.texts.stack.finish();
    let reason = raw.texts.reason.finish();
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
