//! The provider-neutral model of CI runs: ids, the normalized [`RunStatus`], runs,
//! jobs, artifacts, log chunks, commit statuses and the requests that create them.
//!
//! Every platform maps its own status strings onto [`RunStatus`] (the tables are in
//! `docs/ci.md`) and keeps the original next to it (`raw_status`), so nothing is lost
//! when a platform adds a value.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id as the platform spells it.
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as a number, when it is one (GitHub and GitLab ids are).
            pub fn as_u64(&self) -> Option<u64> {
                self.0.parse().ok()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_owned())
            }
        }

        impl From<u64> for $name {
            fn from(id: u64) -> Self {
                $name(id.to_string())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name(s.to_owned()))
            }
        }
    };
}

id_newtype!(
    /// A run: a GitHub workflow run id, a GitLab pipeline id, a Jenkins build
    /// (`folder/job#57`), a CircleCI pipeline id.
    RunId
);
id_newtype!(
    /// A job of a run: a GitHub job id, a GitLab job id, a CircleCI job number.
    JobId
);
id_newtype!(
    /// An artifact of a run: a GitHub artifact id, a GitLab job id, a path.
    ArtifactId
);

/// The normalized status of a run or a job.
///
/// The platform's own value is kept beside it (`raw_status` on [`Run`] and [`Job`]);
/// `docs/ci.md` has the mapping table of every platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunStatus {
    /// Accepted, not started (waiting for a runner, an executor, a quiet period).
    Queued,
    /// Started and not finished.
    Running,
    /// Stopped until someone acts: an approval, a manual job, an environment gate.
    Waiting,
    /// Finished successfully.
    Success,
    /// Finished with a failure (failed, timed out, errored at start-up).
    Failed,
    /// Cancelled or aborted.
    Cancelled,
    /// Skipped or neutral: finished without running anything that could fail.
    Skipped,
    /// A value flowspec does not know yet (see `raw_status`).
    Unknown,
}

