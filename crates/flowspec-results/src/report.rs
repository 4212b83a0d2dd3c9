//! From report files to one [`Report`]: format detection, merging of tests listed
//! more than once, totals, failures, slowest tests, suites and coverage.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::coverage::{
    Coverage, ParsedCoverage, read_cobertura, read_go_cover, read_jacoco, read_lcov,
};
use crate::ctrf;
use crate::dart::DartReader;
use crate::error::{ParseError, ParseErrorKind};
pub use crate::format::Format;
use crate::gotest::GoTestReader;
use crate::json_reports::{stream_jest, stream_mocha, stream_rspec};
use crate::junit::{JunitEvent, JunitReader, Limits};
use crate::model::{FailedTest, SlowTest, SuiteSummary, TestCase, Totals};
use crate::nunit::NunitReader;
use crate::tap::TapReader;
use crate::trx::TrxReader;
use crate::xunit::XunitReader;

/// What was read from one file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileResult {
    /// The file, as given.
    pub path: String,
    /// Its format, when recognised.
    pub format: Option<Format>,
    /// Test cases read from it (JUnit).
    pub tests: u64,
    /// Whether reading stopped early.
    pub partial: bool,
    /// Why, if it did.
    pub error: Option<ParseError>,
}

/// Options of a [`ReportBuilder`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ParseOptions {
    /// Bounds on what one test may hold.
    pub limits: Limits,
    /// Keep every test case in [`Report::cases`] (memory grows with the report).
    pub keep_cases: bool,
    /// Failures listed in [`Report::failures`]; the rest are counted in
    /// `failures_omitted`. Default 1000.
    pub max_failures: usize,
    /// How many of the slowest tests to list. Default 10.
    pub slowest: usize,
    /// Suites listed in [`Report::suites`]. Default 10,000.
    pub max_suites: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            limits: Limits::default(),
            keep_cases: false,
            max_failures: 1000,
            slowest: 10,
            max_suites: 10_000,
        }
    }
}

impl ParseOptions {
    /// Keeps every test case.
    pub fn keep_cases(mut self, keep: bool) -> Self {
        self.keep_cases = keep;
        self
    }

    /// Lists at most `max` failures.
    pub fn max_failures(mut self, max: usize) -> Self {
        self.max_failures = max;
        self
    }

    /// Other limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// The normalized result of one or more report files.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// Counts, each test once.
    pub totals: Totals,
    /// Failed tests (status `failed` or `error`), in report order.
    pub failures: Vec<FailedTest>,
    /// Failed tests beyond [`ParseOptions::max_failures`].
    pub failures_omitted: u64,
    /// The slowest tests, slowest first.
    pub slowest: Vec<SlowTest>,
    /// Suites that directly hold test cases.
    pub suites: Vec<SuiteSummary>,
    /// Suites beyond [`ParseOptions::max_suites`].
    pub suites_omitted: u64,
    /// Coverage, when a coverage report was given.
    pub coverage: Option<Coverage>,
    /// Each file read.
    pub files: Vec<FileResult>,
    /// Whether some file could not be read to its end (its tests up to the error
    /// are included).
    pub partial: bool,
    /// Why, for each file that stopped early.
    pub errors: Vec<ParseError>,
    /// Every test case, with [`ParseOptions::keep_cases`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cases: Option<Vec<TestCase>>,
}

impl Report {
    /// Reads files into a report with default options.
    ///
    /// ```no_run
    /// let report = flowspec_results::Report::from_files(["target/junit.xml", "lcov.info"]);
    /// println!("{} failed", report.totals.failing());
    /// ```
    pub fn from_files<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Report {
        let mut builder = ReportBuilder::new(ParseOptions::default());
        for path in paths {
            builder.add_file(path.as_ref());
        }
        builder.finish()
    }
}

/// Something that receives each test case once merged (the results store uses it
/// to write cases while the file is still being read).
pub trait CaseSink {
    /// A test case, final.
    fn case(&mut self, case: &TestCase);
}

impl<F: FnMut(&TestCase)> CaseSink for F {
    fn case(&mut self, case: &TestCase) {
        self(case)
    }
}

struct NoSink;

impl CaseSink for NoSink {
    fn case(&mut self, _: &TestCase) {}
}

