//! `dart test --reporter json` and `flutter test --machine` output (one JSON event
//! a line): the streaming [`DartReader`].

use std::collections::{HashMap, VecDeque};
use std::io::Read;

use serde::Deserialize;

use crate::error::{ParseError, ParseErrorKind};
use crate::json_doc::{excerpt, first_line};
use crate::junit::Limits;
use crate::lines::LineReader;
use crate::model::{FailureDetail, FailureKind, Status, TestCase};
use crate::xml::text::truncate;

/// Tests running at once beyond this are not tracked, and not counted (only a
/// stream that starts tests and never finishes them gets there).
const MAX_OPEN: usize = 10_000;
/// Suites (test files) remembered by id.
const MAX_SUITES: usize = 100_000;
/// Printed lines kept per test: the last ones.
const MAX_PRINTS: usize = 100;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    suite: Option<SuiteInfo>,
    #[serde(default)]
    test: Option<TestInfo>,
    #[serde(rename = "testID", default)]
    test_id: Option<u64>,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    skipped: bool,
    #[serde(default)]
    hidden: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    stack_trace: Option<String>,
    #[serde(default)]
    is_failure: Option<bool>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    time: Option<f64>,
}

#[derive(Deserialize)]
struct SuiteInfo {
    id: u64,
    #[serde(default)]
    path: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestInfo {
    id: u64,
    #[serde(default)]
    name: String,
    #[serde(rename = "suiteID", default)]
    suite_id: Option<u64>,
    #[serde(default)]
    line: Option<u32>,
    #[serde(default)]
    root_line: Option<u32>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    skip_reason: Option<String>,
}

/// A test between `testStart` and `testDone`.
struct Open {
    name: String,
    suite: Option<String>,
    line: Option<u32>,
    skip_reason: Option<String>,
    started: Option<f64>,
    /// The first error: whether it was an assertion failure, its text and stack.
    error: Option<(bool, String, String)>,
    errors: u32,
    prints: VecDeque<String>,
}

/// Reads the JSON event stream of `dart test --reporter json` (and `flutter test
/// --machine`) as test cases.
///
/// Each `testStart`…`testDone` pair is one case in the suite of its test file,
/// named as Dart names it (group names, then the test's). `result` `success` →
/// passed (skipped when `skipped`), `failure` → failed, `error` → error; the first
/// `error` event gives the message and stack; `print` events the output. Hidden
/// tests (a file's loading) count only when they fail, as `loading …` error cases.
///
/// ```
/// use flowspec_results::dart::DartReader;
/// use flowspec_results::junit::Limits;
/// use flowspec_results::model::Status;
///
/// let json = r#"{"protocolVersion":"0.1.1","runnerVersion":"1.25.2","pid":7,"type":"start","time":0}
/// {"suite":{"id":0,"platform":"vm","path":"test/cart_test.dart"},"type":"suite","time":0}
/// {"test":{"id":3,"name":"Cart sums","suiteID":0,"groupIDs":[2],"line":6},"type":"testStart","time":10}
/// {"testID":3,"error":"Expected: <3>\n  Actual: <2>\n","stackTrace":"test/cart_test.dart 7:5  main.<fn>\n","isFailure":true,"type":"error","time":15}
/// {"testID":3,"result":"failure","skipped":false,"hidden":false,"type":"testDone","time":16}
/// {"success":false,"type":"done","time":20}
/// "#;
/// let mut reader = DartReader::new(json.as_bytes(), Limits::default());
/// let case = reader.next_case()?.expect("one case");
/// assert_eq!((case.id().as_str(), case.status), ("test/cart_test.dart::Cart sums", Status::Failed));
/// assert_eq!((case.line, case.time), (Some(6), Some(0.006)));
/// assert_eq!(case.failure.unwrap().message.as_deref(), Some("Expected: <3>"));
/// # Ok::<(), flowspec_results::ParseError>(())
/// ```
pub struct DartReader<R: Read> {
    lines: LineReader<R>,
    limits: Limits,
    suites: HashMap<u64, String>,
    open: HashMap<u64, Open>,
    /// At the end: the tests that never finished, as error cases.
    unfinished: VecDeque<Box<TestCase>>,
    seen_event: bool,
    done: bool,
}

impl<R: Read> DartReader<R> {
    /// A reader over `input` (buffered inside).
    pub fn new(input: R, limits: Limits) -> Self {
        DartReader {
            lines: LineReader::new(input),
            limits,
            suites: HashMap::new(),
            open: HashMap::new(),
            unfinished: VecDeque::new(),
            seen_event: false,
            done: false,
        }
    }

    /// The next test case; `None` at the end. Lines that are not JSON events (a
    /// wrapper's banner) are skipped.
    pub fn next_case(&mut self) -> Result<Option<Box<TestCase>>, ParseError> {
        while !self.done {
            if !self.lines.read_line()? {
                self.done = true;
                if !self.seen_event {
                    return Err(ParseError::new(
                        ParseErrorKind::Truncated,
                        1,
                        1,
                        "the file holds no `dart test --reporter json` event (empty output?)"
                            .to_owned(),
                    ));
                }
                break;
            }
            let text = self.lines.buf.trim_ascii();
            if !text.starts_with(b"{") {
                continue;
            }
            let Ok(event) = serde_json::from_slice::<Event>(text) else {
                continue;
            };
            self.seen_event = true;
            if let Some(case) = self.event(event) {
                return Ok(Some(case));
            }
        }
        // Tests started but never done: the run stopped.
        Ok(self.unfinished())
    }

