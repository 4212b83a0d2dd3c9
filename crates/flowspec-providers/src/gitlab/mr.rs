//! Merge requests on GitLab (API v4): merge requests, labels, reviewers (user ids
//! looked up by username), auto-merge (`merge_when_pipeline_succeeds`, `auto_merge`
//! on GitLab 17.11+), notes for the sticky comment, the head commit's statuses and
//! pipeline for the checks, approvals and `detailed_merge_status` for mergeability,
//! merges with squash or after a rebase.

use flowspec_http::reqwest::Method as HttpMethod;
use flowspec_http::reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};

use super::*;
use crate::forge::{
    Check, CheckState, CommentRef, Forge, MergeMethod, MergeResult, PrRequest, PrStatus,
    PullRequest, Review,
};

#[derive(Deserialize)]
struct GlMergeRequest {
    iid: u64,
    web_url: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    source_branch: String,
    #[serde(default)]
    target_branch: String,
    sha: Option<String>,
    detailed_merge_status: Option<String>,
    merge_status: Option<String>,
    #[serde(default)]
    has_conflicts: bool,
    #[serde(default)]
    reviewers: Vec<GlUser>,
    head_pipeline: Option<GlHeadPipeline>,
    #[serde(default)]
    rebase_in_progress: bool,
    merge_error: Option<String>,
    merge_commit_sha: Option<String>,
    squash_commit_sha: Option<String>,
}

#[derive(Deserialize)]
struct GlHeadPipeline {
    status: String,
    web_url: Option<String>,
}

#[derive(Deserialize)]
struct GlUser {
    id: u64,
    #[serde(default)]
    username: String,
}

#[derive(Deserialize)]
struct GlStatus {
    name: String,
    status: String,
    target_url: Option<String>,
    #[serde(default)]
    allow_failure: bool,
}

#[derive(Deserialize)]
struct GlApprovals {
    #[serde(default)]
    approved_by: Vec<GlApprover>,
}

#[derive(Deserialize)]
struct GlApprover {
    user: GlUser,
}

#[derive(Deserialize)]
struct GlNote {
    id: u64,
    #[serde(default)]
    body: String,
    #[serde(default)]
    system: bool,
}

/// GitLab's `state` in the forge's words (`opened` is `open`).
fn mr_state(state: &str) -> String {
    match state {
        "opened" | "locked" => "open".into(),
        other => other.into(),
    }
}

/// `Some(true)`: mergeable; `None`: GitLab is still computing it.
fn mergeable(mr: &GlMergeRequest) -> Option<bool> {
    match mr.detailed_merge_status.as_deref() {
        Some("mergeable") => Some(true),
        Some("unchecked" | "checking" | "preparing" | "approvals_syncing") => None,
        Some(_) => Some(false),
        None => match mr.merge_status.as_deref() {
            Some("can_be_merged") => Some(!mr.has_conflicts),
            Some("cannot_be_merged" | "cannot_be_merged_recheck") => Some(false),
            _ => None,
        },
    }
}

impl From<GlMergeRequest> for PullRequest {
    fn from(mr: GlMergeRequest) -> Self {
        let can = mergeable(&mr);
        PullRequest {
            number: mr.iid,
            url: mr.web_url,
            title: mr.title,
            state: mr_state(&mr.state),
            draft: mr.draft,
            head: mr.source_branch,
            base: mr.target_branch,
            head_sha: mr.sha.unwrap_or_default(),
            node_id: None,
            mergeable: can,
            mergeable_state: mr.detailed_merge_status.or(mr.merge_status),
        }
    }
}

/// A commit status or pipeline status in the forge's words; a failure allowed to
/// fail counts as passed, as GitLab counts it.
fn status_state(status: &str, allow_failure: bool) -> CheckState {
    match status {
        "success" | "skipped" => CheckState::Success,
        "failed" if allow_failure => CheckState::Success,
        "failed" | "canceled" | "canceling" => CheckState::Failure,
        _ => CheckState::Pending,
    }
}

impl GitlabProvider {
    fn mr_url(&self, rest: &str) -> Result<Url, ProviderError> {
        let path = format!("projects/{}/{rest}", path_segment(&self.project));
        self.api
            .api
            .join(&path)
            .map_err(|e| ProviderError::new(ProviderErrorKind::InvalidRequest, e.to_string()))
    }

