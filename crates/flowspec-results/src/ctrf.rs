//! CTRF (Common Test Report Format) JSON: [`CtrfReader`] reads a report into the
//! common model, [`write()`] writes the model as one.
//!
//! A CTRF report is one JSON document: `results.tool.name`, `results.summary` (the
//! counts the tool declares) and `results.tests[]` (name, status, duration in
//! milliseconds, message, trace, filePath, line, retries, flaky, suite).

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::{ParseError, ParseErrorKind};
use crate::json_doc::{EachOf, stream_json};
use crate::junit::Limits;
use crate::model::{DeclaredCounts, FailureDetail, FailureKind, Status, TestCase, Totals};
use crate::xml::text::truncate;

/// What a CTRF report says besides its tests.
#[derive(Default)]
struct Header {
    found: bool,
    tool: Option<String>,
    summary: Option<Summary>,
    parsed: Totals,
}

/// The top-level object: only `results` is read.
struct Document<'a> {
    limits: Limits,
    header: &'a mut Header,
    emit: &'a mut dyn FnMut(Box<TestCase>),
}

/// The `results` object: `tool` and `summary` kept, each of `tests` handed on as it
/// is read.
struct Results<'a> {
    limits: Limits,
    header: &'a mut Header,
    emit: &'a mut dyn FnMut(Box<TestCase>),
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CTRF object with `results`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Document {
            limits,
            header,
            emit,
        } = self;
        while let Some(key) = map.next_key::<String>()? {
            if key == "results" {
                header.found = true;
                map.next_value_seed(Results {
                    limits,
                    header: &mut *header,
                    emit: &mut *emit,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Results<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Results<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a `results` object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Results {
            limits,
            header,
            emit,
        } = self;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "tool" => {
                    let tool: Option<Tool> = map.next_value()?;
                    header.tool = tool
                        .map(|t| truncate(t.name, 200))
                        .filter(|t| !t.is_empty());
                }
                "summary" => header.summary = map.next_value()?,
                "tests" => {
                    let mut on_test = |test: Test| {
                        // `tool` comes before `tests` in the reports tools write.
                        let fallback = header.tool.as_deref().unwrap_or("CTRF");
                        let case = to_case(test, fallback, limits);
                        header.parsed.add(&case);
                        emit(case);
                    };
                    map.next_value_seed(EachOf::new(&mut on_test))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// What [`stream`] found besides the tests.
#[derive(Debug, Clone, Default)]
pub struct CtrfInfo {
    /// `results.tool.name`.
    pub tool: Option<String>,
    /// A warning when `results.summary` disagrees with the tests listed.
    pub count_mismatch: Option<ParseError>,
}

/// Streams a CTRF report, handing each test case to `emit` as soon as it is read
/// (memory stays flat however many tests the report lists); the cases are those
/// of [`CtrfReader`].
///
/// ```
/// use flowspec_results::ctrf;
/// use flowspec_results::junit::Limits;
///
/// let json = r#"{"results": {"tool": {"name": "playwright"},
///   "summary": {"tests": 2, "passed": 2, "failed": 0},
///   "tests": [{"name": "logs in", "status": "passed", "duration": 3}]}}"#;
/// let mut names = Vec::new();
/// let info = ctrf::stream(json.as_bytes(), Limits::default(), &mut |case| names.push(case.name))?;
/// assert_eq!(names, ["logs in"]);
/// assert_eq!(info.tool.as_deref(), Some("playwright"));
/// assert!(info.count_mismatch.is_some(), "the summary says 2 tests");
/// # Ok::<(), flowspec_results::ParseError>(())
/// ```
///
/// # Errors
/// Invalid JSON, or JSON without `results`; the cases read before the error have
/// been handed on.
pub fn stream<R: Read>(
    input: R,
    limits: Limits,
    emit: &mut dyn FnMut(Box<TestCase>),
) -> Result<CtrfInfo, ParseError> {
    let mut header = Header::default();
    stream_json(
        input,
        "CTRF",
        Document {
            limits,
            header: &mut header,
            emit,
        },
    )?;
    if !header.found {
        return Err(ParseError::new(
            ParseErrorKind::Syntax,
            1,
            1,
            "not a valid CTRF report: missing field `results`".to_owned(),
        ));
    }
    let count_mismatch = header
        .summary
        .and_then(|s| count_mismatch(&s, &header.parsed));
    Ok(CtrfInfo {
        tool: header.tool,
        count_mismatch,
    })
}

#[derive(Deserialize, Serialize)]
struct Tool {
    #[serde(default)]
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<String>,
}

#[derive(Deserialize, Serialize, Default)]
struct Summary {
    #[serde(default)]
    tests: Option<u64>,
    #[serde(default)]
    passed: Option<u64>,
    #[serde(default)]
    failed: Option<u64>,
    #[serde(default)]
    pending: Option<u64>,
    #[serde(default)]
    skipped: Option<u64>,
    #[serde(default)]
    other: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stop: Option<u64>,
}

/// `suite` is a string in older reports, the path of suite names in newer ones.
#[derive(Deserialize)]
#[serde(untagged)]
enum SuiteName {
    One(String),
    Path(Vec<String>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Test {
    name: String,
    status: String,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    trace: Option<String>,
    #[serde(default)]
    file_path: Option<String>,
    #[serde(default)]
    line: Option<u32>,
    #[serde(default)]
    retries: Option<u32>,
    #[serde(default)]
    flaky: Option<bool>,
    #[serde(default)]
    suite: Option<SuiteName>,
    #[serde(default)]
    raw_status: Option<String>,
    #[serde(default)]
    stdout: Vec<String>,
    #[serde(default)]
    stderr: Vec<String>,
}

/// Reads a CTRF JSON report as test cases, all held until taken (use [`stream`] to
/// take each case as it is read).
///
/// Statuses: `passed` → passed, `failed` → failed, `skipped` and `pending` →
/// skipped, `other` → skipped with the raw status as the message. A passed test with
/// `flaky: true` or retries is flaky; attempts are 1 plus `retries`. The suite is the
/// test's `suite` (a path joined with ` > `), else its `filePath`, else the tool's
/// name. Messages and traces are cut like those of other formats.
///
/// ```
/// use flowspec_results::ctrf::CtrfReader;
/// use flowspec_results::junit::Limits;
/// use flowspec_results::model::Status;
///
/// let json = r#"{"results": {"tool": {"name": "jest"},
///   "summary": {"tests": 1, "passed": 0, "failed": 1, "pending": 0, "skipped": 0, "other": 0},
///   "tests": [{"name": "cart totals", "status": "failed", "duration": 12,
///              "message": "expected 10, got 9", "filePath": "src/cart.test.ts", "line": 7}]}}"#;
/// let mut reader = CtrfReader::new(json.as_bytes(), Limits::default())?;
/// let case = reader.next_case().expect("one case");
/// assert_eq!((case.status, case.time), (Status::Failed, Some(0.012)));
/// assert_eq!(case.line, Some(7));
/// assert_eq!(reader.tool(), Some("jest"));
/// # Ok::<(), flowspec_results::ParseError>(())
/// ```
pub struct CtrfReader {
    tool: Option<String>,
    cases: VecDeque<Box<TestCase>>,
    mismatch: Option<ParseError>,
}

impl CtrfReader {
    /// Reads and parses the whole document.
    ///
    /// # Errors
    /// Invalid JSON, or JSON without `results`.
    pub fn new<R: Read>(input: R, limits: Limits) -> Result<Self, ParseError> {
        let mut cases = VecDeque::new();
        let info = stream(input, limits, &mut |case| cases.push_back(case))?;
        Ok(CtrfReader {
            tool: info.tool,
            cases,
            mismatch: info.count_mismatch,
        })
    }

    /// The next test case; `None` at the end.
    pub fn next_case(&mut self) -> Option<Box<TestCase>> {
        self.cases.pop_front()
    }

    /// `results.tool.name`.
    pub fn tool(&self) -> Option<&str> {
        self.tool.as_deref()
    }

    /// A warning when `results.summary` disagrees with the tests listed.
    pub fn count_mismatch(&self) -> Option<&ParseError> {
        self.mismatch.as_ref()
    }
}

fn to_case(test: Test, fallback_suite: &str, limits: Limits) -> Box<TestCase> {
    let suite = match test.suite {
        Some(SuiteName::One(s)) if !s.is_empty() => s,
        Some(SuiteName::Path(path)) if !path.is_empty() => path.join(" > "),
        _ => test
            .file_path
            .clone()
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| fallback_suite.to_owned()),
    };
    let mut case = Box::new(TestCase::new(
        truncate(suite, 1024),
        truncate(test.name, 4096),
    ));
    case.time = test
        .duration
        .filter(|d| d.is_finite() && *d >= 0.0)
        .map(|ms| (ms * 1e3).round() / 1e6);
    case.file = test.file_path.filter(|f| !f.is_empty());
    case.line = test.line;
    let retries = test.retries.unwrap_or(0);
    case.attempts = 1 + retries;
    let message = test
        .message
        .filter(|m| !m.trim().is_empty())
        .map(|m| truncate(m, limits.max_message_bytes));
    let stack = test
        .trace
        .filter(|t| !t.trim().is_empty())
        .map(|t| cut_lines(t, limits.max_stack_bytes, limits.max_stack_lines));
    case.system_out = joined(test.stdout, limits.max_output_head + limits.max_output_tail);
    case.system_err = joined(test.stderr, limits.max_output_head + limits.max_output_tail);
    match test.status.as_str() {
        "passed" => case.flaky = test.flaky.unwrap_or(false) || retries > 0,
        "failed" => {
            case.status = Status::Failed;
            case.failure = Some(FailureDetail {
                kind: FailureKind::Failure,
                failure_type: None,
                message,
                stack,
            });
        }
        "skipped" | "pending" => {
            case.status = Status::Skipped;
            case.skip_message = message;
        }
        other => {
            case.status = Status::Skipped;
            let raw = test.raw_status.unwrap_or_else(|| other.to_owned());
            case.skip_message = message.or_else(|| Some(format!("status `{}`", truncate(raw, 64))));
        }
    }
    case
}

/// At most `max_bytes` and `max_lines` lines of `text`.
fn cut_lines(text: String, max_bytes: usize, max_lines: usize) -> String {
    match text.match_indices('\n').nth(max_lines.saturating_sub(1)) {
        Some((at, _)) => truncate(text[..at].to_owned(), max_bytes),
        None => truncate(text, max_bytes),
    }
}

fn joined(lines: Vec<String>, max: usize) -> Option<String> {
    let text = lines.join("\n");
    let text = text.trim();
    (!text.is_empty()).then(|| truncate(text.to_owned(), max))
}

fn count_mismatch(summary: &Summary, parsed: &Totals) -> Option<ParseError> {
    let skipped = match (summary.skipped, summary.pending, summary.other) {
        (None, None, None) => None,
        (s, p, o) => Some(s.unwrap_or(0) + p.unwrap_or(0) + o.unwrap_or(0)),
    };
    let declared = DeclaredCounts {
        tests: summary.tests,
        failures: summary.failed,
        errors: None,
        skipped,
    };
    if declared.agrees_with(parsed) {
        return None;
    }
    Some(ParseError::new(
        ParseErrorKind::CountMismatch,
        1,
        1,
        format!(
            "results.summary declares {} but the report lists tests={} failures={} skipped={}; the counts read from the tests are used",
            declared.describe(),
            parsed.tests,
            parsed.failed,
            parsed.skipped
        ),
    ))
}

#[derive(Serialize)]
struct OutDocument<'a> {
    #[serde(rename = "reportFormat")]
    report_format: &'static str,
    #[serde(rename = "specVersion")]
    spec_version: &'static str,
    results: OutResults<'a>,
}

#[derive(Serialize)]
struct OutResults<'a> {
    tool: Tool,
    summary: Summary,
    tests: Vec<OutTest<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutTest<'a> {
    name: &'a str,
    status: &'static str,
    duration: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_status: Option<&'static str>,
    #[serde(skip_serializing_if = "is_zero")]
    retries: u32,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    flaky: bool,
    suite: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stdout: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stderr: Vec<&'a str>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Writes test cases as a CTRF report of `tool`. An error is `failed` with raw
/// status `error`; the suite is written as a one-element path; durations are whole
/// milliseconds; the summary's `start` and `stop` are 0 (the model does not keep
/// them).
///
/// ```
/// use flowspec_results::ctrf::write;
/// use flowspec_results::model::TestCase;
///
/// let cases = [TestCase::new("math", "adds")];
/// let mut json = Vec::new();
/// write(&mut json, "flowspec", &cases)?;
/// let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
/// assert_eq!(doc["results"]["summary"]["passed"], 1);
/// assert_eq!(doc["results"]["tests"][0]["name"], "adds");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write(mut out: impl Write, tool: &str, cases: &[TestCase]) -> io::Result<()> {
    let mut totals = Totals::default();
    let tests = cases
        .iter()
        .map(|case| {
            totals.add(case);
            let failure = case.failure.as_ref();
            OutTest {
                name: &case.name,
                status: match case.status {
                    Status::Passed => "passed",
                    Status::Failed | Status::Error => "failed",
                    Status::Skipped => "skipped",
                },
                duration: case.time.map_or(0, |t| (t * 1000.0).round() as u64),
                message: failure
                    .and_then(|f| f.message.as_deref())
                    .or(case.skip_message.as_deref()),
                trace: failure.and_then(|f| f.stack.as_deref()),
                file_path: case.file.as_deref(),
                line: case.line,
                raw_status: (case.status == Status::Error).then_some("error"),
                retries: case.attempts.saturating_sub(1),
                flaky: case.flaky,
                suite: vec![&case.suite],
                stdout: case.system_out.as_deref().into_iter().collect(),
                stderr: case.system_err.as_deref().into_iter().collect(),
            }
        })
        .collect();
    let document = OutDocument {
        report_format: "CTRF",
        spec_version: "0.0.0",
        results: OutResults {
            tool: Tool {
                name: tool.to_owned(),
                version: None,
            },
            summary: Summary {
                tests: Some(totals.tests),
                passed: Some(totals.passed),
                failed: Some(totals.failing()),
                pending: Some(0),
                skipped: Some(totals.skipped),
                other: Some(0),
                // Unknown once normalized; the format requires both.
                start: Some(0),
                stop: Some(0),
            },
            tests,
        },
    };
    serde_json::to_writer_pretty(&mut out, &document)?;
    writeln!(out)
}
