//! `POST /webhooks/gitlab`: GitLab webhooks, verified with `X-Gitlab-Token`.
//!
//! | `X-Gitlab-Event` | flowspec event |
//! |---|---|
//! | `Pipeline Hook` | `ci.requested`, `ci.started`, `ci.completed` (with `conclusion`) |
//! | `Job Hook` | `ci.job.started`, `ci.job.completed` |
//! | `Deployment Hook` | `deploy.started`, `deploy.completed`, `deploy.failed` |
//! | `Merge Request Hook` | `pr.opened`, `pr.merged`, `pr.closed`, `pr.updated`, `pr.<action>` |
//! | `Push Hook` / `Tag Push Hook` | `git.push` / `git.tag`; `git.branch.deleted` for a deleted branch (`after` all zeros) |
//! | anything else | `gitlab.<event>`, or ignored with `unknown_events: ignore` |
//!
//! The delivery id (replay protection, event id) is `Idempotency-Key`, stable across
//! GitLab's retries, else `X-Gitlab-Event-UUID`.

use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::signature::tokens_equal;
use serde_json::{Map, json};

use super::{
    Credential, Decoded, IncomingRequest, Reject, Source, SourceKind, is_zero_sha, json_body,
    mapped_event, put_field as put, segment, text,
};
use crate::config::{Credentials, ServerConfig, UnknownEvents};

/// The GitLab source, as declared in [`super::SOURCES`].
pub const KIND: SourceKind = SourceKind {
    name: "gitlab",
    path: "/webhooks/gitlab",
    scheme: "X-Gitlab-Token",
    credentials: &[Credential::secret("token", "GITLAB_WEBHOOK_TOKEN")],
    build,
};

fn build(credentials: &Credentials, _config: &ServerConfig) -> Option<Box<dyn Source>> {
    let token = credentials.first("token")?;
    Some(Box::new(GitlabSource::new(token.clone())))
}

/// The GitLab source.
pub struct GitlabSource {
    token: SecretString,
}

impl GitlabSource {
    /// A source expecting `token`.
    pub fn new(token: SecretString) -> Self {
        GitlabSource { token }
    }

    fn delivery(request: &IncomingRequest<'_>) -> Option<String> {
        request
            .header("idempotency-key")
            .or_else(|| request.header("x-gitlab-event-uuid"))
            .map(str::to_owned)
    }
}