    /// One request with a JSON body (or none); the answer's headers and body.
    async fn call(
        &self,
        method: HttpMethod,
        url: &Url,
        body: Option<&Value>,
        what: &str,
        idempotency: Idempotency,
    ) -> Result<(HeaderMap, Bytes), ProviderError> {
        let payload = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        let token_var = self.api.token.as_ref().map(Token::source);
        let (response, _) = self
            .api
            .http
            .send_with_retry(idempotency, || {
                let mut request = self.api.http.reqwest().request(method.clone(), url.clone());
                if let Some(p) = &payload {
                    request = request
                        .header(CONTENT_TYPE, "application/json")
                        .body(p.clone());
                }
                self.api.authorize(request)
            })
            .await
            .map_err(|e| common::from_http(&e.error, what, token_var))?;
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(|e| {
            ProviderError::new(
                ProviderErrorKind::Transient,
                format!(
                    "{what}: the response body could not be read: {}",
                    e.without_url()
                ),
            )
        })?;
        Ok((headers, bytes))
    }

    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        url: &Url,
        what: &str,
    ) -> Result<T, ProviderError> {
        let (_, bytes) = self
            .call(HttpMethod::GET, url, None, what, Idempotency::Safe)
            .await?;
        common::parse_json(&bytes, what)
    }

    async fn write<T: serde::de::DeserializeOwned>(
        &self,
        method: HttpMethod,
        url: &Url,
        body: &Value,
        what: &str,
        idempotency: Idempotency,
    ) -> Result<T, ProviderError> {
        let (_, bytes) = self
            .call(method, url, Some(body), what, idempotency)
            .await?;
        common::parse_json(&bytes, what)
    }

    /// Every page (GitLab's `Link: rel="next"`), up to `limit` items.
    async fn pages<T: serde::de::DeserializeOwned>(
        &self,
        first: Url,
        what: &str,
        limit: usize,
    ) -> Result<Vec<T>, ProviderError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let (headers, bytes) = self
                .call(HttpMethod::GET, &url, None, what, Idempotency::Safe)
                .await?;
            let page: Vec<T> = common::parse_json(&bytes, what)?;
            let empty = page.is_empty();
            out.extend(page);
            if out.len() >= limit {
                out.truncate(limit);
                break;
            }
            // Only links to the same API are followed: the token goes with them.
            next = common::next_page(&headers)
                .and_then(|u| Url::parse(&u).ok())
                .filter(|u| !empty && u.origin() == self.api.api.origin());
        }
        Ok(out)
    }

    async fn raw_mr(&self, iid: u64, extra: &str) -> Result<GlMergeRequest, ProviderError> {
        let url = self.mr_url(&format!("merge_requests/{iid}{extra}"))?;
        self.read(&url, &format!("read merge request !{iid}")).await
    }

    async fn user_id(&self, username: &str) -> Result<u64, ProviderError> {
        let mut url =
            self.api.api.join("users").map_err(|e| {
                ProviderError::new(ProviderErrorKind::InvalidRequest, e.to_string())
            })?;
        url.query_pairs_mut().append_pair("username", username);
        let what = format!("look up the GitLab user `{username}`");
        let users: Vec<GlUser> = self.read(&url, &what).await?;
        users.first().map(|u| u.id).ok_or_else(|| {
            ProviderError::new(
                ProviderErrorKind::NotFound,
                format!("{what}: no such user (reviewers are usernames, without `@`)"),
            )
        })
    }

    /// Rebases the source branch onto the target and waits until GitLab is done;
    /// the merge request as it is afterwards.
    async fn rebase(&self, iid: u64) -> Result<GlMergeRequest, ProviderError> {
        let what = format!("rebase merge request !{iid}");
        let url = self.mr_url(&format!("merge_requests/{iid}/rebase"))?;
        self.call(
            HttpMethod::PUT,
            &url,
            Some(&json!({})),
            &what,
            Idempotency::Safe,
        )
        .await?;
        for _ in 0..120 {
            let mr = self.raw_mr(iid, "?include_rebase_in_progress=true").await?;
            if !mr.rebase_in_progress {
                if let Some(error) = mr.merge_error.clone().filter(|e| !e.is_empty()) {
                    return Err(ProviderError::new(
                        ProviderErrorKind::Platform,
                        format!("{what}: {error}"),
                    )
                    .with_status(409)
                    .with_platform_message(error));
                }
                return Ok(mr);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(ProviderError::new(
            ProviderErrorKind::Transient,
            format!("{what}: still rebasing after 60 s"),
        ))
    }
}

#[async_trait]
impl Forge for GitlabProvider {
    fn kind(&self) -> &'static str {
        "gitlab"
    }

    async fn find_open(&self, head: &str) -> Result<Option<PullRequest>, ProviderError> {
        let mut url = self.mr_url("merge_requests")?;
        url.query_pairs_mut()
            .append_pair("state", "opened")
            .append_pair("source_branch", head)
            .append_pair("per_page", "20");
        let mrs: Vec<GlMergeRequest> = self.read(&url, "find the open merge request").await?;
        Ok(mrs
            .into_iter()
            .find(|m| m.source_branch == head)
            .map(PullRequest::from))
    }

    async fn get(&self, number: u64) -> Result<PullRequest, ProviderError> {
        Ok(self.raw_mr(number, "").await?.into())
    }

    async fn list_open(&self, limit: usize) -> Result<Vec<PullRequest>, ProviderError> {
        let mut url = self.mr_url("merge_requests")?;
        url.query_pairs_mut()
            .append_pair("state", "opened")
            .append_pair("order_by", "created_at")
            .append_pair("sort", "desc")
            .append_pair("per_page", &limit.clamp(1, 100).to_string());
        let mrs: Vec<GlMergeRequest> = self.pages(url, "list merge requests", limit).await?;
        Ok(mrs.into_iter().map(PullRequest::from).collect())
    }

    async fn create(&self, request: &PrRequest) -> Result<PullRequest, ProviderError> {
        // The API has no draft flag: a `Draft:` title prefix makes one.
        let title = if request.draft && !request.title.starts_with("Draft:") {
            format!("Draft: {}", request.title)
        } else {
            request.title.clone()
        };
        let mut body = json!({
            "source_branch": request.head,
            "target_branch": request.base,
            "title": title,
        });
        if let Some(d) = &request.body {
            body["description"] = d.clone().into();
        }
        let url = self.mr_url("merge_requests")?;
        let what = format!("open a merge request for `{}`", request.head);
        // Not repeated after a lost answer: `ensure_pr` looks for an open one first.
        let mr: GlMergeRequest = self
            .write(HttpMethod::POST, &url, &body, &what, Idempotency::Unsafe)
            .await?;
        Ok(mr.into())
    }

    async fn update(&self, number: u64, request: &PrRequest) -> Result<PullRequest, ProviderError> {
        let mut body = json!({"title": request.title, "target_branch": request.base});
        if let Some(d) = &request.body {
            body["description"] = d.clone().into();
        }
        let url = self.mr_url(&format!("merge_requests/{number}"))?;
        let what = format!("update merge request !{number}");
        let mr: GlMergeRequest = self
            .write(HttpMethod::PUT, &url, &body, &what, Idempotency::Safe)
            .await?;
        Ok(mr.into())
    }

    async fn add_labels(&self, number: u64, labels: &[String]) -> Result<(), ProviderError> {
        let url = self.mr_url(&format!("merge_requests/{number}"))?;
        let what = format!("label merge request !{number}");
        let body = json!({"add_labels": labels.join(",")});
        self.call(HttpMethod::PUT, &url, Some(&body), &what, Idempotency::Safe)
            .await?;
        Ok(())
    }

    async fn request_reviewers(
        &self,
        number: u64,
        reviewers: &[String],
    ) -> Result<(), ProviderError> {
        let what = format!("ask for reviews of merge request !{number}");
        if let Some(team) = reviewers.iter().find(|r| r.contains('/')) {
            return Err(ProviderError::new(
                ProviderErrorKind::InvalidRequest,
                format!(
                    "{what}: `{team}` is a team; GitLab merge requests take user reviewers only (list the usernames)"
                ),
            ));
        }
        // `reviewer_ids` replaces the set: keep the reviewers already asked.
        let current = self.raw_mr(number, "").await?;
        let mut ids: Vec<u64> = current.reviewers.iter().map(|u| u.id).collect();
        for name in reviewers {
            let name = name.trim_start_matches('@');
            if current.reviewers.iter().any(|u| u.username == name) {
                continue;
            }
            let id = self.user_id(name).await?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let url = self.mr_url(&format!("merge_requests/{number}"))?;
        self.call(
            HttpMethod::PUT,
            &url,
            Some(&json!({"reviewer_ids": ids})),
            &what,
            Idempotency::Safe,
        )
        .await?;
        Ok(())
    }

    async fn enable_auto_merge(
        &self,
        pr: &PullRequest,
        method: MergeMethod,
    ) -> Result<(), ProviderError> {
        let url = self.mr_url(&format!("merge_requests/{}/merge", pr.number))?;
        let what = format!("enable auto-merge of merge request !{}", pr.number);
        // `auto_merge` is the name since GitLab 17.11; older instances read
        // `merge_when_pipeline_succeeds`. A rebase is the project's merge method
        // setting, not a parameter: auto-merge then merges the project's way.
        let mut body = json!({
            "merge_when_pipeline_succeeds": true,
            "auto_merge": true,
            "squash": method == MergeMethod::Squash,
        });
        if !pr.head_sha.is_empty() {
            body["sha"] = pr.head_sha.clone().into();
        }
        self.call(HttpMethod::PUT, &url, Some(&body), &what, Idempotency::Safe)
            .await?;
        Ok(())
    }

    async fn status(&self, pr: &PullRequest) -> Result<PrStatus, ProviderError> {
        // Read again: the head may have moved and mergeability is computed lazily.
        let raw = self.raw_mr(pr.number, "").await?;
        let pipeline = raw
            .head_pipeline
            .as_ref()
            .map(|p| (p.status.clone(), p.web_url.clone()));
        let pr: PullRequest = raw.into();
        let mut checks = Vec::new();
        if !pr.head_sha.is_empty() {
            let url = self.mr_url(&format!(
                "repository/commits/{}/statuses?per_page=100",
                path_segment(&pr.head_sha)
            ))?;
            let statuses: Vec<GlStatus> =
                self.pages(url, "read the commit statuses", 10_000).await?;
            checks.extend(statuses.into_iter().map(|s| {
                Check::new(s.name, status_state(&s.status, s.allow_failure), s.status)
                    .url(s.target_url)
            }));
        }
        if let Some((status, url)) = pipeline {
            checks.push(Check::new("pipeline", status_state(&status, false), status).url(url));
        }
        let url = self.mr_url(&format!("merge_requests/{}/approvals", pr.number))?;
        let approvals: GlApprovals = self.read(&url, "read the approvals").await?;
        let reviews = approvals
            .approved_by
            .into_iter()
            .map(|a| Review::new(a.user.username, "approved"))
            .collect();
        Ok(PrStatus::new(pr, checks, reviews))
    }

    async fn merge(
        &self,
        pr: &PullRequest,
        method: MergeMethod,
    ) -> Result<MergeResult, ProviderError> {
        let mut sha = pr.head_sha.clone();
        if method == MergeMethod::Rebase {
            sha = self.rebase(pr.number).await?.sha.unwrap_or_default();
        }
        let url = self.mr_url(&format!("merge_requests/{}/merge", pr.number))?;
        let what = format!("merge merge request !{}", pr.number);
        // `sha` makes GitLab refuse (409) if the head moved since the checks were read.
        let mut body = json!({"squash": method == MergeMethod::Squash});
        if !sha.is_empty() {
            body["sha"] = sha.into();
        }
        let merged: GlMergeRequest = self
            .write(HttpMethod::PUT, &url, &body, &what, Idempotency::Safe)
            .await?;
        Ok(MergeResult::new(
            pr.number,
            merged.squash_commit_sha.or(merged.merge_commit_sha),
            method,
        ))
    }

    async fn delete_branch(&self, branch: &str) -> Result<(), ProviderError> {
        let url = self.mr_url(&format!("repository/branches/{}", path_segment(branch)))?;
        let what = format!("delete branch `{branch}`");
        self.call(HttpMethod::DELETE, &url, None, &what, Idempotency::Safe)
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
        let mut first = self.mr_url(&format!("merge_requests/{number}/notes"))?;
        first
            .query_pairs_mut()
            .append_pair("sort", "asc")
            .append_pair("order_by", "created_at")
            .append_pair("per_page", "100");
        let notes: Vec<GlNote> = self.pages(first, "list notes", 10_000).await?;
        let text = if body.contains(marker) {
            body.to_owned()
        } else {
            format!("{marker}\n{body}")
        };
        let page = |id: u64| {
            if self.project.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let mr = self.api.base.join(&format!(
                "{}/-/merge_requests/{number}",
                self.project.trim_matches('/')
            ));
            mr.ok().map(|u| format!("{u}#note_{id}"))
        };
        if let Some(found) = notes
            .into_iter()
            .find(|n| !n.system && n.body.contains(marker))
        {
            let url = self.mr_url(&format!("merge_requests/{number}/notes/{}", found.id))?;
            let what = format!("edit note {}", found.id);
            let edited: GlNote = self
                .write(
                    HttpMethod::PUT,
                    &url,
                    &json!({"body": text}),
                    &what,
                    Idempotency::Safe,
                )
                .await?;
            return Ok(CommentRef::new(edited.id, page(edited.id), false));
        }
        let url = self.mr_url(&format!("merge_requests/{number}/notes"))?;
        let what = format!("comment on merge request !{number}");
        let created: GlNote = self
            .write(
                HttpMethod::POST,
                &url,
                &json!({"body": text}),
                &what,
                Idempotency::Unsafe,
            )
            .await?;
        Ok(CommentRef::new(created.id, page(created.id), true))
    }
}