impl RunStatus {
    /// The lowercase name used in JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Waiting => "waiting",
            RunStatus::Success => "success",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Skipped => "skipped",
            RunStatus::Unknown => "unknown",
        }
    }

    /// Whether the run will not change any more by itself.
    ///
    /// `Waiting` is not terminal: an approval may still come. Callers that treat a
    /// manual gate as the end (GitLab `manual`) decide so themselves.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Success | RunStatus::Failed | RunStatus::Cancelled | RunStatus::Skipped
        )
    }

    /// Whether the run finished without failing (success or skipped).
    pub fn is_success(self) -> bool {
        matches!(self, RunStatus::Success | RunStatus::Skipped)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run (GitHub workflow run, GitLab pipeline, Jenkins build, CircleCI pipeline).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Run {
    /// The id.
    pub id: RunId,
    /// The normalized status.
    pub status: RunStatus,
    /// The platform's status as it said it (`completed/failure`, `canceled`, `ABORTED`).
    pub raw_status: String,
    /// The human number (GitHub `run_number`, GitLab `iid`, Jenkins build number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u64>,
    /// The workflow, pipeline or job name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// The run's title (GitHub `display_title`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The web page of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The commit built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_sha: Option<String>,
    /// The branch or tag built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_branch: Option<String>,
    /// What started it (`workflow_dispatch`, `trigger`, `api`, `push`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The attempt (GitHub `run_attempt`), when the platform counts re-runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// When it started running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}

impl Run {
    /// A run with its id and status; set the other fields directly.
    pub fn new(id: impl Into<RunId>, status: RunStatus, raw_status: impl Into<String>) -> Self {
        Run {
            id: id.into(),
            status,
            raw_status: raw_status.into(),
            number: None,
            workflow: None,
            title: None,
            url: None,
            head_sha: None,
            head_branch: None,
            event: None,
            attempt: None,
            created_at: None,
            started_at: None,
            updated_at: None,
            finished_at: None,
        }
    }

    /// How long it ran (until now while it runs), when the start is known.
    pub fn duration(&self) -> Option<chrono::Duration> {
        let start = self.started_at.or(self.created_at)?;
        let end = if self.status.is_terminal() {
            self.finished_at.or(self.updated_at)?
        } else {
            Utc::now()
        };
        Some(end - start)
    }
}

/// A job of a run (GitHub job, GitLab job, CircleCI job, Jenkins stage).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Job {
    /// The id.
    pub id: JobId,
    /// The name (`build (ubuntu-latest)`, `rspec:other`).
    pub name: String,
    /// The normalized status.
    pub status: RunStatus,
    /// The platform's status as it said it.
    pub raw_status: String,
    /// The stage (GitLab) or workflow (CircleCI) the job belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The web page of the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Whether a failure of this job does not fail the run (GitLab `allow_failure`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_failure: bool,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}

impl Job {
    /// A job with its id, name and status; set the other fields directly.
    pub fn new(
        id: impl Into<JobId>,
        name: impl Into<String>,
        status: RunStatus,
        raw_status: impl Into<String>,
    ) -> Self {
        Job {
            id: id.into(),
            name: name.into(),
            status,
            raw_status: raw_status.into(),
            stage: None,
            url: None,
            allow_failure: false,
            started_at: None,
            finished_at: None,
        }
    }
}

/// A file or archive produced by a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Artifact {
    /// The id used to download it.
    pub id: ArtifactId,
    /// The name (GitHub artifact name, GitLab `<job>/<filename>`, a path).
    pub name: String,
    /// The size in bytes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Whether the download is a zip archive (GitHub artifacts, GitLab job archives).
    pub zip: bool,
    /// Whether it expired (no longer downloadable).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expired: bool,
    /// The job that produced it, when the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobId>,
}

impl Artifact {
    /// An artifact with its id and name; set the other fields directly.
    pub fn new(id: impl Into<ArtifactId>, name: impl Into<String>) -> Self {
        Artifact {
            id: id.into(),
            name: name.into(),
            size: None,
            zip: false,
            expired: false,
            job: None,
        }
    }
}

/// A workflow (or pipeline definition, or job) that can be triggered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Workflow {
    /// The id or file name used to trigger it (`ci.yml`).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Whether it can be triggered now (`active` on GitHub).
    pub active: bool,
}

impl Workflow {
    /// A workflow.
    pub fn new(id: impl Into<String>, name: impl Into<String>, active: bool) -> Self {
        Workflow {
            id: id.into(),
            name: name.into(),
            active,
        }
    }
}

/// An input a workflow takes when triggered by hand, as its definition declares it
/// (`on.workflow_dispatch.inputs` on GitHub).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkflowInput {
    /// The input's name, the key of [`TriggerRequest::inputs`].
    pub name: String,
    /// What it is for, as the definition says.
    pub description: Option<String>,
    /// Whether the platform refuses a trigger without it.
    pub required: bool,
    /// The value used when none is given.
    pub default: Option<String>,
    /// What values it takes.
    pub kind: InputKind,
}

impl WorkflowInput {
    /// A free-text input that is not required and has no default.
    pub fn new(name: impl Into<String>) -> Self {
        WorkflowInput {
            name: name.into(),
            description: None,
            required: false,
            default: None,
            kind: InputKind::Text,
        }
    }
}

/// The values a [`WorkflowInput`] takes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "options")]
#[non_exhaustive]
pub enum InputKind {
    /// Any text.
    Text,
    /// `true` or `false`.
    Boolean,
    /// A number.
    Number,
    /// One of these.
    Choice(Vec<String>),
    /// The name of one of the repository's deployment environments.
    Environment,
}

