//! The failure context handed to a fixer (`flowspec ci fix`): the failed tests with
//! their messages and stack excerpts, the log lines around each error, the commit
//! and branch — as Markdown for people and agents, and as JSON for scripts.
//!
//! Everything is bounded: at most [`ContextOptions::max_failures`] tests, a few
//! excerpts per test, lines cut at 400 characters. Mask secrets in the log before
//! building (the CLI runs the text through the engine's masker).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::model::{FailedTest, Totals};

/// Bounds of a bundle.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ContextOptions {
    /// Log lines shown before and after a matching line. Default 5.
    pub context_lines: usize,
    /// Excerpts per failed test. Default 2.
    pub excerpts_per_test: usize,
    /// Excerpts of error lines not tied to a test. Default 5.
    pub general_excerpts: usize,
    /// Failed tests included. Default 50.
    pub max_failures: usize,
    /// Characters kept per log line. Default 400.
    pub max_line_chars: usize,
}

impl Default for ContextOptions {
    fn default() -> Self {
        ContextOptions {
            context_lines: 5,
            excerpts_per_test: 2,
            general_excerpts: 5,
            max_failures: 50,
            max_line_chars: 400,
        }
    }
}

/// Where the failures come from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunRef {
    /// The provider's run id. Example: `9876543210`.
    pub run_id: Option<String>,
    /// The attempt.
    pub attempt: Option<u32>,
    /// The commit.
    pub commit: Option<String>,
    /// The branch.
    pub branch: Option<String>,
    /// The provider (`github`, `gitlab`...), when known.
    pub provider: Option<String>,
    /// A link to the run, when known.
    pub url: Option<String>,
}

/// Lines of a log around a match (1-based line numbers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LogExcerpt {
    /// The first line's number.
    pub first_line: usize,
    /// The line that matched.
    pub matched_line: usize,
    /// The lines.
    pub lines: Vec<String>,
}

/// A failed test and the log around it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FailureEntry {
    /// The test.
    #[serde(flatten)]
    pub test: FailedTest,
    /// Log excerpts mentioning it.
    pub log: Vec<LogExcerpt>,
}

/// The bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FailureContext {
    /// The run.
    pub run: RunRef,
    /// Its totals.
    pub totals: Totals,
    /// The failed tests (bounded).
    pub failures: Vec<FailureEntry>,
    /// Failed tests left out.
    pub failures_omitted: u64,
    /// Error lines of the log not tied to a test (build errors, crashes).
    pub log_errors: Vec<LogExcerpt>,
    /// The report was cut short: more tests may have failed.
    pub partial: bool,
}

/// Builds a [`FailureContext`].
///
/// ```
/// use flowspec_results::context::{FailureContextBuilder, RunRef};
///
/// let report = flowspec_results::Report::default();
/// let context = FailureContextBuilder::new(RunRef::default(), &report.totals, &report.failures)
///     .log("step 1\nerror: linker `cc` not found\n")
///     .build();
/// assert_eq!(context.log_errors[0].matched_line, 2);
/// assert!(context.to_markdown().contains("linker `cc` not found"));
/// ```
pub struct FailureContextBuilder<'a> {
    run: RunRef,
    totals: &'a Totals,
    failures: &'a [FailedTest],
    omitted: u64,
    partial: bool,
    log: Option<&'a str>,
    options: ContextOptions,
}

impl<'a> FailureContextBuilder<'a> {
    /// A bundle of these failures.
    pub fn new(run: RunRef, totals: &'a Totals, failures: &'a [FailedTest]) -> Self {
        FailureContextBuilder {
            run,
            totals,
            failures,
            omitted: totals.failing().saturating_sub(failures.len() as u64),
            partial: false,
            log: None,
            options: ContextOptions::default(),
        }
    }

    /// The run's log (masked), searched for the lines around each error.
    pub fn log(mut self, text: &'a str) -> Self {
        self.log = Some(text);
        self
    }

    /// Marks the report as partial.
    pub fn partial(mut self, partial: bool) -> Self {
        self.partial = partial;
        self
    }

    /// Other bounds.
    pub fn options(mut self, options: ContextOptions) -> Self {
        self.options = options;
        self
    }

