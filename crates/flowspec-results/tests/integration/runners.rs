//! Jest, mocha and RSpec JSON reports and `dart test --reporter json` events:
//! detected from content, read into the common model.

use flowspec_results::model::{FailureKind, Status};
use flowspec_results::{Format, ParseErrorKind, ParseOptions, ReportBuilder};

use crate::{case, parse_fixtures, sniff, totals};

#[test]
fn should_detect_each_runner_format_from_content() {
    let expected = [
        ("jest/jest.json", Format::JestJson),
        ("jest/empty.json", Format::JestJson),
        ("jest/failure-without-message.json", Format::JestJson),
        ("mocha/mocha.json", Format::MochaJson),
        ("mocha/empty.json", Format::MochaJson),
        ("mocha/failure-without-message.json", Format::MochaJson),
        ("rspec/rspec.json", Format::RspecJson),
        ("rspec/empty.json", Format::RspecJson),
        ("rspec/load-error.json", Format::RspecJson),
        ("rspec/failure-without-message.json", Format::RspecJson),
        ("dart/dart.json", Format::DartJson),
        ("dart/empty.json", Format::DartJson),
        ("dart/failure-without-message.json", Format::DartJson),
    ];
    for (file, format) in expected {
        assert_eq!(sniff(file), Some(format), "{file}");
    }
    assert_eq!(
        Format::sniff(br#"{"name": "my-app", "version": "1.0.0"}"#),
        None
    );
}

#[test]
fn should_read_jest_statuses_titles_retries_and_a_file_that_failed_to_run() {
    let report = parse_fixtures(&["jest/jest.json"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // pending and todo are skipped; the file that failed to run is an error.
    assert_eq!(totals(&report), (6, 2, 1, 1, 2));
    let cases = report.cases.as_ref().unwrap();
    let cart = "/work/shop/src/cart.test.js";
    let discount = case(
        cases,
        &format!("{cart}::cart › totals › applies the discount"),
    );
    let failure = discount.failure.as_ref().unwrap();
    // Colour codes are gone.
    assert_eq!(
        failure.message.as_deref(),
        Some("Error: expect(received).toBe(expected) // Object.is equality")
    );
    assert!(failure.stack.as_deref().unwrap().contains("Received: 90"));
    assert_eq!((discount.line, discount.time), (Some(15), Some(0.007)));
    assert_eq!(
        case(cases, &format!("{cart}::cart › totals › sums the items")).line,
        Some(8)
    );
    let retried = case(
        cases,
        "/work/shop/src/catalogue.test.js::loads the catalogue",
    );
    assert!(retried.flaky);
    assert_eq!(retried.attempts, 3);
    let broken = case(
        cases,
        "/work/shop/src/checkout.test.js::[file failed to run]",
    );
    assert_eq!(broken.status, Status::Error);
    assert_eq!(
        broken.failure.as_ref().unwrap().message.as_deref(),
        Some("Error: Cannot find module './money' from 'src/checkout.test.js'")
    );
}

#[test]
fn should_read_mocha_passes_failures_pending_and_hook_failures() {
    let report = parse_fixtures(&["mocha/mocha.json"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(totals(&report), (5, 2, 1, 1, 1));
    let cases = report.cases.as_ref().unwrap();
    let discount = case(cases, "cart totals::applies the discount");
    let failure = discount.failure.as_ref().unwrap();
    assert_eq!(failure.failure_type.as_deref(), Some("AssertionError"));
    assert_eq!(
        failure.message.as_deref(),
        Some("Expected values to be strictly equal:\n\n90 !== 80")
    );
    assert_eq!(discount.line, Some(21));
    assert_eq!(case(cases, "cart::ships abroad").status, Status::Skipped);
    let retried = case(cases, "catalogue::loads the catalogue");
    assert!(retried.flaky && retried.attempts == 3);
    let hook = case(
        cases,
        "payments::\"before all\" hook for \"charges the card\"",
    );
    assert_eq!(hook.failure.as_ref().unwrap().kind, FailureKind::Error);
    assert_eq!(
        hook.failure.as_ref().unwrap().failure_type.as_deref(),
        Some("ERR_MOCHA_TIMEOUT")
    );
}

#[test]
fn should_read_rspec_examples_with_their_groups_and_locations() {
    let report = parse_fixtures(&["rspec/rspec.json"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(totals(&report), (3, 1, 1, 0, 1));
    let cases = report.cases.as_ref().unwrap();
    let discount = case(cases, "Cart#total::applies the discount");
    let failure = discount.failure.as_ref().unwrap();
    assert_eq!(
        failure.failure_type.as_deref(),
        Some("RSpec::Expectations::ExpectationNotMetError")
    );
    assert_eq!(failure.message.as_deref(), Some("expected: 80"));
    assert!(
        failure
            .stack
            .as_deref()
            .unwrap()
            .contains("cart_spec.rb:13")
    );
    assert_eq!(
        (discount.file.as_deref(), discount.line, discount.time),
        (Some("spec/models/cart_spec.rb"), Some(11), Some(0.014512))
    );
    let pending = case(cases, "Cart::ships abroad");
    assert_eq!(
        pending.skip_message.as_deref(),
        Some("Needs the shipping sandbox")
    );
}

#[test]
fn should_report_rspec_errors_outside_of_examples_as_an_error_case() {
    let report = parse_fixtures(&["rspec/load-error.json"]);
    assert_eq!(totals(&report), (1, 0, 0, 1, 0));
    let failure = &report.failures[0];
    assert_eq!(failure.name, "[errors outside of examples]");
    assert_eq!(
        failure.message.as_deref(),
        Some("An error occurred while loading ./spec/models/order_spec.rb.")
    );
}

#[test]
fn should_read_dart_events_with_prints_skips_and_a_file_that_failed_to_load() {
    let report = parse_fixtures(&["dart/dart.json"]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // The hidden loading test counts only where loading failed.
    assert_eq!(totals(&report), (4, 1, 1, 1, 1));
    let cases = report.cases.as_ref().unwrap();
    let discount = case(cases, "test/cart_test.dart::Cart applies the discount");
    assert_eq!(
        discount.failure.as_ref().unwrap().message.as_deref(),
        Some("Expected: <80>")
    );
    assert!(
        discount
            .failure
            .as_ref()
            .unwrap()
            .stack
            .as_deref()
            .unwrap()
            .contains("cart_test.dart 14:7")
    );
    assert_eq!((discount.line, discount.time), (Some(11), Some(0.005)));
    assert_eq!(discount.system_out.as_deref(), Some("discount: 10%"));
    let skipped = case(cases, "test/cart_test.dart::Cart ships abroad");
    assert_eq!(
        skipped.skip_message.as_deref(),
        Some("needs the shipping sandbox")
    );
    let broken = case(
        cases,
        "test/broken_test.dart::loading test/broken_test.dart",
    );
    assert_eq!(broken.status, Status::Error);
}

#[test]
fn should_read_empty_runner_reports_as_no_tests_without_error() {
    for file in [
        "jest/empty.json",
        "mocha/empty.json",
        "rspec/empty.json",
        "dart/empty.json",
    ] {
        let report = parse_fixtures(&[file]);
        assert!(
            report.errors.is_empty() && !report.partial,
            "{file}: {:?}",
            report.errors
        );
        assert_eq!(report.totals.tests, 0, "{file}");
    }
}

#[test]
fn should_keep_runner_failures_without_a_message_as_failed() {
    for (file, id) in [
        (
            "jest/failure-without-message.json",
            "/work/shop/src/header.test.js::header › parses an empty value",
        ),
        (
            "mocha/failure-without-message.json",
            "auth::rejects a bad token",
        ),
        ("rspec/failure-without-message.json", "Token::expires"),
        (
            "dart/failure-without-message.json",
            "test/token_test.dart::token expires",
        ),
    ] {
        let report = parse_fixtures(&[file]);
        assert_eq!(totals(&report), (1, 0, 1, 0, 0), "{file}");
        assert_eq!(report.failures[0].id, id, "{file}");
        assert_eq!(report.failures[0].message, None, "{file}");
    }
}

#[test]
fn should_say_where_a_runner_report_stops_being_valid_json() {
    let text = std::fs::read_to_string(crate::fixture("mocha/mocha.json")).unwrap();
    let cut = &text[..text.find("\"pending\"").unwrap()];
    let mut builder = ReportBuilder::new(ParseOptions::default());
    builder.add_reader(cut.as_bytes(), "cut.json");
    let report = builder.finish();
    assert!(report.partial);
    assert_eq!(report.errors[0].kind, ParseErrorKind::Truncated);
    assert!(
        report.errors[0].message.contains("mocha JSON"),
        "{}",
        report.errors[0]
    );
}

#[test]
fn should_stay_bounded_on_hostile_dart_events() {
    // Thousands of tests that never finish, and a flood of prints for one that does.
    let mut events = String::from(
        "{\"protocolVersion\":\"0.1.1\",\"type\":\"start\",\"time\":0}\n{\"suite\":{\"id\":0,\"path\":\"test/a_test.dart\"},\"type\":\"suite\",\"time\":0}\n",
    );
    events.push_str("{\"test\":{\"id\":1,\"name\":\"prints\",\"suiteID\":0},\"type\":\"testStart\",\"time\":1}\n");
    for _ in 0..5000 {
        events.push_str(&format!(
            "{{\"testID\":1,\"message\":\"{}\",\"type\":\"print\",\"time\":2}}\n",
            "p".repeat(200)
        ));
    }
    events.push_str(
        "{\"testID\":1,\"result\":\"success\",\"hidden\":false,\"type\":\"testDone\",\"time\":3}\n",
    );
    for id in 2..3000 {
        events.push_str(&format!(
            "{{\"test\":{{\"id\":{id},\"name\":\"t{id}\",\"suiteID\":0}},\"type\":\"testStart\",\"time\":4}}\n"
        ));
    }
    let mut builder = ReportBuilder::new(ParseOptions::default().keep_cases(true));
    builder.add_reader(events.as_bytes(), "dart.json");
    let report = builder.finish();
    // The ones that never finished are errors; the prints kept are bounded.
    assert_eq!(report.totals.passed, 1);
    assert_eq!(report.totals.errors, 2998);
    let cases = report.cases.unwrap();
    let out = cases[0].system_out.as_deref().unwrap();
    assert!(out.len() <= 9000, "{}", out.len());
}
