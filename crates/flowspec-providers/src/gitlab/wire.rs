//! GitLab CI's wire types (the JSON its API sends and receives) and their mapping to the normalized model ([`RunStatus`](flowspec_core::provider::RunStatus), runs, jobs).

use super::*;

/// The normalized status of a GitLab pipeline or job.
pub fn map_status(status: &str) -> RunStatus {
    match status {
        "created" | "waiting_for_resource" | "preparing" | "pending" | "scheduled" => {
            RunStatus::Queued
        }
        "running" | "canceling" => RunStatus::Running,
        "manual" | "waiting_for_callback" => RunStatus::Waiting,
        "success" => RunStatus::Success,
        "failed" => RunStatus::Failed,
        "canceled" => RunStatus::Cancelled,
        "skipped" => RunStatus::Skipped,
        _ => RunStatus::Unknown,
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct GlPipeline {
    pub(super) id: u64,
    pub(super) iid: Option<u64>,
    #[serde(rename = "ref")]
    pub(super) git_ref: Option<String>,
    pub(super) sha: Option<String>,
    pub(super) status: String,
    pub(super) source: Option<String>,
    pub(super) web_url: Option<String>,
    pub(super) created_at: Option<DateTime<Utc>>,
    pub(super) updated_at: Option<DateTime<Utc>>,
    pub(super) started_at: Option<DateTime<Utc>>,
    pub(super) finished_at: Option<DateTime<Utc>>,
}

impl From<GlPipeline> for Run {
    fn from(p: GlPipeline) -> Run {
        let mut run = Run::new(p.id, map_status(&p.status), p.status);
        run.number = p.iid;
        run.head_branch = p.git_ref;
        run.head_sha = p.sha;
        run.event = p.source;
        run.url = p.web_url;
        run.created_at = p.created_at;
        run.updated_at = p.updated_at;
        run.started_at = p.started_at;
        run.finished_at = p.finished_at;
        run
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct GlArtifactFile {
    pub(super) file_type: String,
    pub(super) size: Option<u64>,
    pub(super) filename: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct GlJob {
    pub(super) id: u64,
    pub(super) name: String,
    pub(super) stage: Option<String>,
    pub(super) status: String,
    #[serde(default)]
    pub(super) allow_failure: bool,
    pub(super) web_url: Option<String>,
    pub(super) started_at: Option<DateTime<Utc>>,
    pub(super) finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(super) artifacts: Vec<GlArtifactFile>,
}

impl From<&GlJob> for Job {
    fn from(j: &GlJob) -> Job {
        let mut job = Job::new(
            j.id,
            j.name.clone(),
            map_status(&j.status),
            j.status.clone(),
        );
        job.stage = j.stage.clone();
        job.url = j.web_url.clone();
        job.allow_failure = j.allow_failure;
        job.started_at = j.started_at;
        job.finished_at = j.finished_at;
        job
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct GlJobOnly {
    pub(super) id: u64,
    pub(super) status: String,
}
