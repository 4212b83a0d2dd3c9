//! TAP, the Test Anything Protocol (versions 13 and 14: node-tap, node's test
//! runner, prove, bats, pytest-tap…): the streaming [`TapReader`].

// Cases are boxed from the start, as every reader hands them over: moving a box
// between the subtest buffers is cheaper than moving the case.
#![allow(clippy::vec_box)]

use std::io::Read;

use serde_json::Value;

use crate::error::{ParseError, ParseErrorKind};
use crate::junit::Limits;
use crate::lines::LineReader;
use crate::model::{FailureDetail, FailureKind, Status, TestCase};
use crate::queue::CaseQueue;
use crate::xml::text::truncate;

/// A YAML diagnostic block keeps at most this many bytes.
const MAX_YAML_BYTES: usize = 64 * 1024;
/// A subtest's results wait for its name (on the parent's test line) in a buffer
/// this long at most; beyond it they are named after the `# Subtest:` comment, or
/// `(subtest)`.
const MAX_BUFFERED: usize = 10_000;
/// Lines nested deeper than this many subtests are ignored.
const MAX_DEPTH: usize = 64;

/// Reads TAP output as a stream of test cases.
///
/// Each test point (`ok`/`not ok`) is one case, named by its description (or
/// `test N`). `# SKIP` skips it; `# TODO` marks it skipped too (a failing TODO test
/// is expected to fail). A YAML block after a test point (`  ---` … `  ...`) gives
/// the failure's `message` (or node's `error`), `at`/`location` (the file and
/// line), `stack`, and `duration_ms`. A TAP 14 subtest (indented four spaces) is
/// read as its tests, in the suite of the top-level subtest, named `parent >
/// child`; its summary line counts only when it failed without a failing child.
/// `Bail out!` becomes an error case and ends the reading; fewer test points than
/// the plan (`1..N`) announces is a truncated report.
///
/// ```
/// use flowspec_results::junit::Limits;
/// use flowspec_results::model::Status;
/// use flowspec_results::tap::TapReader;
///
/// let tap = "TAP version 13\n1..2\nok 1 - adds\nnot ok 2 - divides\n  ---\n  message: 'expected 2, got 3'\n  at: 'test/calc.js:14:5'\n  ...\n";
/// let mut reader = TapReader::new(tap.as_bytes(), Limits::default());
/// assert_eq!(reader.next_case()?.expect("a case").status, Status::Passed);
/// let failed = reader.next_case()?.expect("a case");
/// assert_eq!((failed.name.as_str(), failed.line), ("divides", Some(14)));
/// assert_eq!(failed.failure.unwrap().message.as_deref(), Some("expected 2, got 3"));
/// assert!(reader.next_case()?.is_none());
/// # Ok::<(), flowspec_results::ParseError>(())
/// ```
pub struct TapReader<R: Read> {
    lines: LineReader<R>,
    limits: Limits,
    /// Open levels: 0 is the top, 1 a subtest, 2 a subtest of it…
    levels: Vec<Level>,
    /// The latest test point, held while a YAML block may follow it.
    pending: Option<Point>,
    /// The YAML block being read: its indentation and text.
    yaml: Option<(usize, String)>,
    /// Subtest names from `# Subtest:` comments, by the depth of the level they
    /// name: a comment names the subtest one level deeper than itself (node's
    /// style)…
    announced: Vec<Option<String>>,
    /// …or, when that level is not open yet, the level it stands in (the
    /// specification's example).
    announced_here: Vec<Option<String>>,
    queue: CaseQueue,
    seen_tap: bool,
}

#[derive(Default)]
struct Level {
    name: Option<String>,
    plan: Option<u64>,
    points: u64,
    failed: bool,
    /// Finished cases, named relative to this level (suite still unset).
    cases: Vec<Box<TestCase>>,
}

struct Point {
    depth: usize,
    indent: usize,
    ok: bool,
    number: Option<u64>,
    description: String,
    directive: Directive,
    time: Option<f64>,
    /// The subtest this line closes.
    subtest: Option<Level>,
    yaml: Option<String>,
}

#[derive(Clone, PartialEq, Eq)]
enum Directive {
    None,
    Skip(String),
    Todo(String),
}

/// (ok, number, description, directive, time) of a test point.
type ParsedPoint = (bool, Option<u64>, String, Directive, Option<f64>);