/// What to trigger: a workflow (GitHub file name, Jenkins job path, GitLab: ignored or
/// a trigger name, CircleCI: a pipeline definition), a ref, and inputs.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TriggerRequest {
    /// The workflow, pipeline definition or job to run.
    pub workflow: String,
    /// The branch or tag; the provider's default branch when absent.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// Inputs, variables or parameters, in name order.
    pub inputs: BTreeMap<String, String>,
    /// A unique id of this trigger, used to find the run it created when the
    /// platform does not say (see "correlation id" in `docs/ci.md`). Generated when
    /// absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// A key that makes repeating this trigger harmless where the platform takes
    /// one (the event id when triggered by a hook).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

impl TriggerRequest {
    /// A request for `workflow` on the default ref with no inputs.
    ///
    /// ```
    /// use flowspec_core::provider::TriggerRequest;
    /// let request = TriggerRequest::new("integration-tests.yml")
    ///     .git_ref("feature/auth")
    ///     .input("feature", "auth");
    /// assert_eq!(request.inputs["feature"], "auth");
    /// ```
    pub fn new(workflow: impl Into<String>) -> Self {
        TriggerRequest {
            workflow: workflow.into(),
            git_ref: None,
            inputs: BTreeMap::new(),
            correlation_id: None,
            idempotency_key: None,
        }
    }

    /// Sets the branch or tag.
    pub fn git_ref(mut self, git_ref: impl Into<String>) -> Self {
        self.git_ref = Some(git_ref.into());
        self
    }

    /// Adds an input (a GitHub input, a GitLab variable, a Jenkins or CircleCI parameter).
    pub fn input(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inputs.insert(name.into(), value.into());
        self
    }

    /// Sets the correlation id.
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// Sets the idempotency key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// How a provider learned the id of the run it triggered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunDiscovery {
    /// The trigger's response named the run.
    Response,
    /// Found afterwards by its correlation id.
    Correlation,
    /// Found by following a queue item (Jenkins).
    Queue,
}

/// A reference to a run that was created (by a trigger or a retry).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunRef {
    /// The run.
    pub id: RunId,
    /// Its web page, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// How the id was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<RunDiscovery>,
    /// The branch or tag the run was started on (the provider's default when the
    /// request named none).
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
}

impl RunRef {
    /// A reference to `id`.
    pub fn new(id: impl Into<RunId>) -> Self {
        RunRef {
            id: id.into(),
            url: None,
            discovery: None,
            git_ref: None,
        }
    }

    /// Sets the ref the run was started on.
    pub fn on_ref(mut self, git_ref: impl Into<String>) -> Self {
        self.git_ref = Some(git_ref.into());
        self
    }

    /// Sets the web page.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets how the id was found.
    pub fn discovered_by(mut self, discovery: RunDiscovery) -> Self {
        self.discovery = Some(discovery);
        self
    }
}

/// What to run again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetryScope {
    /// Every job of the run.
    All,
    /// Only the failed (and cancelled) jobs, with what depends on them.
    Failed,
    /// One job (and what depends on it, where the platform does so).
    Job(JobId),
}

/// A piece of a job's log, read from a byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogChunk {
    /// The bytes from the requested offset to what the platform has now.
    pub bytes: Vec<u8>,
    /// The offset to ask for next time (the log's length so far).
    pub next_offset: u64,
    /// Whether the log is complete: the job ended and no more text will come.
    pub complete: bool,
    /// Whether the platform's log shrank below the requested offset (erased or
    /// rotated), so `bytes` starts again at offset 0.
    pub restarted: bool,
}

impl LogChunk {
    /// A chunk.
    pub fn new(bytes: Vec<u8>, next_offset: u64, complete: bool) -> Self {
        LogChunk {
            bytes,
            next_offset,
            complete,
            restarted: false,
        }
    }

