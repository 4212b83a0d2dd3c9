//! `go test -json` output (test2json events, one JSON object a line): the streaming
//! [`GoTestReader`].

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read};

use serde::Deserialize;

use crate::error::{ParseError, ParseErrorKind};
use crate::junit::{Limits, location_from_stack};
use crate::model::{FailureDetail, FailureKind, Status, TestCase};
use crate::xml::text::truncate;

/// Output lines kept per failing test or package: the last ones.
pub const MAX_OUTPUT_LINES: usize = 100;
/// ...and at most this many bytes of them.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024;
/// A longer line is cut (the rest of it skipped).
const MAX_LINE_BYTES: usize = 1024 * 1024;
/// Tests or packages running at once beyond this are not tracked (their output is
/// dropped; their results are still counted). With 64 KiB each, at most 64 MiB.
const MAX_OPEN: usize = 1000;

/// One test2json event. Strings without escapes borrow the line (most of them).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Event<'a> {
    #[serde(default, borrow, deserialize_with = "text")]
    action: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "text")]
    package: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "text")]
    test: Option<Cow<'a, str>>,
    elapsed: Option<f64>,
    #[serde(default, borrow, deserialize_with = "text")]
    output: Option<Cow<'a, str>>,
    /// `build-output`/`build-fail` events (Go 1.24+) name the build, not a package.
    import_path: Option<String>,
    /// On a package's `fail`: the build that failed.
    failed_build: Option<String>,
}

/// An optional string, borrowed from the input when it holds no escape.
fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct Text;
    impl<'de> serde::de::Visitor<'de> for Text {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or null")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v)))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
    }
    d.deserialize_option(Text)
}

/// The last lines of some output, bounded in lines and bytes.
#[derive(Default)]
struct Tail {
    lines: VecDeque<String>,
    bytes: usize,
    dropped: u64,
}

impl Tail {
    fn push(&mut self, line: &str) {
        let line = truncate(line.trim_end_matches(['\n', '\r']).to_owned(), 4096);
        self.bytes += line.len() + 1;
        self.lines.push_back(line);
        while self.lines.len() > MAX_OUTPUT_LINES || self.bytes > MAX_OUTPUT_BYTES {
            let Some(old) = self.lines.pop_front() else {
                break;
            };
            self.bytes -= old.len() + 1;
            self.dropped += 1;
        }
    }

    fn text(&self) -> Option<String> {
        let mut out = String::new();
        if self.dropped > 0 {
            out.push_str(&format!("… [{} earlier lines omitted] …\n", self.dropped));
        }
        for line in &self.lines {
            out.push_str(line);
            out.push('\n');
        }
        let out = out.trim_end().to_owned();
        (!out.is_empty()).then_some(out)
    }

    /// The line that explains a failure or skip: the last one that is not go test's
    /// own bookkeeping (`=== RUN`, `--- FAIL: …`, `FAIL`, `exit status 1`).
    fn explanation(&self) -> Option<String> {
        self.lines
            .iter()
            .rev()
            .map(|l| l.trim())
            .find(|l| !l.is_empty() && !is_bookkeeping(l))
            .map(str::to_owned)
    }
}

fn is_bookkeeping(line: &str) -> bool {
    [
        "=== ",
        "--- ",
        "FAIL",
        "PASS",
        "ok ",
        "ok\t",
        "exit status",
        "coverage:",
    ]
    .iter()
    .any(|p| line.starts_with(p))
}

#[derive(Default)]
struct PackageState {
    output: Tail,
    /// A failing test of the package was yielded.
    failing_test: bool,
}