    /// The next test that started but never finished (the run stopped), as an error.
    fn unfinished(&mut self) -> Option<Box<TestCase>> {
        if !self.open.is_empty() {
            let mut open: Vec<(u64, Open)> = self.open.drain().collect();
            open.sort_by_key(|(id, _)| *id);
            for (_, test) in open {
                let mut case = self.case_of(test, None, false);
                // An error it reported explains it better than the stop.
                let failure = case.failure.take().unwrap_or_else(|| {
                    FailureDetail::new(
                        FailureKind::Error,
                        Some("the test started but never finished (the run stopped)".to_owned()),
                    )
                });
                case.status = failure.kind.status();
                case.failure = Some(failure);
                self.unfinished.push_back(case);
            }
        }
        self.unfinished.pop_front()
    }

    fn event(&mut self, event: Event) -> Option<Box<TestCase>> {
        match event.kind.as_str() {
            "suite" => {
                if let Some(suite) = event.suite
                    && (self.suites.len() < MAX_SUITES || self.suites.contains_key(&suite.id))
                {
                    let path = suite.path.unwrap_or_else(|| format!("suite {}", suite.id));
                    self.suites.insert(suite.id, truncate(path, 1024));
                }
                None
            }
            "testStart" => {
                let test = event.test?;
                if self.open.len() >= MAX_OPEN {
                    return None;
                }
                let suite = test.suite_id.and_then(|id| self.suites.get(&id).cloned());
                self.open.insert(
                    test.id,
                    Open {
                        name: truncate(test.name, 4096),
                        suite,
                        line: test.root_line.or(test.line),
                        skip_reason: test.metadata.and_then(|m| m.skip_reason),
                        started: event.time,
                        error: None,
                        errors: 0,
                        prints: VecDeque::new(),
                    },
                );
                None
            }
            "error" => {
                let open = self.open.get_mut(&event.test_id?)?;
                open.errors += 1;
                if open.error.is_none() {
                    open.error = Some((
                        event.is_failure.unwrap_or(false),
                        event.error.unwrap_or_default(),
                        event.stack_trace.unwrap_or_default(),
                    ));
                }
                None
            }
            "print" => {
                let open = self.open.get_mut(&event.test_id?)?;
                if let Some(message) = event.message {
                    open.prints.push_back(truncate(message, 4096));
                    if open.prints.len() > MAX_PRINTS {
                        open.prints.pop_front();
                    }
                }
                None
            }
            "testDone" => {
                let open = self.open.remove(&event.test_id?)?;
                let result = event.result.unwrap_or_default();
                if event.hidden && result == "success" {
                    return None;
                }
                let mut case = self.case_of(open, event.time, event.skipped);
                match result.as_str() {
                    "success" => {}
                    "failure" => {
                        case.status = Status::Failed;
                        if let Some(f) = &mut case.failure {
                            f.kind = FailureKind::Failure;
                        }
                    }
                    _ => {
                        case.status = Status::Error;
                        if let Some(f) = &mut case.failure {
                            f.kind = FailureKind::Error;
                        }
                    }
                }
                if case.status.is_failure() {
                    let kind = if case.status == Status::Failed {
                        FailureKind::Failure
                    } else {
                        FailureKind::Error
                    };
                    case.skip_message = None;
                    case.failure
                        .get_or_insert_with(|| FailureDetail::new(kind, None));
                } else {
                    // An error event on a test that passed in the end (a retry).
                    case.failure = None;
                }
                Some(case)
            }
            _ => None,
        }
    }

    fn case_of(&self, open: Open, done: Option<f64>, skipped: bool) -> Box<TestCase> {
        let limits = self.limits;
        let suite = open.suite.clone().unwrap_or_else(|| "dart".to_owned());
        let mut case = Box::new(TestCase::new(suite.clone(), open.name));
        case.file = open.suite;
        case.line = open.line;
        case.time = match (open.started, done) {
            (Some(start), Some(end)) if end >= start => Some(((end - start) * 1e3).round() / 1e6),
            _ => None,
        };
        if skipped {
            case.status = Status::Skipped;
            case.skip_message = open.skip_reason.filter(|r| !r.is_empty());
        }
        let prints: Vec<String> = open.prints.into_iter().collect();
        case.system_out = excerpt(
            &prints.join("\n"),
            limits.max_output_head + limits.max_output_tail,
            usize::MAX,
        );
        if let Some((is_failure, error, stack)) = open.error {
            let kind = if is_failure {
                FailureKind::Failure
            } else {
                FailureKind::Error
            };
            let mut trace = String::new();
            trace.push_str(error.trim_end());
            trace.push('\n');
            trace.push_str(&stack);
            if open.errors > 1 {
                trace.push_str(&format!("\n… and {} more error(s)", open.errors - 1));
            }
            case.failure = Some(FailureDetail {
                kind,
                failure_type: None,
                message: first_line(&error, limits.max_message_bytes),
                stack: excerpt(&trace, limits.max_stack_bytes, limits.max_stack_lines),
            });
        }
        case
    }
}
