//! .NET TRX (Visual Studio test results: `dotnet test --logger trx`, MSTest, and the
//! xUnit and NUnit adapters): the streaming [`TrxReader`].
//!
//! A `<TestRun>` in the TeamTest namespace lists `<UnitTestResult>`s under
//! `<Results>` and, usually after them, `<TestDefinitions>` naming each test's class.
//! Results are held (each bounded) until the definitions are read, then yielded.

use std::collections::HashMap;
use std::io::Read;

use crate::error::ParseError;
use crate::junit::{Limits, location_from_stack};
use crate::model::{FailureDetail, FailureKind, Status, TestCase};
use crate::xml::elements::{
    Cases, ElementReader, Elements, TextSlot, Texts, innermost, text_frames,
};
use crate::xml::{Tag, owned};

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
    reader: ElementReader<R, Trx>,
}

/// What the TRX reader keeps between elements.
struct Trx {
    limits: Limits,
    /// Test id → class name, from `TestDefinitions`.
    classes: HashMap<String, String>,
    definitions_read: bool,
    /// Results read before the definitions.
    pending: Vec<RawResult>,
}

/// A `UnitTestResult` as read.
struct RawResult {
    test_id: Option<String>,
    name: String,
    outcome: String,
    time: Option<f64>,
    texts: Texts,
    has_inner: bool,
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

/// The innermost open `UnitTestResult`.
fn result_of(frame: &mut Frame) -> Option<&mut RawResult> {
    match frame {
        Frame::Result(r) => Some(&mut **r),
        _ => None,
    }
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
        let format = Trx {
            limits,
            classes: HashMap::new(),
            definitions_read: false,
            pending: Vec::new(),
        };
        TrxReader {
            reader: ElementReader::new(input, limits, format),
        }
    }

    /// The next test case; `None` at the end. On an error, the cases read before
    /// it are yielded first (without their class when the definitions were never
    /// reached), then the error, then `None`.
    pub fn next_case(&mut self) -> Result<Option<Box<TestCase>>, ParseError> {
        self.reader.next_case()
    }
}

impl Elements for Trx {
    type Frame = Frame;
    const ROOTS: &'static [&'static str] = &["TestRun"];
    const FORMAT: &'static str = "a TRX report";

    fn open(&mut self, stack: &mut [Frame], tag: &Tag<'_>) -> Frame {
        match tag.local() {
            b"UnitTestResult" => {
                let parent_id = innermost(stack, result_of).and_then(|p| {
                    p.has_inner = true;
                    p.test_id.clone()
                });
                let [test_id, name, outcome, duration] =
                    tag.values([b"testId", b"testName", b"outcome", b"duration"]);
                Frame::Result(Box::new(RawResult {
                    test_id: owned(test_id).or(parent_id),
                    name: owned(name).unwrap_or_default(),
                    outcome: owned(outcome).unwrap_or_default(),
                    time: duration.as_deref().and_then(parse_duration),
                    texts: Texts::new(&self.limits),
                    has_inner: false,
                }))
            }
            local @ (b"Message" | b"StackTrace" | b"StdOut" | b"StdErr")
                if innermost(stack, result_of).is_some() =>
            {
                Frame::Text(match local {
                    b"Message" => TextSlot::Message,
                    b"StackTrace" => TextSlot::Stack,
                    b"StdOut" => TextSlot::Output,
                    _ => TextSlot::Error,
                })
            }
            b"TestDefinitions" => Frame::Definitions,
            b"UnitTest" => Frame::UnitTest {
                id: tag.value(b"id").map(|v| v.into_owned()),
                class: None,
            },
            b"TestMethod" => {
                if let Some(Frame::UnitTest { class, .. }) = stack.last_mut() {
                    *class = tag.value(b"className").map(|v| v.into_owned());
                }
                Frame::Other
            }
            _ => Frame::Other,
        }
    }

    fn close(&mut self, frame: Frame, _stack: &mut [Frame], out: &mut Cases) {
        match frame {
            Frame::Result(raw) if !raw.has_inner => {
                if self.definitions_read {
                    let case = self.finish(*raw);
                    out.push_back(case);
                } else {
                    self.pending.push(*raw);
                }
            }
            Frame::UnitTest {
                id: Some(id),
                class: Some(class),
            } => {
                self.classes.insert(id, class);
            }
            Frame::Definitions => {
                self.definitions_read = true;
                self.release_pending(out);
            }
            _ => {}
        }
    }

    text_frames!(Frame::Result);

    fn end(&mut self, out: &mut Cases) {
        self.release_pending(out);
    }
}

impl Trx {
    fn release_pending(&mut self, out: &mut Cases) {
        for raw in std::mem::take(&mut self.pending) {
            let case = self.finish(raw);
            out.push_back(case);
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
        case.system_out = raw.texts.output.finish();
        case.system_err = raw.texts.error.finish();
        let message = raw.texts.message.finish();
        let stack = raw.texts.stack.finish();
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
