//! The JSON reports of JavaScript and Ruby test runners: Jest (`--json`), mocha's
//! `json` reporter and RSpec's `json` formatter. Each is one document, streamed: each
//! test (each Jest test file's results) is handed on as it is read, so memory stays
//! flat however many tests the report holds.

use std::collections::HashSet;
use std::fmt;
use std::io::Read;

use serde::Deserialize;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use crate::error::ParseError;
use crate::json_doc::{EachOf, excerpt, first_line, js_location, stream_json, strip_ansi};
use crate::junit::Limits;
use crate::model::{FailureDetail, FailureKind, Status, TestCase};
use crate::xml::text::truncate;

/// A failed case with `message` and `stack` bounded by `limits`.
fn fail(case: &mut TestCase, kind: FailureKind, ty: Option<String>, text: &str, limits: Limits) {
    case.status = kind.status();
    case.failure = Some(FailureDetail {
        kind,
        failure_type: ty,
        message: first_line(text, limits.max_message_bytes),
        stack: excerpt(text, limits.max_stack_bytes, limits.max_stack_lines),
    });
}

fn seconds_from_ms(ms: Option<f64>) -> Option<f64> {
    ms.filter(|d| d.is_finite() && *d >= 0.0)
        .map(|ms| (ms * 1e3).round() / 1e6)
}

/// Implements `DeserializeSeed` for a visitor of a report's top-level object.
macro_rules! object_seed {
    ($ty:ident) => {
        impl<'de> DeserializeSeed<'de> for $ty<'_> {
            type Value = ();

            fn deserialize<D: serde::Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<(), D::Error> {
                deserializer.deserialize_map(self)
            }
        }
    };
}

/// Where each case read goes.
type Emit<'a> = &'a mut dyn FnMut(Box<TestCase>);

/// Collects the cases of a streaming reader into a list.
// Boxed like the public `read_*` functions it serves.
#[allow(clippy::vec_box)]
fn collect(
    read: impl FnOnce(Emit<'_>) -> Result<(), ParseError>,
) -> Result<Vec<Box<TestCase>>, ParseError> {
    let mut cases = Vec::new();
    read(&mut |case| cases.push(case))?;
    Ok(cases)
}

// ---- Jest ----

/// The top-level object: each entry of `testResults` (one test file) as it is read.
struct JestDoc<'a> {
    limits: Limits,
    emit: Emit<'a>,
}

object_seed!(JestDoc);

