//! Integration tests of flowspec-results: one binary, one module per area.

mod ci;
mod coverage;
mod dialects;
mod formats;
mod hostile;
mod memory;
mod postgres;
mod repeats;
mod retention;
mod roundtrip;
mod store;

use std::path::PathBuf;

use flowspec_results::{ParseOptions, Report, ReportBuilder};

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
