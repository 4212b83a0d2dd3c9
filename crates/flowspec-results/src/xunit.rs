//! xUnit.net v2 XML (`dotnet test --logger xunit`, `xunit.console -xml`): the
//! streaming [`XunitReader`].
//!
//! `<assemblies>` holds an `<assembly>` per test assembly, each with `<collection>`s
//! of `<test>`s, and an `<errors>` list for failures outside any test (a fixture's
//! cleanup, a collection's constructor).

use std::io::Read;

use crate::error::ParseError;
use crate::junit::Limits;
use crate::model::{FailureDetail, FailureKind, Status, TestCase};
use crate::trx::location_from_trace;
use crate::xml::elements::{Cases, ElementReader, Elements, TextSlot, Texts, text_frames};
use crate::xml::text::{parse_time, truncate};
use crate::xml::{Tag, owned};

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
    reader: ElementReader<R, Xunit>,
}

/// What the xUnit reader keeps between elements.
struct Xunit {
    limits: Limits,
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
    texts: Texts,
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

impl<R: Read> XunitReader<R> {
    /// A reader over `input` (buffered inside).
    pub fn new(input: R, limits: Limits) -> Self {
        let format = Xunit { limits };
        XunitReader {
            reader: ElementReader::new(input, limits, format),
        }
    }

    /// The next test case; `None` at the end. On an error, the cases read before it
    /// have been yielded; the error comes once, then `None`.
    pub fn next_case(&mut self) -> Result<Option<Box<TestCase>>, ParseError> {
        self.reader.next_case()
    }
}

impl Xunit {
    /// A `<test>`, or an `<error>` of an assembly (whose `type` is its result).
    fn test(&self, tag: &Tag<'_>, assembly_error: bool) -> Frame {
        let [name, kind, result, time, file, line] = tag.values([
            b"name",
            b"type",
            b"result",
            b"time",
            b"source-file",
            b"source-line",
        ]);
        let (class, result) = if assembly_error {
            (None, kind)
        } else {
            (kind, result)
        };
        Frame::Test(Box::new(RawTest {
            assembly_error,
            name: owned(name).unwrap_or_default(),
            class: owned(class.filter(|c| !c.is_empty())),
            result: owned(result).unwrap_or_default(),
            time: time.as_deref().and_then(parse_time),
            file: owned(file.filter(|f| !f.is_empty())),
            line: line.and_then(|l| l.trim().parse().ok()),
            failure_type: None,
            texts: Texts::new(&self.limits),
        }))
    }
}

impl Elements for Xunit {
    type Frame = Frame;
    const ROOTS: &'static [&'static str] = &["assemblies", "assembly"];
    const FORMAT: &'static str = "an xUnit.net v2 report";

    fn open(&mut self, stack: &mut [Frame], tag: &Tag<'_>) -> Frame {
        let parent = stack.last_mut();
        let in_failure = matches!(parent, Some(Frame::Failure));
        let in_errors = matches!(parent, Some(Frame::Errors));
        match (tag.local(), parent) {
            (b"assembly", _) => {
                let name = tag.value(b"name").unwrap_or_default();
                let file = name.rsplit(['/', '\\']).next().unwrap_or(&name).to_owned();
                Frame::Assembly(file)
            }
            (b"errors", _) => Frame::Errors,
            (b"error", _) if in_errors => self.test(tag, true),
            (b"test", _) => self.test(tag, false),
            (b"failure", Some(Frame::Test(t))) => {
                t.failure_type = tag
                    .value(b"exception-type")
                    .filter(|e| !e.is_empty())
                    .map(|e| e.into_owned());
                Frame::Failure
            }
            (b"reason", Some(Frame::Test(_))) => Frame::Text(TextSlot::Reason),
            (b"output", Some(Frame::Test(_))) => Frame::Text(TextSlot::Output),
            (b"message", _) if in_failure => Frame::Text(TextSlot::Message),
            (b"stack-trace", _) if in_failure => Frame::Text(TextSlot::Stack),
            _ => Frame::Other,
        }
    }

    fn close(&mut self, frame: Frame, stack: &mut [Frame], out: &mut Cases) {
        if let Frame::Test(raw) = frame {
            let assembly = stack.iter().rev().find_map(|f| match f {
                Frame::Assembly(name) => Some(name.as_str()),
                _ => None,
            });
            out.push_back(finish(*raw, assembly));
        }
    }

    text_frames!(Frame::Test);
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
        let stack = raw.texts.stack.finish();
        case.status = Status::Error;
        case.failure = Some(FailureDetail {
            kind: FailureKind::Error,
            failure_type: raw.failure_type,
            message: raw.texts.message.finish(),
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
    case.system_out = raw.texts.output.finish();
    let message = raw.texts.message.finish();
    let stack = raw.texts.stack.finish();
    match raw.result.as_str() {
        "Pass" => {}
        "Skip" | "NotRun" => {
            case.status = Status::Skipped;
            case.skip_message = raw.texts.reason.finish();
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