impl Source for GitlabSource {
    fn kind(&self) -> &'static SourceKind {
        &KIND
    }

    fn authenticate(&self, request: &IncomingRequest<'_>) -> Result<Option<String>, Reject> {
        let Some(token) = request.header("x-gitlab-token") else {
            return Err(Reject::unauthorized(
                "missing_token",
                "`X-Gitlab-Token` is missing: set the webhook's secret token in GitLab",
            ));
        };
        if !tokens_equal(token, self.token.expose_secret()) {
            return Err(Reject::unauthorized(
                "bad_token",
                "`X-Gitlab-Token` is not valid",
            ));
        }
        Ok(GitlabSource::delivery(request))
    }

    fn decode(
        &self,
        request: &IncomingRequest<'_>,
        unknown: UnknownEvents,
    ) -> Result<Decoded, Reject> {
        let Some(kind) = request.header("x-gitlab-event") else {
            return Err(Reject::bad_request(
                "missing_event",
                "`X-Gitlab-Event` is missing",
            ));
        };
        let payload = json_body(request.body)?;
        let id = GitlabSource::delivery(request);
        let attrs = &payload["object_attributes"];
        let mut fields = Map::new();
        fields.insert("provider".into(), json!("gitlab"));
        put(
            &mut fields,
            "project",
            payload
                .get("project")
                .and_then(|p| p.get("path_with_namespace")),
        );
        let event_type = match kind {
            "Pipeline Hook" => {
                let status = text(attrs, "status").unwrap_or("unknown");
                put(&mut fields, "pipeline_id", attrs.get("id"));
                put(&mut fields, "run_id", attrs.get("id"));
                put(&mut fields, "status", attrs.get("status"));
                put(&mut fields, "branch", attrs.get("ref"));
                put(&mut fields, "commit", attrs.get("sha"));
                put(&mut fields, "run_url", attrs.get("url"));
                put(&mut fields, "duration_secs", attrs.get("duration"));
                put(&mut fields, "trigger", attrs.get("source"));
                match status {
                    "success" | "failed" | "canceled" | "skipped" => {
                        fields.insert("conclusion".into(), json!(gitlab_conclusion(status)));
                        "ci.completed".to_owned()
                    }
                    "running" => "ci.started".to_owned(),
                    _ => "ci.requested".to_owned(),
                }
            }
            "Job Hook" => {
                let status = text(&payload, "build_status").unwrap_or("unknown");
                put(&mut fields, "job", payload.get("build_name"));
                put(&mut fields, "job_id", payload.get("build_id"));
                put(&mut fields, "stage", payload.get("build_stage"));
                put(&mut fields, "status", payload.get("build_status"));
                put(&mut fields, "pipeline_id", payload.get("pipeline_id"));
                put(&mut fields, "run_id", payload.get("pipeline_id"));
                put(&mut fields, "branch", payload.get("ref"));
                put(&mut fields, "commit", payload.get("sha"));
                put(&mut fields, "duration_secs", payload.get("build_duration"));
                if let (Some(web), Some(job_id)) = (
                    text(&payload, "project.web_url").or(text(&payload, "repository.homepage")),
                    payload.get("build_id").filter(|v| v.is_u64()),
                ) {
                    fields.insert("url".into(), json!(format!("{web}/-/jobs/{job_id}")));
                }
                match status {
                    "success" | "failed" | "canceled" | "skipped" => {
                        fields.insert("conclusion".into(), json!(gitlab_conclusion(status)));
                        "ci.job.completed".to_owned()
                    }
                    "running" => "ci.job.started".to_owned(),
                    _ => "ci.job.requested".to_owned(),
                }
            }
            "Deployment Hook" => {
                let status = text(&payload, "status").unwrap_or("unknown");
                put(&mut fields, "status", payload.get("status"));
                put(&mut fields, "environment", payload.get("environment"));
                put(&mut fields, "commit", payload.get("short_sha"));
                put(&mut fields, "ref", payload.get("ref"));
                put(&mut fields, "url", payload.get("deployable_url"));
                match status {
                    "success" => "deploy.completed".to_owned(),
                    "failed" | "canceled" => "deploy.failed".to_owned(),
                    "running" => "deploy.started".to_owned(),
                    other => format!("deploy.{}", segment(other)),
                }
            }
            "Merge Request Hook" => {
                put(&mut fields, "number", attrs.get("iid"));
                put(&mut fields, "title", attrs.get("title"));
                put(&mut fields, "url", attrs.get("url"));
                put(&mut fields, "branch", attrs.get("source_branch"));
                put(&mut fields, "base", attrs.get("target_branch"));
                put(
                    &mut fields,
                    "commit",
                    attrs.get("last_commit").and_then(|c| c.get("id")),
                );
                put(
                    &mut fields,
                    "author",
                    payload.get("user").and_then(|u| u.get("username")),
                );
                match text(attrs, "action").unwrap_or("update") {
                    "open" => "pr.opened".to_owned(),
                    "merge" => "pr.merged".to_owned(),
                    "close" => "pr.closed".to_owned(),
                    "reopen" => "pr.reopened".to_owned(),
                    "update" => "pr.updated".to_owned(),
                    other => format!("pr.{}", segment(other)),
                }
            }
            "Push Hook" | "Tag Push Hook" => {
                let git_ref = text(&payload, "ref").unwrap_or("");
                fields.insert("ref".into(), json!(git_ref));
                if let Some(branch) = git_ref.strip_prefix("refs/heads/") {
                    fields.insert("branch".into(), json!(branch));
                }
                if let Some(tag) = git_ref.strip_prefix("refs/tags/") {
                    fields.insert("tag".into(), json!(tag));
                }
                put(&mut fields, "before", payload.get("before"));
                put(&mut fields, "commit", payload.get("after"));
                put(&mut fields, "commits", payload.get("total_commits_count"));
                put(&mut fields, "pusher", payload.get("user_username"));
                if kind == "Tag Push Hook" {
                    "git.tag".to_owned()
                } else if text(&payload, "after").is_some_and(is_zero_sha) {
                    // The branch is gone: there is no commit to speak of.
                    fields.remove("commit");
                    fields.remove("commits");
                    "git.branch.deleted".to_owned()
                } else {
                    "git.push".to_owned()
                }
            }
            other => {
                if unknown == UnknownEvents::Ignore {
                    return Ok(Decoded::Ignored(format!(
                        "GitLab event `{other}` has no mapping"
                    )));
                }
                format!("gitlab.{}", segment(other.trim_end_matches(" Hook")))
            }
        };
        Ok(Decoded::Events(vec![mapped_event(
            &event_type,
            "gitlab",
            id,
            fields,
            payload,
        )?]))
    }
}

/// GitLab's finished statuses in the vocabulary every source shares (docs/serve.md):
/// `failed` is `failure`, `canceled` is `cancelled`.
fn gitlab_conclusion(status: &str) -> &str {
    match status {
        "canceled" => "cancelled",
        "failed" => "failure",
        other => other,
    }
}
