//! `POST /webhooks/github`: GitHub webhooks, verified with `X-Hub-Signature-256`.
//!
//! | `X-GitHub-Event` | flowspec event |
//! |---|---|
//! | `workflow_run` | `ci.requested`, `ci.started`, `ci.completed` (with `conclusion`) |
//! | `workflow_job` | `ci.job.requested` (queued), `ci.job.started` (in_progress), `ci.job.completed` (with `conclusion`) |
//! | `check_suite` | `ci.check_suite.<action>` |
//! | `deployment_status` | `deploy.started`, `deploy.completed`, `deploy.failed` (`deploy.<state>` otherwise) |
//! | `push` | `git.push`; `git.branch.deleted` for a deleted branch (`deleted: true`, `after` all zeros) |
//! | `pull_request` | `pr.<action>`, and `pr.merged` for a merged `closed` |
//! | `ping` | ignored |
//! | anything else | `github.<event>[.<action>]`, or ignored with `unknown_events: ignore` |
//!
//! Every event carries the mapped fields at the top level and the whole delivery under
//! `payload`. `X-GitHub-Delivery` is required (`400 missing_delivery` without it) and
//! makes the event id (`github-<delivery>`), so a delivery is never dispatched twice.
//! The delivery id is not signed, so the replay key is the digest of the signed body:
//! the same body under a new delivery id is refused as a replay.

use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::signature::{body_digest, verify_sha256_header};
use serde_json::{Map, Value, json};

use super::{
    Credential, Decoded, IncomingRequest, Reject, Source, SourceKind, duration_secs, is_zero_sha,
    json_body, mapped_event, put_field as put, segment, text,
};
use crate::config::{Credentials, ServerConfig, UnknownEvents};

/// The GitHub source, as declared in [`super::SOURCES`].
pub const KIND: SourceKind = SourceKind {
    name: "github",
    path: "/webhooks/github",
    scheme: "X-Hub-Signature-256 HMAC",
    credentials: &[Credential::secret("secret", "GITHUB_WEBHOOK_SECRET")],
    build,
};

fn build(credentials: &Credentials, _config: &ServerConfig) -> Option<Box<dyn Source>> {
    let secret = credentials.first("secret")?;
    Some(Box::new(GithubSource::new(secret.clone())))
}

/// The GitHub source.
pub struct GithubSource {
    secret: SecretString,
}

impl GithubSource {
    /// A source verifying with `secret`.
    pub fn new(secret: SecretString) -> Self {
        GithubSource { secret }
    }
}