/// `ok 3 - name # SKIP why` → (ok, number, description, directive, time).
fn parse_point(text: &str) -> Option<ParsedPoint> {
    let (ok, rest) = if let Some(rest) = text.strip_prefix("not ok") {
        (false, rest)
    } else {
        (true, text.strip_prefix("ok")?)
    };
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let rest = rest.trim_start();
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let number = rest[..digits].parse().ok();
    let rest = rest[digits..].trim_start();
    let rest = rest
        .strip_prefix("- ")
        .unwrap_or(rest.strip_prefix('-').unwrap_or(rest));
    let (description, comment) = split_directive(rest);
    let mut directive = Directive::None;
    let mut time = None;
    if let Some(comment) = comment {
        let lower = comment.to_ascii_lowercase();
        let reason = |word: usize| {
            comment[word..]
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .trim_start_matches(':')
                .trim()
                .to_owned()
        };
        if lower.starts_with("skip") {
            directive = Directive::Skip(reason(4));
        } else if lower.starts_with("todo") {
            directive = Directive::Todo(reason(4));
        } else if let Some(t) = lower.strip_prefix("time=") {
            time = parse_duration(t);
        }
    }
    Some((ok, number, description.trim().to_owned(), directive, time))
}

/// The description and the directive comment: the first `#` not escaped as `\#`
/// starts the comment.
fn split_directive(rest: &str) -> (String, Option<&str>) {
    match memchr::memchr2(b'#', b'\\', rest.as_bytes()) {
        None => return (rest.to_owned(), None),
        // Nothing escaped before the `#`: the description is a slice.
        Some(i) if rest.as_bytes()[i] == b'#' => {
            return (rest[..i].to_owned(), Some(rest[i + 1..].trim()));
        }
        Some(_) => {}
    }
    let mut description = String::new();
    let mut comment = None;
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, next @ ('#' | '\\'))) => description.push(next),
                Some((_, next)) => {
                    description.push('\\');
                    description.push(next);
                }
                None => description.push('\\'),
            },
            '#' => {
                comment = Some(rest[i + 1..].trim());
                break;
            }
            c => description.push(c),
        }
    }
    (description, comment)
}

/// `12ms`, `1.5s`, `12` (milliseconds) → seconds.
fn parse_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else {
        (text, 1e-3)
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| (value * scale * 1e6).round() / 1e6)
}

/// `test/x.js:14:5`, `file:///work/x.js:14`, → (file, line).
fn parse_location(text: &str) -> Option<(String, u32)> {
    let text = text.trim().trim_start_matches("file://");
    let mut parts = text.rsplitn(3, ':');
    let last = parts.next()?;
    let middle = parts.next()?;
    match parts.next() {
        Some(file) if middle.parse::<u32>().is_ok() && last.parse::<u32>().is_ok() => {
            Some((file.to_owned(), middle.parse().ok()?))
        }
        _ => Some((middle.to_owned(), last.parse().ok()?)).filter(|(f, _)| !f.is_empty()),
    }
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        other => Some(other.to_string()),
    }
}

impl<R: Read> TapReader<R> {
    /// A reader over `input` (buffered inside).
    pub fn new(input: R, limits: Limits) -> Self {
        TapReader {
            lines: LineReader::new(input),
            limits,
            levels: vec![Level::default()],
            pending: None,
            yaml: None,
            announced: vec![None; MAX_DEPTH + 2],
            announced_here: vec![None; MAX_DEPTH + 2],
            queue: CaseQueue::default(),
            seen_tap: false,
        }
    }

    /// The next test case; `None` at the end. On an error the cases read before it
    /// come first, then the error once, then `None`.
    pub fn next_case(&mut self) -> Result<Option<Box<TestCase>>, ParseError> {
        loop {
            if let Some(next) = self.queue.take() {
                return next;
            }
            match self.lines.read_line() {
                Ok(true) => self.line(),
                Ok(false) => self.end(),
                Err(e) => self.queue.fail(e),
            }
        }
    }

    fn line(&mut self) {
        // The line's buffer is lent out while the line is handled (no copy of it).
        let buf = std::mem::take(&mut self.lines.buf);
        self.handle_line(&String::from_utf8_lossy(&buf));
        self.lines.buf = buf;
    }