/// Reads `go test -json` output as a stream of test cases.
///
/// One case per package and test (a subtest is `Parent/Child`), named by its final
/// action: `pass`, `fail`, `skip` (`bench` counts as passed). A failing test gets its
/// last output lines (at most 100 lines, 64 KiB) as the stack and the last line that
/// is not go test's bookkeeping as its message. A package that fails without a
/// failing test (a build failure, a panic outside tests, `TestMain` exiting) becomes
/// an error case named `[build failed]` or `[package failed]`. Lines that are not
/// JSON (a wrapper's banner) are skipped.
///
/// ```
/// use flowspec_results::gotest::GoTestReader;
/// use flowspec_results::junit::Limits;
/// use flowspec_results::model::Status;
///
/// let json = r#"{"Action":"run","Package":"example.com/cart","Test":"TestTotal"}
/// {"Action":"output","Package":"example.com/cart","Test":"TestTotal","Output":"    cart_test.go:12: got 9, want 10\n"}
/// {"Action":"fail","Package":"example.com/cart","Test":"TestTotal","Elapsed":0.01}
/// {"Action":"fail","Package":"example.com/cart","Elapsed":0.02}
/// "#;
/// let mut reader = GoTestReader::new(json.as_bytes(), Limits::default());
/// let case = reader.next_case()?.expect("one case");
/// assert_eq!((case.id().as_str(), case.status), ("example.com/cart::TestTotal", Status::Failed));
/// assert_eq!(case.failure.unwrap().message.as_deref(), Some("cart_test.go:12: got 9, want 10"));
/// assert!(reader.next_case()?.is_none());
/// # Ok::<(), flowspec_results::ParseError>(())
/// ```
pub struct GoTestReader<R: Read> {
    input: BufReader<R>,
    limits: Limits,
    line: u64,
    buf: Vec<u8>,
    /// Running tests by `package\0test`.
    tests: HashMap<String, Tail>,
    /// The key of the current event's test (reused: no allocation per line).
    key: String,
    packages: HashMap<String, PackageState>,
    builds: HashMap<String, Tail>,
    seen_event: bool,
    done: bool,
}

impl<R: Read> GoTestReader<R> {
    /// A reader over `input` (buffered inside).
    pub fn new(input: R, limits: Limits) -> Self {
        GoTestReader {
            input: BufReader::with_capacity(64 * 1024, input),
            limits,
            line: 0,
            buf: Vec::new(),
            tests: HashMap::new(),
            key: String::new(),
            packages: HashMap::new(),
            builds: HashMap::new(),
            seen_event: false,
            done: false,
        }
    }

    /// The next test case; `None` at the end. After an error every call returns
    /// `None`.
    pub fn next_case(&mut self) -> Result<Option<Box<TestCase>>, ParseError> {
        while !self.done {
            if !self.read_line()? {
                self.done = true;
                if !self.seen_event {
                    return Err(ParseError::new(
                        ParseErrorKind::Truncated,
                        1,
                        1,
                        "the file holds no `go test -json` event (empty output?)".to_owned(),
                    ));
                }
                break;
            }
            // The line is lent out while its event, which borrows it, is handled.
            let buf = std::mem::take(&mut self.buf);
            let text = buf.trim_ascii();
            let event = text
                .starts_with(b"{")
                .then(|| serde_json::from_slice::<Event>(text).ok())
                .flatten();
            let case = event.and_then(|event| {
                self.seen_event = true;
                self.event(event)
            });
            self.buf = buf;
            if let Some(case) = case {
                return Ok(Some(case));
            }
        }
        Ok(None)
    }

