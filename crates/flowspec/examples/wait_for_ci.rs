//! Wait for a CI run of the project's default `ci:` profile, retrying flaky failures
//! and excusing quarantined tests, logging progress as plain lines.
//!
//! ```text
//! cargo run -p flowspec --example wait_for_ci -- 22222222222
//! ```

use flowspec::ci::{WaitObserver, WaitRequest};
use flowspec::providers::wait::WaitUpdate;
use flowspec::{RunId, Verdict};

/// Logs each change of the run.
struct Log;

impl WaitObserver for Log {
    fn update(&mut self, update: WaitUpdate<'_>) {
        match update {
            WaitUpdate::Run(run) => eprintln!("run {}: {}", run.id, run.status),
            WaitUpdate::Jobs(jobs) => {
                for job in jobs {
                    eprintln!("  {}: {}", job.name, job.status);
                }
            }
            _ => {}
        }
    }
    fn retried(&mut self, run: &RunId, retried: &RunId) {
        eprintln!("run {run} failed only in flaky tests: retrying as {retried}");
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let run = RunId::new(std::env::args().nth(1).ok_or("usage: wait_for_ci RUN_ID")?);
    let project = flowspec::Project::discover(&std::env::current_dir()?)?;
    let ci = project.ci(None)?;
    let request = WaitRequest {
        timeout: Some(std::time::Duration::from_secs(30 * 60)),
        retry_flaky: true,
        quarantine: true,
    };
    let report = flowspec::ci::wait(&project, ci.as_ref(), &run, request, &mut Log).await?;
    println!(
        "run {} ended {} after {:?}",
        report.outcome.run.id, report.outcome.run.status, report.waited
    );
    std::process::exit(match (report.passed(), report.verdict()) {
        (true, _) => 0,
        (false, Verdict::TimedOut) => 14,
        (false, _) => 12,
    });
}