    /// The bundle.
    pub fn build(self) -> FailureContext {
        let o = &self.options;
        let lines: Vec<&str> = self.log.map(|l| l.lines().collect()).unwrap_or_default();
        let mut covered: BTreeSet<usize> = BTreeSet::new();
        let kept = &self.failures[..self.failures.len().min(o.max_failures)];
        let omitted = self.omitted + (self.failures.len() - kept.len()) as u64;
        let failures = kept
            .iter()
            .map(|test| {
                let needles = needles(test);
                let mut log = Vec::new();
                for (i, line) in lines.iter().enumerate() {
                    if log.len() >= o.excerpts_per_test {
                        break;
                    }
                    if covered.contains(&i) && log.iter().any(|e: &LogExcerpt| e.contains(i)) {
                        continue;
                    }
                    if needles.iter().any(|n| line.contains(n.as_str())) {
                        let floor = covered.range(..i).next_back().map_or(0, |&c| c + 1);
                        let excerpt = excerpt(&lines, i, floor, o);
                        covered.extend(
                            excerpt.first_line - 1..excerpt.first_line - 1 + excerpt.lines.len(),
                        );
                        log.push(excerpt);
                    }
                }
                FailureEntry {
                    test: test.clone(),
                    log,
                }
            })
            .collect();
        let mut log_errors: Vec<LogExcerpt> = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if log_errors.len() >= o.general_excerpts {
                break;
            }
            if covered.contains(&i) || !looks_like_error(line) {
                continue;
            }
            let floor = covered.range(..i).next_back().map_or(0, |&c| c + 1);
            let excerpt = excerpt(&lines, i, floor, o);
            covered.extend(excerpt.first_line - 1..excerpt.first_line - 1 + excerpt.lines.len());
            log_errors.push(excerpt);
        }
        FailureContext {
            run: self.run,
            totals: self.totals.clone(),
            failures,
            failures_omitted: omitted,
            log_errors,
            partial: self.partial,
        }
    }
}

impl LogExcerpt {
    /// `line 7` or `lines 3–9`.
    fn span(&self) -> String {
        let last = self.first_line + self.lines.len().saturating_sub(1);
        if last == self.first_line {
            format!("line {last}")
        } else {
            format!("lines {}–{last}", self.first_line)
        }
    }

    fn contains(&self, index: usize) -> bool {
        index + 1 >= self.first_line && index + 1 < self.first_line + self.lines.len()
    }
}

/// What identifies a test's failure in a log: its name, and its message's first
/// line when it is specific enough.
fn needles(test: &FailedTest) -> Vec<String> {
    let mut needles = vec![test.name.clone()];
    if let Some(first) = test.message.as_deref().and_then(|m| m.lines().next()) {
        let first = first.trim();
        if first.len() >= 12 {
            needles.push(first.chars().take(120).collect());
        }
    }
    needles.retain(|n| n.len() >= 3);
    needles
}

fn looks_like_error(line: &str) -> bool {
    const MARKERS: &[&str] = &[
        "error:",
        "error[",
        "[error]",
        "ERROR",
        "Error:",
        "FAILED",
        "FAIL:",
        "--- FAIL",
        "panicked at",
        "Exception",
        "fatal:",
        "Traceback",
    ];
    MARKERS.iter().any(|m| line.contains(m))
}

/// Lines around `at`, starting no earlier than `floor` (the end of the excerpt
/// before, so that excerpts never repeat lines).
fn excerpt(lines: &[&str], at: usize, floor: usize, o: &ContextOptions) -> LogExcerpt {
    let start = at.saturating_sub(o.context_lines).max(floor.min(at));
    let end = (at + o.context_lines + 1).min(lines.len());
    LogExcerpt {
        first_line: start + 1,
        matched_line: at + 1,
        lines: lines[start..end]
            .iter()
            .map(|l| cut(l, o.max_line_chars))
            .collect(),
    }
}

fn cut(line: &str, max: usize) -> String {
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_owned(),
    }
}

