//! The normalized model every dialect is read into.
//!
//! One [`TestCase`] per test execution: reruns inside a test case (`flakyFailure`,
//! `rerunFailure`…) become [`Rerun`]s, and a test case listed again in the same suite
//! after it failed or errored (Gradle's test-retry without `mergeReruns`,
//! pytest-rerunfailures) is a retry merged into that listing (see
//! [`TestCase::merge`]). Listed again after it passed or was skipped, it is another
//! execution (a data-provider row, a name shared by two `describe` blocks): counted on
//! its own, named `name#2`, `name#3`…

use serde::{Deserialize, Serialize};

/// How a test ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Passed (possibly after failed attempts: see [`TestCase::flaky`]).
    Passed,
    /// An assertion failed (`<failure>`).
    Failed,
    /// The test could not run to its assertions (`<error>`: an exception, a setup
    /// failure, a crash).
    Error,
    /// Skipped, disabled or incomplete.
    Skipped,
}

impl Status {
    /// `passed`, `failed`, `error` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Error => "error",
            Status::Skipped => "skipped",
        }
    }

    /// Parses [`Status::as_str`].
    pub fn parse(text: &str) -> Option<Status> {
        Some(match text {
            "passed" => Status::Passed,
            "failed" => Status::Failed,
            "error" => Status::Error,
            "skipped" => Status::Skipped,
            _ => return None,
        })
    }

    /// Failed or error.
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Failed | Status::Error)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a failing test failed an assertion or errored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// `<failure>`.
    Failure,
    /// `<error>`.
    Error,
}

impl FailureKind {
    /// `failure` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Failure => "failure",
            FailureKind::Error => "error",
        }
    }

    /// The status a test with this failure has.
    pub fn status(self) -> Status {
        match self {
            FailureKind::Failure => Status::Failed,
            FailureKind::Error => Status::Error,
        }
    }
}

/// Why a test failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FailureDetail {
    /// `failure` or `error`.
    pub kind: FailureKind,
    /// The `type` attribute: usually the exception or assertion class.
    /// Example: `org.opentest4j.AssertionFailedError`.
    #[serde(rename = "type")]
    pub failure_type: Option<String>,
    /// The `message` attribute, or the first line of the body when there is none
    /// (Jest, PHPUnit). Bounded.
    pub message: Option<String>,
    /// The body (a stack trace, a diff, captured lines): a bounded excerpt.
    pub stack: Option<String>,
}

impl FailureDetail {
    /// A failure with a message and no stack.
    pub fn new(kind: FailureKind, message: Option<String>) -> Self {
        FailureDetail {
            kind,
            failure_type: None,
            message,
            stack: None,
        }
    }
}

/// Which kind of extra attempt a report lists inside a test case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RerunKind {
    /// `flakyFailure`: a failed attempt of a test that passed in the end.
    FlakyFailure,
    /// `flakyError`: an errored attempt of a test that passed in the end.
    FlakyError,
    /// `rerunFailure`: a failed rerun of a test that failed in the end.
    RerunFailure,
    /// `rerunError`: an errored rerun of a test that failed in the end.
    RerunError,
}

impl RerunKind {
    /// The element name: `flakyFailure`, `flakyError`, `rerunFailure`, `rerunError`.
    pub fn element(self) -> &'static str {
        match self {
            RerunKind::FlakyFailure => "flakyFailure",
            RerunKind::FlakyError => "flakyError",
            RerunKind::RerunFailure => "rerunFailure",
            RerunKind::RerunError => "rerunError",
        }
    }

    /// Whether the test passed in the end.
    pub fn is_flaky(self) -> bool {
        matches!(self, RerunKind::FlakyFailure | RerunKind::FlakyError)
    }
}

