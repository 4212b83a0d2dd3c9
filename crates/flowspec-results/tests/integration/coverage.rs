//! Cobertura, LCOV, JaCoCo and Go cover profiles.

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

#[test]
fn should_read_jacoco_line_and_branch_counters_per_source_file() {
    assert_eq!(
        crate::sniff("coverage/jacoco.xml"),
        Some(flowspec_results::Format::Jacoco)
    );
    let report = parse_fixtures(&["coverage/jacoco.xml"]);
    assert!(!report.partial, "{:?}", report.errors);
    let coverage = report.coverage.unwrap();
    let files: Vec<_> = coverage
        .files
        .iter()
        .map(|f| {
            (
                f.path.as_str(),
                f.lines_covered,
                f.lines_valid,
                f.branches_covered,
                f.branches_valid,
            )
        })
        .collect();
    // Class and method counters repeat the source files' and are not added again.
    assert_eq!(
        files,
        [
            ("com/example/shop/Cart.java", 8, 9, 3, 4),
            ("com/example/shop/Discount.java", 0, 4, 0, 2),
            ("com/example/shop/util/Money.java", 2, 2, 0, 0),
        ]
    );
    let t = &coverage.totals;
    assert_eq!(
        (t.lines_covered, t.lines_valid, t.branch_rate),
        (10, 15, Some(0.5))
    );
}

#[test]
fn should_read_an_empty_jacoco_report_without_error() {
    let report = parse_fixtures(&["coverage/jacoco-empty.xml"]);
    assert!(!report.partial, "{:?}", report.errors);
    let coverage = report.coverage.unwrap();
    assert!(coverage.files.is_empty());
    assert_eq!(coverage.totals.line_rate, None);
}

#[test]
fn should_count_go_cover_statements_once_per_block() {
    assert_eq!(
        crate::sniff("coverage/go-cover.out"),
        Some(flowspec_results::Format::GoCover)
    );
    let report = parse_fixtures(&["coverage/go-cover.out", "coverage/go-cover-empty.out"]);
    assert!(!report.partial, "{:?}", report.errors);
    let coverage = report.coverage.unwrap();
    let files: Vec<_> = coverage
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.lines_covered, f.lines_valid))
        .collect();
    // The block listed twice ran in its second listing.
    assert_eq!(
        files,
        [
            ("github.com/acme/shop/cart/cart.go", 4, 4),
            ("github.com/acme/shop/cart/discount.go", 3, 5),
        ]
    );
    assert_eq!(
        coverage.totals.branch_rate, None,
        "Go profiles have no branches"
    );
}

#[test]
fn should_say_which_line_of_a_go_cover_profile_is_malformed() {
    let mut builder = flowspec_results::ReportBuilder::new(Default::default());
    builder.add_reader(
        "mode: set\na.go:1.1,2.2 1 1\na.go 1 1\n".as_bytes(),
        "cover.out",
    );
    let report = builder.finish();
    assert!(report.partial);
    let error = &report.errors[0];
    assert_eq!(
        (error.kind, error.line),
        (flowspec_results::ParseErrorKind::Syntax, 3)
    );
    assert_eq!(
        report.coverage.unwrap().totals.lines_valid,
        1,
        "what was read is kept"
    );
}

#[test]
fn should_saturate_jacoco_counters_near_the_largest_count() {
    let xml = r#"<report name="r"><package name="p"><sourcefile name="A.java">
      <counter type="LINE" missed="18446744073709551615" covered="18446744073709551615"/>
      <counter type="LINE" missed="1" covered="1"/>
    </sourcefile></package></report>"#;
    let parsed = flowspec_results::coverage::read_jacoco(xml.as_bytes(), Default::default());
    assert!(parsed.error.is_none(), "{:?}", parsed.error);
    let file = &parsed.coverage.files[0];
    assert_eq!((file.lines_valid, file.lines_covered), (u64::MAX, u64::MAX));
}

#[test]
fn should_merge_many_coverage_files_in_linear_time() {
    // 20,000 source files: merging them one by one rebuilt an index per file.
    let mut xml = String::from(r#"<report name="r"><package name="p">"#);
    for i in 0..20_000 {
        xml.push_str(&format!(
            r#"<sourcefile name="F{i}.java"><counter type="LINE" missed="1" covered="3"/></sourcefile>"#
        ));
    }
    xml.push_str("</package></report>");
    let parsed = flowspec_results::coverage::read_jacoco(xml.as_bytes(), Default::default());
    assert_eq!(parsed.coverage.files.len(), 20_000);
    assert_eq!(parsed.coverage.totals.lines_valid, 80_000);
}

/// Found by the `jacoco` fuzz target: report-level counters that saturate, then the
/// line and branch totals added together, overflowed.
#[test]
fn should_read_the_fuzzed_jacoco_report_whose_totals_overflowed() {
    let file = std::fs::File::open(crate::fixture("coverage/jacoco-fuzz-overflow.xml")).unwrap();
    let parsed = flowspec_results::coverage::read_jacoco(file, Default::default());
    let t = &parsed.coverage.totals;
    assert!(t.lines_covered <= t.lines_valid && t.branches_covered <= t.branches_valid);
    // Two files near the largest count: the totals saturate too.
    let xml = r#"<report name="r"><package name="p">
      <sourcefile name="A.java"><counter type="LINE" missed="0" covered="18446744073709551615"/></sourcefile>
      <sourcefile name="B.java"><counter type="LINE" missed="0" covered="18446744073709551615"/></sourcefile>
      <counter type="BRANCH" missed="18446744073709551615" covered="1"/>
    </package></report>"#;
    let parsed = flowspec_results::coverage::read_jacoco(xml.as_bytes(), Default::default());
    assert_eq!(parsed.coverage.totals.lines_valid, u64::MAX);
    let report = r#"<report name="r"><counter type="LINE" missed="18446744073709551615" covered="1"/>
      <counter type="BRANCH" missed="18446744073709551615" covered="1"/></report>"#;
    let parsed = flowspec_results::coverage::read_jacoco(report.as_bytes(), Default::default());
    assert_eq!(parsed.coverage.totals.lines_valid, u64::MAX);
}