/// Builds a [`Report`] from files or readers, streaming each.
///
/// ```
/// use flowspec_results::{ParseOptions, ReportBuilder};
///
/// let xml = r#"<testsuite name="s">
///   <testcase name="a" time="0.2"/>
///   <testcase name="b"><failure message="boom"/></testcase>
/// </testsuite>"#;
/// let mut builder = ReportBuilder::new(ParseOptions::default());
/// builder.add_junit(xml.as_bytes(), "inline.xml");
/// let report = builder.finish();
/// assert_eq!((report.totals.tests, report.totals.failed), (2, 1));
/// assert_eq!(report.failures[0].message.as_deref(), Some("boom"));
/// ```
pub struct ReportBuilder {
    options: ParseOptions,
    report: Report,
    cases: Vec<TestCase>,
    /// While a format without suite elements of its own is read: suite name → its
    /// index in the report's suites, so that each case's suite is counted.
    case_suites: Option<HashMap<String, usize>>,
}

/// Test cases of the current top-level suite. A listing of a (suite, class, name)
/// seen before is a retry, merged, when the latest execution with that key failed or
/// errored; otherwise it is another execution, kept as `name#2`, `name#3`…
struct Merger {
    // Boxed on purpose: a test case is ~350 bytes and arrives boxed from the reader;
    // moving the box is cheaper than moving the case in and out of the buffer.
    #[allow(clippy::vec_box)]
    buffer: Vec<Box<TestCase>>,
    /// Key hash → the keys with that hash (more than one only on a collision).
    index: HashMap<u64, Vec<Slot>, BuildHasherDefault<KeyHasher>>,
}

/// The executions of one key in the buffer.
struct Slot {
    /// The first execution: it still carries the key's own name.
    first: usize,
    /// The latest execution, which a retry merges into.
    latest: usize,
    /// Executions so far.
    count: u32,
}

/// The keys are already hashes: pass them through.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// A fast (not DoS-resistant; the map is bounded and local) hash of a test's key.
fn key_hash(case: &TestCase) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        h = (h.rotate_left(5) ^ 0xff).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    };
    eat(case.suite.as_bytes());
    eat(case.classname.as_deref().unwrap_or("").as_bytes());
    eat(case.name.as_bytes());
    h
}

/// Flush the merge buffer beyond this many cases (a giant suite then only merges
/// duplicates within each chunk).
const MERGE_WINDOW: usize = 5000;

impl Merger {
    fn new() -> Self {
        Merger {
            buffer: Vec::new(),
            index: HashMap::default(),
        }
    }

    fn push(&mut self, mut case: Box<TestCase>) {
        let buffer = &mut self.buffer;
        let slots = self.index.entry(key_hash(&case)).or_default();
        let same = |known: &TestCase| {
            known.name == case.name
                && known.classname == case.classname
                && known.suite == case.suite
        };
        let Some(slot) = slots.iter_mut().find(|s| same(&buffer[s.first])) else {
            slots.push(Slot {
                first: buffer.len(),
                latest: buffer.len(),
                count: 1,
            });
            buffer.push(case);
            return;
        };
        let latest = &mut buffer[slot.latest];
        if latest.status.is_failure() {
            latest.merge(*case);
        } else {
            slot.count += 1;
            case.name = format!("{}#{}", case.name, slot.count);
            slot.latest = buffer.len();
            buffer.push(case);
        }
    }

    /// The merged counts of the buffered cases of suite `name`.
    fn totals_of(&self, name: &str) -> Totals {
        let mut totals = Totals::default();
        for case in self.buffer.iter().filter(|c| c.suite == name) {
            totals.add(case);
        }
        totals
    }

    fn drain(&mut self) -> std::vec::Drain<'_, Box<TestCase>> {
        self.index.clear();
        self.buffer.drain(..)
    }
}

impl ReportBuilder {
    /// A builder with these options.
    pub fn new(options: ParseOptions) -> Self {
        ReportBuilder {
            options,
            report: Report::default(),
            cases: Vec::new(),
            case_suites: None,
        }
    }

    /// Reads a file of any supported format (detected from its first bytes).
    pub fn add_file(&mut self, path: &Path) -> &FileResult {
        self.add_file_with(path, &mut NoSink)
    }

