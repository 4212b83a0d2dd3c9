//! Pull requests on the forge that hosts the code: GitHub pull requests and GitLab
//! merge requests behind one [`Forge`] trait, built from a `github` or `gitlab`
//! profile of the `ci:` section of flowspec.yaml (same repository, token, API URL).
//!
//! The pieces shared by the `pr:` hook action ([`action`]) and `flowspec pr`:
//! - [`ensure_pr`]: idempotent create-or-update by head branch (an open pull request
//!   for the head is updated, never duplicated), then labels, reviewers, auto-merge;
//! - [`merge_when_green`]: poll the checks until every one succeeded, then merge; a
//!   failed check ends it with the failing checks named ([`PrError::ChecksFailed`]);
//! - [`PrError`]: refusals (conflicts, branch protection) kept apart from request
//!   failures, so a command can tell them apart.
//!
//! ```no_run
//! use flowspec_providers::forge::{self, PrRequest};
//!
//! # async fn run(forge: &dyn forge::Forge) -> Result<(), forge::PrError> {
//! let request = PrRequest::new("feat: auth", "main", "feat/auth").body("Adds login.");
//! let (pr, created) = forge::ensure_pr(forge, &request, None).await?;
//! println!("{} #{} {}", if created { "opened" } else { "updated" }, pr.number, pr.url);
//! # Ok(()) }
//! ```

pub mod action;
mod build;
mod check_run;
mod model;
pub mod status;

pub use build::{ForgeSettings, build_forge, hook_forge};
pub use check_run::*;
pub use model::*;

use std::time::Duration;

use async_trait::async_trait;
use flowspec_core::provider::ProviderError;

/// A forge's pull-request API (GitHub pull requests, GitLab merge requests).
#[async_trait]
pub trait Forge: Send + Sync + std::fmt::Debug {
    /// `github` or `gitlab`.
    fn kind(&self) -> &'static str;

    /// The open pull request whose head is `head`, if any.
    async fn find_open(&self, head: &str) -> Result<Option<PullRequest>, ProviderError>;

    /// One pull request by number.
    async fn get(&self, number: u64) -> Result<PullRequest, ProviderError>;

    /// Open pull requests, newest first, up to `limit`.
    async fn list_open(&self, limit: usize) -> Result<Vec<PullRequest>, ProviderError>;

    /// Opens a pull request (title, body, base, head, draft).
    async fn create(&self, request: &PrRequest) -> Result<PullRequest, ProviderError>;

    /// Sets the title and body (and base) of an open pull request.
    async fn update(&self, number: u64, request: &PrRequest) -> Result<PullRequest, ProviderError>;

    /// Adds labels (existing ones stay).
    async fn add_labels(&self, number: u64, labels: &[String]) -> Result<(), ProviderError>;

    /// Asks for reviews: `login` for a user, `org/team` for a team.
    async fn request_reviewers(
        &self,
        number: u64,
        reviewers: &[String],
    ) -> Result<(), ProviderError>;

    /// Turns on the platform's auto-merge (merge when required checks pass).
    async fn enable_auto_merge(
        &self,
        pr: &PullRequest,
        method: MergeMethod,
    ) -> Result<(), ProviderError>;

    /// The checks and statuses of the head commit, the reviews, the mergeability.
    async fn status(&self, pr: &PullRequest) -> Result<PrStatus, ProviderError>;

    /// Merges now; `Err` with HTTP status 405/409/422 (GitHub) or 405/406/409
    /// (GitLab) is a refusal.
    async fn merge(
        &self,
        pr: &PullRequest,
        method: MergeMethod,
    ) -> Result<MergeResult, ProviderError>;

    /// Deletes the head branch (after a merge).
    async fn delete_branch(&self, branch: &str) -> Result<(), ProviderError>;

    /// Sets a commit status (GitHub: `POST /repos/{o}/{r}/statuses/{sha}`; GitLab:
    /// `POST /projects/:id/statuses/:sha`).
    async fn report_status(
        &self,
        status: &flowspec_core::provider::CommitStatus,
    ) -> Result<(), ProviderError>;

    /// Creates the comment that contains `marker`, or edits it in place.
    async fn upsert_comment(
        &self,
        number: u64,
        marker: &str,
        body: &str,
    ) -> Result<CommentRef, ProviderError>;

    /// Whether the forge has check runs (GitHub); GitLab has commit statuses only.
    fn has_check_runs(&self) -> bool {
        false
    }

    /// Creates a completed check run with `annotations` (at most
    /// [`MAX_ANNOTATIONS_PER_REQUEST`]): GitHub `POST /repos/{o}/{r}/check-runs`.
    async fn create_check_run(
        &self,
        request: &CheckRunRequest,
        annotations: &[CheckAnnotation],
    ) -> Result<CheckRunRef, ProviderError> {
        let _ = (request, annotations);
        Err(ProviderError::unsupported(self.kind(), "check runs"))
    }

    /// Appends `annotations` (at most [`MAX_ANNOTATIONS_PER_REQUEST`]) to check run
    /// `id`: GitHub `PATCH /repos/{o}/{r}/check-runs/{id}`.
    async fn append_check_run_annotations(
        &self,
        id: u64,
        request: &CheckRunRequest,
        annotations: &[CheckAnnotation],
    ) -> Result<(), ProviderError> {
        let _ = (id, request, annotations);
        Err(ProviderError::unsupported(self.kind(), "check runs"))
    }
}

