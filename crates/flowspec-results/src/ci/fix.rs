//! `flowspec ci fix`: the failure context of a run — failed tests from its stored
//! results, the log lines around each error from the failed jobs' logs (masked),
//! the commit and branch — written as `fix-context.md` and `fix-context.json`.

use std::path::{Path, PathBuf};

use crate::Report;
use crate::context::{FailureContext, FailureContextBuilder, RunRef};
use flowspec_core::provider::{CiProvider, Job, ProviderErrorKind, Run, RunStatus};
use flowspec_core::secret::Masker;
use serde::Serialize;
use serde_json::{Value, json};

/// The file names of a bundle.
pub const MARKDOWN_FILE: &str = "fix-context.md";
/// The file names of a bundle.
pub const JSON_FILE: &str = "fix-context.json";

/// Bytes kept from the end of each failed job's log (errors are usually near the end).
pub const LOG_TAIL_BYTES: usize = 4 << 20;

/// A failed job whose log was read, or why it was not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct JobLog {
    /// The job's id.
    pub id: String,
    /// The job's name.
    pub name: String,
    /// Bytes of log read (after cutting to the tail).
    pub bytes: usize,
    /// The log was longer and only its end was kept.
    pub truncated: bool,
    /// Why the log could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The failure context of a run and where its log came from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Gathered {
    /// The bundle.
    pub context: FailureContext,
    /// The failed jobs and their logs.
    pub jobs: Vec<JobLog>,
}

/// Gathers the failure context of `run`: the failures of `report` (when its
/// results could be read), and the masked logs of its failed jobs.
pub async fn gather_failure_context(
    provider: &dyn CiProvider,
    run: &Run,
    report: Option<&Report>,
    masker: &Masker,
) -> Gathered {
    let mut jobs_read = Vec::new();
    let mut log = String::new();
    match provider.list_jobs(&run.id).await {
        Ok(jobs) => {
            let mut seen = Vec::new();
            for job in jobs.iter().filter(|j| j.status == RunStatus::Failed) {
                let (text, mut entry) = read_log(provider, run, job).await;
                // Errors quote what the platform said: mask them like the logs.
                entry.error = entry.error.map(|e| masker.mask(&e).into_owned());
                // Jenkins serves the whole build console as every stage's log: keep it once.
                let repeated = seen.contains(&text);
                if !text.is_empty() && !repeated {
                    log.push_str(&format!("=== job {} ({}) ===\n", job.name, job.id));
                    log.push_str(&masker.mask(&text));
                    if !log.ends_with('\n') {
                        log.push('\n');
                    }
                }
                jobs_read.push(entry);
                if !repeated {
                    seen.push(text);
                }
            }
        }
        Err(e) => jobs_read.push(JobLog {
            id: String::new(),
            name: "(jobs)".into(),
            bytes: 0,
            truncated: false,
            error: Some(masker.mask(&e.to_string()).into_owned()),
        }),
    }
    let reference = RunRef {
        run_id: Some(run.id.to_string()),
        attempt: run.attempt,
        commit: run.head_sha.clone(),
        branch: run.head_branch.clone(),
        provider: Some(provider.kind().to_owned()),
        url: run.url.clone(),
    };
    let empty = Report::default();
    let report = report.unwrap_or(&empty);
    let context = FailureContextBuilder::new(reference, &report.totals, &report.failures)
        .partial(report.partial)
        .log(&log)
        .build();
    Gathered {
        context,
        jobs: jobs_read,
    }
}

async fn read_log(provider: &dyn CiProvider, run: &Run, job: &Job) -> (String, JobLog) {
    let mut entry = JobLog {
        id: job.id.to_string(),
        name: job.name.clone(),
        bytes: 0,
        truncated: false,
        error: None,
    };
    match provider.job_log(&run.id, &job.id, 0).await {
        Ok(chunk) => {
            let mut bytes = chunk.bytes;
            if bytes.len() > LOG_TAIL_BYTES {
                bytes.drain(..bytes.len() - LOG_TAIL_BYTES);
                entry.truncated = true;
            }
            entry.bytes = bytes.len();
            (String::from_utf8_lossy(&bytes).into_owned(), entry)
        }
        Err(e) => {
            entry.error = Some(if e.kind() == ProviderErrorKind::Unsupported {
                format!("{} serves no job logs", provider.platform())
            } else {
                e.to_string()
            });
            (String::new(), entry)
        }
    }
}

/// Writes `fix-context.md` and `fix-context.json` into `dir` (created if needed),
/// with every secret `masker` knows replaced (test messages can hold them too);
/// returns their paths.
pub fn write_bundle(
    context: &FailureContext,
    dir: &Path,
    masker: &Masker,
) -> std::io::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let markdown = dir.join(MARKDOWN_FILE);
    let json_path = dir.join(JSON_FILE);
    std::fs::write(&markdown, masker.mask(&context.to_markdown()).as_bytes())?;
    let mut value = serde_json::to_value(context).map_err(std::io::Error::other)?;
    masker.mask_json(&mut value);
    let text = serde_json::to_string_pretty(&value).map_err(std::io::Error::other)?;
    std::fs::write(&json_path, text + "\n")?;
    Ok((markdown, json_path))
}

/// A bounded summary of a bundle for an event payload: totals, the first 10 failed
/// tests with the first line of their message (200 characters at most), counts.
pub fn summary(context: &FailureContext) -> Value {
    let t = &context.totals;
    let failures: Vec<Value> = context
        .failures
        .iter()
        .take(10)
        .map(|f| {
            let message = f
                .test
                .message
                .as_deref()
                .and_then(|m| m.lines().next())
                .map(|m| m.chars().take(200).collect::<String>());
            json!({"id": f.test.id, "kind": f.test.kind.as_str(), "message": message, "file": f.test.file, "line": f.test.line})
        })
        .collect();
    json!({
        "tests": t.tests,
        "failed": t.failed,
        "errors": t.errors,
        "failures": failures,
        "failures_omitted": context.failures.len().saturating_sub(10) as u64 + context.failures_omitted,
        "log_errors": context.log_errors.len(),
        "partial": context.partial,
    })
}