impl FailureContext {
    /// The bundle as Markdown: a heading with the run, commit and branch, one section
    /// per failed test (message, stack excerpt, log lines), then other log errors.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let r = &self.run;
        let _ = writeln!(md, "# CI failure context");
        let _ = writeln!(md);
        let field = |md: &mut String, name: &str, value: &Option<String>| {
            if let Some(v) = value {
                let _ = writeln!(md, "- **{name}:** `{v}`");
            }
        };
        field(&mut md, "Run", &r.run_id);
        if let Some(a) = r.attempt {
            let _ = writeln!(md, "- **Attempt:** {a}");
        }
        field(&mut md, "Provider", &r.provider);
        field(&mut md, "Commit", &r.commit);
        field(&mut md, "Branch", &r.branch);
        if let Some(url) = &r.url {
            let _ = writeln!(md, "- **URL:** <{url}>");
        }
        let t = &self.totals;
        let _ = writeln!(
            md,
            "- **Tests:** {} run, {} passed, {} failed, {} errors, {} skipped, {} flaky",
            t.tests, t.passed, t.failed, t.errors, t.skipped, t.flaky
        );
        if self.partial {
            let _ = writeln!(
                md,
                "- **Warning:** a report was cut short; more tests may have failed."
            );
        }
        let _ = writeln!(md);
        if self.failures.is_empty() {
            let _ = writeln!(md, "No failed test was reported.");
        }
        for (i, entry) in self.failures.iter().enumerate() {
            let f = &entry.test;
            let _ = writeln!(md, "## {}. `{}` ({})", i + 1, f.id, f.kind.as_str());
            let _ = writeln!(md);
            if let Some(file) = &f.file {
                match f.line {
                    Some(line) => {
                        let _ = writeln!(md, "Location: `{file}:{line}`");
                    }
                    None => {
                        let _ = writeln!(md, "Location: `{file}`");
                    }
                }
                let _ = writeln!(md);
            }
            if let Some(t) = &f.failure_type {
                let _ = writeln!(md, "Type: `{t}`");
                let _ = writeln!(md);
            }
            if let Some(message) = &f.message {
                let _ = writeln!(md, "Message:");
                fence(&mut md, message);
            }
            if let Some(stack) = &f.stack
                && Some(stack) != f.message.as_ref()
            {
                let _ = writeln!(md, "Stack trace (excerpt):");
                fence(&mut md, stack);
            }
            for excerpt in &entry.log {
                let _ = writeln!(md, "Log, {}:", excerpt.span());
                fence(&mut md, &excerpt.lines.join("\n"));
            }
        }
        if self.failures_omitted > 0 {
            let _ = writeln!(
                md,
                "…and {} more failed tests not shown.",
                self.failures_omitted
            );
            let _ = writeln!(md);
        }
        if !self.log_errors.is_empty() {
            let _ = writeln!(md, "## Other errors in the log");
            let _ = writeln!(md);
            for excerpt in &self.log_errors {
                let _ = writeln!(md, "Log, {}:", excerpt.span());
                fence(&mut md, &excerpt.lines.join("\n"));
            }
        }
        md
    }
}

/// A fenced block whose fence is longer than any backtick run inside.
fn fence(md: &mut String, text: &str) {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(md, "{ticks}text\n{}\n{ticks}\n", text.trim_end());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ParseOptions, ReportBuilder};

    const LOG: &str = "\
##[group]Run cargo test
   Compiling app v0.1.0
     Running unittests src/lib.rs
test store::saves ... ok
test parser::rejects_empty ... FAILED
failures:
---- parser::rejects_empty stdout ----
thread 'parser::rejects_empty' panicked at src/parser.rs:41:9:
assertion `left == right` failed
  left: Ok(())
 right: Err(Empty)
test result: FAILED. 1 passed; 1 failed
warning: unused variable `x`
error: test failed, to rerun pass `--lib`
##[error]Process completed with exit code 101.";

    fn report() -> crate::Report {
        let xml = r#"<testsuite name="app"><testcase classname="app" name="store::saves"/>
            <testcase classname="app" name="parser::rejects_empty" file="src/parser.rs" line="41">
              <failure type="test failure" message="assertion `left == right` failed">thread 'parser::rejects_empty' panicked at src/parser.rs:41:9:
assertion `left == right` failed</failure></testcase></testsuite>"#;
        let mut builder = ReportBuilder::new(ParseOptions::default());
        builder.add_junit(xml.as_bytes(), "junit.xml");
        builder.finish()
    }

    fn run() -> RunRef {
        RunRef {
            run_id: Some("9876".into()),
            attempt: Some(1),
            commit: Some("3f2a9c1".into()),
            branch: Some("feature/parser".into()),
            provider: Some("github".into()),
            url: None,
        }
    }

    #[test]
    fn should_bundle_failures_with_the_log_around_them() {
        let report = report();
        let context = FailureContextBuilder::new(run(), &report.totals, &report.failures)
            .log(LOG)
            .options(ContextOptions {
                context_lines: 2,
                ..ContextOptions::default()
            })
            .build();
        assert_eq!(context.failures.len(), 1);
        let log = &context.failures[0].log;
        assert_eq!(log[0].matched_line, 5, "{log:?}");
        assert!(
            context
                .log_errors
                .iter()
                .any(|e| e.lines.iter().any(|l| l.contains("exit code 101"))),
            "{:?}",
            context.log_errors
        );
        insta::assert_snapshot!("failure_context_markdown", context.to_markdown());
        insta::assert_json_snapshot!("failure_context_json", context);
    }

    #[test]
    fn should_bound_the_bundle() {
        let report = report();
        let long = format!("parser::rejects_empty {}", "x".repeat(10_000));
        let context = FailureContextBuilder::new(run(), &report.totals, &report.failures)
            .log(&long)
            .options(ContextOptions {
                max_line_chars: 50,
                ..ContextOptions::default()
            })
            .build();
        assert_eq!(context.failures[0].log[0].lines[0].chars().count(), 51);
        let none = FailureContextBuilder::new(run(), &report.totals, &report.failures[..0]).build();
        assert_eq!(
            none.failures_omitted, 1,
            "the failure not passed in is counted"
        );
    }
}
