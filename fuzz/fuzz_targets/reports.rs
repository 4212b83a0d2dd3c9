//! Test and coverage reports (JUnit XML, Cobertura, LCOV) as a pull request's author
//! could write them: the first byte chooses the reader (format detection, or JUnit
//! forced), the rest is the file.
#![no_main]

use flowspec_results::{ParseOptions, ReportBuilder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, file)) = data.split_first() else {
        return;
    };
    let mut builder = ReportBuilder::new(ParseOptions::default());
    if which % 2 == 0 {
        builder.add_reader(file, "fuzz");
    } else {
        builder.add_junit(file, "fuzz");
    }
    let report = builder.finish();
    // Whatever was read must be internally consistent.
    let t = &report.totals;
    assert!(t.passed + t.failed + t.errors + t.skipped <= t.tests + t.flaky);
});
