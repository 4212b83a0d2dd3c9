//! The JUnit XML pull parser.

use std::io::Read;

use super::Limits;
use crate::error::{ParseError, ParseErrorKind};
use crate::model::{
    DeclaredCounts, FailureDetail, FailureKind, Property, Rerun, RerunKind, Status, SuiteSummary,
    TestCase, Totals,
};
use crate::xml::text::{parse_time, truncate, unescape};
use crate::xml::{Bounded, Tag, XmlEvent, XmlLimits, XmlPull};

/// What [`JunitReader::next_event`] yields.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum JunitEvent {
    /// A test case, when its element closes (not yet merged with other listings of
    /// the same test: [`ReportBuilder`](crate::ReportBuilder) does that). Boxed: a
    /// test case is large and moves through several hands.
    Case(Box<TestCase>),
    /// A suite that directly held test cases, when it closes.
    Suite(Box<SuiteSummary>),
}

/// Reads JUnit XML as a stream of [`JunitEvent`]s, in constant memory.
///
/// ```
/// use flowspec_results::junit::{JunitEvent, JunitReader, Limits};
///
/// let xml = r#"<testsuite name="math"><testcase name="adds" time="0.01"/></testsuite>"#;
/// let mut reader = JunitReader::new(xml.as_bytes(), Limits::default());
/// let mut names = Vec::new();
/// while let Some(event) = reader.next_event()? {
///     if let JunitEvent::Case(case) = event {
///         names.push(case.name);
///     }
/// }
/// assert_eq!(names, ["adds"]);
/// # Ok::<(), flowspec_results::ParseError>(())
/// ```
pub struct JunitReader<R: Read> {
    xml: XmlPull<R>,
    limits: Limits,
    stack: Vec<Frame>,
    root_name: Option<String>,
    seen_root: bool,
    failed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Element {
    Testsuites,
    Testsuite,
    Testcase,
    Failure,
    Error,
    Skipped,
    Rerun(RerunKind),
    StackTrace,
    SystemOut,
    SystemErr,
    Properties,
    Property,
    Other,
}

impl Element {
    fn of(local: &[u8]) -> Element {
        match local {
            b"testsuites" => Element::Testsuites,
            b"testsuite" => Element::Testsuite,
            b"testcase" => Element::Testcase,
            b"failure" => Element::Failure,
            b"error" => Element::Error,
            b"skipped" => Element::Skipped,
            b"flakyFailure" => Element::Rerun(RerunKind::FlakyFailure),
            b"flakyError" => Element::Rerun(RerunKind::FlakyError),
            b"rerunFailure" => Element::Rerun(RerunKind::RerunFailure),
            b"rerunError" => Element::Rerun(RerunKind::RerunError),
            b"stackTrace" => Element::StackTrace,
            b"system-out" => Element::SystemOut,
            b"system-err" => Element::SystemErr,
            b"properties" => Element::Properties,
            b"property" => Element::Property,
            _ => Element::Other,
        }
    }
}

/// The attributes any JUnit element may carry that we read.
#[derive(Default)]
struct Attrs {
    name: Option<String>,
    classname: Option<String>,
    class: Option<String>,
    file: Option<String>,
    line: Option<u32>,
    time: Option<f64>,
    message: Option<String>,
    kind: Option<String>,
    value: Option<String>,
    timestamp: Option<String>,
    hostname: Option<String>,
    counts: DeclaredCounts,
}

fn read_attrs(tag: &Tag<'_>) -> Result<Attrs, String> {
    let mut attrs = Attrs::default();
    for attr in tag.attributes() {
        let (key, value) = attr?;
        let slot = match key.as_bytes() {
            b"time" => {
                attrs.time = parse_time(value);
                continue;
            }
            b"line" => {
                attrs.line = value.trim().parse().ok();
                continue;
            }
            key @ (b"tests" | b"failures" | b"errors" | b"skipped" | b"skips") => {
                let count = value.trim().parse().ok();
                let counts = &mut attrs.counts;
                match key {
                    b"tests" => counts.tests = count,
                    b"failures" => counts.failures = count,
                    b"errors" => counts.errors = count,
                    _ => counts.skipped = count,
                }
                continue;
            }
            b"name" => &mut attrs.name,
            b"classname" => &mut attrs.classname,
            b"class" => &mut attrs.class,
            b"file" => &mut attrs.file,
            b"message" => &mut attrs.message,
            b"type" => &mut attrs.kind,
            b"value" => &mut attrs.value,
            b"timestamp" => &mut attrs.timestamp,
            b"hostname" => &mut attrs.hostname,
            _ => continue,
        };
        *slot = Some(unescape(value).into_owned());
    }
    Ok(attrs)
}

struct SuiteFrame {
    name: String,
    depth: u32,
    time: Option<f64>,
    timestamp: Option<String>,
    hostname: Option<String>,
    file: Option<String>,
    properties: Vec<Property>,
    system_out: Option<String>,
    system_err: Option<String>,
    totals: Totals,
    declared: DeclaredCounts,
    /// Holds a nested suite: its declared counts then include the children's.
    has_child_suites: bool,
    start: (u64, u64),
}

struct CaseFrame {
    case: Box<TestCase>,
    /// The main outcome seen (`failure`, `error`).
    failure: Option<FailureDetail>,
    skipped: bool,
    reruns: u32,
}

struct OutcomeFrame {
    element: Element,
    message: Option<String>,
    kind: Option<String>,
    body: Bounded,
}

struct RerunFrame {
    kind: RerunKind,
    message: Option<String>,
    failure_type: Option<String>,
    body: Bounded,
    stack: Option<String>,
}

enum Frame {
    Suites,
    Suite(Box<SuiteFrame>),
    Case(CaseFrame),
    Outcome(Box<OutcomeFrame>),
    Rerun(Box<RerunFrame>),
    StackTrace(Bounded),
    Output {
        err: bool,
        text: Bounded,
    },
    Property {
        name: String,
        value: Option<String>,
        text: Bounded,
    },
    Other,
}

impl<R: Read> JunitReader<R> {
    /// A reader over `input` (a file, a slice, any `Read`; it is buffered inside).
    pub fn new(input: R, limits: Limits) -> Self {
        JunitReader {
            xml: XmlPull::new(
                input,
                XmlLimits {
                    max_depth: limits.max_depth,
                    max_tag_bytes: limits.max_tag_bytes,
                },
            ),
            limits,
            stack: Vec::new(),
            root_name: None,
            seen_root: false,
            failed: false,
        }
    }

