//! Test cases listed more than once: retries (merged) versus distinct executions
//! (counted, named `name#2`), and suites whose declared counts disagree.

use flowspec_results::ParseErrorKind;
use flowspec_results::model::{RerunKind, Status, TestCase};

use crate::{parse_fixtures, parse_text};

fn totals(report: &flowspec_results::Report) -> (u64, u64, u64, u64, u64, u64) {
    let t = &report.totals;
    (t.tests, t.passed, t.failed, t.errors, t.skipped, t.flaky)
}

fn case<'a>(cases: &'a [TestCase], id: &str) -> &'a TestCase {
    cases
        .iter()
        .find(|c| c.id() == id)
        .unwrap_or_else(|| panic!("no case {id}"))
}

#[test]
fn should_agree_with_the_declared_counts_of_every_repeat_fixture() {
    for fixture in [
        "repeats/testng-data-provider.xml",
        "repeats/jest-junit-describe.xml",
        "repeats/gradle-test-retry.xml",
        "repeats/surefire-rerun-failure.xml",
        "repeats/pytest-rerunfailures.xml",
    ] {
        let report = parse_fixtures(&[fixture]);
        assert!(report.errors.is_empty(), "{fixture}: {:?}", report.errors);
        assert!(!report.partial, "{fixture}");
    }
}

#[test]
fn should_count_two_testng_data_provider_rows_as_two_tests() {
    let report = parse_fixtures(&["repeats/testng-data-provider.xml"]);
    assert_eq!(totals(&report), (2, 0, 1, 0, 1, 0));
    let cases = report.cases.unwrap();
    let first = case(&cases, "com.acme.pricing.DiscountTest::appliesDiscount");
    let second = case(&cases, "com.acme.pricing.DiscountTest::appliesDiscount#2");
    assert_eq!(
        (first.status, second.status),
        (Status::Skipped, Status::Failed)
    );
    assert_eq!(
        second.failure.as_ref().unwrap().message.as_deref(),
        Some("expected [90.0] but found [100.0]")
    );
    assert_eq!(report.failures[0].id, second.id());
}

#[test]
fn should_count_jest_names_repeated_across_describe_blocks_separately() {
    let report = parse_fixtures(&["repeats/jest-junit-describe.xml"]);
    assert_eq!(totals(&report), (5, 4, 1, 0, 0, 0));
    let cases = report.cases.unwrap();
    let ids: Vec<String> = cases.iter().map(TestCase::id).collect();
    assert_eq!(
        ids,
        [
            "src/components/Button.test.tsx::renders",
            "src/components/Button.test.tsx::calls onClick",
            "src/components/Button.test.tsx::renders#2",
            "src/components/Button.test.tsx::calls onClick#2",
            "src/hooks/useCart.test.ts::renders",
        ]
    );
    assert_eq!(
        report.failures[0].id,
        "src/components/Button.test.tsx::calls onClick#2"
    );
}

#[test]
fn should_merge_a_gradle_retry_into_one_flaky_test() {
    let report = parse_fixtures(&["repeats/gradle-test-retry.xml"]);
    assert_eq!(totals(&report), (2, 2, 0, 0, 0, 1));
    let cases = report.cases.unwrap();
    let retried = case(
        &cases,
        "org.acme.inventory.StockClientTest::fetchesStockLevels()",
    );
    assert_eq!(
        (retried.status, retried.flaky, retried.attempts),
        (Status::Passed, true, 2)
    );
    assert_eq!(retried.reruns[0].kind, RerunKind::FlakyFailure);
    assert_eq!(
        retried.reruns[0].message.as_deref(),
        Some("java.net.SocketTimeoutException: Read timed out")
    );
    assert!(report.failures.is_empty());
}

#[test]
fn should_count_a_surefire_test_failing_all_reruns_once_as_failed() {
    let report = parse_fixtures(&["repeats/surefire-rerun-failure.xml"]);
    assert_eq!(totals(&report), (2, 1, 1, 0, 0, 0));
    let cases = report.cases.unwrap();
    let charged = case(&cases, "com.acme.billing.InvoiceIT::chargesCard");
    assert_eq!(charged.attempts, 3);
    assert_eq!(
        charged.reruns[1].message.as_deref(),
        Some("expected: <200> but was: <504>")
    );
}

#[test]
fn should_merge_a_pytest_rerunfailures_retry_into_one_flaky_test() {
    let report = parse_fixtures(&["repeats/pytest-rerunfailures.xml"]);
    assert_eq!(totals(&report), (2, 2, 0, 0, 0, 1));
    let cases = report.cases.unwrap();
    let upload = case(&cases, "tests.test_api::test_upload");
    assert_eq!((upload.flaky, upload.attempts), (true, 2));
}

#[test]
fn should_merge_a_retry_into_the_latest_execution_of_a_repeated_name() {
    // Passed, then another execution that failed and was retried successfully.
    let report = parse_text(
        r#"<testsuite name="s" tests="4" failures="1">
  <testcase classname="C" name="t"/>
  <testcase classname="C" name="t"><failure message="boom"/></testcase>
  <testcase classname="C" name="t"/>
  <testcase classname="C" name="t"/>
</testsuite>"#,
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let cases = report.cases.unwrap();
    let summary: Vec<(String, bool, u32)> = cases
        .iter()
        .map(|c| (c.name.clone(), c.flaky, c.attempts))
        .collect();
    assert_eq!(
        summary,
        [
            ("t".to_owned(), false, 1),
            ("t#2".to_owned(), true, 2),
            ("t#3".to_owned(), false, 1),
        ]
    );
}

#[test]
fn should_warn_when_a_suite_declares_other_counts_than_it_holds() {
    let report = parse_text(
        "<testsuites>\n  <testsuite name=\"com.acme.CartTest\" tests=\"3\" failures=\"0\" skipped=\"0\">\n    <testcase classname=\"com.acme.CartTest\" name=\"adds\"/>\n    <testcase classname=\"com.acme.CartTest\" name=\"removes\"><failure message=\"no\"/></testcase>\n  </testsuite>\n</testsuites>",
    );
    assert!(
        !report.partial,
        "a warning does not make the report partial"
    );
    assert_eq!(report.totals.tests, 2, "the parsed counts are used");
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    let warning = &report.errors[0];
    assert_eq!(warning.kind, ParseErrorKind::CountMismatch);
    assert_eq!((warning.line, warning.column), (2, 3));
    let text = warning.to_string();
    assert!(text.starts_with("inline.xml: line 2"), "{text}");
    assert!(text.contains("`com.acme.CartTest`"), "{text}");
    assert!(
        text.contains("declares tests=3 failures=0 skipped=0"),
        "{text}"
    );
    assert!(
        text.contains("holds tests=2 failures=1 errors=0 skipped=0"),
        "{text}"
    );
}

#[test]
fn should_not_compare_a_parent_suite_with_only_its_own_cases() {
    // PHPUnit: the parent's counts include its nested suites'.
    let report = parse_text(
        r#"<testsuites><testsuite name="all" tests="2">
  <testsuite name="A" tests="1"><testcase class="A" name="a"/></testsuite>
  <testcase class="B" name="b"/>
</testsuite></testsuites>"#,
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.totals.tests, 2);
}
