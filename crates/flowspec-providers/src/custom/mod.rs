//! A custom HTTP CI: any CI with an HTTP API, described by URL
//! templates and JSON pointers.
//!
//! ```yaml
//! ci:
//!   provider: custom
//!   config:
//!     trigger_url: https://ci.example.com/api/trigger
//!     status_url: https://ci.example.com/api/status/{run_id}
//!     auth:
//!       type: bearer                # bearer | basic | header
//!       token: ${CI_TOKEN}
//!     # Everything below is optional.
//!     trigger_body:                 # the JSON sent to trigger_url (this is the default)
//!       workflow: "{workflow}"
//!       ref: "{ref}"
//!       inputs: "{inputs}"
//!     pointers:                     # RFC 6901 JSON pointers into the responses
//!       run_id: /id                 # in the trigger (and retry) response
//!       status: /status             # in the status response
//!       url: /url                   # in both, when present
//!     status_map:                   # the CI's values → queued|running|waiting|success|failed|cancelled|skipped
//!       passed: success
//!       broken: failed
//!     logs_url: https://ci.example.com/api/runs/{run_id}/log?offset={offset}
//!     cancel_url: https://ci.example.com/api/runs/{run_id}/cancel
//!     retry_url: https://ci.example.com/api/runs/{run_id}/retry?scope={scope}
//!     artifacts_url: https://ci.example.com/api/runs/{run_id}/artifacts
//! ```
//!
//! - `auth`: `bearer` (`token`), `basic` (`username`, `password`) or `header`
//!   (`name`, `value`: an API-key header). Secrets are `${VAR}`, never literal.
//! - Placeholders in URLs (values percent-encoded): `{run_id}` (required in
//!   `status_url`), `{workflow}` and `{ref}` (trigger), `{offset}` and `{job_id}`
//!   (logs), `{scope}` (`all`/`failed`) and `{job_id}` (retry).
//! - Placeholders in `trigger_body` strings: `{workflow}`, `{ref}`, `{input.NAME}`,
//!   `{correlation_id}`, `{idempotency_key}`; a string that is exactly `{inputs}`
//!   becomes the inputs object, exactly `{ref}` becomes `null` without a ref.
//! - Statuses: `status_map` first (case-insensitive), then the built-in words
//!   (`pending`, `queued` → queued; `running`, `in_progress` → running; `success`,
//!   `passed` → success; `failed`, `failure`, `error` → failed; `canceled`,
//!   `cancelled`, `aborted` → cancelled; `skipped` → skipped; `waiting`, `manual` →
//!   waiting); anything else is `unknown`, with the raw value kept.
//! - Logs: with `{offset}` the server returns the text after that byte offset;
//!   without it flowspec reads the whole log and keeps the new part. A log is
//!   complete once the run's status is final.
//! - Jobs: a custom CI has one job per run, the run itself.
//! - Artifacts: `artifacts_url` answers a JSON array (at `pointers.artifacts`) of
//!   objects with `name`, `url` and optionally `size` (pointers `artifact_name`,
//!   `artifact_url`, `artifact_size`). Downloads from the CI's own host carry the
//!   credentials; other hosts (pre-signed storage) get none.
//! - Whatever is not configured is `Unsupported`, naming the key that enables it.

mod api;
mod config;
mod factory;
mod wire;

pub use config::*;
pub use factory::*;
pub use wire::*;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use flowspec_core::config::{
    ConfigError, ConfigErrorKind, ConfigErrors, Loc, Node, Vars, from_node, interpolate,
};
use flowspec_core::provider::{
    Artifact, ArtifactSink, CiProvider, Job, JobId, LogChunk, ProviderContext, ProviderError,
    ProviderErrorKind, ProviderFactory, RetryScope, Run, RunDiscovery, RunId, RunRef, RunStatus,
    TriggerRequest,
};
use flowspec_http::reqwest::{Method, RequestBuilder, Response};
use flowspec_http::{HttpClient, HttpConfig, HttpError, Idempotency, Redirects};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::common::{self, Token, path_segment};

/// A custom HTTP CI.
pub struct CustomProvider {
    trigger_url: UrlTemplate,
    status_url: UrlTemplate,
    logs_url: Option<UrlTemplate>,
    cancel_url: Option<UrlTemplate>,
    retry_url: Option<UrlTemplate>,
    artifacts_url: Option<UrlTemplate>,
    trigger_body: Value,
    idempotency_header: Option<String>,
    headers: Vec<(String, String)>,
    auth: Option<Auth>,
    pointers: Pointers,
    status_map: BTreeMap<String, RunStatus>,
    key_path: String,
    http: HttpClient,
}