    /// Bytes read so far.
    pub fn offset(&self) -> u64 {
        self.xml.offset()
    }

    /// The next case or suite; `None` at the end of the document. After an error,
    /// every call returns `None`: what was yielded before stays valid.
    pub fn next_event(&mut self) -> Result<Option<JunitEvent>, ParseError> {
        if self.failed {
            return Ok(None);
        }
        let result = self.advance();
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn advance(&mut self) -> Result<Option<JunitEvent>, ParseError> {
        loop {
            let sink = sink_for(&mut self.stack);
            let event = self.xml.next(sink)?;
            let (element, attrs, empty, root) = match event {
                XmlEvent::Start { tag, empty } => {
                    let element = Element::of(tag.local());
                    let attrs = if element == Element::Other {
                        Ok(Attrs::default())
                    } else {
                        read_attrs(&tag)
                    };
                    let root = (!self.seen_root).then(|| tag.name().to_owned());
                    (element, attrs, empty, root)
                }
                XmlEvent::End => {
                    if let Some(event) = self.close() {
                        return Ok(Some(event));
                    }
                    continue;
                }
                XmlEvent::Eof => {
                    if !self.seen_root {
                        return Err(ParseError::new(
                            ParseErrorKind::Truncated,
                            1,
                            1,
                            "the file holds no XML element (empty report?)".to_owned(),
                        ));
                    }
                    return Ok(None);
                }
            };
            if let Some(root) = root
                && !matches!(element, Element::Testsuites | Element::Testsuite)
            {
                return Err(self.xml.fail_at_mark(
                    ParseErrorKind::UnknownFormat,
                    format!(
                        "the root element is <{root}>, not <testsuites> or <testsuite>: not a JUnit XML report"
                    ),
                ));
            }
            self.seen_root = true;
            let attrs = attrs.map_err(|m| self.xml.fail_at_mark(ParseErrorKind::Syntax, m))?;
            self.open(element, attrs);
            if empty && let Some(event) = self.close() {
                return Ok(Some(event));
            }
        }
    }

    fn open(&mut self, element: Element, attrs: Attrs) {
        let limits = &self.limits;
        let frame = match element {
            Element::Testsuites => {
                if self.stack.is_empty() {
                    self.root_name = attrs.name.filter(|n| !n.is_empty());
                }
                Frame::Suites
            }
            Element::Testsuite => {
                let depth = self
                    .stack
                    .iter()
                    .filter(|f| matches!(f, Frame::Suite(_)))
                    .count() as u32;
                if let Some(Frame::Suite(parent)) = self
                    .stack
                    .iter_mut()
                    .rev()
                    .find(|f| matches!(f, Frame::Suite(_)))
                {
                    parent.has_child_suites = true;
                }
                Frame::Suite(Box::new(SuiteFrame {
                    name: attrs.name.unwrap_or_default(),
                    depth,
                    time: attrs.time,
                    timestamp: attrs.timestamp,
                    hostname: attrs.hostname,
                    file: attrs.file,
                    properties: Vec::new(),
                    system_out: None,
                    system_err: None,
                    totals: Totals::default(),
                    declared: attrs.counts,
                    has_child_suites: false,
                    start: self.xml.mark_position(),
                }))
            }
            Element::Testcase => {
                let suite = self.suite_name();
                let mut case = Box::new(TestCase::new(suite, attrs.name.unwrap_or_default()));
                case.classname = attrs
                    .classname
                    .filter(|c| !c.is_empty())
                    .or(attrs.class.filter(|c| !c.is_empty()));
                case.time = attrs.time;
                case.file = attrs
                    .file
                    .filter(|f| !f.is_empty())
                    .or_else(|| self.suite_file());
                case.line = attrs.line;
                Frame::Case(CaseFrame {
                    case,
                    failure: None,
                    skipped: false,
                    reruns: 0,
                })
            }
            Element::Failure | Element::Error | Element::Skipped
                if matches!(self.stack.last(), Some(Frame::Case(_))) =>
            {
                Frame::Outcome(Box::new(OutcomeFrame {
                    element,
                    message: attrs.message,
                    kind: attrs.kind,
                    body: Bounded::new(limits.max_stack_bytes, 0, limits.max_stack_lines),
                }))
            }
            Element::Rerun(kind) if matches!(self.stack.last(), Some(Frame::Case(_))) => {
                Frame::Rerun(Box::new(RerunFrame {
                    kind,
                    message: attrs.message,
                    failure_type: attrs.kind,
                    body: Bounded::new(limits.max_stack_bytes, 0, limits.max_stack_lines),
                    stack: None,
                }))
            }
            Element::StackTrace if matches!(self.stack.last(), Some(Frame::Rerun(_))) => {
                Frame::StackTrace(Bounded::new(
                    limits.max_stack_bytes,
                    0,
                    limits.max_stack_lines,
                ))
            }
            Element::SystemOut | Element::SystemErr
                if matches!(self.stack.last(), Some(Frame::Case(_) | Frame::Suite(_))) =>
            {
                Frame::Output {
                    err: element == Element::SystemErr,
                    text: Bounded::new(limits.max_output_head, limits.max_output_tail, usize::MAX),
                }
            }
            Element::Property => Frame::Property {
                name: attrs.name.unwrap_or_default(),
                text: Bounded::new(
                    if attrs.value.is_some() {
                        0
                    } else {
                        limits.max_property_bytes
                    },
                    0,
                    usize::MAX,
                ),
                value: attrs.value,
            },
            _ => Frame::Other,
        };
        self.stack.push(frame);
    }

    fn close(&mut self) -> Option<JunitEvent> {
        let frame = self.stack.pop()?;
        let limits = self.limits;
        match frame {
            Frame::Case(frame) => {
                let case = finish_case(frame);
                if let Some(Frame::Suite(suite)) = self
                    .stack
                    .iter_mut()
                    .rev()
                    .find(|f| matches!(f, Frame::Suite(_)))
                {
                    suite.totals.add(&case);
                }
                Some(JunitEvent::Case(case))
            }
            Frame::Suite(suite) => (suite.totals.tests > 0).then(|| {
                JunitEvent::Suite(Box::new(SuiteSummary {
                    name: suite.name,
                    depth: suite.depth,
                    totals: suite.totals,
                    time: suite.time,
                    timestamp: suite.timestamp,
                    hostname: suite.hostname,
                    file: suite.file,
                    properties: suite.properties,
                    system_out: suite.system_out,
                    system_err: suite.system_err,
                    declared: (suite.declared.tests.is_some() && !suite.has_child_suites)
                        .then_some(suite.declared),
                    start: suite.start,
                }))
            }),
            Frame::Outcome(outcome) => {
                let outcome = *outcome;
                let Some(Frame::Case(case)) = self.stack.last_mut() else {
                    return None;
                };
                let body = outcome.body.finish();
                let message = message_or_first_line(
                    outcome.message,
                    body.as_deref(),
                    limits.max_message_bytes,
                );
                match outcome.element {
                    Element::Skipped => {
                        case.skipped = true;
                        case.case.skip_message = message;
                    }
                    element if case.failure.is_none() => {
                        let kind = if element == Element::Error {
                            FailureKind::Error
                        } else {
                            FailureKind::Failure
                        };
                        case.failure = Some(FailureDetail {
                            kind,
                            failure_type: outcome.kind.filter(|t| !t.is_empty()),
                            message,
                            stack: body,
                        });
                    }
                    _ => {}
                }
                None
            }
            Frame::Rerun(rerun) => {
                let Some(Frame::Case(case)) = self.stack.last_mut() else {
                    return None;
                };
                case.reruns += 1;
                if case.case.reruns.len() < super::MAX_RERUNS_KEPT {
                    let body = rerun.body.finish();
                    let message = message_or_first_line(
                        rerun.message,
                        body.as_deref().or(rerun.stack.as_deref()),
                        limits.max_message_bytes,
                    );
                    case.case.reruns.push(Rerun {
                        kind: rerun.kind,
                        failure_type: rerun.failure_type.filter(|t| !t.is_empty()),
                        message,
                        stack: rerun.stack.or(body),
                    });
                }
                None
            }
            Frame::StackTrace(text) => {
                if let Some(Frame::Rerun(rerun)) = self.stack.last_mut() {
                    rerun.stack = text.finish();
                }
                None
            }
            Frame::Output { err, text } => {
                let text = text.finish();
                match self.stack.last_mut() {
                    Some(Frame::Case(case)) if err => case.case.system_err = text,
                    Some(Frame::Case(case)) => case.case.system_out = text,
                    Some(Frame::Suite(suite)) if err => suite.system_err = text,
                    Some(Frame::Suite(suite)) => suite.system_out = text,
                    _ => {}
                }
                None
            }
            Frame::Property { name, value, text } => {
                let value = truncate(
                    value.or_else(|| text.finish()).unwrap_or_default(),
                    limits.max_property_bytes,
                );
                let property = Property {
                    name: truncate(name, limits.max_property_bytes),
                    value,
                };
                for frame in self.stack.iter_mut().rev() {
                    let properties = match frame {
                        Frame::Case(case) => &mut case.case.properties,
                        Frame::Suite(suite) => &mut suite.properties,
                        _ => continue,
                    };
                    if properties.len() < limits.max_properties {
                        properties.push(property);
                    }
                    break;
                }
                None
            }
            Frame::Suites | Frame::Other => None,
        }
    }

    /// The innermost non-empty suite name (or the `testsuites` name).
    fn suite_name(&self) -> String {
        self.stack
            .iter()
            .rev()
            .find_map(|f| match f {
                Frame::Suite(s) if !s.name.is_empty() => Some(s.name.clone()),
                _ => None,
            })
            .or_else(|| self.root_name.clone())
            .unwrap_or_default()
    }

    fn suite_file(&self) -> Option<String> {
        self.stack.iter().rev().find_map(|f| match f {
            Frame::Suite(s) => s.file.clone().filter(|f| !f.is_empty()),
            _ => None,
        })
    }
}

/// Where the text of the current element goes.
fn sink_for(stack: &mut [Frame]) -> Option<&mut Bounded> {
    match stack.last_mut()? {
        Frame::Outcome(o) => Some(&mut o.body),
        Frame::Rerun(r) => Some(&mut r.body),
        Frame::StackTrace(text) | Frame::Output { text, .. } | Frame::Property { text, .. } => {
            Some(text)
        }
        _ => None,
    }
}

fn finish_case(frame: CaseFrame) -> Box<TestCase> {
    let CaseFrame {
        mut case,
        failure,
        skipped,
        reruns,
    } = frame;
    case.attempts = 1 + reruns;
    match failure {
        Some(failure) => {
            case.status = failure.kind.status();
            case.failure = Some(failure);
            case.skip_message = None;
        }
        None if case.reruns.iter().any(|r| !r.kind.is_flaky()) => {
            // Reruns that all failed, but no main <failure>: still a failure.
            let first = case.reruns.iter().find(|r| !r.kind.is_flaky()).cloned();
            if let Some(first) = first {
                let kind = match first.kind {
                    RerunKind::RerunError => FailureKind::Error,
                    _ => FailureKind::Failure,
                };
                case.status = kind.status();
                case.failure = Some(FailureDetail {
                    kind,
                    failure_type: first.failure_type,
                    message: first.message,
                    stack: first.stack,
                });
            }
        }
        None if reruns > 0 => {
            case.status = Status::Passed;
            case.flaky = true;
        }
        None if skipped => case.status = Status::Skipped,
        None => {}
    }
    if case.status != Status::Skipped {
        case.skip_message = None;
    }
    if case.file.is_none()
        && let Some((file, line)) = case
            .failure
            .as_ref()
            .and_then(|f| f.stack.as_deref())
            .and_then(location_from_stack)
    {
        case.file = Some(file);
        case.line = Some(line);
    }
    case
}

/// The message attribute, or the first meaningful line of the body when there is no
/// attribute or only a placeholder (go-junit-report's `Failed`/`Skipped`).
fn message_or_first_line(
    message: Option<String>,
    body: Option<&str>,
    max: usize,
) -> Option<String> {
    let message = message
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty());
    let message = match message {
        Some(m) if !is_placeholder(&m) => m,
        placeholder => body
            .and_then(first_meaningful_line)
            .map(str::to_owned)
            .or(placeholder)?,
    };
    Some(truncate(message, max))
}

fn is_placeholder(message: &str) -> bool {
    matches!(
        message,
        "Failed" | "failed" | "Skipped" | "skipped" | "failure" | "error" | "Error"
    )
}

/// The first line that says something: not `=== RUN` (Go), and for a Rust panic the
/// line after `thread '…' panicked at …:`.
fn first_meaningful_line(body: &str) -> Option<&str> {
    let mut lines = body.lines().map(str::trim).filter(|l| !l.is_empty());
    loop {
        let line = lines.next()?;
        if line.starts_with("=== RUN") || line.starts_with("=== CONT") {
            continue;
        }
        if line.starts_with("thread '") && line.contains("' panicked at ") {
            return Some(lines.next().unwrap_or(line));
        }
        return Some(line);
    }
}

/// A source location named by a failure body: a Rust panic (`panicked at
/// src/lib.rs:40:9:`), a Go test line (`cart_test.go:41: ...`), a pytest summary
/// line (`tests/test_x.py:18: AssertionError`). One search per marker over the whole
/// body: this runs for every failure.
pub(crate) fn location_from_stack(stack: &str) -> Option<(String, u32)> {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    const PANIC: &str = "' panicked at ";
    static FINDERS: LazyLock<[Finder<'static>; 3]> = LazyLock::new(|| {
        [
            Finder::new(PANIC),
            Finder::new("_test.go:"),
            Finder::new(".py:"),
        ]
    });
    if let Some(i) = FINDERS[0].find(stack.as_bytes()) {
        let rest = &stack[i + PANIC.len()..];
        let header = rest
            .split('\n')
            .next()
            .unwrap_or(rest)
            .trim_end_matches(':');
        let mut parts = header.rsplitn(3, ':');
        let (_column, line, path) = (parts.next(), parts.next(), parts.next());
        if let (Some(path), Some(line)) = (path, line.and_then(|l| l.parse().ok())) {
            return Some((path.to_owned(), line));
        }
    }
    for (finder, marker) in FINDERS[1..].iter().zip(["_test.go:", ".py:"]) {
        let Some(i) = finder.find(stack.as_bytes()) else {
            continue;
        };
        let end = i + marker.len() - 1;
        let start = stack[..i]
            .rfind(|c: char| c.is_whitespace())
            .map_or(0, |p| p + 1);
        let digits: String = stack[end + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(line) = digits.parse() {
            return Some((stack[start..end].to_owned(), line));
        }
    }
    None
}
