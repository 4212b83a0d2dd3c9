//! CI providers: the [`CiProvider`] trait that every platform implements (GitHub
//! Actions, GitLab CI, Jenkins, CircleCI, a custom HTTP CI), its model, its errors,
//! and the [`ProviderFactory`] that builds one from the `ci:` section of
//! `.flowspec/flowspec.yaml`.
//!
//! - [`model`]: ids ([`RunId`], [`JobId`], [`ArtifactId`]), the normalized
//!   [`RunStatus`] (the platform's own value kept beside it), [`Run`], [`Job`],
//!   [`Artifact`], [`LogChunk`], [`CommitStatus`], [`TriggerRequest`].
//! - [`error`]: [`ProviderError`] with a [`ProviderErrorKind`] (auth naming the token's
//!   variable, not found with what exists, rate limited with the reset time...).
//! - [`factory`]: [`ProviderFactory`] (one per platform, listed in
//!   `flowspec_providers::BUILTIN`) and [`ProviderRegistry`].
//! - [`config`]: [`CiSettings`](config::CiSettings), the `ci:` section of
//!   `.flowspec/flowspec.yaml` (one CI or named profiles), building a provider
//!   through a registry.
//! - [`unzip`]: safe unpacking of a downloaded artifact (no entry outside the
//!   target folder, size and entry limits).
//!
//! The implementations live in the `flowspec-providers` crate.
//!
//! ## Implementing a provider
//!
//! Four methods are required ([`CiProvider::kind`], [`CiProvider::trigger`],
//! [`CiProvider::get_run`], [`CiProvider::list_jobs`]); every other capability has a
//! default body that returns an [`ProviderErrorKind::Unsupported`] error, so a
//! platform only implements what its API offers.
//!
//! ```
//! use async_trait::async_trait;
//! use flowspec_core::provider::*;
//!
//! #[derive(Debug)]
//! struct Fixed;
//!
//! #[async_trait]
//! impl CiProvider for Fixed {
//!     fn kind(&self) -> &'static str { "fixed" }
//!     async fn trigger(&self, _: &TriggerRequest) -> Result<RunRef, ProviderError> {
//!         Ok(RunRef::new("1"))
//!     }
//!     async fn get_run(&self, id: &RunId) -> Result<Run, ProviderError> {
//!         Ok(Run::new(id.clone(), RunStatus::Success, "done"))
//!     }
//!     async fn list_jobs(&self, _: &RunId) -> Result<Vec<Job>, ProviderError> {
//!         Ok(Vec::new())
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let provider: std::sync::Arc<dyn CiProvider> = std::sync::Arc::new(Fixed);
//! let run = provider.trigger(&TriggerRequest::new("ci.yml")).await.unwrap();
//! assert_eq!(provider.get_run(&run.id).await.unwrap().status, RunStatus::Success);
//! let err = provider.cancel(&run.id).await.unwrap_err();
//! assert_eq!(err.kind(), ProviderErrorKind::Unsupported);
//! # });
//! ```

pub mod config;
pub mod error;
pub mod factory;
pub mod model;
pub mod signal;
pub mod unzip;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncWrite, AsyncWriteExt};

pub use error::{ProviderError, ProviderErrorKind};
pub use factory::{ProviderContext, ProviderFactory, ProviderRegistry};
pub use model::{
    Artifact, ArtifactId, CommitState, CommitStatus, InputKind, Job, JobId, LogChunk, RetryScope,
    Run, RunDiscovery, RunFilter, RunId, RunRef, RunStatus, TriggerRequest, Workflow,
    WorkflowInput,
};

/// A writer for artifact downloads.
pub type ArtifactSink<'a> = dyn AsyncWrite + Unpin + Send + 'a;

/// How often to poll a run while waiting for it (start at
/// `initial`, back off while nothing changes, never beyond `max`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollInterval {
    /// The first interval.
    pub initial: Duration,
    /// The longest interval.
    pub max: Duration,
}

impl PollInterval {
    /// An interval from `initial` up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        PollInterval {
            initial,
            max: max.max(initial),
        }
    }
}

impl Default for PollInterval {
    fn default() -> Self {
        PollInterval::new(Duration::from_secs(10), Duration::from_secs(60))
    }
}

/// A CI platform: trigger runs, watch them, read logs, retry, cancel, fetch
/// artifacts and report commit statuses.
///
/// Object-safe: configured providers are held as `Arc<dyn CiProvider>`. Methods take
/// `&self` and may be called concurrently. Errors are classified
/// ([`ProviderErrorKind`]); providers retry transient failures of idempotent requests
/// themselves through [`crate::retry`], and never repeat a trigger blindly.
#[async_trait]
pub trait CiProvider: Send + Sync + fmt::Debug {
    /// The `provider:` name in flowspec.yaml (`github`, `gitlab`...).
    fn kind(&self) -> &'static str;

