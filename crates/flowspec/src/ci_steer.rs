//! Steering one CI run beyond waiting for it ([`crate::ci`]): its state with its jobs,
//! a retry of all of it, its failed jobs or one job, the failure context of a run that
//! failed, and the CI profiles a project configures.
//!
//! ```no_run
//! # async fn run() -> flowspec::Result<()> {
//! use flowspec::ci_steer::{self, Retry};
//!
//! let project = flowspec::Project::discover(std::path::Path::new("."))?;
//! let ci = project.ci(None)?;
//! let run = flowspec::RunId::new("22222222222");
//! let (retried, _scope) = ci_steer::retry(ci.as_ref(), &run, Retry::Failed).await?;
//! println!("watch run {}", retried.id);
//! # Ok(()) }
//! ```

use std::path::Path;
use std::sync::Arc;

use flowspec_core::Reporter;
use flowspec_core::provider::{CiProvider, Job, RetryScope, Run, RunId, RunRef, RunStatus};
use flowspec_providers::config::CiSettings;
use serde::Serialize;

use crate::ci::{FixBundle, find_job};
use crate::error::{Error, Result};
use crate::project::Project;

/// A run with its jobs.
#[derive(Clone, Debug, Serialize)]
pub struct RunState {
    /// The run.
    pub run: Run,
    /// Its jobs.
    pub jobs: Vec<Job>,
}

/// The run `run` and its jobs, as the platform shows them now.
pub async fn status(provider: &dyn CiProvider, run: &RunId) -> Result<RunState> {
    Ok(RunState {
        run: provider.get_run(run).await?,
        jobs: provider.list_jobs(run).await?,
    })
}

/// What [`retry`] runs again.
#[derive(Clone, Debug)]
pub enum Retry {
    /// The whole run.
    All,
    /// Its failed jobs.
    Failed,
    /// One job, by id or name.
    Job(String),
}

/// Runs `run` again as `what` says (a job named by name is looked up first; an
/// unknown one is a usage error listing the jobs). Returns the new run (on some
/// platforms the same id) and the scope asked for.
pub async fn retry(
    provider: &dyn CiProvider,
    run: &RunId,
    what: Retry,
) -> Result<(RunRef, RetryScope)> {
    let scope = match what {
        Retry::All => RetryScope::All,
        Retry::Failed => RetryScope::Failed,
        Retry::Job(job) => RetryScope::Job(find_job(provider, run, &job).await?.id),
    };
    let retried = provider.retry(run, &scope).await?;
    Ok((retried, scope))
}

/// What [`fix`] did with a run.
#[derive(Debug)]
pub enum Fixed {
    /// The run succeeded or was skipped: nothing to fix (the fix rounds of its
    /// branch start again from zero).
    NothingToFix(Run),
    /// The run failed: its failure context, written and (with hooks) dispatched.
    Bundle(Run, Box<FixBundle>),
    /// The run failed, and its branch had as many fix rounds as allowed:
    /// `ci.fix.exhausted` was emitted instead of `ci.fix.requested`.
    Exhausted(Run, Box<Exhausted>),
    /// `reset`: the fix rounds of the run's branch were forgotten (how many there
    /// were).
    Reset(Run, u32),
}

/// The fix rounds of a branch ran out.
#[derive(Debug)]
pub struct Exhausted {
    /// The branch.
    pub branch: String,
    /// The open pull request of the branch, when the forge says.
    pub pr: Option<u64>,
    /// The fix rounds already asked for.
    pub attempts: u32,
    /// The dispatch of `ci.fix.exhausted`, when the project has hooks.
    pub dispatch: Option<flowspec_core::DispatchReport>,
}

/// How many fix rounds [`fix_with`] asks for per branch.
#[derive(Clone, Copy, Debug, Default)]
pub struct FixRounds {
    /// At most this many `ci.fix.requested` per branch; then `ci.fix.exhausted`.
    /// `None`: no limit (and no counting).
    pub max_attempts: Option<u32>,
    /// Forget the branch's rounds and do nothing else.
    pub reset: bool,
}

/// The store key of a branch's fix rounds.
fn rounds_key(branch: &str) -> String {
    format!("ci.fix.attempts:{branch}")
}

/// Gathers the failure context of the ended run `run_id` into `output` (default
/// `.flowspec/fix/<run>/`) and emits `ci.fix.requested` to the project's hooks, when it
/// has some (`reporter` shows them run). A run still going is a usage error.
pub async fn fix(
    project: &Project,
    provider: &dyn CiProvider,
    run_id: &RunId,
    output: Option<&Path>,
    reporter: Arc<dyn Reporter>,
) -> Result<Fixed> {
    fix_with(
        project,
        provider,
        run_id,
        output,
        reporter,
        FixRounds::default(),
    )
    .await
}

