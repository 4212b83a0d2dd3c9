//! Pull requests on GitHub: the REST pulls, labels, conversation comments, statuses and
//! check-runs endpoints, and GraphQL `enablePullRequestAutoMerge` (REST has no
//! auto-merge call).

use super::*;
use crate::forge::{
    Check, CheckAnnotation, CheckRunRef, CheckRunRequest, CheckState, CommentRef, Forge,
    MergeMethod, MergeResult, PrRequest, PrStatus, PullRequest, Review,
};

#[derive(Deserialize)]
struct GhPull {
    number: u64,
    html_url: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    merged: bool,
    node_id: Option<String>,
    mergeable: Option<bool>,
    mergeable_state: Option<String>,
    head: GhBranch,
    base: GhBranch,
}

#[derive(Deserialize)]
struct GhBranch {
    #[serde(rename = "ref")]
    name: String,
    #[serde(default)]
    sha: String,
}

impl From<GhPull> for PullRequest {
    fn from(p: GhPull) -> Self {
        PullRequest {
            number: p.number,
            url: p.html_url,
            title: p.title,
            state: if p.merged { "merged".into() } else { p.state },
            draft: p.draft,
            head: p.head.name,
            base: p.base.name,
            head_sha: p.head.sha,
            node_id: p.node_id,
            mergeable: p.mergeable,
            mergeable_state: p.mergeable_state,
        }
    }
}

#[derive(Deserialize)]
struct GhCheckRuns {
    #[serde(default)]
    check_runs: Vec<GhCheckRun>,
}

#[derive(Deserialize)]
struct GhCheckRun {
    name: String,
    status: String,
    conclusion: Option<String>,
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct GhCombined {
    #[serde(default)]
    statuses: Vec<GhStatus>,
}

#[derive(Deserialize)]
struct GhStatus {
    context: String,
    state: String,
    target_url: Option<String>,
}

#[derive(Deserialize)]
struct GhReview {
    user: Option<GhUser>,
    state: String,
}

#[derive(Deserialize)]
struct GhUser {
    login: String,
}

#[derive(Deserialize)]
struct GhComment {
    id: u64,
    #[serde(default)]
    body: String,
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct GhCreatedCheckRun {
    id: u64,
    html_url: Option<String>,
}

/// `output` of a check run: title, summary, annotations.
fn check_run_output(request: &CheckRunRequest, annotations: &[CheckAnnotation]) -> Value {
    json!({
        "title": request.title,
        "summary": request.summary_text(),
        "annotations": annotations,
    })
}

#[derive(Deserialize)]
struct GhMerged {
    sha: Option<String>,
}

fn check_run_state(run: &GhCheckRun) -> (CheckState, String) {
    if run.status != "completed" {
        return (CheckState::Pending, run.status.clone());
    }
    let conclusion = run.conclusion.clone().unwrap_or_default();
    let state = match conclusion.as_str() {
        "success" | "neutral" | "skipped" => CheckState::Success,
        _ => CheckState::Failure,
    };
    (state, conclusion)
}

fn status_state(state: &str) -> CheckState {
    match state {
        "success" => CheckState::Success,
        "pending" => CheckState::Pending,
        _ => CheckState::Failure,
    }
}

impl GithubProvider {
    async fn send_value<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        what: &str,
        idempotent: bool,
    ) -> Result<T, ProviderError> {
        let (_, bytes) = self
            .send_json(method, path, Some(body), what, idempotent)
            .await?;
        common::parse_json(&bytes, what)
    }
}

#[async_trait]
impl Forge for GithubProvider {
    fn kind(&self) -> &'static str {
        "github"
    }

    async fn find_open(&self, head: &str) -> Result<Option<PullRequest>, ProviderError> {
        // `head` filters by `owner:branch`; branches of forks are not looked for.
        let path = self.repo_path(&format!(
            "pulls?state=open&head={}&per_page=10",
            path_segment(&format!("{}:{head}", self.owner))
        ));
        let (pulls, _): (Vec<GhPull>, _) =
            self.get_json(&path, "find the open pull request").await?;
        Ok(pulls
            .into_iter()
            .find(|p| p.head.name == head)
            .map(PullRequest::from))
    }

    async fn get(&self, number: u64) -> Result<PullRequest, ProviderError> {
        let path = self.repo_path(&format!("pulls/{number}"));
        let what = format!("read pull request #{number}");
        let (pull, _): (GhPull, _) = self.get_json(&path, &what).await?;
        Ok(pull.into())
    }

