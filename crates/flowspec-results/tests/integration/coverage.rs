//! Cobertura and LCOV.

use crate::parse_fixtures;

#[test]
fn should_read_cobertura_from_coverage_py() {
    let report = parse_fixtures(&["coverage/cobertura-coveragepy.xml"]);
    assert!(!report.partial, "{:?}", report.errors);
    insta::assert_json_snapshot!("cobertura_coveragepy", report.coverage);
}

#[test]
fn should_count_class_lines_once_and_ignore_method_lines_and_the_dtd_reference() {
    let report = parse_fixtures(&["coverage/cobertura-doctype-methods.xml"]);
    assert!(!report.partial, "{:?}", report.errors);
    let coverage = report.coverage.unwrap();
    assert_eq!(coverage.files.len(), 1, "two classes, one file");
    let file = &coverage.files[0];
    assert_eq!((file.lines_covered, file.lines_valid), (3, 4));
    assert_eq!((file.branches_covered, file.branches_valid), (1, 2));
}

#[test]
fn should_read_lcov_from_da_and_brda_or_from_the_summary_lines() {
    let report = parse_fixtures(&["coverage/lcov.info"]);
    assert!(!report.partial, "{:?}", report.errors);
    insta::assert_json_snapshot!("lcov", report.coverage);
}

#[test]
fn should_merge_test_results_and_coverage_of_several_files() {
    let report = parse_fixtures(&[
        "junit/go-junit-report.xml",
        "coverage/lcov.info",
        "coverage/cobertura-coveragepy.xml",
    ]);
    assert_eq!(report.totals.tests, 4);
    let coverage = report.coverage.unwrap();
    assert_eq!(coverage.files.len(), 4);
    assert_eq!(coverage.totals.lines_valid, 5 + 20 + 9);
    assert_eq!(coverage.totals.lines_covered, 2 + 19 + 6);
}

#[test]
fn should_keep_the_records_before_a_malformed_lcov_line() {
    let mut builder = flowspec_results::ReportBuilder::new(Default::default());
    builder.add_reader(
        "SF:a.rs\nDA:1,1\nend_of_record\nSF:b.rs\nDA:1,0\ngarbage here\n".as_bytes(),
        "broken.info",
    );
    let report = builder.finish();
    assert!(report.partial);
    let e = &report.errors[0];
    assert_eq!((e.line, e.column), (6, 1));
    assert!(e.message.contains("not an LCOV record"), "{e}");
    assert_eq!(
        report.coverage.unwrap().files.len(),
        2,
        "b.rs was read up to the error"
    );
}
