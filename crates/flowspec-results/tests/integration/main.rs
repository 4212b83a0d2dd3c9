//! Integration tests of flowspec-results: one binary, one module per area.

mod ci;
mod coverage;
mod ctrf;
mod dialects;
mod formats;
mod hostile;
mod json_streaming;
mod memory;
mod nunit;
mod postgres;
mod repeats;
mod retention;
mod roundtrip;
mod runners;
mod store;
mod tap;
mod xunit;

use std::path::PathBuf;

use flowspec_results::model::TestCase;
use flowspec_results::{Format, ParseOptions, Report, ReportBuilder};

/// A fixture's path.
pub fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

/// Reads fixtures (labelled by their relative names) into a report with every case.
pub fn parse_fixtures(relative: &[&str]) -> Report {
    let mut builder = ReportBuilder::new(ParseOptions::default().keep_cases(true));
    for name in relative {
        let file = std::fs::File::open(fixture(name)).expect("fixture");
        builder.add_reader(file, name);
    }
    builder.finish()
}

/// Reads XML text into a report with every case.
pub fn parse_text(xml: &str) -> Report {
    let mut builder = ReportBuilder::new(ParseOptions::default().keep_cases(true));
    builder.add_reader(xml.as_bytes(), "inline.xml");
    builder.finish()
}

/// (tests, passed, failed, errors, skipped).
pub fn totals(report: &flowspec_results::Report) -> (u64, u64, u64, u64, u64) {
    let t = &report.totals;
    (t.tests, t.passed, t.failed, t.errors, t.skipped)
}

/// The case with this id; panics listing the ids when there is none.
pub fn case<'a>(cases: &'a [TestCase], id: &str) -> &'a TestCase {
    cases.iter().find(|c| c.id() == id).unwrap_or_else(|| {
        let ids: Vec<String> = cases.iter().map(TestCase::id).collect();
        panic!("no case {id} among {ids:?}")
    })
}

/// The format a fixture's first 4 KiB are sniffed as.
pub fn sniff(relative: &str) -> Option<Format> {
    let bytes = std::fs::read(fixture(relative)).expect("fixture");
    Format::sniff(&bytes[..bytes.len().min(4096)])
}