    /// The platform's name for people and audit lines (`github-actions`).
    fn platform(&self) -> &'static str {
        self.kind()
    }

    /// How often `ci wait` should poll this platform.
    fn poll_interval(&self) -> PollInterval {
        PollInterval::default()
    }

    /// Starts a run and returns its id. Implementations must return the run this
    /// call created, never another one (see the correlation id in `docs/ci.md`).
    async fn trigger(&self, request: &TriggerRequest) -> Result<RunRef, ProviderError>;

    /// The run's current state.
    async fn get_run(&self, run: &RunId) -> Result<Run, ProviderError>;

    /// The jobs of the run (the latest attempt), in the platform's order.
    async fn list_jobs(&self, run: &RunId) -> Result<Vec<Job>, ProviderError>;

    /// The job's log from byte `offset` on. Call again with
    /// [`LogChunk::next_offset`] until [`LogChunk::complete`] to follow a running job.
    async fn job_log(
        &self,
        run: &RunId,
        job: &JobId,
        offset: u64,
    ) -> Result<LogChunk, ProviderError> {
        let _ = (run, job, offset);
        Err(ProviderError::unsupported(self.platform(), "job logs"))
    }

    /// Runs the whole run, its failed jobs, or one job again; returns the run to
    /// watch (the same id on GitHub and GitLab, a new one where the platform makes one).
    async fn retry(&self, run: &RunId, scope: &RetryScope) -> Result<RunRef, ProviderError> {
        let _ = (run, scope);
        Err(ProviderError::unsupported(self.platform(), "retrying runs"))
    }

    /// Asks the platform to cancel the run (it may take a moment to stop).
    async fn cancel(&self, run: &RunId) -> Result<(), ProviderError> {
        let _ = run;
        Err(ProviderError::unsupported(
            self.platform(),
            "cancelling runs",
        ))
    }

    /// The artifacts of the run.
    async fn list_artifacts(&self, run: &RunId) -> Result<Vec<Artifact>, ProviderError> {
        let _ = run;
        Err(ProviderError::unsupported(self.platform(), "artifacts"))
    }

    /// Streams one artifact into `sink` in constant memory; returns the bytes written.
    async fn download_artifact(
        &self,
        run: &RunId,
        artifact: &Artifact,
        sink: &mut ArtifactSink<'_>,
    ) -> Result<u64, ProviderError> {
        let _ = (run, artifact, sink);
        Err(ProviderError::unsupported(
            self.platform(),
            "downloading artifacts",
        ))
    }

    /// Streams one artifact into a new file at `path` (removed again on failure).
    async fn download_artifact_to(
        &self,
        run: &RunId,
        artifact: &Artifact,
        path: &Path,
    ) -> Result<u64, ProviderError> {
        let io = |e: std::io::Error| {
            ProviderError::new(
                ProviderErrorKind::InvalidRequest,
                format!("cannot write {}: {e}", path.display()),
            )
        };
        let mut file = tokio::fs::File::create(path).await.map_err(io)?;
        let result = self.download_artifact(run, artifact, &mut file).await;
        let result = match result {
            Ok(n) => file.flush().await.map(|()| n).map_err(io),
            Err(e) => Err(e),
        };
        if result.is_err() {
            drop(file);
            let _ = tokio::fs::remove_file(path).await;
        }
        result
    }

    /// Sets a commit status on the forge.
    async fn report_status(&self, status: &CommitStatus) -> Result<(), ProviderError> {
        let _ = status;
        Err(ProviderError::unsupported(
            self.platform(),
            "commit statuses",
        ))
    }

    /// Recent runs, newest first.
    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, ProviderError> {
        let _ = filter;
        Err(ProviderError::unsupported(self.platform(), "listing runs"))
    }

    /// The workflows that can be triggered (used to say what exists after a 404).
    async fn list_workflows(&self) -> Result<Vec<Workflow>, ProviderError> {
        Err(ProviderError::unsupported(
            self.platform(),
            "listing workflows",
        ))
    }

    /// The inputs `workflow` (a [`Workflow::id`]) declares for a trigger by hand, as its
    /// definition on `git_ref` (default: the default branch) says; the dashboard's
    /// trigger form shows one field per input.
    async fn workflow_inputs(
        &self,
        workflow: &str,
        git_ref: Option<&str>,
    ) -> Result<Vec<WorkflowInput>, ProviderError> {
        let _ = (workflow, git_ref);
        Err(ProviderError::unsupported(
            self.platform(),
            "reading workflow inputs",
        ))
    }
}