    /// The part of `full` (a whole log) after `offset`, for platforms that only
    /// serve whole logs (GitLab, GitHub): a log shorter than `offset` restarts at 0.
    ///
    /// ```
    /// use flowspec_core::provider::LogChunk;
    /// let chunk = LogChunk::suffix(b"line1\nline2\n".to_vec(), 6, false);
    /// assert_eq!(chunk.bytes, b"line2\n");
    /// assert_eq!(chunk.next_offset, 12);
    /// ```
    pub fn suffix(full: Vec<u8>, offset: u64, complete: bool) -> Self {
        let len = full.len() as u64;
        if offset > len {
            return LogChunk {
                next_offset: len,
                bytes: full,
                complete,
                restarted: true,
            };
        }
        let mut bytes = full;
        bytes.drain(..offset as usize);
        LogChunk::new(bytes, len, complete)
    }

    /// The bytes as text (invalid UTF-8 replaced).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }
}

/// The state of a commit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CommitState {
    /// Not started or waiting.
    Pending,
    /// Running (GitHub shows it as pending).
    Running,
    /// Passed.
    Success,
    /// Failed.
    Failed,
    /// Could not run (GitHub `error`; GitLab shows it as failed).
    Error,
    /// Cancelled (GitHub shows it as error).
    Cancelled,
    /// Skipped (GitHub shows it as success).
    Skipped,
}

impl CommitState {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            CommitState::Pending => "pending",
            CommitState::Running => "running",
            CommitState::Success => "success",
            CommitState::Failed => "failed",
            CommitState::Error => "error",
            CommitState::Cancelled => "cancelled",
            CommitState::Skipped => "skipped",
        }
    }

    /// The commit state that reports a finished run's status.
    pub fn from_run(status: RunStatus) -> Self {
        match status {
            RunStatus::Queued | RunStatus::Waiting | RunStatus::Unknown => CommitState::Pending,
            RunStatus::Running => CommitState::Running,
            RunStatus::Success => CommitState::Success,
            RunStatus::Failed => CommitState::Failed,
            RunStatus::Cancelled => CommitState::Cancelled,
            RunStatus::Skipped => CommitState::Skipped,
        }
    }
}

/// A commit status to report to the forge.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CommitStatus {
    /// The full commit sha.
    pub sha: String,
    /// The state.
    pub state: CommitState,
    /// The label (`flowspec/build`); the platform's default when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// A short description (GitHub and GitLab cut at 140/255 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A link to details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_url: Option<String>,
    /// The branch or tag (GitLab uses it to pick the pipeline).
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
}

impl CommitStatus {
    /// A status for `sha`.
    pub fn new(sha: impl Into<String>, state: CommitState) -> Self {
        CommitStatus {
            sha: sha.into(),
            state,
            context: None,
            description: None,
            target_url: None,
            git_ref: None,
        }
    }

    /// Sets the context.
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the target URL.
    pub fn target_url(mut self, url: impl Into<String>) -> Self {
        self.target_url = Some(url.into());
        self
    }

    /// Sets the ref.
    pub fn git_ref(mut self, git_ref: impl Into<String>) -> Self {
        self.git_ref = Some(git_ref.into());
        self
    }
}

/// Which runs to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunFilter {
    /// Only runs of this branch.
    pub branch: Option<String>,
    /// Only runs of this workflow.
    pub workflow: Option<String>,
    /// At most this many runs, newest first (the provider's default when absent).
    pub limit: Option<usize>,
}

impl RunFilter {
    /// Every run, newest first.
    pub fn new() -> Self {
        RunFilter::default()
    }

    /// Only this branch.
    pub fn branch(mut self, branch: impl Into<String>) -> Self {
        self.branch = Some(branch.into());
        self
    }

    /// Only this workflow.
    pub fn workflow(mut self, workflow: impl Into<String>) -> Self {
        self.workflow = Some(workflow.into());
        self
    }

    /// At most `limit` runs.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The limit, or `default`.
    pub fn limit_or(&self, default: usize) -> usize {
        self.limit.unwrap_or(default).max(1)
    }
}
