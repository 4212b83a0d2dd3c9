//! A CI job's test summary: Markdown for GitHub's job summary page, workflow
//! commands that annotate failed tests, and the same for a terminal.
//!
//! Everything shown comes from report files, so it is escaped for where it goes:
//! Markdown text and table cells, code spans and fenced blocks whose fences outgrow
//! the backtick runs inside, workflow command data and properties.

use flowspec_results::Report;
use flowspec_results::model::FailedTest;

use super::super::{Painter, line, safe, safe_lines, seconds};
use super::{report, totals_line};
use crate::test_results::Summary;

/// A Markdown summary stays under this many bytes (GitHub refuses a step's summary
/// over 1 MiB); failed tests beyond it are counted, not shown.
pub const MAX_SUMMARY_BYTES: usize = 900 * 1024;
/// Lines of a failure message shown in a summary or annotation.
const MESSAGE_LINES: usize = 30;
/// Suites listed in a summary's table.
const MAX_SUITE_ROWS: usize = 100;

/// Escapes text for Markdown (a paragraph or a table cell): one line, HTML and
/// Markdown punctuation escaped, pipes too.
///
/// ```
/// use flowspec::render::results::md_text;
///
/// assert_eq!(md_text("a|b <i>*x*</i>"), r"a\|b &lt;i&gt;\*x\*&lt;/i&gt;");
/// ```
pub fn md_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in safe(text).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The longest run of backticks in `text`.
fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// A Markdown code span of `text` (one line), its fence longer than any backtick run
/// inside; in a table cell (`in_table`) pipes are escaped as tables require.
///
/// ```
/// use flowspec::render::results::md_code;
///
/// assert_eq!(md_code("a::b", false), "`a::b`");
/// assert_eq!(md_code("x `y`", false), "`` x `y` ``");
/// assert_eq!(md_code("a|b", true), r"`a\|b`");
/// ```
pub fn md_code(text: &str, in_table: bool) -> String {
    let text: String = safe(text)
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let text = if in_table {
        text.replace('|', "\\|")
    } else {
        text
    };
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    // A space keeps a backtick at either end from joining the fence.
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A fenced code block of `text`, its fence longer than any backtick run inside (so
/// that the text cannot close it), at most `max_lines` lines.
///
/// ```
/// use flowspec::render::results::md_fence;
///
/// assert_eq!(md_fence("expected 2", 5), "```text\nexpected 2\n```\n");
/// assert!(md_fence("a ```` b", 5).starts_with("`````text\n"));
/// ```
pub fn md_fence(text: &str, max_lines: usize) -> String {
    let text = safe_lines(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut body = lines
        .iter()
        .take(max_lines)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > max_lines {
        body.push_str(&format!("\n… ({} more lines)", lines.len() - max_lines));
    }
    let fence = "`".repeat((longest_backtick_run(&body) + 1).max(3));
    format!("{fence}text\n{body}\n{fence}\n")
}

/// `file:line` of a failure, when the report names a file.
fn location(file: Option<&str>, line: Option<u32>) -> Option<String> {
    let file = file?;
    Some(match line {
        Some(n) => format!("{file}:{n}"),
        None => file.to_owned(),
    })
}

/// The Markdown job summary of a report: a heading with the verdict, the totals,
/// coverage, a table of the report files and one of the suites, the failed tests
/// (up to `max_failures`, each with its location and message), and the flaky tests.
/// Paths of report files are shown through `show_path`.
///
/// ```
/// use flowspec::render::results::summary_markdown;
///
/// let files = vec![std::path::PathBuf::from("target/junit.xml")];
/// # let _ = || -> flowspec::Result<()> {
/// let summary = flowspec::test_results::summarize(&files, Default::default())?;
/// let markdown = summary_markdown(&summary, 50, |p| p.to_owned());
/// assert!(markdown.starts_with("## "));
/// # Ok(()) };
/// ```
pub fn summary_markdown(
    summary: &Summary,
    max_failures: usize,
    show_path: impl Fn(&str) -> String,
) -> String {
    let r = &summary.report;
    let t = &r.totals;
    let mut out = String::new();
    let verdict = if t.failing() > 0 {
        "❌ Tests failed"
    } else if r.partial {
        "⚠️ Tests passed, but a report could not be read to its end"
    } else if t.tests == 0 {
        "⚠️ No tests ran"
    } else {
        "✅ Tests passed"
    };
    line!(out, "## {verdict}\n");
    line!(out, "**{}**\n", md_text(&totals_line(Painter::plain(), t)));
    if let Some(coverage) = &r.coverage {
        let c = &coverage.totals;
        let rate = |rate: Option<f64>, covered: u64, valid: u64| match rate {
            Some(rate) => format!("{:.1}% ({covered}/{valid})", rate * 100.0),
            None => "n/a".to_owned(),
        };
        line!(
            out,
            "**Coverage**: lines {} · branches {}\n",
            rate(c.line_rate, c.lines_covered, c.lines_valid),
            rate(c.branch_rate, c.branches_covered, c.branches_valid)
        );
    }
    files_table(&mut out, r, &show_path);
    suites_table(&mut out, summary);
    failed_tests(&mut out, r, max_failures);
    if !summary.flaky.is_empty() {
        line!(out, "### Flaky tests ({})\n", t.flaky);
        line!(
            out,
            "Passed after failing: a retry or rerun hid a failure.\n"
        );
        for f in &summary.flaky {
            let mut item = format!("- {} · {} attempts", md_code(&f.id, false), f.attempts);
            if let Some(at) = location(f.file.as_deref(), f.line) {
                item.push_str(&format!(" · {}", md_code(&at, false)));
            }
            line!(out, "{item}");
        }
        if summary.flaky_omitted > 0 {
            line!(out, "- …and {} more", summary.flaky_omitted);
        }
        out.push('\n');
    }
    out
}

fn files_table(mut out: &mut String, r: &Report, show_path: &impl Fn(&str) -> String) {
    if r.files.is_empty() {
        return;
    }
    line!(out, "| Report | Format | Test cases | Read |");
    line!(out, "|---|---|---:|---|");
    for f in &r.files {
        let read = match &f.error {
            Some(e) => format!("⚠️ stopped at line {}: {}", e.line, md_text(&e.message)),
            None => "✓".to_owned(),
        };
        line!(
            out,
            "| {} | {} | {} | {read} |",
            md_code(&show_path(&f.path), true),
            f.format.map_or("unknown", |f| f.as_str()),
            f.tests
        );
    }
    out.push('\n');
}

fn suites_table(mut out: &mut String, summary: &Summary) {
    let suites = &summary.suite_totals;
    if suites.is_empty() {
        return;
    }
    line!(
        out,
        "| Suite | Tests | Passed | Failed | Errors | Skipped | Flaky | Time |"
    );
    line!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for s in suites.iter().take(MAX_SUITE_ROWS) {
        let t = &s.totals;
        let mark = if t.failing() > 0 { "❌ " } else { "" };
        let name = if s.name.is_empty() {
            "(unnamed)"
        } else {
            &s.name
        };
        line!(
            out,
            "| {mark}{} | {} | {} | {} | {} | {} | {} | {} |",
            md_code(name, true),
            t.tests,
            t.passed,
            t.failed,
            t.errors,
            t.skipped,
            t.flaky,
            seconds(t.time)
        );
    }
    if suites.len() > MAX_SUITE_ROWS {
        line!(out, "\n…and {} more suites.", suites.len() - MAX_SUITE_ROWS);
    }
    out.push('\n');
}

fn failed_tests(mut out: &mut String, r: &Report, max_failures: usize) {
    if r.failures.is_empty() {
        return;
    }
    let total = r.failures.len() as u64 + r.failures_omitted;
    line!(out, "### Failed tests ({total})\n");
    let mut shown = 0u64;
    for f in r.failures.iter().take(max_failures) {
        let entry = failed_test(f);
        if out.len() + entry.len() > MAX_SUMMARY_BYTES {
            break;
        }
        out.push_str(&entry);
        shown += 1;
    }
    if shown < total {
        line!(
            out,
            "…and {} more failed tests (`flowspec results parse --json` lists them).\n",
            total - shown
        );
    }
}

fn failed_test(f: &FailedTest) -> String {
    let mut out = String::new();
    let mut head = format!("**{}** · {}", md_code(&f.id, false), f.kind.as_str());
    if let Some(ty) = &f.failure_type {
        head.push_str(&format!(" · {}", md_code(ty, false)));
    }
    if f.attempts > 1 {
        head.push_str(&format!(" · {} attempts", f.attempts));
    }
    line!(out, "{head}");
    if let Some(at) = location(f.file.as_deref(), f.line) {
        line!(out, "at {}", md_code(&at, false));
    }
    out.push('\n');
    match f.message.as_deref().or(f.stack.as_deref()) {
        Some(message) => out.push_str(&md_fence(message, MESSAGE_LINES)),
        None => line!(out, "_(no message)_"),
    }
    out.push('\n');
    out
}

/// Escapes the message of a workflow command: `%`, `\r`, `\n`.
fn command_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property of a workflow command: as the message, and `:` and `,`.
fn command_property(text: &str) -> String {
    command_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions workflow commands annotating failed tests: one `::error
/// file=F,line=L,title=T::MESSAGE` line per failed test, at most `max`. A file under
/// `workspace` (`$GITHUB_WORKSPACE`) is made relative to it, as annotations need.
///
/// ```
/// use flowspec::render::results::annotations;
///
/// let report = flowspec_results::Report::default();
/// assert_eq!(annotations(&report, None, 50), "");
/// ```
pub fn annotations(r: &Report, workspace: Option<&str>, max: usize) -> String {
    let mut out = String::new();
    for f in r.failures.iter().take(max) {
        let mut properties = Vec::new();
        if let Some(file) = &f.file {
            let file = workspace
                .map(|w| w.trim_end_matches('/'))
                .and_then(|w| file.strip_prefix(w))
                .and_then(|rest| rest.strip_prefix('/'))
                .unwrap_or(file);
            properties.push(format!("file={}", command_property(&safe(file))));
            if let Some(line) = f.line {
                properties.push(format!("line={line}"));
            }
        }
        let verb = match f.kind {
            flowspec_results::model::FailureKind::Failure => "failed",
            flowspec_results::model::FailureKind::Error => "errored",
        };
        let title = format!("{} {verb}", f.id);
        properties.push(format!("title={}", command_property(&safe(&title))));
        let message = f.message.as_deref().unwrap_or("(no message)");
        let message: Vec<&str> = message.lines().take(MESSAGE_LINES).collect();
        let message = safe_lines(&message.join("\n")).into_owned();
        line!(
            out,
            "::error {}::{}",
            properties.join(","),
            command_data(&message)
        );
    }
    let more = r.failures.len().saturating_sub(max) as u64 + r.failures_omitted;
    if more > 0 {
        line!(
            out,
            "::notice title=More failed tests::{more} more failed tests are not annotated"
        );
    }
    out
}

/// The summary for a terminal: the report as `flowspec results parse` prints it,
/// then the flaky tests.
pub fn summary_text(p: Painter, summary: &Summary, max_failures: usize) -> String {
    let mut out = report(p, &summary.report, max_failures);
    if !summary.flaky.is_empty() {
        line!(out, "\n{}", p.bold("flaky tests (passed after failing)"));
        for f in &summary.flaky {
            let at = location(f.file.as_deref(), f.line)
                .map(|at| format!(" {}", safe(&at)))
                .unwrap_or_default();
            line!(
                out,
                "  {} {} ({} attempts){at}",
                p.yellow("~"),
                safe(&f.id),
                f.attempts
            );
        }
        if summary.flaky_omitted > 0 {
            line!(out, "  …and {} more", summary.flaky_omitted);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_escape_workflow_command_data_and_properties() {
        assert_eq!(command_data("50%\r\nnext"), "50%25%0D%0Anext");
        assert_eq!(command_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