    fn handle_line(&mut self, text: &str) {
        let indent = text.len() - text.trim_start_matches(' ').len();
        let content = text[indent..].trim_end();
        if let Some((yaml_indent, block)) = &mut self.yaml {
            if content == "..." && indent == *yaml_indent {
                let block = std::mem::take(block);
                self.yaml = None;
                if let Some(point) = &mut self.pending {
                    point.yaml = Some(block);
                }
            } else if block.len() < MAX_YAML_BYTES {
                let line = text.get(*yaml_indent..).unwrap_or(text.trim_start());
                block.push_str(line);
                block.push('\n');
            }
            return;
        }
        if content == "---"
            && self
                .pending
                .as_ref()
                .is_some_and(|p| indent == p.indent + 2)
        {
            self.yaml = Some((indent, String::new()));
            return;
        }
        let depth = indent / 4;
        if depth > MAX_DEPTH {
            return;
        }
        if let Some(rest) = content.strip_prefix("TAP version") {
            self.seen_tap = self.seen_tap || rest.trim().parse::<u32>().is_ok();
            return;
        }
        if let Some(reason) = content.strip_prefix("Bail out!") {
            self.flush_pending();
            let mut case = Box::new(TestCase::new("TAP", "Bail out!"));
            case.status = Status::Error;
            let reason = reason.trim();
            case.failure = Some(FailureDetail::new(
                FailureKind::Error,
                Some(if reason.is_empty() {
                    "the test run bailed out".to_owned()
                } else {
                    truncate(reason.to_owned(), self.limits.max_message_bytes)
                }),
            ));
            self.seen_tap = true;
            // What is still open is reported as it stands.
            while self.levels.len() > 1 {
                let level = self.levels.pop().expect("more than one level");
                let parent = self.levels.last_mut().expect("the top level stays");
                parent.cases.extend(name_children(level, None));
            }
            let top = self.levels.last_mut().expect("the top level stays");
            top.cases.push(case);
            self.release_top();
            self.queue.done = true;
            return;
        }
        if let Some(name) = content.strip_prefix("# Subtest:") {
            let name = truncate(name.trim().to_owned(), 1024);
            if self.levels.len() <= depth {
                self.announced_here[depth] = Some(name.clone());
            }
            self.announced[depth + 1] = Some(name);
            return;
        }
        if let Some(plan) = content.strip_prefix("1..") {
            let count = plan.split_whitespace().next().and_then(|n| n.parse().ok());
            if count.is_some() {
                self.flush_pending();
                self.open(depth);
                self.levels[depth].plan = count;
                self.seen_tap = true;
            }
            return;
        }
        let Some((ok, number, description, directive, time)) = parse_point(content) else {
            return;
        };
        self.flush_pending();
        self.seen_tap = true;
        self.open(depth);
        // A test point closes the subtest one level deeper.
        while self.levels.len() > depth + 2 {
            let level = self.levels.pop().expect("deeper level");
            let parent = self.levels.last_mut().expect("parent level");
            parent.failed |= level.failed;
            parent.cases.extend(name_children(level, None));
        }
        let subtest = (self.levels.len() == depth + 2).then(|| self.levels.pop().expect("subtest"));
        // The announcement of this test (and of its subtest) is used up.
        self.announced[depth + 1] = None;
        self.announced_here[depth + 1] = None;
        self.levels[depth].points += 1;
        self.pending = Some(Point {
            depth,
            indent,
            ok,
            number,
            description: truncate(description, 4096),
            directive,
            time,
            subtest,
            yaml: None,
        });
    }

    /// Opens levels down to `depth` (a subtest starts with its first line).
    fn open(&mut self, depth: usize) {
        while self.levels.len() <= depth {
            let depth = self.levels.len();
            let name = self.announced[depth].take();
            let here = self.announced_here[depth].take();
            self.levels.push(Level {
                name: name.or(here),
                ..Level::default()
            });
        }
    }

