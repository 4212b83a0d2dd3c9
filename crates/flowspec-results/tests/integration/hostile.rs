//! Truncated, malformed and hostile inputs: an error with line and column, what was
//! read before it kept, no entity expansion, bounded memory.

use std::io::Read;

use flowspec_results::junit::{JunitEvent, JunitReader, Limits};
use flowspec_results::{ParseErrorKind, ParseOptions, ReportBuilder};

use crate::{parse_fixtures, parse_text};

#[test]
fn should_keep_the_tests_before_a_truncation_and_say_where_it_stopped() {
    let report = parse_fixtures(&["junit/truncated.xml"]);
    assert!(report.partial);
    assert_eq!(report.totals.tests, 3, "one, two and three were complete");
    assert_eq!(report.failures[0].name, "two");
    let e = &report.errors[0];
    assert_eq!(e.kind, ParseErrorKind::Truncated);
    assert_eq!(e.file.as_deref(), Some("junit/truncated.xml"));
    assert_eq!((e.line, e.column), (9, 5), "{e}");
    insta::assert_snapshot!("truncated_error", e.to_string());
}

#[test]
fn should_name_line_and_column_of_a_mismatched_end_tag() {
    let report = parse_text(
        "<testsuite name=\"s\">\n  <testcase name=\"a\"/>\n  <testcase name=\"b\">\n  </testsuite>\n",
    );
    assert!(report.partial);
    assert_eq!(report.totals.tests, 1);
    let e = &report.errors[0];
    assert_eq!(e.kind, ParseErrorKind::Syntax);
    assert_eq!(e.line, 4, "{e}");
    insta::assert_snapshot!("mismatched_end_tag", e.to_string());
}

#[test]
fn should_report_a_file_that_ends_inside_the_root_element() {
    let report = parse_text("<testsuites>\n<testsuite name=\"s\">\n<testcase name=\"a\"/>\n");
    assert_eq!(report.totals.tests, 1);
    let e = &report.errors[0];
    assert_eq!(e.kind, ParseErrorKind::Truncated);
    assert!(
        e.message.contains("<testsuite> opened at line 2, column 1"),
        "{e}"
    );
}

#[test]
fn should_refuse_the_billion_laughs() {
    let xml = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<testsuite name="&lol9;"><testcase name="&lol9;"/></testsuite>"#;
    let report = parse_text(xml);
    assert!(report.partial);
    assert_eq!(report.totals.tests, 0);
    let e = &report.errors[0];
    assert_eq!(e.kind, ParseErrorKind::EntityRefused);
    assert_eq!((e.line, e.column), (2, 1));
}

