//! .NET TRX and `go test -json`: detected from content, read into the same model.

use flowspec_results::model::{FailureKind, Status};
use flowspec_results::{Format, ParseErrorKind};

use crate::{case, fixture, parse_fixtures, sniff, totals};

#[test]
fn should_detect_trx_and_go_test_json_from_content() {
    for trx in [
        "trx/mstest.trx",
        "trx/xunit.trx",
        "trx/nunit.trx",
        "trx/empty.trx",
    ] {
        assert_eq!(sniff(trx), Some(Format::Trx), "{trx}");
    }
    for go in ["gotest/subtests.json", "gotest/build-failure.json"] {
        assert_eq!(sniff(go), Some(Format::GoTestJson), "{go}");
    }
    // A TestRun outside the TeamTest namespace, and JSON without "Action", are not.
    assert_eq!(Format::sniff(b"<TestRun name=\"x\">"), None);
    assert_eq!(Format::sniff(b"{\"name\": \"package.json\"}\n"), None);
    let report = parse_fixtures(&["trx/mstest.trx", "gotest/subtests.json"]);
    let formats: Vec<_> = report.files.iter().map(|f| f.format).collect();
    assert_eq!(formats, [Some(Format::Trx), Some(Format::GoTestJson)]);
}

#[test]
fn should_read_an_mstest_failure_and_data_driven_rows() {
    let report = parse_fixtures(&["trx/mstest.trx"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // The data-driven test counts as its two rows, not three tests.
    assert_eq!(totals(&report), (4, 2, 2, 0, 0));
    let cases = report.cases.unwrap();
    let divide = case(&cases, "Calc.Tests.CalculatorTests::DividesByZero");
    assert_eq!(divide.status, Status::Failed);
    assert_eq!(divide.time, Some(0.031));
    let failure = divide.failure.as_ref().unwrap();
    assert_eq!(
        failure.message.as_deref(),
        Some("Assert.AreEqual failed. Expected:<Infinity>. Actual:<NaN>.")
    );
    assert!(
        failure
            .stack
            .as_deref()
            .unwrap()
            .contains("CalculatorTests.cs:line 27")
    );
    assert_eq!(
        (divide.file.as_deref(), divide.line),
        (
            Some("/home/runner/work/calc/tests/Calc.Tests/CalculatorTests.cs"),
            Some(27)
        )
    );
    assert_eq!(divide.system_out.as_deref(), Some("dividing 1 by 0"));
    let row = case(&cases, "Calc.Tests.CalculatorTests::RoundsHalfUp (-2.5,-3)");
    assert_eq!(row.status, Status::Failed);
    assert_eq!(row.time, Some(0.0021));
    assert_eq!(
        case(&cases, "Calc.Tests.CalculatorTests::RoundsHalfUp (2.5,3)").status,
        Status::Passed
    );
}

#[test]
fn should_read_xunit_names_without_the_repeated_class() {
    let report = parse_fixtures(&["trx/xunit.trx"]);
    assert_eq!(totals(&report), (3, 2, 1, 0, 0));
    let cases = report.cases.unwrap();
    let failed = case(
        &cases,
        "Shop.Tests.CartTests::AppliesTax(price: 10, expected: 10.7)",
    );
    let message = failed.failure.as_ref().unwrap().message.as_deref().unwrap();
    assert!(
        message.starts_with("Assert.Equal() Failure: Values differ"),
        "{message}"
    );
    assert!(
        message.contains("Actual:   10.699999999999999"),
        "{message}"
    );
    case(&cases, "Shop.Tests.CartTests::AddsItem");
}

#[test]
fn should_read_nunit_not_executed_as_skipped_and_timeout_as_error() {
    let report = parse_fixtures(&["trx/nunit.trx"]);
    assert_eq!(totals(&report), (4, 1, 1, 1, 1));
    let cases = report.cases.unwrap();
    let skipped = case(&cases, "Time.Tests.ParseTests::ParsesLocalTime");
    assert_eq!(skipped.status, Status::Skipped);
    assert_eq!(
        skipped.skip_message.as_deref(),
        Some("Depends on the machine's time zone (issue tracker: TZ-12)")
    );
    let timeout = case(&cases, "Time.Tests.ClockTests::WaitsForClock");
    assert_eq!(timeout.status, Status::Error);
    assert_eq!(timeout.time, Some(5.001));
    let failure = timeout.failure.as_ref().unwrap();
    assert_eq!(
        (failure.kind, failure.message.as_deref()),
        (FailureKind::Error, Some("timed out"))
    );
    let format = case(
        &cases,
        "Time.Tests.FormatTests::FormatsDuration(90,\"1m30s\")",
    );
    assert_eq!(
        format.file.as_deref(),
        Some("C:\\agent\\_work\\1\\s\\Time.Tests\\FormatTests.cs")
    );
}

#[test]
fn should_read_an_empty_trx_run_as_no_tests_without_error() {
    let report = parse_fixtures(&["trx/empty.trx"]);
    assert!(
        report.errors.is_empty() && !report.partial,
        "{:?}",
        report.errors
    );
    assert_eq!(report.totals.tests, 0);
    assert_eq!(report.files[0].format, Some(Format::Trx));
}

#[test]
fn should_keep_a_trx_failure_without_a_message_as_failed() {
    let report = parse_fixtures(&["trx/failure-without-message.trx"]);
    assert_eq!(totals(&report), (2, 0, 2, 0, 0));
    let cases = report.cases.unwrap();
    // The assembly-qualified class name is cut to the class.
    let null = case(&cases, "Legacy.Tests.GuardTests::ThrowsOnNull");
    let failure = null.failure.as_ref().unwrap();
    assert_eq!(failure.message, None);
    assert!(
        failure
            .stack
            .as_deref()
            .unwrap()
            .contains("GuardTests.cs:line 12")
    );
    let empty = case(&cases, "Legacy.Tests.GuardTests::ThrowsOnEmpty");
    assert_eq!(empty.status, Status::Failed);
    assert_eq!(report.failures.len(), 2);
}

#[test]
fn should_keep_the_results_read_before_a_truncated_trx() {
    let text = std::fs::read_to_string(fixture("trx/mstest.trx")).unwrap();
    let cut = &text[..text.find("<TestDefinitions>").unwrap()];
    let mut builder = flowspec_results::ReportBuilder::new(Default::default());
    builder.add_reader(cut.as_bytes(), "cut.trx");
    let report = builder.finish();
    assert!(report.partial);
    assert_eq!(report.errors[0].kind, ParseErrorKind::Truncated);
    assert_eq!(
        report.totals.tests, 4,
        "results read before the cut are kept"
    );
}

#[test]
fn should_read_go_test_json_with_a_skip_and_a_subtest_failure() {
    let report = parse_fixtures(&["gotest/subtests.json"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // TestAdd, TestTotal, TestTotal/empty, TestTotal/with_tax, the skip, TestRound.
    assert_eq!(totals(&report), (6, 3, 2, 0, 1));
    let cases = report.cases.unwrap();
    let sub = case(&cases, "example.com/shop/cart::TestTotal/with_tax");
    assert_eq!((sub.status, sub.time), (Status::Failed, Some(0.002)));
    let failure = sub.failure.as_ref().unwrap();
    assert_eq!(
        failure.message.as_deref(),
        Some("cart_test.go:41: Total() = 10.69, want 10.70")
    );
    assert!(
        failure
            .stack
            .as_deref()
            .unwrap()
            .contains("--- FAIL: TestTotal/with_tax")
    );
    assert_eq!(
        (sub.file.as_deref(), sub.line),
        (Some("cart_test.go"), Some(41))
    );
    assert_eq!(
        case(&cases, "example.com/shop/cart::TestTotal").status,
        Status::Failed
    );
    let skip = case(&cases, "example.com/shop/cart::TestCheckoutAgainstStripe");
    assert_eq!(skip.status, Status::Skipped);
    assert_eq!(
        skip.skip_message.as_deref(),
        Some("checkout_test.go:15: STRIPE_KEY not set")
    );
    // A package with failing tests gets no extra case; one without test files none.
    assert!(cases.iter().all(|c| !c.name.starts_with('[')));
}

#[test]
fn should_read_a_go_build_failure_as_an_error_case() {
    let report = parse_fixtures(&["gotest/build-failure.json"]);
    assert_eq!(totals(&report), (3, 1, 0, 2, 0));
    let cases = report.cases.unwrap();
    let payments = case(&cases, "example.com/shop/payments::[build failed]");
    assert_eq!(payments.status, Status::Error);
    let failure = payments.failure.as_ref().unwrap();
    assert_eq!(
        failure.message.as_deref(),
        Some("./charge.go:27:9: undefined: stripe.NewClient")
    );
    assert!(
        failure
            .stack
            .as_deref()
            .unwrap()
            .contains("declared and not used: amount")
    );
    // Before Go 1.24 the compiler's errors went to stderr: the case says where to look.
    let legacy = case(&cases, "example.com/shop/legacy::[build failed]");
    let message = legacy.failure.as_ref().unwrap().message.as_deref().unwrap();
    assert!(message.contains("did not build"), "{message}");
}

#[test]
fn should_keep_only_the_last_output_lines_of_a_failing_go_test() {
    let mut json = String::from("{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"TestNoisy\"}\n");
    for i in 0..5000 {
        json.push_str(&format!(
            "{{\"Action\":\"output\",\"Package\":\"p\",\"Test\":\"TestNoisy\",\"Output\":\"line {i}\\n\"}}\n"
        ));
    }
    json.push_str("{\"Action\":\"fail\",\"Package\":\"p\",\"Test\":\"TestNoisy\",\"Elapsed\":1}\n");
    let report = crate::parse_text(&json);
    let cases = report.cases.unwrap();
    let failure = cases[0].failure.as_ref().unwrap();
    let stack = failure.stack.as_deref().unwrap();
    assert!(
        stack.starts_with("… [4900 earlier lines omitted] …"),
        "{}",
        &stack[..80]
    );
    assert!(stack.ends_with("line 4999"));
    assert!(stack.len() <= flowspec_results::gotest::MAX_OUTPUT_BYTES + 100);
    assert_eq!(failure.message.as_deref(), Some("line 4999"));
}