    /// Reads one line into `buf` (cut at [`MAX_LINE_BYTES`]); false at the end.
    fn read_line(&mut self) -> Result<bool, ParseError> {
        self.buf.clear();
        let mut any = false;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    return Err(ParseError::new(
                        ParseErrorKind::Io,
                        self.line + 1,
                        1,
                        format!("cannot read: {e}"),
                    ));
                }
            };
            if chunk.is_empty() {
                if any {
                    self.line += 1;
                }
                return Ok(any);
            }
            any = true;
            let (take, end) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            self.input.consume(take);
            if end {
                self.line += 1;
                return Ok(true);
            }
        }
    }

    fn event(&mut self, event: Event<'_>) -> Option<Box<TestCase>> {
        let action = event.action.as_deref().unwrap_or_default();
        if let Some(path) = event.import_path.filter(|_| event.package.is_none()) {
            if action == "build-output"
                && let Some(output) = &event.output
            {
                let open = self.builds.len();
                if let Some(tail) = tracked(&mut self.builds, path, open) {
                    tail.push(output);
                }
            }
            return None;
        }
        let package = event.package?;
        let Some(test) = event.test else {
            return self.package_event(
                package.into_owned(),
                action,
                event.output.map(Cow::into_owned),
                event.elapsed,
                event.failed_build,
            );
        };
        self.key.clear();
        self.key.push_str(&package);
        self.key.push('\0');
        self.key.push_str(&test);
        match action {
            "run" => {
                self.tests.remove(self.key.as_str());
                let open = self.tests.len();
                tracked(&mut self.tests, self.key.clone(), open);
                None
            }
            "output" => {
                if let Some(output) = &event.output
                    && let Some(tail) = self.tests.get_mut(self.key.as_str())
                {
                    tail.push(output);
                }
                None
            }
            action @ ("pass" | "fail" | "skip" | "bench") => {
                let output = self.tests.remove(self.key.as_str()).unwrap_or_default();
                let (package, test) = (package.into_owned(), test.into_owned());
                let mut case = Box::new(TestCase::new(package.clone(), test));
                case.time = event.elapsed;
                match action {
                    "fail" => {
                        case.status = Status::Failed;
                        let stack = output.text();
                        case.failure = Some(FailureDetail {
                            kind: FailureKind::Failure,
                            failure_type: None,
                            message: output
                                .explanation()
                                .map(|m| truncate(m, self.limits.max_message_bytes)),
                            stack: stack.clone(),
                        });
                        if let Some((file, line)) = stack.as_deref().and_then(location_from_stack) {
                            case.file = Some(file);
                            case.line = Some(line);
                        }
                        let open = self.packages.len();
                        if let Some(p) = tracked(&mut self.packages, package, open) {
                            p.failing_test = true;
                        }
                    }
                    "skip" => {
                        case.status = Status::Skipped;
                        case.skip_message = output
                            .explanation()
                            .map(|m| truncate(m, self.limits.max_message_bytes));
                    }
                    _ => {}
                }
                Some(case)
            }
            _ => None,
        }
    }

    fn package_event(
        &mut self,
        package: String,
        action: &str,
        output: Option<String>,
        elapsed: Option<f64>,
        failed_build: Option<String>,
    ) -> Option<Box<TestCase>> {
        match action {
            "output" => {
                if let Some(output) = output {
                    let open = self.packages.len();
                    if let Some(p) = tracked(&mut self.packages, package, open) {
                        p.output.push(&output);
                    }
                }
                None
            }
            "pass" | "skip" => {
                self.packages.remove(&package);
                None
            }
            "fail" => {
                let state = self.packages.remove(&package).unwrap_or_default();
                // Tests still running when the package failed: crashed with it.
                self.tests
                    .retain(|key, _| key.split('\0').next() != Some(package.as_str()));
                if state.failing_test {
                    return None;
                }
                let build = failed_build
                    .as_ref()
                    .and_then(|b| self.builds.remove(b))
                    .and_then(|t| t.text());
                let package_output = state.output.text();
                let build_failed = failed_build.is_some()
                    || package_output.as_deref().is_some_and(|o| {
                        o.contains("[build failed]") || o.contains("[setup failed]")
                    });
                let name = if build_failed {
                    "[build failed]"
                } else {
                    "[package failed]"
                };
                let stack = build.or(package_output);
                let message = build_message(stack.as_deref())
                    .or_else(|| state.output.explanation())
                    .unwrap_or_else(|| {
                        if build_failed {
                            "the package did not build (the compiler's errors are in the output of `go test`, on stderr before Go 1.24)".to_owned()
                        } else {
                            "the package failed without a failing test (see its output)".to_owned()
                        }
                    });
                let mut case = Box::new(TestCase::new(package, name));
                case.status = Status::Error;
                case.time = elapsed;
                case.failure = Some(FailureDetail {
                    kind: FailureKind::Error,
                    failure_type: None,
                    message: Some(truncate(message, self.limits.max_message_bytes)),
                    stack,
                });
                Some(case)
            }
            _ => None,
        }
    }
}

/// The first compiler error (`./cart.go:12:2: undefined: Foo`) of a build's output.
fn build_message(output: Option<&str>) -> Option<String> {
    output?
        .lines()
        .map(str::trim)
        .find(|l| {
            let mut parts = l.splitn(3, ':');
            let (file, line) = (parts.next(), parts.next());
            file.is_some_and(|f| f.ends_with(".go"))
                && line.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_owned)
}

/// The entry of `key`, created while fewer than [`MAX_OPEN`] are open.
fn tracked<K: std::hash::Hash + Eq, V: Default>(
    map: &mut HashMap<K, V>,
    key: K,
    open: usize,
) -> Option<&mut V> {
    if open >= MAX_OPEN && !map.contains_key(&key) {
        return None;
    }
    Some(map.entry(key).or_default())
}