    async fn list_open(&self, limit: usize) -> Result<Vec<PullRequest>, ProviderError> {
        let path = self.repo_path(&format!("pulls?state=open&per_page={}", limit.min(100)));
        self.paginate(path, "list pull requests", limit, |p: Vec<GhPull>| {
            p.into_iter().map(PullRequest::from).collect()
        })
        .await
    }

    async fn create(&self, request: &PrRequest) -> Result<PullRequest, ProviderError> {
        let mut body = json!({
            "title": request.title,
            "head": request.head,
            "base": request.base,
            "draft": request.draft,
        });
        if let Some(b) = &request.body {
            body["body"] = b.clone().into();
        }
        let what = format!("open a pull request for `{}`", request.head);
        // Not idempotent: a repeated POST after a lost answer would be refused as a
        // duplicate at best; `ensure_pr` looks for an open one first.
        let pull: GhPull = self
            .send_value(Method::POST, &self.repo_path("pulls"), &body, &what, false)
            .await?;
        Ok(pull.into())
    }

    async fn update(&self, number: u64, request: &PrRequest) -> Result<PullRequest, ProviderError> {
        let mut body = json!({"title": request.title, "base": request.base});
        if let Some(b) = &request.body {
            body["body"] = b.clone().into();
        }
        let what = format!("update pull request #{number}");
        let path = self.repo_path(&format!("pulls/{number}"));
        let pull: GhPull = self
            .send_value(Method::PATCH, &path, &body, &what, true)
            .await?;
        Ok(pull.into())
    }

    async fn add_labels(&self, number: u64, labels: &[String]) -> Result<(), ProviderError> {
        let path = self.repo_path(&format!("issues/{number}/labels"));
        let what = format!("label pull request #{number}");
        self.send_json(
            Method::POST,
            &path,
            Some(&json!({"labels": labels})),
            &what,
            true,
        )
        .await?;
        Ok(())
    }

    async fn request_reviewers(
        &self,
        number: u64,
        reviewers: &[String],
    ) -> Result<(), ProviderError> {
        let (teams, users): (Vec<&String>, Vec<&String>) =
            reviewers.iter().partition(|r| r.contains('/'));
        let teams: Vec<&str> = teams
            .iter()
            .map(|t| t.split_once('/').map_or(t.as_str(), |(_, slug)| slug))
            .collect();
        let path = self.repo_path(&format!("pulls/{number}/requested_reviewers"));
        let what = format!("ask for reviews of pull request #{number}");
        let body = json!({"reviewers": users, "team_reviewers": teams});
        self.send_json(Method::POST, &path, Some(&body), &what, true)
            .await?;
        Ok(())
    }

    async fn enable_auto_merge(
        &self,
        pr: &PullRequest,
        method: MergeMethod,
    ) -> Result<(), ProviderError> {
        let what = format!("enable auto-merge of pull request #{}", pr.number);
        let node_id = pr
            .node_id
            .clone()
            .ok_or_else(|| ProviderError::malformed(&what, "the pull request has no node_id"))?;
        let query = "mutation($id: ID!, $method: PullRequestMergeMethod!) { enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method}) { pullRequest { number } } }";
        let body = json!({
            "query": query,
            "variables": {"id": node_id, "method": method.as_str().to_uppercase()},
        });
        let answer: Value = self
            .send_value(Method::POST, "/graphql", &body, &what, true)
            .await?;
        // GraphQL answers 200 with `errors` when it refuses (auto-merge off in the
        // repository settings, a clean PR that could merge at once).
        if let Some(message) = answer
            .get("errors")
            .and_then(|e| e.get(0))
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
        {
            return Err(ProviderError::new(
                ProviderErrorKind::Platform,
                format!("{what}: {message}"),
            )
            .with_platform_message(message));
        }
        Ok(())
    }

    async fn status(&self, pr: &PullRequest) -> Result<PrStatus, ProviderError> {
        // Read again: the head may have moved and `mergeable` is computed lazily.
        let pr = self.get(pr.number).await?;
        let sha = path_segment(&pr.head_sha);
        let (runs, _): (GhCheckRuns, _) = self
            .get_json(
                &self.repo_path(&format!("commits/{sha}/check-runs?per_page=100")),
                "list check runs",
            )
            .await?;
        let (combined, _): (GhCombined, _) = self
            .get_json(
                &self.repo_path(&format!("commits/{sha}/status?per_page=100")),
                "read the commit statuses",
            )
            .await?;
        let (reviews, _): (Vec<GhReview>, _) = self
            .get_json(
                &self.repo_path(&format!("pulls/{}/reviews?per_page=100", pr.number)),
                "list reviews",
            )
            .await?;
        let mut checks: Vec<Check> = runs
            .check_runs
            .into_iter()
            .map(|r| {
                let (state, raw) = check_run_state(&r);
                Check::new(r.name, state, raw).url(r.html_url)
            })
            .collect();
        checks.extend(
            combined
                .statuses
                .into_iter()
                .map(|s| Check::new(s.context, status_state(&s.state), s.state).url(s.target_url)),
        );
        let reviews = reviews
            .into_iter()
            .map(|r| Review::new(r.user.map(|u| u.login).unwrap_or_default(), r.state))
            .collect();
        Ok(PrStatus::new(pr, checks, reviews))
    }