    fn flush_pending(&mut self) {
        let Some(point) = self.pending.take() else {
            return;
        };
        let depth = point.depth;
        let failing = !point.ok && point.directive == Directive::None;
        let cases = self.finish(point);
        let level = &mut self.levels[depth];
        level.failed |= failing;
        level.cases.extend(cases);
        if depth == 0 {
            self.release_top();
        } else if level.cases.len() > MAX_BUFFERED {
            // Too many to wait for the parent's name: pass them up now.
            let name = level.name.clone().unwrap_or_else(|| "(subtest)".to_owned());
            let cases = std::mem::take(&mut level.cases);
            let parent = &mut self.levels[depth - 1];
            parent.cases.extend(cases.into_iter().map(|mut c| {
                c.name = format!("{name} > {}", c.name);
                c
            }));
            if depth == 1 {
                self.release_top();
            }
        }
    }

    /// Top-level cases go out; the suite is the top-level subtest, or `TAP`.
    fn release_top(&mut self) {
        for mut case in self.levels[0].cases.drain(..) {
            if case.suite.is_empty() {
                match case.name.split_once(" > ") {
                    Some((suite, rest)) if case.classname.is_none() => {
                        let rest = rest.to_owned();
                        case.suite = suite.to_owned();
                        case.name = rest;
                    }
                    _ => case.suite = "TAP".to_owned(),
                }
            }
            case.classname = None;
            self.queue.ready.push_back(case);
        }
    }

    /// The cases of a finished test point: the point itself, or its subtest's.
    fn finish(&self, point: Point) -> Vec<Box<TestCase>> {
        let name = if point.description.is_empty() {
            point
                .number
                .map_or_else(|| "(unnamed test)".to_owned(), |n| format!("test {n}"))
        } else {
            point.description.clone()
        };
        let mut out = Vec::new();
        let mut subtest_failed = false;
        let has_subtest = point.subtest.as_ref().is_some_and(|s| !s.cases.is_empty());
        if let Some(subtest) = point.subtest {
            subtest_failed = subtest.failed;
            out.extend(name_children(subtest, Some(&name)));
        }
        let failing = !point.ok && point.directive == Directive::None;
        // The summary line counts only when it failed without a failing test.
        if has_subtest && (subtest_failed || !failing) {
            return out;
        }
        // A case's suite is set when it reaches the top; a marker keeps a top-level
        // name that contains ` > ` whole.
        let mut case = Box::new(TestCase::new("", name));
        if point.depth == 0 {
            case.classname = Some(String::new());
        }
        case.time = point.time;
        let diagnostics = point
            .yaml
            .as_deref()
            .map(|y| Diagnostics::parse(y, self.limits));
        if let Some(d) = &diagnostics {
            case.time = d.time.or(case.time);
            if let Some((file, line)) = &d.at {
                case.file = Some(file.clone());
                case.line = Some(*line);
            }
        }
        match point.directive {
            Directive::Skip(reason) => {
                case.status = Status::Skipped;
                case.skip_message = Some(reason).filter(|r| !r.is_empty());
            }
            Directive::Todo(reason) => {
                case.status = Status::Skipped;
                case.skip_message = Some(if reason.is_empty() {
                    "TODO".to_owned()
                } else {
                    format!("TODO: {reason}")
                });
            }
            Directive::None if point.ok => {}
            Directive::None => {
                case.status = Status::Failed;
                let mut failure = FailureDetail::new(FailureKind::Failure, None);
                if let Some(d) = diagnostics {
                    failure.message = d.message;
                    failure.failure_type = d.failure_type;
                    failure.stack = d.stack;
                }
                if has_subtest && failure.message.is_none() {
                    failure.message = Some("the subtest failed without a failing test".to_owned());
                }
                case.failure = Some(failure);
            }
        }
        out.push(case);
        out
    }

    fn end(&mut self) {
        self.queue.done = true;
        if let Some((_, block)) = self.yaml.take()
            && let Some(point) = &mut self.pending
        {
            point.yaml = Some(block);
        }
        self.flush_pending();
        while self.levels.len() > 1 {
            let level = self.levels.pop().expect("more than one level");
            let parent = self.levels.last_mut().expect("the top level stays");
            parent.cases.extend(name_children(level, None));
        }
        self.release_top();
        if !self.seen_tap {
            self.queue.error = Some(ParseError::new(
                ParseErrorKind::Truncated,
                1,
                1,
                "the file holds no TAP test line or plan (empty output?)".to_owned(),
            ));
            return;
        }
        let top = &self.levels[0];
        if let Some(plan) = top.plan
            && plan != top.points
        {
            let line = self.lines.line.max(1);
            self.queue.error = Some(if top.points < plan {
                ParseError::new(
                    ParseErrorKind::Truncated,
                    line,
                    1,
                    format!(
                        "the plan announces {plan} tests but {} ran: the output is cut or the test process died",
                        top.points
                    ),
                )
            } else {
                ParseError::new(
                    ParseErrorKind::CountMismatch,
                    line,
                    1,
                    format!(
                        "the plan announces {plan} tests but {} ran; all of them are counted",
                        top.points
                    ),
                )
            });
        }
    }
}