/// Creates the pull request for `request.head`, or updates the open one; then adds
/// labels, asks for reviewers and turns on auto-merge (`auto_merge`). `true` means
/// it was created.
pub async fn ensure_pr(
    forge: &dyn Forge,
    request: &PrRequest,
    auto_merge: Option<MergeMethod>,
) -> Result<(PullRequest, bool), PrError> {
    let (pr, created) = match forge.find_open(&request.head).await? {
        Some(open) => (forge.update(open.number, request).await?, false),
        None => (forge.create(request).await?, true),
    };
    if !request.labels.is_empty() {
        forge.add_labels(pr.number, &request.labels).await?;
    }
    if !request.reviewers.is_empty() {
        forge
            .request_reviewers(pr.number, &request.reviewers)
            .await?;
    }
    if let Some(method) = auto_merge {
        forge.enable_auto_merge(&pr, method).await?;
    }
    Ok((pr, created))
}

/// The pull request `number`, or the open one for `head`.
pub async fn resolve(
    forge: &dyn Forge,
    number: Option<u64>,
    head: Option<&str>,
) -> Result<PullRequest, PrError> {
    match (number, head) {
        (Some(n), _) => Ok(forge.get(n).await?),
        (None, Some(h)) => forge
            .find_open(h)
            .await?
            .ok_or_else(|| PrError::NoPullRequest { head: h.to_owned() }),
        (None, None) => Err(PrError::NoPullRequest {
            head: "(no current branch)".into(),
        }),
    }
}

/// How [`merge_when_green`] polls.
#[derive(Clone, Copy, Debug)]
pub struct GreenWait {
    /// Between two looks at the checks.
    pub interval: Duration,
    /// The longest wait; `None`: no limit.
    pub timeout: Option<Duration>,
}

impl Default for GreenWait {
    fn default() -> Self {
        GreenWait {
            interval: Duration::from_secs(15),
            timeout: Some(Duration::from_secs(3600)),
        }
    }
}

/// Waits until every check and status of the head commit succeeded (`wait: None`:
/// looks once and refuses while some are pending), then merges. A failed check ends
/// it with [`PrError::ChecksFailed`]; a refused merge with [`PrError::Refused`].
pub async fn merge_when_green(
    forge: &dyn Forge,
    pr: &PullRequest,
    method: MergeMethod,
    wait: Option<GreenWait>,
    on_poll: &mut (dyn FnMut(&PrStatus) + Send),
) -> Result<MergeResult, PrError> {
    let started = tokio::time::Instant::now();
    loop {
        let status = forge.status(pr).await?;
        on_poll(&status);
        match status.checks_state() {
            CheckState::Success => break,
            CheckState::Failure => {
                return Err(PrError::ChecksFailed {
                    number: pr.number,
                    checks: status.failed_checks(),
                });
            }
            CheckState::Pending => {
                let Some(wait) = wait else {
                    return Err(PrError::ChecksPending {
                        number: pr.number,
                        checks: status.pending_checks(),
                    });
                };
                if wait.timeout.is_some_and(|t| started.elapsed() >= t) {
                    return Err(PrError::TimedOut {
                        number: pr.number,
                        checks: status.pending_checks(),
                    });
                }
                tokio::time::sleep(wait.interval).await;
            }
        }
    }
    merge(forge, pr, method).await
}

/// Merges now, turning a refusal into [`PrError::Refused`].
pub async fn merge(
    forge: &dyn Forge,
    pr: &PullRequest,
    method: MergeMethod,
) -> Result<MergeResult, PrError> {
    forge.merge(pr, method).await.map_err(|e| {
        if matches!(e.status(), Some(405 | 406 | 409 | 422)) {
            PrError::Refused {
                number: pr.number,
                reason: e
                    .platform_message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| e.message().to_owned()),
            }
        } else {
            PrError::Provider(e)
        }
    })
}

/// What can go wrong with a pull request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrError {
    /// The forge refused or failed a request.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// No open pull request has this head branch.
    #[error(
        "no open pull request for `{head}` (pass --pr N, or open one with `flowspec pr create`)"
    )]
    NoPullRequest {
        /// The head branch.
        head: String,
    },
    /// A check or status failed.
    #[error("pull request #{number} has failed checks: {}", .checks.join(", "))]
    ChecksFailed {
        /// The pull request.
        number: u64,
        /// The failed checks' names.
        checks: Vec<String>,
    },
    /// Checks still run and waiting was not asked for.
    #[error("pull request #{number} has checks still running: {} (use --when-green to wait)", .checks.join(", "))]
    ChecksPending {
        /// The pull request.
        number: u64,
        /// The pending checks' names.
        checks: Vec<String>,
    },
    /// The wait ran out with checks still running.
    #[error("pull request #{number}: gave up waiting for {}", .checks.join(", "))]
    TimedOut {
        /// The pull request.
        number: u64,
        /// The pending checks' names.
        checks: Vec<String>,
    },
    /// Check runs were asked of a forge that has none (GitLab).
    #[error(
        "{} has no check runs (commit statuses only): drop `check_run` (or --check-run), or report a commit status with the `status:` action",
        if *platform == "gitlab" { "GitLab" } else { platform }
    )]
    NoCheckRuns {
        /// The forge (`gitlab`).
        platform: &'static str,
    },
    /// The forge refused the merge (conflicts, branch protection, not mergeable).
    #[error("pull request #{number} cannot be merged: {reason}")]
    Refused {
        /// The pull request.
        number: u64,
        /// The forge's reason.
        reason: String,
    },
}
