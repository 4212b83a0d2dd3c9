//! `POST /webhooks/jenkins`: the Jenkins Notification plugin's JSON
//! (`{"name", "url", "build": {"phase", "status", "number", "full_url", "scm": ...}}`).
//! Jenkins cannot sign requests: the shared token goes in an `X-Flowspec-Token` header
//! or the `token` query parameter of the URL configured in the plugin (use HTTPS).
//!
//! | `build.phase` | flowspec event |
//! |---|---|
//! | `QUEUED` | `ci.requested` |
//! | `STARTED` | `ci.started` |
//! | `COMPLETED` | `ci.completed` (with `conclusion`) |
//! | `FINALIZED` | ignored (it repeats `COMPLETED`) |

use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::signature::tokens_equal;
use serde_json::{Map, json};

use super::{
    Credential, Decoded, IncomingRequest, Reject, Source, SourceKind, json_body, mapped_event,
    put_field as put, segment, text,
};
use crate::config::{Credentials, ServerConfig, UnknownEvents};

/// The Jenkins source, as declared in [`super::SOURCES`].
pub const KIND: SourceKind = SourceKind {
    name: "jenkins",
    path: "/webhooks/jenkins",
    scheme: "token (X-Flowspec-Token or ?token=)",
    credentials: &[Credential::secret("token", "JENKINS_WEBHOOK_TOKEN")],
    build,
};

fn build(credentials: &Credentials, _config: &ServerConfig) -> Option<Box<dyn Source>> {
    let token = credentials.first("token")?;
    Some(Box::new(JenkinsSource::new(token.clone())))
}

/// The Jenkins source.
pub struct JenkinsSource {
    token: SecretString,
}

impl JenkinsSource {
    /// A source expecting `token`.
    pub fn new(token: SecretString) -> Self {
        JenkinsSource { token }
    }
}

impl Source for JenkinsSource {
    fn kind(&self) -> &'static SourceKind {
        &KIND
    }

    fn authenticate(&self, request: &IncomingRequest<'_>) -> Result<Option<String>, Reject> {
        let given = request
            .header("x-flowspec-token")
            .map(str::to_owned)
            .or_else(|| request.query_param("token"));
        match given {
            None => Err(Reject::unauthorized(
                "missing_token",
                "send the token in `X-Flowspec-Token` or `?token=`",
            )),
            Some(token) if tokens_equal(&token, self.token.expose_secret()) => Ok(None),
            Some(_) => Err(Reject::unauthorized("bad_token", "the token is not valid")),
        }
    }

    fn decode(
        &self,
        request: &IncomingRequest<'_>,
        unknown: UnknownEvents,
    ) -> Result<Decoded, Reject> {
        let payload = json_body(request.body)?;
        let build = &payload["build"];
        let phase = text(build, "phase").unwrap_or("");
        let job = text(&payload, "name").unwrap_or("job");
        let number = build
            .get("number")
            .map(|n| n.to_string())
            .unwrap_or_default();
        let mut fields = Map::new();
        fields.insert("provider".into(), json!("jenkins"));
        put(&mut fields, "job", payload.get("name"));
        put(&mut fields, "build_number", build.get("number"));
        // `run_id` is what `flowspec ci --run` takes: `folder/job#57`.
        if !number.is_empty() {
            let path = text(&payload, "url")
                .map(job_path)
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| job.to_owned());
            fields.insert("run_id".into(), json!(format!("{path}#{number}")));
        }
        put(&mut fields, "run_url", build.get("full_url"));
        put(&mut fields, "status", build.get("status"));
        // The Git plugin reports `origin/main`: keep the branch name only.
        if let Some(branch) = text(build, "scm.branch") {
            let name = branch
                .strip_prefix("refs/heads/")
                .or_else(|| branch.strip_prefix("origin/"))
                .unwrap_or(branch);
            fields.insert("branch".into(), json!(name));
        }
        put(
            &mut fields,
            "commit",
            build.get("scm").and_then(|s| s.get("commit")),
        );
        put(&mut fields, "parameters", build.get("parameters"));
        if let Some(ms) = build.get("duration").and_then(|d| d.as_i64()) {
            fields.insert("duration_secs".into(), json!(ms / 1000));
        }
        let event_type = match phase {
            "QUEUED" => "ci.requested".to_owned(),
            "STARTED" => "ci.started".to_owned(),
            "COMPLETED" => {
                let conclusion = match text(build, "status").unwrap_or("") {
                    "SUCCESS" => "success",
                    "ABORTED" => "cancelled",
                    "UNSTABLE" => "unstable",
                    "NOT_BUILT" => "skipped",
                    _ => "failure",
                };
                fields.insert("conclusion".into(), json!(conclusion));
                "ci.completed".to_owned()
            }
            "FINALIZED" => return Ok(Decoded::Ignored("FINALIZED repeats COMPLETED".into())),
            other => {
                if unknown == UnknownEvents::Ignore {
                    return Ok(Decoded::Ignored(format!(
                        "Jenkins phase `{other}` has no mapping"
                    )));
                }
                format!("jenkins.{}", segment(other))
            }
        };
        let id = Some(format!("{}-{number}-{}", segment(job), segment(phase)));
        Ok(Decoded::Events(vec![mapped_event(
            &event_type,
            "jenkins",
            id,
            fields,
            payload,
        )?]))
    }
}

/// The job's path from the plugin's `url` (`job/team/job/app/` → `team/app`).
fn job_path(url: &str) -> String {
    let mut names = Vec::new();
    let mut segments = url.split('/').filter(|s| !s.is_empty());
    while let Some(segment) = segments.next() {
        if segment == "job"
            && let Some(name) = segments.next()
        {
            names.push(name);
        }
    }
    names.join("/")
}