/// A subtest's cases, named `name > child` (or as they are without a name).
fn name_children(level: Level, parent_name: Option<&str>) -> Vec<Box<TestCase>> {
    let name = level.name.as_deref().or(parent_name).map(str::to_owned);
    level
        .cases
        .into_iter()
        .map(|mut c| {
            if let Some(name) = &name {
                c.name = format!("{name} > {}", c.name);
            }
            c.classname = None;
            c
        })
        .collect()
}

/// What a YAML diagnostic block says.
struct Diagnostics {
    message: Option<String>,
    failure_type: Option<String>,
    stack: Option<String>,
    at: Option<(String, u32)>,
    time: Option<f64>,
}

impl Diagnostics {
    fn parse(block: &str, limits: Limits) -> Diagnostics {
        let stack_of = |text: String| {
            let cut = match text.match_indices('\n').nth(limits.max_stack_lines) {
                Some((at, _)) => text[..at].to_owned(),
                None => text,
            };
            truncate(cut, limits.max_stack_bytes)
        };
        let Ok(Value::Object(map)) = serde_saphyr::from_str::<Value>(block) else {
            // Not YAML after all: keep it as written.
            let text = block.trim().to_owned();
            return Diagnostics {
                message: None,
                failure_type: None,
                stack: (!text.is_empty()).then(|| stack_of(text)),
                at: None,
                time: None,
            };
        };
        let get = |key: &str| map.get(key).and_then(text_of);
        let message = get("message")
            .or_else(|| get("error"))
            .map(|m| truncate(m, limits.max_message_bytes));
        let at = match map.get("at").or_else(|| map.get("location")) {
            Some(Value::String(s)) => parse_location(s),
            Some(Value::Object(place)) => {
                let file = place.get("file").and_then(text_of);
                let line = place.get("line").and_then(Value::as_u64);
                file.zip(line.and_then(|l| u32::try_from(l).ok()))
            }
            _ => None,
        };
        let stack = get("stack").or_else(|| {
            // The comparison explains an assertion when there is no stack.
            let shown: Vec<String> = ["wanted", "found", "expected", "actual", "operator"]
                .iter()
                .filter_map(|k| get(k).map(|v| format!("{k}: {v}")))
                .collect();
            (!shown.is_empty()).then(|| shown.join("\n"))
        });
        let time = map
            .get("duration_ms")
            .and_then(Value::as_f64)
            .filter(|t| t.is_finite() && *t >= 0.0)
            .map(|ms| (ms * 1e3).round() / 1e6);
        let failure_type = get("name")
            .filter(|_| map.contains_key("error"))
            .or_else(|| get("code"));
        Diagnostics {
            message,
            failure_type,
            stack: stack.map(stack_of),
            at,
            time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_parse_test_points_with_directives_and_escapes() {
        let (ok, n, d, dir, _) = parse_point("not ok 3 - a \\# b # SKIP no network").unwrap();
        assert_eq!((ok, n, d.as_str()), (false, Some(3), "a # b"));
        assert!(dir == Directive::Skip("no network".to_owned()));
        let (ok, n, d, dir, time) = parse_point("ok - fast # time=1.5ms").unwrap();
        assert_eq!(
            (ok, n, d.as_str(), time),
            (true, None, "fast", Some(0.0015))
        );
        assert!(dir == Directive::None);
        assert!(parse_point("okay").is_none());
        assert!(parse_point("# ok 1").is_none());
    }

    #[test]
    fn should_parse_locations_with_and_without_columns() {
        assert_eq!(
            parse_location("test/a.js:14:5"),
            Some(("test/a.js".to_owned(), 14))
        );
        assert_eq!(
            parse_location("file:///w/a.js:3"),
            Some(("/w/a.js".to_owned(), 3))
        );
        assert_eq!(parse_location("nowhere"), None);
    }
}
