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
    /// The run succeeded or was skipped: nothing to fix.
    NothingToFix(Run),
    /// The run failed: its failure context, written and (with hooks) dispatched.
    Bundle(Run, Box<FixBundle>),
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
    let run = provider.get_run(run_id).await?;
    if !run.status.is_terminal() {
        return Err(Error::Usage(format!(
            "run {run_id} is still {} ({}): wait for it to end first (`flowspec ci wait --run {run_id}`)",
            run.status, run.raw_status
        )));
    }
    if matches!(run.status, RunStatus::Success | RunStatus::Skipped) {
        return Ok(Fixed::NothingToFix(run));
    }
    // With hooks, fixer hooks run on the event, and the project's masker then knows
    // the hooks' secrets too.
    let engine = if project.has_hooks() {
        Some(project.engine(reporter).await?)
    } else {
        None
    };
    let bundle = crate::ci::fix(project, provider, &run, output, engine.as_ref()).await?;
    Ok(Fixed::Bundle(run, Box::new(bundle)))
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