impl Source for GithubSource {
    fn kind(&self) -> &'static SourceKind {
        &KIND
    }

    fn authenticate(&self, request: &IncomingRequest<'_>) -> Result<Option<String>, Reject> {
        let Some(signature) = request.header("x-hub-signature-256") else {
            return Err(Reject::unauthorized(
                "missing_signature",
                "`X-Hub-Signature-256` is missing: set the webhook's secret in GitHub",
            ));
        };
        if !verify_sha256_header(
            self.secret.expose_secret().as_bytes(),
            request.body,
            signature,
        ) {
            return Err(Reject::unauthorized(
                "bad_signature",
                "`X-Hub-Signature-256` does not match the body",
            ));
        }
        if request
            .header("x-github-delivery")
            .is_none_or(str::is_empty)
        {
            return Err(Reject::bad_request(
                "missing_delivery",
                "`X-GitHub-Delivery` is missing: GitHub sends it with every delivery",
            ));
        }
        // The delivery id is not signed: the replay key is what is.
        Ok(Some(body_digest(request.body)))
    }

    fn decode(
        &self,
        request: &IncomingRequest<'_>,
        unknown: UnknownEvents,
    ) -> Result<Decoded, Reject> {
        let Some(kind) = request.header("x-github-event") else {
            return Err(Reject::bad_request(
                "missing_event",
                "`X-GitHub-Event` is missing",
            ));
        };
        let payload = json_body(request.body)?;
        let action = text(&payload, "action").unwrap_or("");
        let id = request.header("x-github-delivery").map(str::to_owned);
        let mut fields = Map::new();
        fields.insert("provider".into(), json!("github"));
        if let Some(repo) = text(&payload, "repository.full_name") {
            fields.insert("repository".into(), json!(repo));
        }
        let event_type = match kind {
            "ping" => return Ok(Decoded::Ignored("ping".into())),
            "workflow_run" => {
                let run = &payload["workflow_run"];
                let name = run
                    .get("name")
                    .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()));
                put(
                    &mut fields,
                    "workflow",
                    name.or(payload.get("workflow").and_then(|w| w.get("name"))),
                );
                put(&mut fields, "workflow_path", run.get("path"));
                put(&mut fields, "run_id", run.get("id"));
                put(&mut fields, "run_number", run.get("run_number"));
                put(&mut fields, "run_attempt", run.get("run_attempt"));
                put(&mut fields, "run_url", run.get("html_url"));
                put(&mut fields, "status", run.get("status"));
                put(&mut fields, "conclusion", run.get("conclusion"));
                put(&mut fields, "branch", run.get("head_branch"));
                put(&mut fields, "commit", run.get("head_sha"));
                put(&mut fields, "trigger", run.get("event"));
                if let Some(secs) =
                    duration_secs(text(run, "run_started_at"), text(run, "updated_at"))
                {
                    fields.insert("duration_secs".into(), json!(secs));
                }
                match action {
                    "completed" => "ci.completed".to_owned(),
                    "in_progress" => "ci.started".to_owned(),
                    "requested" => "ci.requested".to_owned(),
                    other => format!("github.workflow_run.{}", segment(other)),
                }
            }
            "workflow_job" => {
                let job = &payload["workflow_job"];
                put(&mut fields, "job", job.get("name"));
                put(&mut fields, "job_id", job.get("id"));
                put(&mut fields, "run_id", job.get("run_id"));
                put(&mut fields, "run_attempt", job.get("run_attempt"));
                put(&mut fields, "workflow", job.get("workflow_name"));
                put(&mut fields, "status", job.get("status"));
                put(&mut fields, "conclusion", job.get("conclusion"));
                put(&mut fields, "branch", job.get("head_branch"));
                put(&mut fields, "commit", job.get("head_sha"));
                put(&mut fields, "url", job.get("html_url"));
                put(&mut fields, "runner", job.get("runner_name"));
                if let Some(secs) =
                    duration_secs(text(job, "started_at"), text(job, "completed_at"))
                {
                    fields.insert("duration_secs".into(), json!(secs));
                }
                match action {
                    "completed" => "ci.job.completed".to_owned(),
                    "in_progress" => "ci.job.started".to_owned(),
                    "queued" => "ci.job.requested".to_owned(),
                    other => format!("github.workflow_job.{}", segment(other)),
                }
            }
            "check_suite" => {
                let suite = &payload["check_suite"];
                put(&mut fields, "status", suite.get("status"));
                put(&mut fields, "conclusion", suite.get("conclusion"));
                put(&mut fields, "branch", suite.get("head_branch"));
                put(&mut fields, "commit", suite.get("head_sha"));
                put(
                    &mut fields,
                    "app",
                    suite.get("app").and_then(|a| a.get("slug")),
                );
                format!("ci.check_suite.{}", segment(action))
            }
            "deployment_status" => {
                let status = &payload["deployment_status"];
                let deployment = &payload["deployment"];
                let state = text(status, "state").unwrap_or("unknown");
                put(&mut fields, "state", status.get("state"));
                put(
                    &mut fields,
                    "environment",
                    status.get("environment").or(deployment.get("environment")),
                );
                put(&mut fields, "commit", deployment.get("sha"));
                put(&mut fields, "ref", deployment.get("ref"));
                put(
                    &mut fields,
                    "url",
                    status
                        .get("environment_url")
                        .filter(|v| !v.as_str().unwrap_or("").is_empty())
                        .or(status.get("target_url")),
                );
                put(&mut fields, "description", status.get("description"));
                match state {
                    "success" => "deploy.completed".to_owned(),
                    "failure" | "error" => "deploy.failed".to_owned(),
                    "in_progress" | "queued" | "pending" => "deploy.started".to_owned(),
                    other => format!("deploy.{}", segment(other)),
                }
            }
            "push" => {
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
                put(
                    &mut fields,
                    "pusher",
                    payload.get("pusher").and_then(|p| p.get("name")),
                );
                let count = payload
                    .get("commits")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                fields.insert("commits".into(), json!(count));
                let deleted = payload.get("deleted").and_then(Value::as_bool) == Some(true)
                    || text(&payload, "after").is_some_and(is_zero_sha);
                if deleted {
                    // The branch is gone: there is no commit to speak of.
                    fields.remove("commit");
                    fields.remove("commits");
                    "git.branch.deleted".to_owned()
                } else {
                    "git.push".to_owned()
                }
            }
            "pull_request" => {
                let pr = &payload["pull_request"];
                put(
                    &mut fields,
                    "number",
                    pr.get("number").or(payload.get("number")),
                );
                put(&mut fields, "title", pr.get("title"));
                put(&mut fields, "url", pr.get("html_url"));
                put(
                    &mut fields,
                    "branch",
                    pr.get("head").and_then(|h| h.get("ref")),
                );
                put(
                    &mut fields,
                    "base",
                    pr.get("base").and_then(|b| b.get("ref")),
                );
                put(
                    &mut fields,
                    "commit",
                    pr.get("head").and_then(|h| h.get("sha")),
                );
                put(
                    &mut fields,
                    "author",
                    pr.get("user").and_then(|u| u.get("login")),
                );
                put(&mut fields, "draft", pr.get("draft"));
                let merged = pr.get("merged").and_then(Value::as_bool).unwrap_or(false);
                match action {
                    "closed" if merged => "pr.merged".to_owned(),
                    other => format!("pr.{}", segment(other)),
                }
            }
            other => {
                if unknown == UnknownEvents::Ignore {
                    return Ok(Decoded::Ignored(format!(
                        "GitHub event `{other}` has no mapping"
                    )));
                }
                if action.is_empty() {
                    format!("github.{}", segment(other))
                } else {
                    format!("github.{}.{}", segment(other), segment(action))
                }
            }
        };
        Ok(Decoded::Events(vec![mapped_event(
            &event_type,
            "github",
            id,
            fields,
            payload,
        )?]))
    }
}