/// One extra attempt of a test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Rerun {
    /// Which kind.
    pub kind: RerunKind,
    /// The `type` attribute.
    #[serde(rename = "type")]
    pub failure_type: Option<String>,
    /// The `message` attribute, or the first line of the description.
    pub message: Option<String>,
    /// The `stackTrace` child, or the description: a bounded excerpt.
    pub stack: Option<String>,
}

/// A `<property name=".." value=".."/>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Property {
    /// The name. Example: `java.version`.
    pub name: String,
    /// The value (attribute or text). Example: `17.0.2`.
    pub value: String,
}

/// One test, normalized.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TestCase {
    /// The innermost named suite. Example: `com.example.CalculatorTest`.
    pub suite: String,
    /// The `classname` attribute (PHPUnit's `class` when there is no `classname`).
    pub classname: Option<String>,
    /// The `name` attribute. Example: `divides_by_zero`.
    pub name: String,
    /// The final status.
    pub status: Status,
    /// Passed after failed attempts (`flakyFailure`/`flakyError`, or listed again and
    /// passed in the same report).
    pub flaky: bool,
    /// How many times it ran: 1 plus the reruns the report lists.
    pub attempts: u32,
    /// Seconds, when the report says.
    pub time: Option<f64>,
    /// Why it failed (status `failed` or `error`).
    pub failure: Option<FailureDetail>,
    /// The skip message (status `skipped`).
    pub skip_message: Option<String>,
    /// The extra attempts, first ones kept up to a bound ([`attempts`](Self::attempts)
    /// counts them all).
    pub reruns: Vec<Rerun>,
    /// The source file, from the test case or its suite.
    pub file: Option<String>,
    /// The line in [`file`](Self::file).
    pub line: Option<u32>,
    /// Captured standard output: head and tail, bounded.
    pub system_out: Option<String>,
    /// Captured standard error: head and tail, bounded.
    pub system_err: Option<String>,
    /// Properties of the test case (pytest's `record_property`, nextest's).
    pub properties: Vec<Property>,
}

impl TestCase {
    /// A passed test with nothing else known.
    pub fn new(suite: impl Into<String>, name: impl Into<String>) -> Self {
        TestCase {
            suite: suite.into(),
            classname: None,
            name: name.into(),
            status: Status::Passed,
            flaky: false,
            attempts: 1,
            time: None,
            failure: None,
            skip_message: None,
            reruns: Vec::new(),
            file: None,
            line: None,
            system_out: None,
            system_err: None,
            properties: Vec::new(),
        }
    }

    /// The identity used across runs: `classname::name`, or `suite::name` when there
    /// is no classname. Quarantine lists and flaky tracking use it.
    pub fn id(&self) -> String {
        test_id(&self.suite, self.classname.as_deref(), &self.name)
    }

    /// Folds another listing of the same test (same suite, class and name) into this
    /// one. The test passed if any listing passed; it is flaky if it also failed in
    /// another listing; otherwise the first failure is kept. Attempts add up.
    pub fn merge(&mut self, other: TestCase) {
        let failed_somewhere =
            self.status.is_failure() || other.status.is_failure() || self.flaky || other.flaky;
        self.attempts += other.attempts;
        if let Some(t) = other.time {
            self.time = Some(round_us(self.time.unwrap_or(0.0) + t));
        }
        let passed_somewhere = self.status == Status::Passed || other.status == Status::Passed;
        if passed_somewhere {
            let earlier_failure = if self.status.is_failure() {
                self.failure.take()
            } else {
                other.failure.clone()
            };
            if self.status != Status::Passed {
                self.status = Status::Passed;
                self.skip_message = None;
                self.system_out = other.system_out.clone().or(self.system_out.take());
                self.system_err = other.system_err.clone().or(self.system_err.take());
            }
            self.flaky = failed_somewhere;
            if let Some(f) = earlier_failure {
                self.reruns.push(Rerun {
                    kind: match f.kind {
                        FailureKind::Failure => RerunKind::FlakyFailure,
                        FailureKind::Error => RerunKind::FlakyError,
                    },
                    failure_type: f.failure_type,
                    message: f.message,
                    stack: f.stack,
                });
            }
            self.failure = None;
        } else if other.status.is_failure() && self.status.is_failure() {
            if let Some(f) = other.failure {
                self.reruns.push(Rerun {
                    kind: match f.kind {
                        FailureKind::Failure => RerunKind::RerunFailure,
                        FailureKind::Error => RerunKind::RerunError,
                    },
                    failure_type: f.failure_type,
                    message: f.message,
                    stack: f.stack,
                });
            }
        } else if other.status.is_failure() {
            // Skipped, then failed: the failure is what matters.
            let attempts = self.attempts;
            *self = other;
            self.attempts = attempts;
            return;
        }
        self.reruns.extend(other.reruns);
        self.reruns.truncate(crate::junit::MAX_RERUNS_KEPT);
    }
}