    async fn merge(
        &self,
        pr: &PullRequest,
        method: MergeMethod,
    ) -> Result<MergeResult, ProviderError> {
        let path = self.repo_path(&format!("pulls/{}/merge", pr.number));
        let what = format!("merge pull request #{}", pr.number);
        // `sha` makes GitHub refuse (409) if the head moved since the checks were read.
        let mut body = json!({"merge_method": method.as_str()});
        if !pr.head_sha.is_empty() {
            body["sha"] = pr.head_sha.clone().into();
        }
        let merged: GhMerged = self
            .send_value(Method::PUT, &path, &body, &what, true)
            .await?;
        Ok(MergeResult::new(pr.number, merged.sha, method))
    }

    async fn delete_branch(&self, branch: &str) -> Result<(), ProviderError> {
        let path = self.repo_path(&format!("git/refs/heads/{}", path_segment(branch)));
        let what = format!("delete branch `{branch}`");
        self.send_json(Method::DELETE, &path, None, &what, true)
            .await?;
        Ok(())
    }

    async fn report_status(&self, status: &CommitStatus) -> Result<(), ProviderError> {
        CiProvider::report_status(self, status).await
    }

    async fn upsert_comment(
        &self,
        number: u64,
        marker: &str,
        body: &str,
    ) -> Result<CommentRef, ProviderError> {
        let first = self.repo_path(&format!("issues/{number}/comments?per_page=100"));
        let comments = self
            .paginate(first, "list comments", 10_000, |p: Vec<GhComment>| p)
            .await?;
        let text = if body.contains(marker) {
            body.to_owned()
        } else {
            format!("{marker}\n{body}")
        };
        if let Some(found) = comments.into_iter().find(|c| c.body.contains(marker)) {
            let path = self.repo_path(&format!("issues/comments/{}", found.id));
            let what = format!("edit comment {}", found.id);
            let edited: GhComment = self
                .send_value(Method::PATCH, &path, &json!({"body": text}), &what, true)
                .await?;
            return Ok(CommentRef::new(edited.id, edited.html_url, false));
        }
        let path = self.repo_path(&format!("issues/{number}/comments"));
        let what = format!("comment on pull request #{number}");
        let created: GhComment = self
            .send_value(Method::POST, &path, &json!({"body": text}), &what, false)
            .await?;
        Ok(CommentRef::new(created.id, created.html_url, true))
    }

    fn has_check_runs(&self) -> bool {
        true
    }

    async fn create_check_run(
        &self,
        request: &CheckRunRequest,
        annotations: &[CheckAnnotation],
    ) -> Result<CheckRunRef, ProviderError> {
        let mut body = json!({
            "name": request.name,
            "head_sha": request.head_sha,
            "status": "completed",
            "conclusion": request.conclusion(),
            "output": check_run_output(request, annotations),
        });
        if let Some(url) = &request.details_url {
            body["details_url"] = url.clone().into();
        }
        let what = format!("create check run `{}`", request.name);
        let created: GhCreatedCheckRun = self
            .send_value(
                Method::POST,
                &self.repo_path("check-runs"),
                &body,
                &what,
                false,
            )
            .await?;
        Ok(CheckRunRef::new(created.id, created.html_url, 0, 1))
    }

    async fn append_check_run_annotations(
        &self,
        id: u64,
        request: &CheckRunRequest,
        annotations: &[CheckAnnotation],
    ) -> Result<(), ProviderError> {
        let body = json!({"output": check_run_output(request, annotations)});
        let what = format!("add annotations to check run {id}");
        let path = self.repo_path(&format!("check-runs/{id}"));
        // Not idempotent: annotations are appended, a resend would add them twice.
        let _: GhCreatedCheckRun = self
            .send_value(Method::PATCH, &path, &body, &what, false)
            .await?;
        Ok(())
    }
}