    /// [`add_file`](Self::add_file), handing each final test case to `sink`.
    pub fn add_file_with(&mut self, path: &Path, sink: &mut dyn CaseSink) -> &FileResult {
        let label = path.display().to_string();
        match File::open(path) {
            Ok(file) => self.add_reader_with(file, &label, sink),
            Err(e) => {
                let error = ParseError::new(ParseErrorKind::Io, 1, 1, format!("cannot open: {e}"));
                self.record_file(label, None, 0, Some(error))
            }
        }
    }

    /// Reads a report of any supported format from a reader; `label` names it.
    pub fn add_reader<R: Read>(&mut self, input: R, label: &str) -> &FileResult {
        self.add_reader_with(input, label, &mut NoSink)
    }

    /// [`add_reader`](Self::add_reader), handing each final test case to `sink`.
    pub fn add_reader_with<R: Read>(
        &mut self,
        input: R,
        label: &str,
        sink: &mut dyn CaseSink,
    ) -> &FileResult {
        let mut reader = BufReader::with_capacity(8 * 1024, input);
        let head = match reader.fill_buf() {
            Ok(head) => head,
            Err(e) => {
                let error = ParseError::new(ParseErrorKind::Io, 1, 1, format!("cannot read: {e}"));
                return self.record_file(label.to_owned(), None, 0, Some(error));
            }
        };
        match Format::sniff(head) {
            Some(Format::Junit) => self.add_junit_with(reader, label, sink),
            Some(Format::Cobertura) => {
                let parsed = read_cobertura(reader, self.options.limits);
                self.add_coverage(parsed, label, Format::Cobertura)
            }
            Some(Format::Jacoco) => {
                let parsed = read_jacoco(reader, self.options.limits);
                self.add_coverage(parsed, label, Format::Jacoco)
            }
            Some(Format::GoCover) => {
                let parsed = read_go_cover(reader);
                self.add_coverage(parsed, label, Format::GoCover)
            }
            Some(Format::Lcov) => {
                let parsed = read_lcov(reader);
                self.add_coverage(parsed, label, Format::Lcov)
            }
            Some(Format::Trx) => {
                let mut trx = TrxReader::new(reader, self.options.limits);
                self.add_cases_with(|| trx.next_case(), label, Format::Trx, sink)
            }
            Some(Format::GoTestJson) => {
                let mut go = GoTestReader::new(reader, self.options.limits);
                self.add_cases_with(|| go.next_case(), label, Format::GoTestJson, sink)
            }
            Some(Format::Nunit) => {
                let mut nunit = NunitReader::new(reader, self.options.limits);
                self.add_cases_with(|| nunit.next_case(), label, Format::Nunit, sink)
            }
            Some(Format::Ctrf) => {
                let limits = self.options.limits;
                self.add_streamed_with(label, Format::Ctrf, sink, |emit| {
                    ctrf::stream(reader, limits, emit).map(|info| info.count_mismatch)
                })
            }
            Some(format @ (Format::JestJson | Format::MochaJson | Format::RspecJson)) => {
                let limits = self.options.limits;
                self.add_streamed_with(label, format, sink, |emit| {
                    match format {
                        Format::JestJson => stream_jest(reader, limits, emit),
                        Format::MochaJson => stream_mocha(reader, limits, emit),
                        _ => stream_rspec(reader, limits, emit),
                    }
                    .map(|()| None)
                })
            }
            Some(Format::DartJson) => {
                let mut dart = DartReader::new(reader, self.options.limits);
                self.add_cases_with(|| dart.next_case(), label, Format::DartJson, sink)
            }
            Some(Format::Tap) => {
                let mut tap = TapReader::new(reader, self.options.limits);
                self.add_cases_with(|| tap.next_case(), label, Format::Tap, sink)
            }
            Some(Format::Xunit) => {
                let mut xunit = XunitReader::new(reader, self.options.limits);
                self.add_cases_with(|| xunit.next_case(), label, Format::Xunit, sink)
            }
            None => {
                let error = ParseError::new(
                    ParseErrorKind::UnknownFormat,
                    1,
                    1,
                    format!(
                        "not a report of a known format ({}): recognised by their content, not their file names",
                        crate::format::KNOWN
                    ),
                );
                self.record_file(label.to_owned(), None, 0, Some(error))
            }
        }
    }