macro_rules! forward_provider {
    ($($ty:ty),*) => {$(
        #[async_trait]
        impl<T: CiProvider + ?Sized> CiProvider for $ty {
            fn kind(&self) -> &'static str {
                (**self).kind()
            }
            fn platform(&self) -> &'static str {
                (**self).platform()
            }
            fn poll_interval(&self) -> PollInterval {
                (**self).poll_interval()
            }
            async fn trigger(&self, request: &TriggerRequest) -> Result<RunRef, ProviderError> {
                (**self).trigger(request).await
            }
            async fn get_run(&self, run: &RunId) -> Result<Run, ProviderError> {
                (**self).get_run(run).await
            }
            async fn list_jobs(&self, run: &RunId) -> Result<Vec<Job>, ProviderError> {
                (**self).list_jobs(run).await
            }
            async fn job_log(
                &self,
                run: &RunId,
                job: &JobId,
                offset: u64,
            ) -> Result<LogChunk, ProviderError> {
                (**self).job_log(run, job, offset).await
            }
            async fn retry(&self, run: &RunId, scope: &RetryScope) -> Result<RunRef, ProviderError> {
                (**self).retry(run, scope).await
            }
            async fn cancel(&self, run: &RunId) -> Result<(), ProviderError> {
                (**self).cancel(run).await
            }
            async fn list_artifacts(&self, run: &RunId) -> Result<Vec<Artifact>, ProviderError> {
                (**self).list_artifacts(run).await
            }
            async fn download_artifact(
                &self,
                run: &RunId,
                artifact: &Artifact,
                sink: &mut ArtifactSink<'_>,
            ) -> Result<u64, ProviderError> {
                (**self).download_artifact(run, artifact, sink).await
            }
            async fn download_artifact_to(
                &self,
                run: &RunId,
                artifact: &Artifact,
                path: &Path,
            ) -> Result<u64, ProviderError> {
                (**self).download_artifact_to(run, artifact, path).await
            }
            async fn report_status(&self, status: &CommitStatus) -> Result<(), ProviderError> {
                (**self).report_status(status).await
            }
            async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, ProviderError> {
                (**self).list_runs(filter).await
            }
            async fn list_workflows(&self) -> Result<Vec<Workflow>, ProviderError> {
                (**self).list_workflows().await
            }
            async fn workflow_inputs(
                &self,
                workflow: &str,
                git_ref: Option<&str>,
            ) -> Result<Vec<WorkflowInput>, ProviderError> {
                (**self).workflow_inputs(workflow, git_ref).await
            }
        }
    )*};
}

forward_provider!(&T, Box<T>, Arc<T>);

fn _obj_safe(_: &dyn CiProvider, _: &dyn ProviderFactory) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Minimal;

    #[async_trait]
    impl CiProvider for Minimal {
        fn kind(&self) -> &'static str {
            "minimal"
        }
        async fn trigger(&self, _: &TriggerRequest) -> Result<RunRef, ProviderError> {
            Ok(RunRef::new(7u64))
        }
        async fn get_run(&self, run: &RunId) -> Result<Run, ProviderError> {
            Ok(Run::new(run.clone(), RunStatus::Running, "running"))
        }
        async fn list_jobs(&self, _: &RunId) -> Result<Vec<Job>, ProviderError> {
            Ok(vec![Job::new(1u64, "build", RunStatus::Queued, "queued")])
        }
    }

    async fn through<P: CiProvider>(p: P) -> RunStatus {
        let run = p.trigger(&TriggerRequest::new("w")).await.unwrap();
        p.get_run(&run.id).await.unwrap().status
    }

    #[tokio::test]
    async fn should_forward_through_references_boxes_and_arcs() {
        assert_eq!(through(&Minimal).await, RunStatus::Running);
        assert_eq!(through(Box::new(Minimal)).await, RunStatus::Running);
        let shared: Arc<dyn CiProvider> = Arc::new(Minimal);
        assert_eq!(through(shared.clone()).await, RunStatus::Running);
        assert_eq!(shared.list_jobs(&RunId::new("7")).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn should_refuse_optional_capabilities_by_default_with_a_clear_message() {
        let err = Minimal
            .retry(&RunId::new("7"), &RetryScope::Failed)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ProviderErrorKind::Unsupported);
        assert_eq!(err.to_string(), "minimal does not support retrying runs");
    }

    #[tokio::test]
    async fn should_remove_a_partial_file_when_a_download_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.zip");
        let artifact = Artifact::new("1", "a");
        let err = Minimal
            .download_artifact_to(&RunId::new("7"), &artifact, &path)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ProviderErrorKind::Unsupported);
        assert!(!path.exists());
    }

    #[test]
    fn should_call_only_finished_states_terminal() {
        let terminal: Vec<_> = [
            RunStatus::Queued,
            RunStatus::Running,
            RunStatus::Waiting,
            RunStatus::Success,
            RunStatus::Failed,
            RunStatus::Cancelled,
            RunStatus::Skipped,
            RunStatus::Unknown,
        ]
        .into_iter()
        .filter(|s| s.is_terminal())
        .map(RunStatus::as_str)
        .collect();
        assert_eq!(terminal, ["success", "failed", "cancelled", "skipped"]);
    }
}
