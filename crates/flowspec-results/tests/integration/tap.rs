//! TAP 13/14: detected from content, read into the common model.

use flowspec_results::model::Status;
use flowspec_results::{Format, ParseErrorKind};

use crate::{case, parse_fixtures, parse_text, sniff, totals};

#[test]
fn should_detect_tap_from_content() {
    for file in [
        "tap/tap13.tap",
        "tap/node-test.tap",
        "tap/empty.tap",
        "tap/failure-without-message.tap",
        "tap/bail-out.tap",
    ] {
        assert_eq!(sniff(file), Some(Format::Tap), "{file}");
    }
    assert_eq!(Format::sniff(b"1..2\nok 1\nok 2\n"), Some(Format::Tap));
    assert_eq!(Format::sniff(b"ok, here are the notes\n"), None);
}

#[test]
fn should_read_tap_points_directives_and_yaml_diagnostics() {
    let report = parse_fixtures(&["tap/tap13.tap"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // SKIP and TODO are skipped: a failing TODO test is expected to fail.
    assert_eq!(totals(&report), (6, 2, 2, 0, 2));
    let cases = report.cases.as_ref().unwrap();
    let divides = case(cases, "TAP::divides by two");
    let failure = divides.failure.as_ref().unwrap();
    assert_eq!(failure.message.as_deref(), Some("should be equal"));
    assert!(failure.stack.as_deref().unwrap().contains("Test.run"));
    assert_eq!(
        (divides.file.as_deref(), divides.line),
        (Some("test/calc.js"), Some(27))
    );
    let skipped = case(cases, "TAP::multiplies");
    assert_eq!(
        skipped.skip_message.as_deref(),
        Some("needs the big-number build")
    );
    let todo = case(cases, "TAP::rounds half to even");
    assert_eq!(
        (todo.status, todo.skip_message.as_deref()),
        (Status::Skipped, Some("TODO: not implemented yet"))
    );
    assert_eq!(case(cases, "TAP::subtracts").time, Some(0.0125));
    // An escaped `#` belongs to the description.
    assert_eq!(
        case(cases, "TAP::parses 'a # b' literally").status,
        Status::Failed
    );
}

#[test]
fn should_read_tap_14_subtests_as_their_tests() {
    let report = parse_fixtures(&["tap/node-test.tap"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // The suites' summary lines are not tests of their own.
    assert_eq!(totals(&report), (4, 2, 1, 0, 1));
    let cases = report.cases.as_ref().unwrap();
    let discount = case(cases, "cart::applies a discount");
    let failure = discount.failure.as_ref().unwrap();
    assert_eq!(
        failure.message.as_deref(),
        Some("Expected values to be strictly equal:\n\n90 !== 80")
    );
    assert_eq!(failure.failure_type.as_deref(), Some("AssertionError"));
    assert_eq!(
        (discount.file.as_deref(), discount.line, discount.time),
        (Some("/work/shop/test/cart.test.js"), Some(14), Some(0.0012))
    );
    assert_eq!(
        case(cases, "checkout::pays by card").status,
        Status::Skipped
    );
    assert_eq!(
        case(cases, "TAP::shipping rates load").status,
        Status::Passed
    );
}

#[test]
fn should_count_a_subtest_that_failed_without_a_failing_test() {
    let tap = "TAP version 14\n# Subtest: db\n    1..2\n    ok 1 - opens\nnot ok 1 - db\n  ---\n  message: 'plan != count'\n  ...\n1..1\n";
    let report = parse_text(tap);
    assert_eq!(totals(&report), (2, 1, 1, 0, 0));
    assert_eq!(report.failures[0].message.as_deref(), Some("plan != count"));
}

#[test]
fn should_read_an_empty_tap_plan_as_no_tests_without_error() {
    let report = parse_fixtures(&["tap/empty.tap"]);
    assert!(
        report.errors.is_empty() && !report.partial,
        "{:?}",
        report.errors
    );
    assert_eq!(report.totals.tests, 0);
}

#[test]
fn should_keep_a_tap_failure_without_diagnostics_as_failed() {
    let report = parse_fixtures(&["tap/failure-without-message.tap"]);
    assert_eq!(totals(&report), (2, 1, 1, 0, 0));
    assert_eq!(report.failures[0].id, "TAP::writes the config");
    assert_eq!(report.failures[0].message, None);
}

#[test]
fn should_report_a_bail_out_as_an_error_and_stop_reading() {
    let report = parse_fixtures(&["tap/bail-out.tap"]);
    assert!(!report.partial, "{:?}", report.errors);
    assert_eq!(totals(&report), (2, 1, 0, 1, 0));
    let bail = &report.failures[0];
    assert_eq!(bail.name, "Bail out!");
    assert_eq!(
        bail.message.as_deref(),
        Some("Database unreachable at localhost:5432")
    );
}

#[test]
fn should_report_fewer_tests_than_planned_as_truncated() {
    let report = parse_fixtures(&["tap/truncated.tap"]);
    assert!(report.partial);
    let error = &report.errors[0];
    assert_eq!(error.kind, ParseErrorKind::Truncated);
    assert!(
        error.message.contains("announces 5 tests but 3 ran"),
        "{error}"
    );
    assert_eq!(totals(&report), (3, 2, 1, 0, 0));
}

#[test]
fn should_stay_bounded_on_hostile_tap() {
    // A line indented a megabyte deep, a YAML block of 2 MB, a 10 KB description.
    let mut tap = String::from("TAP version 14\n1..2\n");
    tap.push_str(&" ".repeat(1 << 20));
    tap.push_str("ok 1 - lost in the margin\n");
    tap.push_str(&format!("not ok 1 - {}\n  ---\n", "n".repeat(10_000)));
    for i in 0..40_000 {
        tap.push_str(&format!("  line{i}: {}\n", "x".repeat(40)));
    }
    tap.push_str("  ...\nok 2 - after\n");
    let report = parse_text(&tap);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(totals(&report), (2, 1, 1, 0, 0));
    let failure = &report.failures[0];
    assert!(failure.name.len() <= 4200, "{}", failure.name.len());
    assert!(failure.stack.as_deref().unwrap_or("").len() <= 9000);
}
