//! One fixture per dialect, written to mirror the real tools' output; the
//! normalized result is snapshotted.

use flowspec_results::model::{RerunKind, Status};

use crate::parse_fixtures;

macro_rules! dialect {
    ($test:ident, $file:literal) => {
        #[test]
        fn $test() {
            let report = parse_fixtures(&[concat!("junit/", $file)]);
            assert!(!report.partial, "{:?}", report.errors);
            insta::assert_json_snapshot!(stringify!($test), report);
        }
    };
}

dialect!(should_read_maven_surefire, "surefire.xml");
dialect!(should_read_maven_failsafe_reruns, "failsafe-reruns.xml");
dialect!(should_read_gradle, "gradle.xml");
dialect!(should_read_pytest_xunit2, "pytest-xunit2.xml");
dialect!(should_read_pytest_xunit1, "pytest-xunit1.xml");
dialect!(should_read_jest_junit, "jest-junit.xml");
dialect!(should_read_mocha, "mocha.xml");
dialect!(should_read_go_junit_report, "go-junit-report.xml");
dialect!(should_read_gotestsum, "gotestsum.xml");
dialect!(should_read_cargo_nextest, "nextest.xml");
dialect!(should_read_phpunit, "phpunit.xml");
dialect!(should_read_dotnet_junit_logger, "dotnet-junit-logger.xml");

#[test]
fn should_count_a_flaky_surefire_test_once_as_passed_and_flaky() {
    let report = parse_fixtures(&["junit/surefire.xml"]);
    let t = &report.totals;
    assert_eq!(
        (t.tests, t.passed, t.failed, t.errors, t.skipped, t.flaky),
        (5, 2, 1, 1, 1, 1)
    );
    let cases = report.cases.unwrap();
    let flaky = cases.iter().find(|c| c.name == "talksToTheCache").unwrap();
    assert_eq!(
        (flaky.status, flaky.flaky, flaky.attempts),
        (Status::Passed, true, 2)
    );
    assert_eq!(
        flaky.reruns[0].message.as_deref(),
        Some("Connection refused")
    );
    assert!(
        flaky.reruns[0]
            .stack
            .as_deref()
            .unwrap()
            .contains("CacheClient.java:22")
    );
}

#[test]
fn should_count_a_test_whose_reruns_all_failed_as_failed_not_flaky() {
    let report = parse_fixtures(&["junit/failsafe-reruns.xml", "junit/nextest.xml"]);
    let cases = report.cases.unwrap();
    for name in ["paysWithCard", "audit::should_rotate"] {
        let case = cases.iter().find(|c| c.name == name).unwrap();
        assert_eq!(case.status, Status::Failed, "{name}");
        assert!(!case.flaky, "{name}");
        assert!(case.reruns.iter().all(|r| !r.kind.is_flaky()), "{name}");
    }
    let pays = cases.iter().find(|c| c.name == "paysWithCard").unwrap();
    assert_eq!(pays.attempts, 3);
    assert_eq!(pays.reruns[1].kind, RerunKind::RerunError);
    let coupon = cases.iter().find(|c| c.name == "appliesCoupon").unwrap();
    assert_eq!(
        (coupon.status, coupon.flaky, coupon.attempts),
        (Status::Passed, true, 3)
    );
    // 3 + 4 tests; each counted once.
    assert_eq!(report.totals.tests, 7);
    assert_eq!(report.totals.flaky, 2);
}

#[test]
fn should_merge_a_test_listed_again_by_gradle_retry_into_one_flaky_pass() {
    let report = parse_fixtures(&["junit/gradle.xml"]);
    assert_eq!(
        report.totals.tests, 4,
        "sendsConfirmation() is listed twice"
    );
    let cases = report.cases.unwrap();
    let retried = cases
        .iter()
        .find(|c| c.name == "sendsConfirmation()")
        .unwrap();
    assert_eq!(
        (retried.status, retried.flaky, retried.attempts),
        (Status::Passed, true, 2)
    );
    assert_eq!(retried.reruns[0].kind, RerunKind::FlakyFailure);
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].name, "rejectsEmptyCart()");
}

#[test]
fn should_take_the_message_from_the_body_when_there_is_no_message_attribute() {
    let report = parse_fixtures(&["junit/jest-junit.xml", "junit/phpunit.xml"]);
    let messages: Vec<_> = report
        .failures
        .iter()
        .map(|f| f.message.clone().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "Error: expect(received).toBe(expected) // Object.is equality",
            "App\\Tests\\PriceTest::testRounds with data set #1 (1.005, '1.01')",
            "App\\Tests\\PriceTest::testConverts",
        ]
    );
}

#[test]
fn should_name_file_and_line_from_the_case_or_its_suite() {
    let report = parse_fixtures(&["junit/pytest-xunit1.xml", "junit/mocha.xml"]);
    let div = report
        .failures
        .iter()
        .find(|f| f.name == "test_div")
        .unwrap();
    assert_eq!(
        (div.file.as_deref(), div.line),
        (Some("tests/test_math.py"), Some(7))
    );
    let mocha = report
        .failures
        .iter()
        .find(|f| f.suite == "#indexOf()")
        .unwrap();
    assert_eq!(mocha.file.as_deref(), Some("test/array.spec.js"));
}

#[test]
fn should_read_nested_phpunit_suites_under_the_innermost_name() {
    let report = parse_fixtures(&["junit/phpunit.xml"]);
    let cases = report.cases.unwrap();
    let suites: Vec<_> = cases.iter().map(|c| c.suite.as_str()).collect();
    assert_eq!(
        suites,
        [
            "App\\Tests\\PriceTest",
            "App\\Tests\\PriceTest::testRounds",
            "App\\Tests\\PriceTest::testRounds",
            "App\\Tests\\PriceTest",
            "App\\Tests\\PriceTest",
        ]
    );
    assert_eq!(cases[0].classname.as_deref(), Some("App.Tests.PriceTest"));
}

#[test]
fn should_read_time_with_grouping_commas_and_decode_character_references() {
    let report = parse_fixtures(&["junit/surefire.xml", "junit/gotestsum.xml"]);
    assert_eq!(report.suites[0].time, Some(1021.5));
    let login = report
        .failures
        .iter()
        .find(|f| f.name == "TestLogin")
        .unwrap();
    assert!(
        login
            .stack
            .as_deref()
            .unwrap()
            .contains("body: {\"error\":\"db timeout\"}\n--- FAIL"),
        "{login:?}"
    );
}
