//! GitHub Actions's wire types (the JSON its API sends and receives) and their mapping to the normalized model ([`RunStatus`](flowspec_core::provider::RunStatus), runs, jobs).

use super::*;

/// The GitHub REST API version flowspec speaks.
pub const API_VERSION: &str = "2022-11-28";

/// The normalized status of a GitHub run or job.
pub fn map_status(status: Option<&str>, conclusion: Option<&str>) -> (RunStatus, String) {
    let status = status.unwrap_or("unknown");
    let raw = match conclusion {
        Some(c) => format!("{status}/{c}"),
        None => status.to_owned(),
    };
    let normalized = match (status, conclusion) {
        ("requested" | "queued" | "pending", _) => RunStatus::Queued,
        ("waiting", _) => RunStatus::Waiting,
        ("in_progress", _) => RunStatus::Running,
        ("completed", Some("success")) => RunStatus::Success,
        ("completed", Some("neutral" | "skipped")) => RunStatus::Skipped,
        (
            "completed",
            Some("failure" | "timed_out" | "startup_failure" | "action_required" | "stale"),
        ) => RunStatus::Failed,
        ("completed", Some("cancelled")) => RunStatus::Cancelled,
        _ => RunStatus::Unknown,
    };
    (normalized, raw)
}

#[derive(Debug, Deserialize)]
pub(super) struct GhRun {
    pub(super) id: u64,
    pub(super) name: Option<String>,
    pub(super) display_title: Option<String>,
    pub(super) run_number: Option<u64>,
    pub(super) run_attempt: Option<u32>,
    pub(super) event: Option<String>,
    pub(super) status: Option<String>,
    pub(super) conclusion: Option<String>,
    pub(super) head_branch: Option<String>,
    pub(super) head_sha: Option<String>,
    pub(super) html_url: Option<String>,
    pub(super) created_at: Option<DateTime<Utc>>,
    pub(super) updated_at: Option<DateTime<Utc>>,
    pub(super) run_started_at: Option<DateTime<Utc>>,
}

impl From<GhRun> for Run {
    fn from(r: GhRun) -> Run {
        let (status, raw) = map_status(r.status.as_deref(), r.conclusion.as_deref());
        let mut run = Run::new(r.id, status, raw);
        run.number = r.run_number;
        run.workflow = r.name;
        run.title = r.display_title;
        run.url = r.html_url;
        run.head_sha = r.head_sha;
        run.head_branch = r.head_branch;
        run.event = r.event;
        run.attempt = r.run_attempt;
        run.created_at = r.created_at;
        run.started_at = r.run_started_at;
        run.updated_at = r.updated_at;
        if status.is_terminal() {
            run.finished_at = r.updated_at;
        }
        run
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct GhRuns {
    #[serde(default)]
    pub(super) workflow_runs: Vec<GhRun>,
}

#[derive(Debug, Deserialize)]
pub(super) struct GhJob {
    pub(super) id: u64,
    pub(super) name: String,
    pub(super) status: Option<String>,
    pub(super) conclusion: Option<String>,
    pub(super) html_url: Option<String>,
    pub(super) started_at: Option<DateTime<Utc>>,
    pub(super) completed_at: Option<DateTime<Utc>>,
}

impl From<GhJob> for Job {
    fn from(j: GhJob) -> Job {
        let (status, raw) = map_status(j.status.as_deref(), j.conclusion.as_deref());
        let mut job = Job::new(j.id, j.name, status, raw);
        job.url = j.html_url;
        job.started_at = j.started_at;
        job.finished_at = j.completed_at;
        job
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct GhJobs {
    #[serde(default)]
    pub(super) jobs: Vec<GhJob>,
}

#[derive(Debug, Deserialize)]
pub(super) struct GhArtifact {
    pub(super) id: u64,
    pub(super) name: String,
    pub(super) size_in_bytes: Option<u64>,
    #[serde(default)]
    pub(super) expired: bool,
}

#[derive(Debug, Deserialize)]
pub(super) struct GhArtifacts {
    #[serde(default)]
    pub(super) artifacts: Vec<GhArtifact>,
}

#[derive(Debug, Deserialize)]
pub(super) struct GhWorkflow {
    pub(super) name: String,
    pub(super) path: String,
    pub(super) state: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct GhWorkflows {
    #[serde(default)]
    pub(super) workflows: Vec<GhWorkflow>,
}

#[derive(Debug, Deserialize)]
pub(super) struct GhDispatch {
    pub(super) workflow_run_id: u64,
    pub(super) html_url: Option<String>,
}