impl std::fmt::Debug for CustomProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomProvider")
            .field("key_path", &self.key_path)
            .field("token_from", &self.auth.as_ref().map(Auth::source))
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CiProvider for CustomProvider {
    fn kind(&self) -> &'static str {
        "custom"
    }

    async fn trigger(&self, request: &TriggerRequest) -> Result<RunRef, ProviderError> {
        let correlation = request
            .correlation_id
            .clone()
            .unwrap_or_else(common::correlation_id);
        let git_ref = request.git_ref.clone().unwrap_or_default();
        let url = self.url(
            &self.trigger_url,
            &[
                ("workflow", request.workflow.as_str()),
                ("ref", git_ref.as_str()),
            ],
        )?;
        let body = self.render_body(request, &correlation);
        let what = "trigger a run of the custom CI";
        // With an idempotency key the CI deduplicates, so an ambiguous failure may be retried.
        let (extra, idempotency) = match (&self.idempotency_header, &request.idempotency_key) {
            (Some(h), Some(k)) => (Some((h.as_str(), k.as_str())), Idempotency::Safe),
            _ => (None, Idempotency::Unsafe),
        };
        let response = self
            .send(Method::POST, &url, Some(&body), extra, idempotency, what)
            .await?;
        let json = Self::json(response, what).await?;
        let id = self.pick(&json, "run_id", &self.pointers.run_id, what)?;
        let mut run = RunRef::new(id).discovered_by(RunDiscovery::Response);
        run.url = at_pointer(&json, &self.pointers.url).and_then(scalar);
        Ok(run)
    }

    async fn get_run(&self, run: &RunId) -> Result<Run, ProviderError> {
        let url = self.url(&self.status_url, &[("run_id", run.as_str())])?;
        let what = format!("get run {run}");
        let response = self
            .send(Method::GET, &url, None, None, Idempotency::Safe, &what)
            .await?;
        let json = Self::json(response, &what).await?;
        let raw = self.pick(&json, "status", &self.pointers.status, &what)?;
        let mut out = Run::new(run.clone(), self.map_status(&raw), raw);
        out.url = at_pointer(&json, &self.pointers.url).and_then(scalar);
        Ok(out)
    }

    async fn list_jobs(&self, run: &RunId) -> Result<Vec<Job>, ProviderError> {
        let r = self.get_run(run).await?;
        let mut job = Job::new(run.as_str(), "run", r.status, r.raw_status);
        job.url = r.url;
        Ok(vec![job])
    }

    async fn job_log(
        &self,
        run: &RunId,
        job: &JobId,
        offset: u64,
    ) -> Result<LogChunk, ProviderError> {
        let Some(t) = &self.logs_url else {
            return Err(self.unsupported("logs", "logs_url"));
        };
        // The status first: a log read after the run ended is complete.
        let complete = self.get_run(run).await?.status.is_terminal();
        let offset_text = offset.to_string();
        let url = self.url(
            t,
            &[
                ("run_id", run.as_str()),
                ("job_id", job.as_str()),
                ("offset", offset_text.as_str()),
            ],
        )?;
        let what = format!("read the log of run {run}");
        let response = self
            .send(Method::GET, &url, None, None, Idempotency::Safe, &what)
            .await?;
        let bytes = Self::body(response, &what).await?;
        if t.template.has("offset") {
            let next = offset + bytes.len() as u64;
            Ok(LogChunk::new(bytes, next, complete))
        } else {
            Ok(LogChunk::suffix(bytes, offset, complete))
        }
    }

    async fn retry(&self, run: &RunId, scope: &RetryScope) -> Result<RunRef, ProviderError> {
        let Some(t) = &self.retry_url else {
            return Err(self.unsupported("retrying runs", "retry_url"));
        };
        let (scope_text, job) = match scope {
            RetryScope::All => ("all", None),
            RetryScope::Failed => ("failed", None),
            RetryScope::Job(j) => ("job", Some(j.as_str())),
            _ => return Err(self.unsupported("this retry", "retry_url")),
        };
        if scope_text == "failed" && !t.template.has("scope") {
            return Err(ProviderError::new(
                ProviderErrorKind::Unsupported,
                format!(
                    "this custom CI cannot retry only the failed jobs: put `{{scope}}` (`all` or `failed`) in `{}`, or retry the whole run",
                    self.field("retry_url")
                ),
            ));
        }
        if job.is_some() && !t.template.has("job_id") {
            return Err(ProviderError::new(
                ProviderErrorKind::Unsupported,
                format!(
                    "this custom CI cannot retry one job: put `{{job_id}}` in `{}`, or retry the whole run",
                    self.field("retry_url")
                ),
            ));
        }
        let url = self.url(
            t,
            &[
                ("run_id", run.as_str()),
                ("scope", scope_text),
                ("job_id", job.unwrap_or("")),
            ],
        )?;
        let what = format!("retry run {run}");
        let response = self
            .send(Method::POST, &url, None, None, Idempotency::Unsafe, &what)
            .await?;
        // The retry may answer a new run; otherwise the same run runs again.
        let bytes = response.bytes().await.unwrap_or_default();
        let json: Option<Value> = serde_json::from_slice(&bytes).ok();
        let id = json
            .as_ref()
            .and_then(|j| at_pointer(j, &self.pointers.run_id))
            .and_then(scalar)
            .unwrap_or_else(|| run.to_string());
        let mut r = RunRef::new(id);
        r.url = json
            .as_ref()
            .and_then(|j| at_pointer(j, &self.pointers.url))
            .and_then(scalar);
        Ok(r)
    }

    async fn cancel(&self, run: &RunId) -> Result<(), ProviderError> {
        let Some(t) = &self.cancel_url else {
            return Err(self.unsupported("cancelling runs", "cancel_url"));
        };
        let url = self.url(t, &[("run_id", run.as_str())])?;
        self.send(
            Method::POST,
            &url,
            None,
            None,
            Idempotency::Safe,
            &format!("cancel run {run}"),
        )
        .await?;
        Ok(())
    }

    async fn list_artifacts(&self, run: &RunId) -> Result<Vec<Artifact>, ProviderError> {
        let Some(t) = &self.artifacts_url else {
            return Err(self.unsupported("artifacts", "artifacts_url"));
        };
        let url = self.url(t, &[("run_id", run.as_str())])?;
        let what = format!("list the artifacts of run {run}");
        let response = self
            .send(Method::GET, &url, None, None, Idempotency::Safe, &what)
            .await?;
        let json = Self::json(response, &what).await?;
        let items = at_pointer(&json, &self.pointers.artifacts)
            .and_then(Value::as_array)
            .ok_or_else(|| {
                ProviderError::malformed(
                    &what,
                    format!(
                        "no array at `{}` (`{}`): {}",
                        self.pointers.artifacts,
                        self.field("pointers.artifacts"),
                        keys_of(&json)
                    ),
                )
            })?;
        items
            .iter()
            .map(|item| {
                let name = self.pick(item, "artifact_name", &self.pointers.artifact_name, &what)?;
                let link = self.pick(item, "artifact_url", &self.pointers.artifact_url, &what)?;
                // Relative links are relative to the artifacts URL.
                let link = url
                    .join(&link)
                    .map_err(|e| ProviderError::malformed(&what, e))?;
                let mut artifact = Artifact::new(link.to_string(), name);
                artifact.size =
                    at_pointer(item, &self.pointers.artifact_size).and_then(Value::as_u64);
                artifact.zip = artifact.name.ends_with(".zip");
                Ok(artifact)
            })
            .collect()
    }

    async fn download_artifact(
        &self,
        run: &RunId,
        artifact: &Artifact,
        sink: &mut ArtifactSink<'_>,
    ) -> Result<u64, ProviderError> {
        let Some(t) = &self.artifacts_url else {
            return Err(self.unsupported("artifacts", "artifacts_url"));
        };
        let what = format!("download artifact `{}`", artifact.name);
        let url = flowspec_http::target::check_target(artifact.id.as_str())
            .map_err(|e| common::from_http(&e, &what, None))?;
        let list = self.url(t, &[("run_id", run.as_str())])?;
        // Credentials only go to the CI's own origin.
        let own = url.origin() == list.origin();
        // Redirects are followed by hand, without credentials (an `auth: header`
        // key would otherwise travel to the redirect's host).
        let direct = HttpClient::new(self.http.config().clone().redirects(Redirects::Return))
            .map_err(|e| common::from_http(&e, &what, None))?;
        let (response, _) = direct
            .send_with_retry(Idempotency::Safe, || {
                // Large files: the read timeout guards silence, not the total time.
                self.authorize(
                    direct
                        .reqwest()
                        .get(url.clone())
                        .timeout(Duration::from_secs(24 * 3600)),
                    own,
                )
            })
            .await
            .map_err(|e| {
                if own {
                    self.error(&e.error, &what)
                } else {
                    common::from_http(&e.error, &what, None)
                }
            })?;
        crate::download::stream_or_follow(&self.http, &url, response, &what, sink).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_refuse_unknown_placeholders_and_list_the_known_ones() {
        let err = Template::parse("https://x/{run}", &["run_id"]).unwrap_err();
        assert_eq!(
            err,
            "unknown placeholder `{run}` (this field takes `{run_id}`)"
        );
        assert!(Template::parse("https://x/{run_id", &["run_id"]).is_err());
    }

    #[test]
    fn should_encode_values_put_into_urls() {
        let t = Template::parse("https://x/runs/{run_id}?b={ref}", &["run_id", "ref"]).unwrap();
        let text = t.render(|n| Some(path_segment(if n == "ref" { "feature/a b" } else { "7" })));
        assert_eq!(text, "https://x/runs/7?b=feature%2Fa%20b");
    }

    #[test]
    fn should_map_common_status_words() {
        assert_eq!(default_status("PASSED"), RunStatus::Success);
        assert_eq!(default_status("in_progress"), RunStatus::Running);
        assert_eq!(default_status("weird"), RunStatus::Unknown);
    }
}
