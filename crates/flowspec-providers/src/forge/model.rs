//! The platform-neutral shapes of pull requests, checks, reviews and comments.

use serde::Serialize;

/// What to open (or update) a pull request with.
///
/// ```
/// use flowspec_providers::forge::PrRequest;
/// let r = PrRequest::new("feat: auth", "main", "feat/auth").draft(true);
/// assert!(r.draft && r.body.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PrRequest {
    /// The title.
    pub title: String,
    /// The description (Markdown); `None` leaves it as it is on update.
    pub body: Option<String>,
    /// The branch to merge into.
    pub base: String,
    /// The branch with the changes.
    pub head: String,
    /// Open as a draft (ignored on update).
    pub draft: bool,
    /// Labels to add.
    pub labels: Vec<String>,
    /// Reviewers to ask: `login`, or `org/team` for a team.
    pub reviewers: Vec<String>,
}

impl PrRequest {
    /// A request with a title, base and head.
    pub fn new(title: impl Into<String>, base: impl Into<String>, head: impl Into<String>) -> Self {
        PrRequest {
            title: title.into(),
            base: base.into(),
            head: head.into(),
            ..PrRequest::default()
        }
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets draft.
    pub fn draft(mut self, draft: bool) -> Self {
        self.draft = draft;
        self
    }

    /// Sets the labels.
    pub fn labels(mut self, labels: Vec<String>) -> Self {
        self.labels = labels;
        self
    }

    /// Sets the reviewers.
    pub fn reviewers(mut self, reviewers: Vec<String>) -> Self {
        self.reviewers = reviewers;
        self
    }
}

/// A pull request (GitHub) or merge request (GitLab).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PullRequest {
    /// The number (GitLab: the `iid`).
    pub number: u64,
    /// The web page.
    pub url: String,
    /// The title.
    pub title: String,
    /// `open`, `closed`, `merged`.
    pub state: String,
    /// A draft.
    pub draft: bool,
    /// The head branch.
    pub head: String,
    /// The base branch.
    pub base: String,
    /// The head commit.
    pub head_sha: String,
    /// GitHub's GraphQL node id (auto-merge needs it).
    #[serde(skip)]
    pub node_id: Option<String>,
    /// Whether the forge says it can merge (`None`: not computed yet).
    pub mergeable: Option<bool>,
    /// The forge's own word on it (`clean`, `blocked`, `dirty`, `can_be_merged`...).
    pub mergeable_state: Option<String>,
}

/// A merge method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeMethod {
    /// A merge commit.
    Merge,
    /// One squashed commit.
    Squash,
    /// The commits rebased onto the base.
    Rebase,
}

impl MergeMethod {
    /// `merge`, `squash`, `rebase`.
    pub fn as_str(self) -> &'static str {
        match self {
            MergeMethod::Merge => "merge",
            MergeMethod::Squash => "squash",
            MergeMethod::Rebase => "rebase",
        }
    }
}

impl std::str::FromStr for MergeMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "merge" => Ok(MergeMethod::Merge),
            "squash" => Ok(MergeMethod::Squash),
            "rebase" => Ok(MergeMethod::Rebase),
            other => Err(format!(
                "unknown merge method `{other}`: use squash, merge or rebase"
            )),
        }
    }
}

impl<'de> serde::Deserialize<'de> for MergeMethod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a check stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    /// Queued or running.
    Pending,
    /// Passed (skipped and neutral count as passed).
    Success,
    /// Failed, errored, cancelled or timed out.
    Failure,
}

/// One check run or commit status of the head commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Check {
    /// The check's name or the status's context.
    pub name: String,
    /// Where it stands.
    pub state: CheckState,
    /// The platform's own word (`success`, `in_progress`, `failure`...).
    pub raw: String,
    /// Its page.
    pub url: Option<String>,
}

impl Check {
    /// A check.
    pub fn new(name: impl Into<String>, state: CheckState, raw: impl Into<String>) -> Self {
        Check {
            name: name.into(),
            state,
            raw: raw.into(),
            url: None,
        }
    }

    /// Sets the URL.
    pub fn url(mut self, url: Option<String>) -> Self {
        self.url = url;
        self
    }
}

/// One review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Review {
    /// The reviewer.
    pub author: String,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED` (GitHub), `approved` (GitLab).
    pub state: String,
}

impl Review {
    /// A review.
    pub fn new(author: impl Into<String>, state: impl Into<String>) -> Self {
        Review {
            author: author.into(),
            state: state.into(),
        }
    }
}

/// Checks, reviews and mergeability of a pull request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PrStatus {
    /// The pull request, as read with the checks.
    pub pr: PullRequest,
    /// Check runs and commit statuses of the head commit.
    pub checks: Vec<Check>,
    /// Reviews, oldest first.
    pub reviews: Vec<Review>,
}

impl PrStatus {
    /// A status.
    pub fn new(pr: PullRequest, checks: Vec<Check>, reviews: Vec<Review>) -> Self {
        PrStatus {
            pr,
            checks,
            reviews,
        }
    }

    /// Failure if any check failed, else pending if any runs, else success (no
    /// checks at all is success).
    ///
    /// ```
    /// use flowspec_providers::forge::{Check, CheckState, PrStatus, PullRequest};
    /// let s = PrStatus::new(PullRequest::default(), vec![
    ///     Check::new("build", CheckState::Success, "success"),
    ///     Check::new("test", CheckState::Pending, "in_progress"),
    /// ], vec![]);
    /// assert_eq!(s.checks_state(), CheckState::Pending);
    /// assert_eq!(s.pending_checks(), vec!["test".to_string()]);
    /// ```
    pub fn checks_state(&self) -> CheckState {
        if self.checks.iter().any(|c| c.state == CheckState::Failure) {
            CheckState::Failure
        } else if self.checks.iter().any(|c| c.state == CheckState::Pending) {
            CheckState::Pending
        } else {
            CheckState::Success
        }
    }

    /// The names of the failed checks.
    pub fn failed_checks(&self) -> Vec<String> {
        self.names(CheckState::Failure)
    }

    /// The names of the checks still running.
    pub fn pending_checks(&self) -> Vec<String> {
        self.names(CheckState::Pending)
    }

    fn names(&self, state: CheckState) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| c.state == state)
            .map(|c| c.name.clone())
            .collect()
    }
}

/// A merged pull request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MergeResult {
    /// The pull request.
    pub number: u64,
    /// The merge commit, when the forge says it.
    pub sha: Option<String>,
    /// The method used.
    pub method: MergeMethod,
}

impl MergeResult {
    /// A merge result.
    pub fn new(number: u64, sha: Option<String>, method: MergeMethod) -> Self {
        MergeResult {
            number,
            sha,
            method,
        }
    }
}

/// A comment that was created or edited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CommentRef {
    /// The comment id.
    pub id: u64,
    /// Its page, when known.
    pub url: Option<String>,
    /// `true`: created; `false`: an earlier one was edited in place.
    pub created: bool,
}

impl CommentRef {
    /// A comment reference.
    pub fn new(id: u64, url: Option<String>, created: bool) -> Self {
        CommentRef { id, url, created }
    }
}