/// [`fix`], counting the fix rounds of the run's branch in the project's store:
/// once `rounds.max_attempts` were asked for, a failed run emits
/// `ci.fix.exhausted` (branch, pr, attempts, max_attempts, run_id) instead of
/// `ci.fix.requested`. A run that succeeded starts its branch's count again;
/// `rounds.reset` only does that.
pub async fn fix_with(
    project: &Project,
    provider: &dyn CiProvider,
    run_id: &RunId,
    output: Option<&Path>,
    reporter: Arc<dyn Reporter>,
    rounds: FixRounds,
) -> Result<Fixed> {
    let run = provider.get_run(run_id).await?;
    let key = run.head_branch.as_deref().map(rounds_key);
    if rounds.reset {
        let mut had = 0;
        if let Some(key) = &key {
            let store = project.store().await?;
            had = store
                .value(key)
                .await?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            store.remove_value(key).await?;
        }
        return Ok(Fixed::Reset(run, had));
    }
    if !run.status.is_terminal() {
        return Err(Error::Usage(format!(
            "run {run_id} is still {} ({}): wait for it to end first (`flowspec ci wait --run {run_id}`)",
            run.status, run.raw_status
        )));
    }
    if matches!(run.status, RunStatus::Success | RunStatus::Skipped) {
        if let (Some(key), Some(_)) = (&key, rounds.max_attempts) {
            project.store().await?.remove_value(key).await?;
        }
        return Ok(Fixed::NothingToFix(run));
    }
    // With hooks, fixer hooks run on the event, and the project's masker then knows
    // the hooks' secrets too.
    let engine = if project.has_hooks() {
        Some(project.engine(reporter).await?)
    } else {
        None
    };
    let mut fields = Vec::new();
    let mut counted = None;
    if let (Some(max), Some(key), Some(branch)) =
        (rounds.max_attempts, &key, run.head_branch.as_deref())
    {
        let store = project.store().await?;
        let attempts: u32 = store
            .value(key)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if attempts >= max {
            let exhausted = exhausted(
                project,
                provider,
                &run,
                branch,
                attempts,
                max,
                engine.as_ref(),
            )
            .await?;
            return Ok(Fixed::Exhausted(run, Box::new(exhausted)));
        }
        fields.push(("fix_attempt", serde_json::json!(attempts + 1)));
        fields.push(("max_attempts", serde_json::json!(max)));
        counted = Some((store, key.clone(), attempts + 1));
    }
    let bundle =
        crate::ci::fix_with_fields(project, provider, &run, output, engine.as_ref(), fields)
            .await?;
    if let Some((store, key, attempts)) = counted {
        store.set_value(&key, &attempts.to_string()).await?;
    }
    Ok(Fixed::Bundle(run, Box::new(bundle)))
}

/// Emits `ci.fix.exhausted` for `run`'s branch.
async fn exhausted(
    project: &Project,
    provider: &dyn CiProvider,
    run: &Run,
    branch: &str,
    attempts: u32,
    max: u32,
    engine: Option<&flowspec_core::Engine>,
) -> Result<Exhausted> {
    // The pull request, when the default forge knows one (a lookup that fails leaves
    // it out: the event still goes).
    let pr = match crate::pr::forge(project, None) {
        Ok(forge) => forge
            .find_open(branch)
            .await
            .ok()
            .flatten()
            .map(|p| p.number),
        Err(_) => None,
    };
    let mut event = flowspec_core::Event::builder("ci.fix.exhausted")
        .source("flowspec-ci-fix")
        .field("branch", branch.to_owned())
        .field("attempts", attempts)
        .field("max_attempts", max)
        .field("run_id", run.id.to_string())
        .field("provider", provider.kind())
        .field("run_status", run.status.as_str());
    if let Some(pr) = pr {
        event = event.field("pr", pr);
    }
    for (key, value) in [("run_url", &run.url), ("commit", &run.head_sha)] {
        if let Some(v) = value {
            event = event.field(key, v.clone());
        }
    }
    let event = event
        .build()
        .map_err(|e| Error::Usage(format!("cannot build the event: {e}")))?;
    let dispatch = match engine {
        Some(engine) => Some(engine.emit(event).await?),
        None => None,
    };
    Ok(Exhausted {
        branch: branch.to_owned(),
        pr,
        attempts,
        dispatch,
    })
}

/// The CI profiles of flowspec.yaml: (name, provider kind). None without a `ci:`
/// section or with an invalid one (the commands that use it say why).
pub fn profiles(project: &Project) -> Vec<(String, String)> {
    CiSettings::from_settings(project.settings())
        .ok()
        .flatten()
        .map(|ci| {
            ci.profiles()
                .iter()
                .map(|p| (p.name.clone(), p.provider.clone()))
                .collect()
        })
        .unwrap_or_default()
}