impl<'de> Visitor<'de> for JestDoc<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Jest JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let JestDoc { limits, emit } = self;
        while let Some(key) = map.next_key::<String>()? {
            if key == "testResults" {
                let mut on_file = |file: JestFile| jest_file(file, limits, emit);
                map.next_value_seed(EachOf::new(&mut on_file))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JestFile {
    #[serde(default)]
    name: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    assertion_results: Vec<JestTest>,
    #[serde(default)]
    test_exec_error: Option<JestExecError>,
}

#[derive(Deserialize)]
struct JestExecError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    stack: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JestTest {
    #[serde(default)]
    ancestor_titles: Vec<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    failure_messages: Vec<String>,
    #[serde(default)]
    location: Option<JestLocation>,
    #[serde(default)]
    invocations: Option<u32>,
    #[serde(default)]
    retry_reasons: Vec<String>,
}

#[derive(Deserialize)]
struct JestLocation {
    line: Option<u32>,
}

/// Reads Jest's `--json` output (`testResults[].assertionResults[]`).
///
/// The suite is the test file; the name is the `describe` titles and the test's
/// title joined with ` › `, as Jest prints them. `passed` → passed, `failed` →
/// failed, `pending`, `skipped`, `todo`, `disabled` → skipped. A test passed after
/// retries (`retryReasons`) is flaky. A file that failed to run (a syntax error, a
/// missing module) is an error case `[file failed to run]`.
///
/// ```
/// use flowspec_results::json_reports::read_jest;
/// use flowspec_results::junit::Limits;
///
/// let json = r#"{"numTotalTests": 1, "testResults": [{"name": "/app/cart.test.js",
///   "status": "failed", "assertionResults": [{"ancestorTitles": ["cart"], "title": "sums",
///   "status": "failed", "duration": 4, "failureMessages": ["Error: expected 3\n    at sum (/app/cart.test.js:9:5)"]}]}]}"#;
/// let cases = read_jest(json.as_bytes(), Limits::default())?;
/// assert_eq!(cases[0].id(), "/app/cart.test.js::cart › sums");
/// assert_eq!(cases[0].failure.as_ref().unwrap().message.as_deref(), Some("Error: expected 3"));
/// assert_eq!(cases[0].line, Some(9));
/// # Ok::<(), flowspec_results::ParseError>(())
/// ```
pub fn read_jest<R: Read>(input: R, limits: Limits) -> Result<Vec<Box<TestCase>>, ParseError> {
    collect(|emit| stream_jest(input, limits, emit))
}

/// [`read_jest`], handing each case to `emit` as soon as its test file has been read
/// (Jest writes a file's `name` after its results) instead of collecting them.
///
/// # Errors
/// Invalid JSON; the cases read before it have been handed on.
pub fn stream_jest<R: Read>(
    input: R,
    limits: Limits,
    emit: &mut dyn FnMut(Box<TestCase>),
) -> Result<(), ParseError> {
    stream_json(input, "Jest JSON", JestDoc { limits, emit })
}

/// The cases of one test file.
fn jest_file(file: JestFile, limits: Limits, emit: Emit<'_>) {
    let suite = truncate(file.name, 1024);
    if file.assertion_results.is_empty()
        && (file.status == "failed" || file.test_exec_error.is_some())
    {
        let mut case = Box::new(TestCase::new(suite.clone(), "[file failed to run]"));
        case.file = Some(suite.clone()).filter(|s| !s.is_empty());
        let text = match &file.test_exec_error {
            Some(e) if !e.stack.trim().is_empty() => e.stack.clone(),
            Some(e) if !e.message.trim().is_empty() => e.message.clone(),
            _ => file.message.clone(),
        };
        let text = strip_ansi(&text);
        let text = text.trim().trim_start_matches('●').trim();
        fail(&mut case, FailureKind::Error, None, text, limits);
        emit(case);
        return;
    }
    for test in file.assertion_results {
        let mut path = test.ancestor_titles;
        path.push(test.title);
        let mut case = Box::new(TestCase::new(
            suite.clone(),
            truncate(path.join(" › "), 4096),
        ));
        case.file = Some(suite.clone()).filter(|s| !s.is_empty());
        case.line = test.location.and_then(|l| l.line);
        case.time = seconds_from_ms(test.duration);
        case.attempts = test.invocations.unwrap_or(1).max(1);
        match test.status.as_str() {
            "passed" => case.flaky = !test.retry_reasons.is_empty(),
            "failed" => {
                let text = strip_ansi(&test.failure_messages.join("\n\n"));
                fail(&mut case, FailureKind::Failure, None, &text, limits);
                if case.line.is_none()
                    && let Some((file, line)) = js_location(&text, Some(&suite))
                {
                    case.file = Some(file);
                    case.line = Some(line);
                }
            }
            "todo" => {
                case.status = Status::Skipped;
                case.skip_message = Some("TODO".to_owned());
            }
            _ => case.status = Status::Skipped,
        }
        emit(case);
    }
}

// ---- mocha ----

/// The top-level object of a mocha report. Each entry of `tests` is handed on as it
/// is read, except an entry that neither failed nor ran (no `duration`) while
/// `pending` has not been read yet: it waits for `pending` to say whether it was
/// skipped. Only the keys of `pending` and of failed tests are kept, and the entries
/// of `failures` that are not failed tests (hook failures).
struct MochaDoc<'a> {
    limits: Limits,
    emit: Emit<'a>,
    state: &'a mut MochaState,
}

#[derive(Default)]
struct MochaState {
    pending: HashSet<(String, Option<String>)>,
    pending_read: bool,
    failed: HashSet<(String, Option<String>)>,
    waiting: Vec<MochaTest>,
    failures: Vec<MochaTest>,
}

object_seed!(MochaDoc);

impl<'de> Visitor<'de> for MochaDoc<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mocha JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let MochaDoc {
            limits,
            emit,
            state,
        } = self;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "tests" => {
                    let mut on_test = |test: MochaTest| {
                        if test.failed() {
                            state.failed.insert(test.key());
                        } else if !state.pending_read && test.duration.is_none() {
                            state.waiting.push(test);
                            return;
                        }
                        let skipped = state.pending.contains(&test.key());
                        emit(mocha_case(test, false, skipped, limits));
                    };
                    map.next_value_seed(EachOf::new(&mut on_test))?;
                }
                "pending" => {
                    let mut on_pending = |test: MochaTest| {
                        state.pending.insert(test.key());
                    };
                    map.next_value_seed(EachOf::new(&mut on_pending))?;
                    state.pending_read = true;
                }
                "failures" => {
                    let mut on_failure = |test: MochaTest| {
                        if !state.failed.contains(&test.key()) {
                            state.failures.push(test);
                        }
                    };
                    map.next_value_seed(EachOf::new(&mut on_failure))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MochaTest {
    #[serde(default)]
    title: String,
    #[serde(default)]
    full_title: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    current_retry: Option<u32>,
    #[serde(default)]
    err: Option<MochaError>,
}

#[derive(Deserialize, Default)]
struct MochaError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    stack: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

impl MochaTest {
    fn key(&self) -> (String, Option<String>) {
        (self.full_title.clone(), self.file.clone())
    }

    fn failed(&self) -> bool {
        self.err
            .as_ref()
            .is_some_and(|e| e.message.is_some() || e.stack.is_some())
    }
}

/// Reads the output of mocha's `json` reporter (`stats`, `tests`, `pending`,
/// `failures`, `passes`).
///
/// Each entry of `tests` is one case: failed when its `err` holds a message,
/// skipped when it is listed in `pending`. The suite is the full title without the
/// test's own title (the `describe` titles), else the file. A failure listed only
/// in `failures` (a `before all` hook) is an error case.
///
/// ```
/// use flowspec_results::json_reports::read_mocha;
/// use flowspec_results::junit::Limits;
/// use flowspec_results::model::Status;
///
/// let json = r#"{"stats": {"tests": 1, "passes": 0, "failures": 1},
///   "tests": [{"title": "sums", "fullTitle": "cart sums", "file": "/app/test/cart.js",
///              "duration": 2, "err": {"message": "expected 2 to equal 3", "stack": "AssertionError: expected 2 to equal 3\n    at Context.<anonymous> (test/cart.js:8:20)"}}],
///   "pending": [], "failures": [], "passes": []}"#;
/// let cases = read_mocha(json.as_bytes(), Limits::default())?;
/// assert_eq!((cases[0].id().as_str(), cases[0].status), ("cart::sums", Status::Failed));
/// assert_eq!(cases[0].line, Some(8));
/// # Ok::<(), flowspec_results::ParseError>(())
/// ```
pub fn read_mocha<R: Read>(input: R, limits: Limits) -> Result<Vec<Box<TestCase>>, ParseError> {
    collect(|emit| stream_mocha(input, limits, emit))
}

/// [`read_mocha`], handing each case to `emit` as it is read instead of collecting
/// them (tests that did not run wait for the `pending` list; hook failures come last).
///
/// # Errors
/// Invalid JSON; the cases read before it have been handed on.
pub fn stream_mocha<R: Read>(
    input: R,
    limits: Limits,
    emit: &mut dyn FnMut(Box<TestCase>),
) -> Result<(), ParseError> {
    let mut state = MochaState::default();
    stream_json(
        input,
        "mocha JSON",
        MochaDoc {
            limits,
            emit: &mut *emit,
            state: &mut state,
        },
    )?;
    for test in std::mem::take(&mut state.waiting) {
        let skipped = state.pending.contains(&test.key());
        emit(mocha_case(test, false, skipped, limits));
    }
    for hook in std::mem::take(&mut state.failures) {
        // A failure listed before its test in `tests` is that test's, not a hook's.
        if !state.failed.contains(&hook.key()) {
            emit(mocha_case(hook, true, false, limits));
        }
    }
    Ok(())
}

fn mocha_case(test: MochaTest, hook: bool, skipped: bool, limits: Limits) -> Box<TestCase> {
    let suite = test
        .full_title
        .strip_suffix(test.title.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| test.file.clone())
        .unwrap_or_else(|| "mocha".to_owned());
    let mut case = Box::new(TestCase::new(
        truncate(suite, 1024),
        truncate(test.title.clone(), 4096),
    ));
    case.file = test.file.clone().filter(|f| !f.is_empty());
    case.time = seconds_from_ms(test.duration);
    case.attempts = 1 + test.current_retry.unwrap_or(0);
    if skipped {
        case.status = Status::Skipped;
    } else if test.failed() || hook {
        let err = test.err.unwrap_or_default();
        let stack = err.stack.map(|s| strip_ansi(&s));
        let message = err.message.map(|m| strip_ansi(&m));
        let kind = if hook {
            FailureKind::Error
        } else {
            FailureKind::Failure
        };
        case.status = kind.status();
        let located = stack
            .as_deref()
            .and_then(|s| js_location(s, test.file.as_deref()).or_else(|| js_location(s, None)));
        if let Some((file, line)) = located {
            case.line = Some(line);
            case.file = case.file.or(Some(file));
        }
        case.failure = Some(FailureDetail {
            kind,
            failure_type: err.name.or(err.code),
            message: message
                .as_deref()
                .and_then(|m| excerpt(m, limits.max_message_bytes, usize::MAX)),
            stack: stack
                .as_deref()
                .and_then(|s| excerpt(s, limits.max_stack_bytes, limits.max_stack_lines)),
        });
    } else if case.attempts > 1 {
        case.flaky = true;
    }
    case
}

// ---- RSpec ----

/// The top-level object of an RSpec report: each of `examples` as it is read;
/// `messages` and `summary` kept for errors outside of examples.
struct RspecDoc<'a> {
    limits: Limits,
    emit: Emit<'a>,
    messages: &'a mut Vec<String>,
    summary: &'a mut Option<RspecSummary>,
}

object_seed!(RspecDoc);

impl<'de> Visitor<'de> for RspecDoc<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RSpec JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let RspecDoc {
            limits,
            emit,
            messages,
            summary,
        } = self;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "examples" => {
                    let mut on_example = |example: RspecExample| emit(rspec_case(example, limits));
                    map.next_value_seed(EachOf::new(&mut on_example))?;
                }
                "messages" => {
                    // Load errors are few and short; bounded all the same.
                    let mut on_message = |m: String| {
                        if messages.len() < 100 {
                            messages.push(truncate(m, 64 * 1024));
                        }
                    };
                    map.next_value_seed(EachOf::new(&mut on_message))?;
                }
                "summary" => *summary = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct RspecSummary {
    #[serde(default)]
    errors_outside_of_examples_count: u64,
}

#[derive(Deserialize)]
struct RspecExample {
    #[serde(default)]
    description: String,
    #[serde(default)]
    full_description: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    file_path: Option<String>,
    #[serde(default)]
    line_number: Option<u32>,
    #[serde(default)]
    run_time: Option<f64>,
    #[serde(default)]
    pending_message: Option<String>,
    #[serde(default)]
    exception: Option<RspecException>,
}

#[derive(Deserialize)]
struct RspecException {
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    backtrace: Option<Vec<String>>,
}

/// Reads the output of RSpec's `json` formatter (`examples`, `summary`).
///
/// Each example is one case, in the suite of its example group (the full
/// description without the example's own), at its `file_path` and `line_number`.
/// `passed` → passed; `failed` → failed with the exception's class, message and
/// backtrace; `pending` → skipped with the pending message. Errors outside of
/// examples (a spec file that does not load) are one error case with RSpec's
/// message.
///
/// ```
/// use flowspec_results::json_reports::read_rspec;
/// use flowspec_results::junit::Limits;
///
/// let json = r#"{"version": "3.13.0", "examples": [{"description": "sums items",
///   "full_description": "Cart sums items", "status": "failed", "file_path": "./spec/cart_spec.rb",
///   "line_number": 5, "run_time": 0.01, "exception": {"class": "RSpec::Expectations::ExpectationNotMetError",
///   "message": "\nexpected: 3\n     got: 2\n", "backtrace": ["./spec/cart_spec.rb:7:in `block (2 levels)'"]}}]}"#;
/// let cases = read_rspec(json.as_bytes(), Limits::default())?;
/// assert_eq!(cases[0].id(), "Cart::sums items");
/// assert_eq!(cases[0].failure.as_ref().unwrap().message.as_deref(), Some("expected: 3"));
/// # Ok::<(), flowspec_results::ParseError>(())
/// ```
pub fn read_rspec<R: Read>(input: R, limits: Limits) -> Result<Vec<Box<TestCase>>, ParseError> {
    collect(|emit| stream_rspec(input, limits, emit))
}

/// [`read_rspec`], handing each case to `emit` as it is read instead of collecting
/// them.
///
/// # Errors
/// Invalid JSON; the cases read before it have been handed on.
pub fn stream_rspec<R: Read>(
    input: R,
    limits: Limits,
    emit: &mut dyn FnMut(Box<TestCase>),
) -> Result<(), ParseError> {
    let mut messages = Vec::new();
    let mut summary = None;
    stream_json(
        input,
        "RSpec JSON",
        RspecDoc {
            limits,
            emit: &mut *emit,
            messages: &mut messages,
            summary: &mut summary,
        },
    )?;
    let outside = summary.map_or(0, |s| s.errors_outside_of_examples_count);
    if outside > 0 {
        let mut case = Box::new(TestCase::new("RSpec", "[errors outside of examples]"));
        // The load errors come first; `Run options: …` lines are not errors.
        let errors: Vec<&str> = messages
            .iter()
            .map(String::as_str)
            .filter(|m| !m.starts_with("Run options:"))
            .collect();
        let text = strip_ansi(&errors.join("\n"));
        let text = if text.trim().is_empty() {
            format!("{outside} error(s) occurred outside of examples")
        } else {
            text
        };
        fail(&mut case, FailureKind::Error, None, &text, limits);
        emit(case);
    }
    Ok(())
}

fn rspec_case(example: RspecExample, limits: Limits) -> Box<TestCase> {
    let suite = example
        .full_description
        .strip_suffix(example.description.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| example.file_path.clone())
        .unwrap_or_else(|| "RSpec".to_owned());
    let mut case = Box::new(TestCase::new(
        truncate(suite, 1024),
        truncate(example.description, 4096),
    ));
    case.file = example
        .file_path
        .map(|f| f.strip_prefix("./").map(str::to_owned).unwrap_or(f));
    case.line = example.line_number;
    case.time = example.run_time.filter(|t| t.is_finite() && *t >= 0.0);
    match example.status.as_str() {
        "passed" => {}
        "pending" => {
            case.status = Status::Skipped;
            case.skip_message = example.pending_message.filter(|m| !m.is_empty());
        }
        _ => {
            let exception = example.exception;
            let message = exception
                .as_ref()
                .and_then(|e| first_line(&strip_ansi(&e.message), limits.max_message_bytes));
            let stack = exception.as_ref().and_then(|e| {
                let trace = e.backtrace.as_deref().unwrap_or_default().join("\n");
                let text = format!("{}\n{trace}", strip_ansi(&e.message));
                excerpt(&text, limits.max_stack_bytes, limits.max_stack_lines)
            });
            case.status = Status::Failed;
            case.failure = Some(FailureDetail {
                kind: FailureKind::Failure,
                failure_type: exception.and_then(|e| e.class),
                message,
                stack,
            });
        }
    }
    case
}
