//! Reads report files of any supported format (detected from their content) into
//! one report, as `flowspec results parse` does without writing it, and prints the
//! totals, each file's format and the throughput.
//!
//! Used by the benchmark of the newer formats (scripts/bench/results_formats.sh).
//!
//! ```sh
//! cargo run --release -p flowspec-results --example parse_report -- results.trx
//! ```

use std::time::Instant;

use flowspec_results::{ParseOptions, ReportBuilder};

fn main() {
    let started = Instant::now();
    let mut builder = ReportBuilder::new(ParseOptions::default());
    let mut bytes = 0;
    for path in std::env::args().skip(1) {
        bytes += std::fs::metadata(&path).map_or(0, |m| m.len());
        builder.add_file(path.as_ref());
    }
    let report = builder.finish();
    let seconds = started.elapsed().as_secs_f64();
    let t = &report.totals;
    let formats: Vec<&str> = report
        .files
        .iter()
        .map(|f| f.format.map_or("unknown", |f| f.as_str()))
        .collect();
    let coverage = report
        .coverage
        .as_ref()
        .map(|c| (c.files.len(), c.totals.line_rate));
    println!(
        "formats={formats:?} tests={} passed={} failed={} errors={} skipped={} failures_listed={} coverage={coverage:?} errors={:?} bytes={bytes} seconds={seconds:.3} MB/s={:.0}",
        t.tests,
        t.passed,
        t.failed,
        t.errors,
        t.skipped,
        report.failures.len(),
        report
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        bytes as f64 / 1e6 / seconds
    );
}
