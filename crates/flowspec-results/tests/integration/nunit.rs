//! NUnit 3 and NUnit 2.5 XML: detected from content, read into the common model.

use flowspec_results::model::{FailureKind, Status};
use flowspec_results::{Format, ParseErrorKind};

use crate::{case, fixture, parse_fixtures, sniff, totals};

#[test]
fn should_detect_nunit_3_and_2_5_from_content() {
    for file in [
        "nunit/nunit3.xml",
        "nunit/nunit3-empty.xml",
        "nunit/nunit3-failure-without-message.xml",
        "nunit/nunit25.xml",
    ] {
        assert_eq!(sniff(file), Some(Format::Nunit), "{file}");
    }
}

#[test]
fn should_map_nunit_3_results_and_labels_to_statuses() {
    let report = parse_fixtures(&["nunit/nunit3.xml"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // Passed: Adds, WarnsOnRounding (a warning does not fail), Sum(1,2,3).
    // Failed: Divides, Sum(2,2,5). Error: label Error, label Cancelled.
    // Skipped: Ignored, Inconclusive, Explicit.
    assert_eq!(totals(&report), (10, 3, 2, 2, 3));
    let cases = report.cases.as_ref().unwrap();
    let error = case(cases, "Calc.Tests.CalculatorTests::ThrowsOnOverflow");
    assert_eq!(error.status, Status::Error);
    assert_eq!(error.failure.as_ref().unwrap().kind, FailureKind::Error);
    let cancelled = case(cases, "Calc.Tests.CalculatorTests::SlowSum");
    assert_eq!(
        cancelled.failure.as_ref().unwrap().message.as_deref(),
        Some("cancelled")
    );
    let ignored = case(cases, "Calc.Tests.CalculatorTests::UsesTheCurrentCulture");
    assert_eq!(ignored.status, Status::Skipped);
    assert_eq!(
        ignored.skip_message.as_deref(),
        Some("Culture-dependent, see CALC-12")
    );
    let inconclusive = case(cases, "Calc.Tests.NetworkTests::ResolvesHost");
    assert_eq!(inconclusive.status, Status::Skipped);
    assert_eq!(
        inconclusive.skip_message.as_deref(),
        Some("No network on this agent")
    );
    let explicit = case(cases, "Calc.Tests.NetworkTests::BenchmarksLatency");
    assert_eq!(
        (explicit.status, explicit.skip_message.as_deref()),
        (Status::Skipped, None)
    );
}

#[test]
fn should_read_an_nunit_failure_with_message_stack_output_and_location() {
    let report = parse_fixtures(&["nunit/nunit3.xml"]);
    let cases = report.cases.as_ref().unwrap();
    let divides = case(cases, "Calc.Tests.CalculatorTests::Divides");
    assert_eq!(divides.time, Some(0.045));
    let failure = divides.failure.as_ref().unwrap();
    assert_eq!(
        failure.message.as_deref(),
        Some("Expected: 2.5d\n  But was:  2.0d")
    );
    assert!(
        failure
            .stack
            .as_deref()
            .unwrap()
            .contains("CalculatorTests.cs:line 27")
    );
    assert_eq!(divides.system_out.as_deref(), Some("dividing 5 by 2"));
    assert_eq!(
        (divides.file.as_deref(), divides.line),
        (
            Some("/agent/_work/1/s/Calc.Tests/CalculatorTests.cs"),
            Some(27)
        )
    );
    // The assertion list repeats the message: it is not read twice.
    assert_eq!(report.failures.len(), 4);
}

#[test]
fn should_keep_nunit_parameterised_cases_apart_by_their_arguments() {
    let report = parse_fixtures(&["nunit/nunit3.xml"]);
    let cases = report.cases.as_ref().unwrap();
    assert_eq!(
        case(cases, "Calc.Tests.CalculatorTests::Sum(1,2,3)").status,
        Status::Passed
    );
    let failed = case(cases, "Calc.Tests.CalculatorTests::Sum(2,2,5)");
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(failed.line, Some(52));
    let suites: Vec<_> = report
        .suites
        .iter()
        .map(|s| (s.name.as_str(), s.totals.tests))
        .collect();
    assert_eq!(
        suites,
        [
            ("Calc.Tests.CalculatorTests", 8),
            ("Calc.Tests.NetworkTests", 2)
        ]
    );
}

#[test]
fn should_read_an_empty_nunit_run_as_no_tests_without_error() {
    let report = parse_fixtures(&["nunit/nunit3-empty.xml"]);
    assert!(
        report.errors.is_empty() && !report.partial,
        "{:?}",
        report.errors
    );
    assert_eq!(report.totals.tests, 0);
    assert_eq!(report.files[0].format, Some(Format::Nunit));
}

#[test]
fn should_keep_an_nunit_failure_without_a_message_as_failed() {
    let report = parse_fixtures(&["nunit/nunit3-failure-without-message.xml"]);
    assert_eq!(totals(&report), (1, 0, 1, 0, 0));
    assert_eq!(
        report.failures[0].id,
        "Parser.Tests.LexerTests::ReadsNumbers"
    );
    assert_eq!(report.failures[0].message, None);
}

#[test]
fn should_read_nunit_2_5_names_executed_and_results() {
    let report = parse_fixtures(&["nunit/nunit25.xml"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // Adds passed; Divides failed; Opens errored; Ignored skipped; NotRunnable errored.
    assert_eq!(totals(&report), (5, 1, 1, 2, 1));
    let cases = report.cases.as_ref().unwrap();
    let divides = case(cases, "Calc.Tests.CalculatorTests::Divides");
    assert_eq!(divides.line, Some(27));
    let opens = case(cases, "Calc.Tests.CalculatorTests::Opens");
    assert!(
        opens
            .failure
            .as_ref()
            .unwrap()
            .message
            .as_deref()
            .unwrap()
            .starts_with("System.IO.FileNotFoundException")
    );
    assert_eq!(opens.line, Some(61));
    let not_runnable = case(cases, "Calc.Tests.CalculatorTests::TakesArguments(\"a.b\")");
    assert_eq!(not_runnable.status, Status::Error);
    assert_eq!(
        not_runnable.failure.as_ref().unwrap().message.as_deref(),
        Some("No arguments were provided")
    );
    let ignored = case(cases, "Calc.Tests.CalculatorTests::UsesTheCurrentCulture");
    assert_eq!(
        ignored.skip_message.as_deref(),
        Some("Culture-dependent, see CALC-12")
    );
}

#[test]
fn should_keep_the_nunit_cases_read_before_a_cut() {
    let text = std::fs::read_to_string(fixture("nunit/nunit3.xml")).unwrap();
    let cut = &text[..text
        .find("<test-suite type=\"ParameterizedMethod\"")
        .unwrap()];
    let mut builder = flowspec_results::ReportBuilder::new(Default::default());
    builder.add_reader(cut.as_bytes(), "cut.xml");
    let report = builder.finish();
    assert!(report.partial);
    assert_eq!(report.errors[0].kind, ParseErrorKind::Truncated);
    assert_eq!(report.totals.tests, 6);
}