#[test]
fn should_refuse_external_entities() {
    let xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE t [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<testsuite name=\"&xxe;\"/>";
    let report = parse_text(xml);
    assert_eq!(report.errors[0].kind, ParseErrorKind::EntityRefused);
}

#[test]
fn should_keep_undeclared_entity_references_as_written() {
    let report = parse_text(
        "<testsuite name=\"s\"><testcase name=\"a&xxe;b\"><failure message=\"m\">x &secret; y</failure></testcase></testsuite>",
    );
    assert!(!report.partial, "{:?}", report.errors);
    let failure = &report.failures[0];
    assert_eq!(failure.name, "a&xxe;b");
    assert_eq!(failure.stack.as_deref(), Some("x &secret; y"));
}

#[test]
fn should_refuse_nesting_deeper_than_the_limit() {
    let depth = 100_000;
    let xml = format!(
        "<testsuites>{}{}",
        "<testsuite>".repeat(depth),
        "</testsuite>".repeat(depth)
    );
    let report = parse_text(&xml);
    let e = &report.errors[0];
    assert_eq!(e.kind, ParseErrorKind::TooDeep);
    assert!(e.message.contains("64"), "{e}");
}

#[test]
fn should_refuse_a_huge_attribute_without_holding_it() {
    let limits = Limits::default().with_max_tag_bytes(1024 * 1024);
    let head = "<testsuite name=\"s\"><testcase name=\"ok\"/><testcase name=\"";
    let input = head
        .as_bytes()
        .chain(std::io::repeat(b'a').take(64 * 1024 * 1024));
    let mut builder = ReportBuilder::new(ParseOptions::default().limits(limits));
    builder.add_junit(input, "huge.xml");
    let report = builder.finish();
    assert_eq!(report.totals.tests, 1);
    let e = &report.errors[0];
    assert_eq!(e.kind, ParseErrorKind::TagTooLarge);
    assert_eq!((e.line, e.column), (1, 42), "{e}");
}

#[test]
fn should_bound_huge_output_messages_and_stack_traces() {
    let body = "frame\n".repeat(1_000_000);
    let xml = format!(
        "<testsuite name=\"s\"><testcase name=\"a\"><failure message=\"{}\">{body}</failure><system-out>{body}END</system-out></testcase></testsuite>",
        "m".repeat(100_000)
    );
    let report = parse_text(&xml);
    assert!(!report.partial, "{:?}", report.errors);
    let limits = Limits::default();
    let case = &report.cases.as_ref().unwrap()[0];
    let failure = case.failure.as_ref().unwrap();
    assert!(failure.message.as_ref().unwrap().len() <= limits.max_message_bytes + 3);
    let stack = failure.stack.as_ref().unwrap();
    assert!(
        stack.lines().count() <= limits.max_stack_lines + 1,
        "{}",
        stack.lines().count()
    );
    assert!(stack.ends_with("bytes omitted] …"), "{stack}");
    let out = case.system_out.as_ref().unwrap();
    assert!(out.len() <= limits.max_output_head + limits.max_output_tail + 64);
    assert!(out.ends_with("frame\nEND"), "the tail is kept");
}

/// A reader of `n` synthetic test cases, generated on the fly (nothing in memory).
struct Generated {
    remaining: u64,
    pending: Vec<u8>,
    done: bool,
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pending.is_empty() {
            if self.remaining > 0 {
                self.remaining -= 1;
                let failing = self.remaining.is_multiple_of(10);
                self.pending
                    .extend_from_slice(b"<testcase classname=\"big.Suite\" name=\"case");
                self.pending
                    .extend_from_slice(self.remaining.to_string().as_bytes());
                if failing {
                    self.pending
                        .extend_from_slice(b"\" time=\"0.5\"><failure message=\"boom\">");
                    self.pending
                        .extend_from_slice(&b"at frame(File.java:1)\n".repeat(200));
                    self.pending.extend_from_slice(b"</failure><system-out>");
                    self.pending
                        .extend_from_slice(&b"log line with some words\n".repeat(200));
                    self.pending
                        .extend_from_slice(b"</system-out></testcase>\n");
                } else {
                    self.pending.extend_from_slice(b"\" time=\"0.1\"/>\n");
                }
            } else if !self.done {
                self.done = true;
                self.pending
                    .extend_from_slice(b"</testsuite></testsuites>\n");
            } else {
                return Ok(0);
            }
        }
        let n = out.len().min(self.pending.len());
        out[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

#[test]
fn should_stream_a_large_report_in_bounded_memory() {
    // ~110 MB of JUnit XML (1 GB in release mode), generated while it is read: the
    // reader holds one buffer, one test case at a time, bounded text. The heap this
    // thread holds is measured (a counting allocator, see `memory.rs`): it must not
    // grow with the input, so the peak over the whole file stays what it was after
    // the first tenth, and far below the size of the input.
    let cases = if cfg!(debug_assertions) {
        200_000u64
    } else {
        2_000_000
    };
    let probe = crate::memory::Probe::start();
    let mut input = b"<testsuites><testsuite name=\"big\">".chain(Generated {
        remaining: cases,
        pending: Vec::new(),
        done: false,
    });
    let mut reader = JunitReader::new(&mut input, Limits::default());
    let (mut seen, mut failed) = (0u64, 0u64);
    let mut early_peak = 0;
    while let Some(event) = reader.next_event().expect("valid XML") {
        if let JunitEvent::Case(case) = event {
            seen += 1;
            if case.status.is_failure() {
                failed += 1;
                assert!(case.failure.as_ref().unwrap().stack.as_ref().unwrap().len() <= 9000);
            }
            if seen == cases / 10 {
                early_peak = probe.peak();
            }
        }
    }
    let peak = probe.peak();
    assert_eq!((seen, failed), (cases, cases / 10));
    let read = reader.offset();
    assert!(read > cases * 500, "{read}");
    assert!(
        peak <= early_peak + (256 << 10),
        "the heap grew while reading: {early_peak} bytes after a tenth of the input, {peak} bytes at the end"
    );
    assert!(
        peak < 8 << 20 && (peak as u64) < read / 10,
        "peak heap {peak} bytes for {read} bytes of XML"
    );
}

#[test]
fn should_name_where_an_unclosed_element_opened_even_megabytes_earlier() {
    let mut xml = String::from("<testsuites>\n  <testsuite name=\"s\">\n");
    for i in 0..20_000 {
        xml.push_str(&format!("    <testcase name=\"t{i}\" time=\"0.1\"/>\n"));
    }
    let report = parse_text(&xml);
    assert_eq!(report.totals.tests, 20_000);
    let e = &report.errors[0];
    assert_eq!(e.kind, ParseErrorKind::Truncated);
    assert_eq!((e.line, e.column), (20_003, 1), "{e}");
    assert!(
        e.message.contains("<testsuite> opened at line 2, column 3"),
        "{e}"
    );
}
