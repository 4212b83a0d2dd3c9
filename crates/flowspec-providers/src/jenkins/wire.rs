//! Jenkins's wire types (the JSON its API sends and receives) and their mapping to the normalized model ([`RunStatus`](flowspec_core::provider::RunStatus), runs, jobs).

use super::*;

pub(super) const BUILD_TREE: &str = "number,url,building,result,timestamp,duration,fullDisplayName,\
artifacts[fileName,relativePath],\
actions[parameters[name,value],lastBuiltRevision[SHA1,branch[name]]]";

/// The run id of build `number` of `job`: `team/app#57`.
pub fn run_id(job: &JobPath, number: u64) -> RunId {
    RunId::new(format!("{job}#{number}"))
}

/// The normalized status of a build: `building` wins; a finished
/// build without a result yet is still running.
pub fn map_build_status(building: bool, result: Option<&str>, unstable: Unstable) -> RunStatus {
    if building {
        return RunStatus::Running;
    }
    match result {
        None => RunStatus::Running,
        Some("SUCCESS") => RunStatus::Success,
        Some("UNSTABLE") => match unstable {
            Unstable::Failed => RunStatus::Failed,
            Unstable::Success => RunStatus::Success,
        },
        Some("FAILURE") => RunStatus::Failed,
        Some("ABORTED") => RunStatus::Cancelled,
        Some("NOT_BUILT") => RunStatus::Skipped,
        Some(_) => RunStatus::Unknown,
    }
}

/// The normalized status of a Pipeline stage (`wfapi/describe`).
pub fn map_stage_status(status: &str, unstable: Unstable) -> RunStatus {
    match status {
        "SUCCESS" => RunStatus::Success,
        "IN_PROGRESS" => RunStatus::Running,
        "QUEUED" => RunStatus::Queued,
        "PAUSED_PENDING_INPUT" => RunStatus::Waiting,
        "FAILED" | "FAILURE" => RunStatus::Failed,
        "UNSTABLE" => map_build_status(false, Some("UNSTABLE"), unstable),
        "ABORTED" => RunStatus::Cancelled,
        "NOT_EXECUTED" | "NOT_BUILT" => RunStatus::Skipped,
        _ => RunStatus::Unknown,
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct CrumbResponse {
    pub(super) crumb: String,
    #[serde(rename = "crumbRequestField")]
    pub(super) field: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct QueueItem {
    #[serde(default)]
    pub(super) cancelled: bool,
    pub(super) why: Option<String>,
    pub(super) executable: Option<Executable>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Executable {
    pub(super) number: Option<u64>,
    pub(super) url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Build {
    pub(super) number: u64,
    pub(super) url: Option<String>,
    #[serde(default)]
    pub(super) building: bool,
    pub(super) result: Option<String>,
    pub(super) timestamp: Option<i64>,
    pub(super) duration: Option<i64>,
    #[serde(rename = "fullDisplayName")]
    pub(super) full_display_name: Option<String>,
    #[serde(default)]
    pub(super) artifacts: Vec<BuildArtifact>,
    #[serde(default)]
    pub(super) actions: Vec<Value>,
}

#[derive(Debug, Deserialize)]
pub(super) struct BuildArtifact {
    #[serde(rename = "relativePath")]
    pub(super) relative_path: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct Builds {
    #[serde(default)]
    pub(super) builds: Vec<Build>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Describe {
    #[serde(default)]
    pub(super) stages: Vec<Stage>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Stage {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) status: String,
    #[serde(rename = "startTimeMillis")]
    pub(super) start_time_millis: Option<i64>,
    #[serde(rename = "durationMillis")]
    pub(super) duration_millis: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct JobList {
    #[serde(default)]
    pub(super) jobs: Vec<JobEntry>,
}

#[derive(Debug, Deserialize)]
pub(super) struct JobEntry {
    pub(super) name: String,
    pub(super) buildable: Option<bool>,
    pub(super) jobs: Option<Vec<JobEntry>>,
}

pub(super) fn millis(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.filter(|ms| *ms > 0)
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
}

/// The parameters of a build, from its `ParametersAction` (values that cannot be
/// read back, such as passwords and files, are left out).
pub(super) fn parameters(actions: &[Value]) -> BTreeMap<String, String> {
    actions
        .iter()
        .filter_map(|a| a.get("parameters")?.as_array())
        .flatten()
        .filter_map(|p| {
            let name = p.get("name")?.as_str()?;
            let value = match p.get("value")? {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((name.to_owned(), value))
        })
        .collect()
}

/// The commit and branch of a build, from the git plugin's `BuildData`.
pub(super) fn revision(actions: &[Value]) -> (Option<String>, Option<String>) {
    let Some(rev) = actions.iter().find_map(|a| a.get("lastBuiltRevision")) else {
        return (None, None);
    };
    let sha = rev.get("SHA1").and_then(Value::as_str).map(str::to_owned);
    let branch = rev
        .get("branch")
        .and_then(Value::as_array)
        .and_then(|b| b.first())
        .and_then(|b| b.get("name"))
        .and_then(Value::as_str)
        .map(|name| {
            let name = name.strip_prefix("refs/remotes/").unwrap_or(name);
            name.strip_prefix("origin/").unwrap_or(name).to_owned()
        });
    (sha, branch)
}

pub(super) fn leaf_jobs(prefix: &str, entries: &[JobEntry], out: &mut Vec<Workflow>) {
    for entry in entries {
        let path = if prefix.is_empty() {
            entry.name.clone()
        } else {
            format!("{prefix}/{}", entry.name)
        };
        match &entry.jobs {
            Some(children) => leaf_jobs(&path, children, out),
            None => out.push(Workflow::new(
                path.clone(),
                path,
                entry.buildable.unwrap_or(true),
            )),
        }
    }
}

pub(super) fn queue_item_id(location: &str) -> Option<u64> {
    let mut parts = location.trim_end_matches('/').rsplit('/');
    let id = parts.next()?.parse().ok()?;
    (parts.next()? == "item" && parts.next()? == "queue").then_some(id)
}
