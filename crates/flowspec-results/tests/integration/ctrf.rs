//! CTRF JSON: detected from content, read into the common model, and written back.

use flowspec_results::model::Status;
use flowspec_results::{Format, ParseErrorKind, ParseOptions, ReportBuilder};

use crate::{case, parse_fixtures, sniff, totals};

#[test]
fn should_detect_ctrf_from_content() {
    for file in [
        "ctrf/playwright.json",
        "ctrf/empty.json",
        "ctrf/failure-without-message.json",
    ] {
        assert_eq!(sniff(file), Some(Format::Ctrf), "{file}");
    }
}

#[test]
fn should_read_ctrf_statuses_durations_locations_and_flaky_retries() {
    let report = parse_fixtures(&["ctrf/playwright.json"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // pending and other count as skipped.
    assert_eq!(totals(&report), (6, 2, 1, 0, 3));
    assert_eq!(report.totals.flaky, 1);
    let cases = report.cases.as_ref().unwrap();
    let suite = "chromium > checkout.spec.ts > checkout";
    let coupon = case(cases, &format!("{suite}::checkout > applies a coupon"));
    assert!(coupon.flaky);
    assert_eq!((coupon.attempts, coupon.time), (3, Some(2.21)));
    let search = case(
        cases,
        "chromium > search.spec.ts > search::search > finds by SKU",
    );
    assert_eq!(search.status, Status::Failed);
    let failure = search.failure.as_ref().unwrap();
    assert_eq!(
        failure.message.as_deref(),
        Some("Test timeout of 5000ms exceeded.")
    );
    assert!(
        failure
            .stack
            .as_deref()
            .unwrap()
            .contains("search.spec.ts:18:32")
    );
    assert_eq!(
        (search.file.as_deref(), search.line),
        (Some("tests/search.spec.ts"), Some(18))
    );
    assert_eq!(search.system_out.as_deref(), Some("searching for SKU-42"));
    let other = case(cases, "account::account > deletes the account");
    assert_eq!(other.status, Status::Skipped);
    assert_eq!(other.skip_message.as_deref(), Some("status `interrupted`"));
}

#[test]
fn should_read_an_empty_ctrf_report_as_no_tests_without_error() {
    let report = parse_fixtures(&["ctrf/empty.json"]);
    assert!(
        report.errors.is_empty() && !report.partial,
        "{:?}",
        report.errors
    );
    assert_eq!(report.totals.tests, 0);
}

#[test]
fn should_keep_a_ctrf_failure_without_a_message_as_failed() {
    let report = parse_fixtures(&["ctrf/failure-without-message.json"]);
    assert_eq!(totals(&report), (1, 0, 1, 0, 0));
    let failed = &report.failures[0];
    assert_eq!(failed.message, None);
    assert_eq!(
        failed.suite, "src/header.test.ts",
        "the file names the suite"
    );
    assert_eq!(failed.time, Some(0.0035));
}

#[test]
fn should_warn_when_the_ctrf_summary_disagrees_with_the_tests() {
    let json = r#"{"results": {"tool": {"name": "jest"},
      "summary": {"tests": 3, "passed": 3, "failed": 0, "pending": 0, "skipped": 0, "other": 0},
      "tests": [{"name": "a", "status": "passed", "duration": 1}]}}"#;
    let mut builder = ReportBuilder::new(ParseOptions::default());
    builder.add_reader(json.as_bytes(), "short.json");
    let report = builder.finish();
    assert!(!report.partial);
    assert_eq!(report.errors[0].kind, ParseErrorKind::CountMismatch);
    assert!(
        report.errors[0].message.contains("tests=3"),
        "{}",
        report.errors[0]
    );
    assert_eq!(report.totals.tests, 1);
}

#[test]
fn should_say_where_a_ctrf_report_stops_being_valid_json() {
    let json = "{\"results\": {\"tool\": {\"name\": \"jest\"},\n \"tests\": [{\"name\": \"a\", \"status\": \"passed\"},";
    let mut builder = ReportBuilder::new(ParseOptions::default());
    builder.add_reader(json.as_bytes(), "cut.json");
    let report = builder.finish();
    assert!(report.partial);
    let error = &report.errors[0];
    assert_eq!((error.kind, error.line), (ParseErrorKind::Truncated, 2));
    assert_eq!(error.file.as_deref(), Some("cut.json"));
}

#[test]
fn should_write_ctrf_that_reads_back_to_the_same_results() {
    let report = parse_fixtures(&["nunit/nunit3.xml", "ctrf/playwright.json"]);
    let cases = report.cases.clone().unwrap();
    let mut json = Vec::new();
    flowspec_results::ctrf::write(&mut json, "flowspec", &cases).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(doc["reportFormat"], "CTRF");
    assert_eq!(doc["results"]["summary"]["tests"], 16);
    // Errors become failed tests in CTRF, with the raw status kept.
    assert_eq!(doc["results"]["summary"]["failed"], 5);
    let mut builder = ReportBuilder::new(ParseOptions::default().keep_cases(true));
    builder.add_reader(json.as_slice(), "out.json");
    let back = builder.finish();
    assert!(back.errors.is_empty(), "{:?}", back.errors);
    let t = &back.totals;
    assert_eq!(
        (t.tests, t.passed, t.failed, t.skipped, t.flaky),
        (16, 5, 5, 6, 1)
    );
    let original: Vec<_> = cases.iter().map(|c| (c.id(), c.attempts, c.line)).collect();
    let read: Vec<_> = back
        .cases
        .unwrap()
        .iter()
        .map(|c| (c.id(), c.attempts, c.line))
        .collect();
    assert_eq!(read, original);
}
