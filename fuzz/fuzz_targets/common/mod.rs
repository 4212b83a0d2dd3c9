//! What every report-reader target checks: reading never panics, stops, and keeps
//! to the error protocol (after an error, only `None`).

use flowspec_results::ParseError;
use flowspec_results::model::TestCase;

/// More cases than any input within libFuzzer's length limit can hold: a reader
/// that yields more is looping.
const MAX_CASES: usize = 1_000_000;

/// Drains a reader's `next_case`.
#[allow(dead_code)]
pub fn drain(mut next: impl FnMut() -> Result<Option<Box<TestCase>>, ParseError>) {
    for _ in 0..MAX_CASES {
        match next() {
            Ok(Some(case)) => check(&case),
            Ok(None) => return,
            Err(e) => {
                let _ = e.to_string();
                assert!(
                    matches!(next(), Ok(None)),
                    "a reader went on after its error"
                );
                return;
            }
        }
    }
    panic!("more than {MAX_CASES} cases from one input");
}

/// A case is consistent: a failing status carries its failure.
pub fn check(case: &TestCase) {
    let _ = case.id();
    if case.status.is_failure() {
        assert!(case.failure.is_some(), "a failing case without its failure");
    }
}

/// Coverage is consistent: no file or total covers more than it has.
#[allow(dead_code)]
pub fn check_coverage(parsed: &flowspec_results::coverage::ParsedCoverage) {
    let coverage = &parsed.coverage;
    for file in &coverage.files {
        assert!(file.lines_covered <= file.lines_valid, "{file:?}");
        assert!(file.branches_covered <= file.branches_valid, "{file:?}");
    }
    let t = &coverage.totals;
    assert!(t.lines_covered <= t.lines_valid && t.branches_covered <= t.branches_valid);
    let _ = parsed.error.as_ref().map(ToString::to_string);
}
