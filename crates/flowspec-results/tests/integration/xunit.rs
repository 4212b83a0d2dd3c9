//! xUnit.net v2 XML: detected from content, read into the common model.

use flowspec_results::Format;
use flowspec_results::model::{FailureKind, Status};

use crate::{case, parse_fixtures, sniff, totals};

#[test]
fn should_detect_xunit_v2_from_content() {
    for file in [
        "xunit/xunit.xml",
        "xunit/empty.xml",
        "xunit/failure-without-message.xml",
    ] {
        assert_eq!(sniff(file), Some(Format::Xunit), "{file}");
    }
}

#[test]
fn should_read_xunit_pass_fail_skip_and_theory_rows() {
    let report = parse_fixtures(&["xunit/xunit.xml"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // 5 tests and the fixture cleanup error of the assembly.
    assert_eq!(totals(&report), (6, 2, 2, 1, 1));
    let cases = report.cases.as_ref().unwrap();
    let row = case(
        cases,
        "Shop.Tests.CartTests::AppliesDiscount(percent: 50, expected: 40)",
    );
    let failure = row.failure.as_ref().unwrap();
    assert_eq!(
        failure.failure_type.as_deref(),
        Some("Xunit.Sdk.EqualException")
    );
    assert_eq!(
        failure.message.as_deref(),
        Some("Assert.Equal() Failure: Values differ\nExpected: 40\nActual:   50")
    );
    // source-file/source-line win over the stack trace.
    assert_eq!(
        (row.file.as_deref(), row.line),
        (Some("/agent/_work/1/s/Shop.Tests/CartTests.cs"), Some(44))
    );
    assert_eq!(
        row.system_out.as_deref(),
        Some("cart total before discount: 100")
    );
    let skipped = case(cases, "Shop.Tests.CartTests::ShipsAbroad");
    assert_eq!(skipped.status, Status::Skipped);
    assert_eq!(
        skipped.skip_message.as_deref(),
        Some("Needs the shipping sandbox (SHOP-7)")
    );
    let charge = case(cases, "Shop.Tests.PaymentTests::ChargesCard");
    assert_eq!(charge.time, Some(1.2003));
    assert_eq!(charge.line, Some(88), "the first frame with a location");
}

#[test]
fn should_report_an_xunit_assembly_error_as_an_error_case() {
    let report = parse_fixtures(&["xunit/xunit.xml"]);
    let cases = report.cases.as_ref().unwrap();
    let cleanup = case(
        cases,
        "Shop.Tests.dll::[test-class-cleanup] Shop.Tests.DatabaseFixture",
    );
    assert_eq!(cleanup.status, Status::Error);
    let failure = cleanup.failure.as_ref().unwrap();
    assert_eq!(failure.kind, FailureKind::Error);
    assert_eq!(
        failure.message.as_deref(),
        Some("System.InvalidOperationException : The connection was not closed.")
    );
}

#[test]
fn should_read_an_empty_xunit_report_as_no_tests_without_error() {
    let report = parse_fixtures(&["xunit/empty.xml"]);
    assert!(
        report.errors.is_empty() && !report.partial,
        "{:?}",
        report.errors
    );
    assert_eq!(report.totals.tests, 0);
}

#[test]
fn should_keep_an_xunit_failure_without_a_message_as_failed() {
    let report = parse_fixtures(&["xunit/failure-without-message.xml"]);
    assert_eq!(totals(&report), (1, 0, 1, 0, 0));
    assert_eq!(report.failures[0].id, "Shop.Tests.TaxTests::RoundsHalfUp");
    assert_eq!(report.failures[0].message, None);
}