    /// Reads JUnit XML from any reader; `label` names it in errors.
    pub fn add_junit<R: Read>(&mut self, input: R, label: &str) -> &FileResult {
        self.add_junit_with(input, label, &mut NoSink)
    }

    /// [`add_junit`](Self::add_junit), handing each final test case to `sink`.
    pub fn add_junit_with<R: Read>(
        &mut self,
        input: R,
        label: &str,
        sink: &mut dyn CaseSink,
    ) -> &FileResult {
        let mut reader = JunitReader::new(input, self.options.limits);
        let mut merger = Merger::new();
        let mut tests = 0u64;
        let error = loop {
            match reader.next_event() {
                Ok(Some(JunitEvent::Case(case))) => {
                    tests += 1;
                    merger.push(case);
                    if merger.buffer.len() >= MERGE_WINDOW {
                        self.flush(&mut merger, sink);
                    }
                }
                Ok(Some(JunitEvent::Suite(suite))) => {
                    if let Some(warning) = count_mismatch(&suite, &merger) {
                        self.report.errors.push(warning.in_file(label));
                    }
                    if suite.depth == 0 {
                        self.flush(&mut merger, sink);
                    }
                    if self.report.suites.len() < self.options.max_suites {
                        self.report.suites.push(*suite);
                    } else {
                        self.report.suites_omitted += 1;
                    }
                }
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        self.flush(&mut merger, sink);
        self.record_file(label.to_owned(), Some(Format::Junit), tests, error)
    }

    /// Test cases from a reader that yields them one by one (TRX, `go test -json`,
    /// NUnit…), merged like JUnit test cases; each case's suite is summarised.
    fn add_cases_with(
        &mut self,
        mut next: impl FnMut() -> Result<Option<Box<TestCase>>, ParseError>,
        label: &str,
        format: Format,
        sink: &mut dyn CaseSink,
    ) -> &FileResult {
        self.case_suites = Some(HashMap::new());
        let mut merger = Merger::new();
        let mut tests = 0u64;
        let error = loop {
            match next() {
                Ok(Some(case)) => {
                    tests += 1;
                    merger.push(case);
                    if merger.buffer.len() >= MERGE_WINDOW {
                        self.flush(&mut merger, sink);
                    }
                }
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        self.flush(&mut merger, sink);
        self.case_suites = None;
        self.record_file(label.to_owned(), Some(format), tests, error)
    }

    /// Test cases from a reader that pushes them (the JSON reports, walked by serde
    /// visitors), merged like JUnit test cases. `read` returns a warning about the
    /// whole file (declared counts that disagree), if any.
    fn add_streamed_with(
        &mut self,
        label: &str,
        format: Format,
        sink: &mut dyn CaseSink,
        read: impl FnOnce(&mut dyn FnMut(Box<TestCase>)) -> Result<Option<ParseError>, ParseError>,
    ) -> &FileResult {
        self.case_suites = Some(HashMap::new());
        let mut merger = Merger::new();
        let mut tests = 0u64;
        let outcome = read(&mut |case| {
            tests += 1;
            merger.push(case);
            if merger.buffer.len() >= MERGE_WINDOW {
                self.flush(&mut merger, sink);
            }
        });
        self.flush(&mut merger, sink);
        self.case_suites = None;
        let error = match outcome {
            Ok(Some(warning)) => {
                self.report.errors.push(warning.in_file(label));
                None
            }
            Ok(None) => None,
            Err(e) => Some(e),
        };
        self.record_file(label.to_owned(), Some(format), tests, error)
    }

    fn add_coverage(&mut self, parsed: ParsedCoverage, label: &str, format: Format) -> &FileResult {
        let coverage = self.report.coverage.get_or_insert_with(Coverage::default);
        if parsed.coverage.files.is_empty() {
            if coverage.files.is_empty() {
                *coverage = parsed.coverage;
            }
        } else {
            coverage.absorb(parsed.coverage);
        }
        self.record_file(label.to_owned(), Some(format), 0, parsed.error)
    }

    fn flush(&mut self, merger: &mut Merger, sink: &mut dyn CaseSink) {
        let ReportBuilder {
            options,
            report,
            cases,
            case_suites,
        } = self;
        for case in merger.drain() {
            sink.case(&case);
            report.totals.add(&case);
            if let Some(known) = case_suites {
                count_in_suite(report, known, options.max_suites, &case);
            }
            if case.status.is_failure() {
                if report.failures.len() < options.max_failures {
                    report.failures.extend(FailedTest::from_case(&case));
                } else {
                    report.failures_omitted += 1;
                }
            }
            if let Some(time) = case.time
                && options.slowest > 0
            {
                let slower = report.slowest.len() < options.slowest
                    || report.slowest.last().is_some_and(|s| s.time < time);
                if slower {
                    let at = report.slowest.partition_point(|s| s.time >= time);
                    report.slowest.insert(
                        at,
                        SlowTest {
                            id: case.id(),
                            suite: case.suite.clone(),
                            name: case.name.clone(),
                            status: case.status,
                            time,
                        },
                    );
                    report.slowest.truncate(options.slowest);
                }
            }
            if options.keep_cases {
                cases.push(*case);
            }
        }
    }

    fn record_file(
        &mut self,
        path: String,
        format: Option<Format>,
        tests: u64,
        error: Option<ParseError>,
    ) -> &FileResult {
        let error = error.map(|e| e.in_file(path.clone()));
        if let Some(e) = &error {
            self.report.partial = true;
            self.report.errors.push(e.clone());
        }
        self.report.files.push(FileResult {
            path,
            format,
            tests,
            partial: error.is_some(),
            error,
        });
        self.report.files.last().expect("just pushed")
    }

    /// The report.
    pub fn finish(mut self) -> Report {
        if self.options.keep_cases {
            self.report.cases = Some(self.cases);
        }
        self.report
    }
}

/// Counts `case` in the summary of its suite, adding the suite when it is new.
fn count_in_suite(
    report: &mut Report,
    known: &mut HashMap<String, usize>,
    max_suites: usize,
    case: &TestCase,
) {
    let index = match known.get(&case.suite) {
        Some(&i) => i,
        None if report.suites.len() < max_suites => {
            report.suites.push(SuiteSummary::named(case.suite.clone()));
            known.insert(case.suite.clone(), report.suites.len() - 1);
            report.suites.len() - 1
        }
        None => {
            if known.len() < max_suites * 2 {
                known.insert(case.suite.clone(), usize::MAX);
                report.suites_omitted += 1;
            }
            return;
        }
    };
    if let Some(suite) = report.suites.get_mut(index) {
        suite.totals.add(case);
        if let Some(t) = case.time {
            suite.time = Some(((suite.time.unwrap_or(0.0) + t) * 1e6).round() / 1e6);
        }
    }
}

/// A warning when a suite's declared counts match neither its test case elements
/// (each listing counted, as Gradle and Surefire count) nor its merged tests.
fn count_mismatch(suite: &SuiteSummary, merger: &Merger) -> Option<ParseError> {
    let declared = suite.declared?;
    if declared.agrees_with(&suite.totals) || declared.agrees_with(&merger.totals_of(&suite.name)) {
        return None;
    }
    let t = &suite.totals;
    let name = if suite.name.is_empty() {
        "(unnamed)"
    } else {
        &suite.name
    };
    let (line, column) = suite.start;
    Some(ParseError::new(
        ParseErrorKind::CountMismatch,
        line,
        column,
        format!(
            "suite `{}` declares {} but holds tests={} failures={} errors={} skipped={}; the counts read from its test cases are used (was the report cut or edited, or written by a tool that miscounts?)",
            crate::xml::text::truncate(name.to_owned(), 200),
            declared.describe(),
            t.tests,
            t.failed,
            t.errors,
            t.skipped
        ),
    ))
}

/// The report files under `dir` (recursively, in name order): every file whose
/// first bytes are a report of a known format ([`Format::sniff`]). Used on a CI run's downloaded
/// artifacts, where reports sit among logs and binaries.
///
/// ```no_run
/// let files = flowspec_results::find_reports(std::path::Path::new("artifacts/"))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn find_reports(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                let mut head = [0u8; 4096];
                let n = File::open(&path)
                    .and_then(|mut f| f.read(&mut head))
                    .unwrap_or(0);
                if Format::sniff(&head[..n]).is_some() {
                    found.push(path);
                }
            }
        }
    }
    found.sort();
    Ok(found)
}