/// Seconds rounded to the microsecond, so that sums print as people expect.
fn round_us(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e6
}

/// `classname::name`, or `suite::name` without a classname.
pub fn test_id(suite: &str, classname: Option<&str>, name: &str) -> String {
    format!(
        "{}::{name}",
        classname.filter(|c| !c.is_empty()).unwrap_or(suite)
    )
}

/// Counts over a report, each test once.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Totals {
    /// Tests (each counted once whatever its reruns).
    pub tests: u64,
    /// Passed, flaky ones included.
    pub passed: u64,
    /// Status `failed`.
    pub failed: u64,
    /// Status `error`.
    pub errors: u64,
    /// Skipped.
    pub skipped: u64,
    /// Passed after failing in the same report.
    pub flaky: u64,
    /// Sum of the tests' times, in seconds.
    pub time: f64,
}

impl Totals {
    /// Counts one test.
    pub fn add(&mut self, case: &TestCase) {
        self.add_status(case.status, case.flaky, case.time.unwrap_or(0.0));
    }

    pub(crate) fn add_status(&mut self, status: Status, flaky: bool, time: f64) {
        self.tests += 1;
        match status {
            Status::Passed => self.passed += 1,
            Status::Failed => self.failed += 1,
            Status::Error => self.errors += 1,
            Status::Skipped => self.skipped += 1,
        }
        if flaky {
            self.flaky += 1;
        }
        self.time = round_us(self.time + time);
    }

    /// Adds another report's totals.
    pub fn absorb(&mut self, other: &Totals) {
        self.tests += other.tests;
        self.passed += other.passed;
        self.failed += other.failed;
        self.errors += other.errors;
        self.skipped += other.skipped;
        self.flaky += other.flaky;
        self.time = round_us(self.time + other.time);
    }

    /// Failed plus errors.
    pub fn failing(&self) -> u64 {
        self.failed + self.errors
    }
}

/// A failed test as listed in reports and JSON output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FailedTest {
    /// See [`TestCase::id`].
    pub id: String,
    /// The suite.
    pub suite: String,
    /// The class, when the report names one.
    pub classname: Option<String>,
    /// The test's name.
    pub name: String,
    /// `failure` or `error`.
    pub kind: FailureKind,
    /// The failure type (exception class).
    #[serde(rename = "type")]
    pub failure_type: Option<String>,
    /// The message.
    pub message: Option<String>,
    /// A bounded stack-trace excerpt.
    pub stack: Option<String>,
    /// Source file.
    pub file: Option<String>,
    /// Source line.
    pub line: Option<u32>,
    /// Seconds.
    pub time: Option<f64>,
    /// How many times it ran.
    pub attempts: u32,
}

impl FailedTest {
    /// The entry of a failing test case; `None` when it did not fail.
    pub fn from_case(case: &TestCase) -> Option<Self> {
        let failure = case.failure.as_ref()?;
        Some(FailedTest {
            id: case.id(),
            suite: case.suite.clone(),
            classname: case.classname.clone(),
            name: case.name.clone(),
            kind: failure.kind,
            failure_type: failure.failure_type.clone(),
            message: failure.message.clone(),
            stack: failure.stack.clone(),
            file: case.file.clone(),
            line: case.line,
            time: case.time,
            attempts: case.attempts,
        })
    }
}

