//! `POST /webhooks/circleci`: CircleCI webhooks, verified with
//! `circleci-signature: v1=<hex HMAC-SHA256 of the body>`.
//!
//! | payload `type` | flowspec event |
//! |---|---|
//! | `workflow-completed` | `ci.completed` (with `conclusion`) |
//! | `job-completed` | `ci.job.completed` |
//! | anything else | `circleci.<type>`, or ignored with `unknown_events: ignore` |

use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::signature::verify_hmac_hex;
use serde_json::{Map, json};

use super::{
    Credential, Decoded, IncomingRequest, Reject, Source, SourceKind, duration_secs, json_body,
    mapped_event, put_field as put, segment, text,
};
use crate::config::{Credentials, ServerConfig, UnknownEvents};

/// The CircleCI source, as declared in [`super::SOURCES`].
pub const KIND: SourceKind = SourceKind {
    name: "circleci",
    path: "/webhooks/circleci",
    scheme: "circleci-signature HMAC",
    credentials: &[Credential::secret("secret", "CIRCLECI_WEBHOOK_SECRET")],
    build,
};

fn build(credentials: &Credentials, _config: &ServerConfig) -> Option<Box<dyn Source>> {
    let secret = credentials.first("secret")?;
    Some(Box::new(CircleciSource::new(secret.clone())))
}

/// The CircleCI source.
pub struct CircleciSource {
    secret: SecretString,
}

impl CircleciSource {
    /// A source verifying with `secret`.
    pub fn new(secret: SecretString) -> Self {
        CircleciSource { secret }
    }
}

impl Source for CircleciSource {
    fn kind(&self) -> &'static SourceKind {
        &KIND
    }

    fn authenticate(&self, request: &IncomingRequest<'_>) -> Result<Option<String>, Reject> {
        let Some(header) = request.header("circleci-signature") else {
            return Err(Reject::unauthorized(
                "missing_signature",
                "`circleci-signature` is missing: set the webhook's secret in CircleCI",
            ));
        };
        // `v1=<hex>`, possibly several comma-separated versions.
        let valid = header
            .split(',')
            .filter_map(|part| part.trim().strip_prefix("v1="))
            .any(|hex| verify_hmac_hex(self.secret.expose_secret().as_bytes(), request.body, hex));
        if !valid {
            return Err(Reject::unauthorized(
                "bad_signature",
                "`circleci-signature` does not match the body",
            ));
        }
        let id = serde_json::from_slice::<serde_json::Value>(request.body)
            .ok()
            .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_owned));
        Ok(id)
    }

    fn decode(
        &self,
        request: &IncomingRequest<'_>,
        unknown: UnknownEvents,
    ) -> Result<Decoded, Reject> {
        let payload = json_body(request.body)?;
        let kind = text(&payload, "type").unwrap_or("");
        let id = text(&payload, "id").map(str::to_owned);
        let mut fields = Map::new();
        fields.insert("provider".into(), json!("circleci"));
        put(
            &mut fields,
            "project",
            payload.get("project").and_then(|p| p.get("slug")),
        );
        let pipeline = &payload["pipeline"];
        put(
            &mut fields,
            "branch",
            pipeline.get("vcs").and_then(|v| v.get("branch")),
        );
        put(
            &mut fields,
            "commit",
            pipeline.get("vcs").and_then(|v| v.get("revision")),
        );
        put(&mut fields, "pipeline_number", pipeline.get("number"));
        let workflow = &payload["workflow"];
        put(&mut fields, "workflow", workflow.get("name"));
        put(&mut fields, "workflow_id", workflow.get("id"));
        // `run_id` is what `flowspec ci --run` takes: on CircleCI, the pipeline id.
        put(&mut fields, "run_id", pipeline.get("id"));
        put(&mut fields, "run_url", workflow.get("url"));
        let event_type = match kind {
            "workflow-completed" => {
                let status = text(workflow, "status").unwrap_or("unknown");
                fields.insert("status".into(), json!(status));
                let conclusion = match status {
                    "success" => "success",
                    "canceled" => "cancelled",
                    "failed" | "error" | "failing" | "unauthorized" => "failure",
                    other => other,
                };
                fields.insert("conclusion".into(), json!(conclusion));
                if let Some(secs) =
                    duration_secs(text(workflow, "created_at"), text(workflow, "stopped_at"))
                {
                    fields.insert("duration_secs".into(), json!(secs));
                }
                "ci.completed".to_owned()
            }
            "job-completed" => {
                let job = &payload["job"];
                put(&mut fields, "job", job.get("name"));
                put(&mut fields, "job_number", job.get("number"));
                put(&mut fields, "status", job.get("status"));
                if let Some(secs) = duration_secs(text(job, "started_at"), text(job, "stopped_at"))
                {
                    fields.insert("duration_secs".into(), json!(secs));
                }
                "ci.job.completed".to_owned()
            }
            other => {
                if unknown == UnknownEvents::Ignore {
                    return Ok(Decoded::Ignored(format!(
                        "CircleCI event `{other}` has no mapping"
                    )));
                }
                format!("circleci.{}", segment(other))
            }
        };
        Ok(Decoded::Events(vec![mapped_event(
            &event_type,
            "circleci",
            id,
            fields,
            payload,
        )?]))
    }
}
