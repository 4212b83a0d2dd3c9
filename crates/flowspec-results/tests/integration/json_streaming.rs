//! The JSON reports (CTRF, Jest, mocha, RSpec) are streamed: reports larger than any
//! whole-document buffer parse, the heap stays flat as the report grows, and the
//! bounds on each message and stack still hold.

use std::io::Read;

/// Larger than any buffer a whole-document parse would need to hold.
const MAX_JSON_REPORT_BYTES: u64 = 512 * 1024 * 1024;
use flowspec_results::junit::Limits;
use flowspec_results::{Format, ParseOptions, ReportBuilder};

/// A JSON report generated while it is read: `head`, `count` items joined by
/// commas, `tail`. Nothing is written to disk, nothing but one item is held.
struct Generated<F> {
    head: Option<Vec<u8>>,
    item: F,
    next: u64,
    count: u64,
    tail: Option<Vec<u8>>,
    pending: Vec<u8>,
    at: usize,
}

fn generated<F: FnMut(u64) -> String>(head: &str, count: u64, item: F, tail: &str) -> Generated<F> {
    Generated {
        head: Some(head.as_bytes().to_vec()),
        item,
        next: 0,
        count,
        tail: Some(tail.as_bytes().to_vec()),
        pending: Vec::new(),
        at: 0,
    }
}