/// One of the slowest tests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SlowTest {
    /// See [`TestCase::id`].
    pub id: String,
    /// The suite.
    pub suite: String,
    /// The test's name.
    pub name: String,
    /// Its status.
    pub status: Status,
    /// Seconds.
    pub time: f64,
}

/// Counts of one suite (one that directly holds test cases).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SuiteSummary {
    /// The suite's name.
    pub name: String,
    /// Nesting depth: 0 for a top-level suite.
    pub depth: u32,
    /// Its tests' counts (each test case element once; see the report totals for
    /// merged counts).
    pub totals: Totals,
    /// The suite's own `time`, when given.
    pub time: Option<f64>,
    /// The `timestamp` attribute, as written.
    pub timestamp: Option<String>,
    /// The `hostname` attribute.
    pub hostname: Option<String>,
    /// The `file` attribute (Mocha, PHPUnit, jest-junit).
    pub file: Option<String>,
    /// Properties, bounded.
    pub properties: Vec<Property>,
    /// Suite-level standard output (Gradle, go-junit-report), bounded.
    pub system_out: Option<String>,
    /// Suite-level standard error, bounded.
    pub system_err: Option<String>,
    /// The counts the suite's own attributes declare, when it carries `tests=` and
    /// holds no nested suite (a parent's counts include its children's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<DeclaredCounts>,
    /// 1-based line and column of the suite's start tag, for messages about it.
    #[serde(skip)]
    pub(crate) start: (u64, u64),
}

impl SuiteSummary {
    /// A top-level suite with no tests counted yet.
    pub(crate) fn named(name: String) -> Self {
        SuiteSummary {
            name,
            depth: 0,
            totals: Totals::default(),
            time: None,
            timestamp: None,
            hostname: None,
            file: None,
            properties: Vec::new(),
            system_out: None,
            system_err: None,
            declared: None,
            start: (1, 1),
        }
    }
}

/// The `tests=`, `failures=`, `errors=` and `skipped=` attributes of a
/// `<testsuite>`, as written (absent ones are `None`).
///
/// ```
/// use flowspec_results::model::{DeclaredCounts, Totals};
///
/// let declared = DeclaredCounts { tests: Some(2), failures: Some(1), errors: None, skipped: Some(1) };
/// let mut parsed = Totals::default();
/// parsed.tests = 2;
/// parsed.failed = 1;
/// parsed.skipped = 1;
/// assert!(declared.agrees_with(&parsed));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredCounts {
    /// `tests=`.
    pub tests: Option<u64>,
    /// `failures=`.
    pub failures: Option<u64>,
    /// `errors=`.
    pub errors: Option<u64>,
    /// `skipped=` (`skips=` in old pytest reports).
    pub skipped: Option<u64>,
}

impl DeclaredCounts {
    /// Whether every declared count equals the parsed one.
    pub fn agrees_with(&self, parsed: &Totals) -> bool {
        let same = |declared: Option<u64>, parsed: u64| declared.is_none_or(|d| d == parsed);
        same(self.tests, parsed.tests)
            && same(self.failures, parsed.failed)
            && same(self.errors, parsed.errors)
            && same(self.skipped, parsed.skipped)
    }

    /// `tests=2 failures=1 skipped=1`: the declared attributes, in that order.
    pub fn describe(&self) -> String {
        [
            ("tests", self.tests),
            ("failures", self.failures),
            ("errors", self.errors),
            ("skipped", self.skipped),
        ]
        .iter()
        .filter_map(|(name, n)| n.map(|n| format!("{name}={n}")))
        .collect::<Vec<_>>()
        .join(" ")
    }
}
