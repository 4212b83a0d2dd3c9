//! Parses JUnit XML files and prints totals and the failed tests' names and messages.
//!
//! Used by the benchmark (scripts/bench/results_parse.sh) as the equivalent of the
//! Python loops it is compared with: count every test, collect each failure's
//! suite, class, name and message.
//!
//! ```sh
//! cargo run --release -p flowspec-results --example parse_junit -- report.xml
//! ```

use std::fs::File;
use std::time::Instant;

use flowspec_results::junit::{JunitEvent, JunitReader, Limits};
use flowspec_results::model::Totals;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut totals = Totals::default();
    let mut failures: Vec<(String, Option<String>, String, Option<String>)> = Vec::new();
    let mut bytes = 0;
    for path in std::env::args().skip(1) {
        let mut reader = JunitReader::new(File::open(&path)?, Limits::default());
        while let Some(event) = reader.next_event()? {
            if let JunitEvent::Case(case) = event {
                totals.add(&case);
                let case = *case;
                if let Some(failure) = case.failure {
                    failures.push((case.suite, case.classname, case.name, failure.message));
                }
            }
        }
        bytes += reader.offset();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "tests={} passed={} failed={} errors={} skipped={} failures_collected={} bytes={bytes} seconds={seconds:.3} MB/s={:.0}",
        totals.tests,
        totals.passed,
        totals.failed,
        totals.errors,
        totals.skipped,
        failures.len(),
        bytes as f64 / 1e6 / seconds
    );
    Ok(())
}
