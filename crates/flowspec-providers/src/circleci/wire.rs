//! CircleCI's wire types (the JSON its API sends and receives) and their mapping to the normalized model ([`RunStatus`](flowspec_core::provider::RunStatus), runs, jobs).

use super::*;

/// The normalized status of a workflow.
pub fn map_workflow_status(status: &str) -> RunStatus {
    match status {
        "running" | "failing" => RunStatus::Running,
        "on_hold" => RunStatus::Waiting,
        "success" => RunStatus::Success,
        "failed" | "error" | "unauthorized" => RunStatus::Failed,
        "canceled" => RunStatus::Cancelled,
        "not_run" => RunStatus::Skipped,
        _ => RunStatus::Unknown,
    }
}

/// The normalized status of a job.
pub fn map_job_status(status: &str) -> RunStatus {
    match status {
        "queued" | "not_running" | "blocked" => RunStatus::Queued,
        "running" => RunStatus::Running,
        "on_hold" => RunStatus::Waiting,
        "success" => RunStatus::Success,
        "failed" | "infrastructure_fail" | "timedout" | "terminated-unknown" | "unauthorized" => {
            RunStatus::Failed
        }
        "canceled" => RunStatus::Cancelled,
        // `retried`: superseded by a re-run of the job.
        "not_run" | "retried" => RunStatus::Skipped,
        _ => RunStatus::Unknown,
    }
}

/// The status of a pipeline from its `state` and its (latest) workflows' statuses:
/// `errored` fails; no workflow yet is queued; otherwise the least finished
/// workflow decides (running, waiting, queued), then the worst outcome (failed,
/// cancelled, unknown), then success (skipped when every workflow was skipped).
pub fn map_pipeline_status(state: &str, workflows: &[&str]) -> RunStatus {
    if state == "errored" {
        return RunStatus::Failed;
    }
    if workflows.is_empty() {
        return RunStatus::Queued;
    }
    let statuses: Vec<RunStatus> = workflows.iter().map(|s| map_workflow_status(s)).collect();
    for s in [
        RunStatus::Running,
        RunStatus::Waiting,
        RunStatus::Queued,
        RunStatus::Unknown,
        RunStatus::Failed,
        RunStatus::Cancelled,
    ] {
        if statuses.contains(&s) {
            return s;
        }
    }
    if statuses.iter().all(|s| *s == RunStatus::Skipped) {
        RunStatus::Skipped
    } else {
        RunStatus::Success
    }
}

/// One test result from CircleCI's test metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CircleciTest {
    /// The test name.
    #[serde(default)]
    pub name: String,
    /// The class (or suite) name.
    #[serde(default)]
    pub classname: String,
    /// The result as CircleCI stored it (`success`, `failure`, `skipped`...).
    #[serde(default)]
    pub result: String,
    /// The failure message, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The file of the test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The result file or reporter it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Seconds it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_time: Option<f64>,
    /// The job number it ran in (set by [`CircleciProvider::run_tests`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Page<T> {
    #[serde(default = "Vec::new")]
    pub(super) items: Vec<T>,
    pub(super) next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Created {
    pub(super) id: Option<String>,
    pub(super) number: Option<u64>,
    pub(super) message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Pipeline {
    pub(super) id: String,
    pub(super) number: Option<u64>,
    pub(super) state: String,
    pub(super) created_at: Option<DateTime<Utc>>,
    pub(super) updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(super) errors: Vec<PipelineError>,
    pub(super) trigger: Option<Trigger>,
    pub(super) vcs: Option<Vcs>,
}

#[derive(Debug, Deserialize)]
pub(super) struct PipelineError {
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Trigger {
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Vcs {
    pub(super) branch: Option<String>,
    pub(super) tag: Option<String>,
    pub(super) revision: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct Workflow {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) status: String,
    pub(super) created_at: Option<DateTime<Utc>>,
    pub(super) stopped_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct JobItem {
    pub(super) id: String,
    pub(super) job_number: Option<u64>,
    pub(super) name: String,
    pub(super) status: String,
    pub(super) started_at: Option<DateTime<Utc>>,
    pub(super) stopped_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ArtifactItem {
    pub(super) path: String,
    #[serde(default)]
    pub(super) node_index: u32,
    pub(super) url: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct V1Build {
    pub(super) lifecycle: Option<String>,
    #[serde(default)]
    pub(super) steps: Vec<V1Step>,
}

#[derive(Debug, Deserialize)]
pub(super) struct V1Step {
    pub(super) name: String,
    #[serde(default)]
    pub(super) actions: Vec<V1Action>,
}

#[derive(Debug, Deserialize)]
pub(super) struct V1Action {
    #[serde(default)]
    pub(super) index: u32,
    pub(super) status: Option<String>,
    pub(super) output_url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct V1Output {
    #[serde(default)]
    pub(super) message: String,
}

/// The latest workflow of each name, oldest first.
pub(super) fn latest(mut workflows: Vec<Workflow>) -> Vec<Workflow> {
    workflows.sort_by_key(|w| w.created_at);
    let mut out: Vec<Workflow> = Vec::new();
    for w in workflows {
        match out.iter_mut().find(|o| o.name == w.name) {
            Some(slot) => *slot = w,
            None => out.push(w),
        }
    }
    out
}

pub(super) fn looks_like_uuid(text: &str) -> bool {
    text.len() == 36
        && text.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}