impl<F: FnMut(u64) -> String> Read for Generated<F> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.pending.len() {
            self.at = 0;
            self.pending = if let Some(head) = self.head.take() {
                head
            } else if self.next < self.count {
                let mut item = if self.next > 0 {
                    b",".to_vec()
                } else {
                    Vec::new()
                };
                item.extend_from_slice((self.item)(self.next).as_bytes());
                self.next += 1;
                item
            } else if let Some(tail) = self.tail.take() {
                tail
            } else {
                return Ok(0);
            };
        }
        let n = out.len().min(self.pending.len() - self.at);
        out[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Reads `input` with the builder, measuring this thread's peak heap after the
/// first `early` cases and at the end; returns (report, early peak, peak).
fn parse_measured(input: impl Read, early: u64) -> (flowspec_results::Report, usize, usize) {
    let probe = crate::memory::Probe::start();
    let mut seen = 0u64;
    let mut early_peak = 0;
    // Few failures kept: the report's own list of failures is not the parser's memory.
    let mut builder = ReportBuilder::new(ParseOptions::default().max_failures(5));
    builder.add_reader_with(
        input,
        "generated.json",
        &mut |_: &flowspec_results::model::TestCase| {
            seen += 1;
            if seen == early {
                early_peak = probe.peak();
            }
        },
    );
    let report = builder.finish();
    (report, early_peak, probe.peak())
}

#[test]
fn should_parse_a_ctrf_report_larger_than_the_old_whole_document_cap() {
    // 1 MiB messages: each is cut to the message bound as it is read, and the report
    // as a whole (over 512 MiB) is never held.
    let big = "x".repeat(1 << 20);
    let count = MAX_JSON_REPORT_BYTES / (1 << 20) + 8;
    let head = format!(
        r#"{{"results": {{"tool": {{"name": "gen"}}, "summary": {{"tests": {count}, "passed": 0, "failed": {count}, "pending": 0, "skipped": 0, "other": 0}}, "tests": ["#
    );
    let input = generated(
        &head,
        count,
        |i| {
            format!(
                r#"{{"name": "t{i}", "status": "failed", "duration": 1, "message": "{big}", "trace": "at x\n{big}"}}"#
            )
        },
        "]}}",
    );
    let (report, _, peak) = parse_measured(input, 1);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!((report.totals.tests, report.totals.failed), (count, count));
    assert_eq!(report.files[0].format, Some(Format::Ctrf));
    let limits = Limits::default();
    for failure in &report.failures {
        assert!(failure.message.as_ref().unwrap().len() <= limits.max_message_bytes + ELLIPSIS);
        assert!(failure.stack.as_ref().unwrap().len() <= limits.max_stack_bytes + ELLIPSIS);
    }
    assert!(
        peak < 16 << 20,
        "peak heap {peak} bytes for a report over 512 MiB"
    );
}

/// The peak after a tenth of the cases is the peak at the end (within slack), and
/// small (the builder's fixed windows and buffers, not the input).
fn assert_flat(early: usize, peak: usize, input_bytes: u64) {
    assert!(
        peak <= early + (512 << 10),
        "the heap grew while reading: {early} bytes after a tenth, {peak} bytes at the end"
    );
    assert!(
        peak < 16 << 20,
        "peak heap {peak} bytes for {input_bytes} bytes of JSON"
    );
}

const CASES: u64 = 60_000;

/// What a cut text ends with.
const ELLIPSIS: usize = '…'.len_utf8();

#[test]
fn should_stream_jest_json_file_by_file() {
    let message = format!(
        "Error: expected 1\n{}",
        "    at f (/app/a.test.js:1:1)\n".repeat(200)
    );
    let message = serde_json::to_string(&message).unwrap();
    let input = generated(
        r#"{"numTotalTests": 0, "testResults": ["#,
        CASES / 10,
        |i| {
            let tests: Vec<String> = (0..10)
                .map(|j| {
                    if j == 0 {
                        format!(r#"{{"ancestorTitles": ["d{i}"], "title": "t{j}", "status": "failed", "duration": 1, "failureMessages": [{message}]}}"#)
                    } else {
                        format!(r#"{{"ancestorTitles": ["d{i}"], "title": "t{j}", "status": "passed", "duration": 1, "failureMessages": []}}"#)
                    }
                })
                .collect();
            format!(
                r#"{{"assertionResults": [{}], "message": "", "name": "/app/f.test.js", "status": "failed"}}"#,
                tests.join(",")
            )
        },
        "]}",
    );
    let bytes = CASES * 150 + CASES / 10 * 6000;
    let (report, early, peak) = parse_measured(input, CASES / 10);
    assert_eq!(
        (report.totals.tests, report.totals.failed),
        (CASES, CASES / 10)
    );
    assert!(
        report.failures[0].stack.as_ref().unwrap().lines().count()
            <= Limits::default().max_stack_lines
    );
    assert_flat(early, peak, bytes);
}

#[test]
fn should_stream_mocha_json_test_by_test() {
    let input = generated(
        r#"{"stats": {"tests": 0}, "tests": ["#,
        CASES,
        |i| {
            if i % 10 == 0 {
                format!(
                    r#"{{"title": "t{i}", "fullTitle": "s t{i}", "file": "/app/t.js", "duration": 3, "currentRetry": 0, "err": {{"message": "boom {i}", "stack": "Error: boom\n    at Context.<anonymous> (/app/t.js:{i}:1)"}}}}"#
                )
            } else {
                format!(
                    r#"{{"title": "t{i}", "fullTitle": "s t{i}", "file": "/app/t.js", "duration": 3, "currentRetry": 0, "err": {{}}}}"#
                )
            }
        },
        r#"], "pending": [], "failures": [], "passes": []}"#,
    );
    let (report, early, peak) = parse_measured(input, CASES / 10);
    assert_eq!(
        (report.totals.tests, report.totals.failed),
        (CASES, CASES / 10)
    );
    assert_flat(early, peak, CASES * 120);
}

#[test]
fn should_stream_rspec_json_example_by_example() {
    let long = "y".repeat(100_000);
    let input = generated(
        r#"{"version": "3.13.0", "messages": [], "examples": ["#,
        CASES,
        |i| {
            let (status, exception) = if i % 1000 == 0 {
                (
                    "failed",
                    format!(
                        r#", "exception": {{"class": "E", "message": "{long}", "backtrace": ["./spec/a_spec.rb:3"]}}"#
                    ),
                )
            } else {
                ("passed", String::new())
            };
            format!(
                r#"{{"description": "e{i}", "full_description": "A e{i}", "status": "{status}", "file_path": "./spec/a_spec.rb", "line_number": 3, "run_time": 0.001{exception}}}"#
            )
        },
        r#"], "summary": {"example_count": 0, "errors_outside_of_examples_count": 0}}"#,
    );
    let (report, early, peak) = parse_measured(input, CASES / 10);
    assert_eq!(
        (report.totals.tests, report.totals.failed),
        (CASES, CASES / 1000)
    );
    let limits = Limits::default();
    assert!(
        report.failures[0].message.as_ref().unwrap().len() <= limits.max_message_bytes + ELLIPSIS
    );
    assert!(report.failures[0].stack.as_ref().unwrap().len() <= limits.max_stack_bytes + ELLIPSIS);
    assert_flat(early, peak, CASES * 150);
}

#[test]
fn should_keep_the_cases_read_before_a_json_report_breaks_off() {
    let input = generated(
        r#"{"results": {"tool": {"name": "gen"}, "tests": ["#,
        100,
        |i| format!(r#"{{"name": "t{i}", "status": "passed"}}"#),
        "",
    );
    let mut builder = ReportBuilder::new(ParseOptions::default());
    builder.add_reader(input, "cut.json");
    let report = builder.finish();
    assert_eq!(report.totals.tests, 100);
    assert!(report.partial);
    let error = &report.errors[0];
    assert!(error.to_string().contains("cut.json"), "{error}");
}
