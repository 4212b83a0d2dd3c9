//! A custom HTTP CI (seed 002, story 4): any CI with an HTTP API, described by URL
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

use crate::common::{self, Token};

/// `ci.config` for `provider: custom`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomConfig {
    /// Where a run is started (POST). Example: `https://ci.example.com/api/trigger`.
    pub trigger_url: String,
    /// Where a run's state is read (GET); must hold `{run_id}`.
    /// Example: `https://ci.example.com/api/status/{run_id}`.
    pub status_url: String,
    /// How to authenticate. Example: `{type: bearer, token: ${CI_TOKEN}}`.
    pub auth: Option<AuthConfig>,
    /// Extra headers on every request (values may use `${VAR}`). Example: `{X-Team: core}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The JSON body of the trigger request, with placeholders.
    /// Example: `{pipeline: "{workflow}", branch: "{ref}", variables: "{inputs}"}`.
    pub trigger_body: Option<Value>,
    /// A header that carries the idempotency key of a trigger, when the CI takes one.
    /// Example: `Idempotency-Key`.
    pub idempotency_header: Option<String>,
    /// JSON pointers into the responses.
    #[serde(default)]
    pub pointers: Pointers,
    /// The CI's status values and what they mean. Example: `{passed: success, broken: failed}`.
    #[serde(default)]
    pub status_map: BTreeMap<String, RunStatus>,
    /// Where the log is read (GET); `{run_id}`, optional `{offset}` and `{job_id}`.
    /// Example: `https://ci.example.com/api/runs/{run_id}/log?offset={offset}`.
    pub logs_url: Option<String>,
    /// Where a run is cancelled (POST). Example: `https://ci.example.com/api/runs/{run_id}/cancel`.
    pub cancel_url: Option<String>,
    /// Where a run is retried (POST); optional `{scope}` (`all`, `failed`) and `{job_id}`.
    /// Example: `https://ci.example.com/api/runs/{run_id}/retry`.
    pub retry_url: Option<String>,
    /// Where a run's artifacts are listed (GET). Example: `https://ci.example.com/api/runs/{run_id}/artifacts`.
    pub artifacts_url: Option<String>,
    /// Seconds one request may take. Example: `30`.
    pub timeout: Option<u64>,
}

/// `auth:` of a custom CI.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `bearer`, `basic` or `header`.
    #[serde(rename = "type")]
    pub kind: AuthKind,
    /// The bearer token, as `${VAR}`.
    pub token: Option<String>,
    /// The basic-auth user (may be literal or `${VAR}`).
    pub username: Option<String>,
    /// The basic-auth password, as `${VAR}`.
    pub password: Option<String>,
    /// The header's name. Example: `X-Api-Key`.
    pub name: Option<String>,
    /// The header's value, as `${VAR}`.
    pub value: Option<String>,
}

/// The kind of `auth:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthKind {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// HTTP Basic with `username` and `password`.
    Basic,
    /// A header of your choice (`name: value`).
    Header,
}

/// JSON pointers (RFC 6901) into the CI's responses.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pointers {
    /// The run id in the trigger and retry responses. Default: `/id`.
    pub run_id: String,
    /// The status in the status response. Default: `/status`.
    pub status: String,
    /// The web page in the trigger and status responses (optional there). Default: `/url`.
    pub url: String,
    /// The array of artifacts in the artifacts response. Default: `` (the whole body).
    pub artifacts: String,
    /// An artifact's name within its object. Default: `/name`.
    pub artifact_name: String,
    /// An artifact's download URL within its object. Default: `/url`.
    pub artifact_url: String,
    /// An artifact's size in bytes within its object (optional). Default: `/size`.
    pub artifact_size: String,
}

impl Default for Pointers {
    fn default() -> Self {
        Pointers {
            run_id: "/id".into(),
            status: "/status".into(),
            url: "/url".into(),
            artifacts: String::new(),
            artifact_name: "/name".into(),
            artifact_url: "/url".into(),
            artifact_size: "/size".into(),
        }
    }
}

/// Checks an RFC 6901 JSON pointer: empty, or `/` then segments where `~` is only
/// followed by `0` or `1`.
///
/// ```
/// use flowspec_providers::custom::check_pointer;
/// assert!(check_pointer("/data/0/id").is_ok());
/// assert!(check_pointer("/a~1b").is_ok());
/// assert!(check_pointer("data.id").is_err());
/// assert!(check_pointer("/a~2").is_err());
/// ```
pub fn check_pointer(pointer: &str) -> Result<(), String> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(format!(
            "`{pointer}` is not a JSON pointer: it must start with `/` (such as `/data/id`)"
        ));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!(
                "`{pointer}` is not a JSON pointer: `~` must be followed by `0` (for `~`) or `1` (for `/`)"
            ));
        }
    }
    Ok(())
}

/// The built-in meaning of common status words (after `status_map`).
pub fn default_status(value: &str) -> RunStatus {
    match value.to_ascii_lowercase().as_str() {
        "pending" | "queued" | "created" | "scheduled" => RunStatus::Queued,
        "running" | "in_progress" | "started" | "building" => RunStatus::Running,
        "waiting" | "manual" | "on_hold" | "blocked" => RunStatus::Waiting,
        "success" | "succeeded" | "passed" | "ok" | "completed" => RunStatus::Success,
        "failed" | "failure" | "error" | "errored" | "broken" => RunStatus::Failed,
        "canceled" | "cancelled" | "aborted" | "stopped" => RunStatus::Cancelled,
        "skipped" => RunStatus::Skipped,
        _ => RunStatus::Unknown,
    }
}

/// A text with `{name}` placeholders.
#[derive(Clone, Debug)]
struct Template {
    text: String,
}

impl Template {
    /// Parses `text`, allowing only `allowed` names (`input.*` when `input.` is allowed).
    fn parse(text: &str, allowed: &[&str]) -> Result<Template, String> {
        for name in placeholders(text)? {
            let ok = allowed.contains(&name.as_str())
                || (allowed.contains(&"input.") && name.starts_with("input.") && name.len() > 6);
            if !ok {
                let list = allowed
                    .iter()
                    .map(|a| {
                        if *a == "input." {
                            "`{input.NAME}`".to_owned()
                        } else {
                            format!("`{{{a}}}`")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(format!(
                    "unknown placeholder `{{{name}}}` (this field takes {list})"
                ));
            }
        }
        Ok(Template {
            text: text.to_owned(),
        })
    }

    fn has(&self, name: &str) -> bool {
        placeholders(&self.text).is_ok_and(|names| names.iter().any(|n| n == name))
    }

    /// Replaces each placeholder with `value(name)` (missing: empty).
    fn render(&self, value: impl Fn(&str) -> Option<String>) -> String {
        let mut out = String::with_capacity(self.text.len());
        let mut rest = self.text.as_str();
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let end = after.find('}').unwrap_or(after.len());
            out.push_str(&value(&after[..end]).unwrap_or_default());
            rest = after.get(end + 1..).unwrap_or("");
        }
        out.push_str(rest);
        out
    }
}

/// The placeholder names in `text`.
fn placeholders(text: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            return Err(format!("`{{` without a closing `}}` in `{text}`"));
        };
        let name = &after[..end];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(format!("`{{{name}}}` is not a placeholder name"));
        }
        names.push(name.to_owned());
        rest = &after[end + 1..];
    }
    Ok(names)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Clone)]
enum Auth {
    Bearer(Token),
    Basic(String, Token),
    Header(String, Token),
}

impl Auth {
    fn source(&self) -> &str {
        match self {
            Auth::Bearer(t) | Auth::Basic(_, t) | Auth::Header(_, t) => t.source(),
        }
    }
}

#[derive(Clone, Debug)]
struct UrlTemplate {
    key: &'static str,
    template: Template,
}

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

struct Builder<'a, 'b> {
    config: &'a Node,
    cx: &'a ProviderContext<'b>,
    errors: ConfigErrors,
}

impl Builder<'_, '_> {
    fn loc(&self, path: &[&str]) -> Loc {
        let mut node = self.config;
        for key in path {
            match node.get(key) {
                Some(n) => node = n,
                None => break,
            }
        }
        node.loc
    }

    fn push(&mut self, path: &[&str], kind: ConfigErrorKind, message: String, hint: &str) {
        let err = ConfigError::new(kind, message)
            .path(self.cx.field_path(&path.join(".")))
            .at(self.loc(path))
            .hint(hint);
        self.errors.push(self.cx.locate(err));
    }

    fn vars(&self) -> &Vars {
        self.cx.vars
    }

    fn url(
        &mut self,
        key: &'static str,
        raw: &str,
        allowed: &[&str],
        required: &[&str],
    ) -> Option<UrlTemplate> {
        let field = self.cx.field_path(key);
        let text = match interpolate(raw, self.vars()) {
            Ok(v) => v.value,
            Err(e) => {
                self.push(
                    &[key],
                    ConfigErrorKind::UnsetVariable,
                    format!("`{field}`: {e}"),
                    "export the variable, or put it in .flowspec/hooks/.env",
                );
                return None;
            }
        };
        let template = match Template::parse(text.trim(), allowed) {
            Ok(t) => t,
            Err(message) => {
                self.push(
                    &[key],
                    ConfigErrorKind::InvalidValue,
                    format!("`{key}`: {message}"),
                    "placeholders are written `{run_id}`; see docs/ci.md (custom HTTP CI)",
                );
                return None;
            }
        };
        for name in required {
            if !template.has(name) {
                self.push(
                    &[key],
                    ConfigErrorKind::InvalidValue,
                    format!("`{key}` must contain `{{{name}}}`"),
                    &format!("write it where the CI expects the {}: `https://ci.example.com/api/runs/{{{name}}}`", name.replace('_', " ")),
                );
                return None;
            }
        }
        let sample = template.render(|_| Some("x".into()));
        if let Err(e) = flowspec_http::target::check_target(&sample) {
            self.push(
                &[key],
                ConfigErrorKind::InvalidValue,
                format!("`{key}`: {}", e.message()),
                "use https://..., or http:// only for localhost",
            );
            return None;
        }
        Some(UrlTemplate { key, template })
    }

    fn pointer(&mut self, key: &str, value: &str) {
        if let Err(message) = check_pointer(value) {
            self.push(
                &["pointers", key],
                ConfigErrorKind::InvalidValue,
                message,
                "a JSON pointer (RFC 6901) names keys from the top: `/data/run/id`; write `~1` for a `/` and `~0` for a `~` inside a key",
            );
        }
    }

    fn secret(&mut self, field: &str, raw: Option<&str>, what: &str) -> Option<Token> {
        let path = ["auth", field];
        let Some(raw) = raw else {
            self.push(
                &["auth"],
                ConfigErrorKind::MissingField,
                format!("missing field `auth.{field}` ({what})"),
                &format!(
                    "write `{field}: ${{CI_{}}}` and set the variable",
                    field.to_ascii_uppercase()
                ),
            );
            return None;
        };
        match Token::resolve(
            Some(raw),
            self.vars(),
            &[],
            &self.cx.field_path(&path.join(".")),
        ) {
            Ok(Some(t)) => Some(t),
            Ok(None) => {
                self.push(
                    &path,
                    ConfigErrorKind::InvalidValue,
                    format!("`auth.{field}` is empty"),
                    "set the variable it names to the secret",
                );
                None
            }
            Err(e) => {
                let e = e.at(self.loc(&path));
                self.errors.push(self.cx.locate(e));
                None
            }
        }
    }

    fn check_body(&mut self, value: &Value) {
        match value {
            Value::String(s) => {
                let allowed = [
                    "workflow",
                    "ref",
                    "inputs",
                    "input.",
                    "correlation_id",
                    "idempotency_key",
                ];
                if let Err(message) = Template::parse(s, &allowed) {
                    self.push(
                        &["trigger_body"],
                        ConfigErrorKind::InvalidValue,
                        format!("`trigger_body`: {message}"),
                        "a string that is exactly `{inputs}` becomes the inputs object",
                    );
                } else if s.contains("{inputs}") && s.trim() != "{inputs}" {
                    self.push(
                        &["trigger_body"],
                        ConfigErrorKind::InvalidValue,
                        format!(
                            "`trigger_body`: `{{inputs}}` must be a whole value, not part of `{s}`"
                        ),
                        "write `inputs: \"{inputs}\"`, or pick one input with `{input.NAME}`",
                    );
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.check_body(v)),
            Value::Object(map) => map.values().for_each(|v| self.check_body(v)),
            _ => {}
        }
    }
}

fn at_pointer<'v>(value: &'v Value, pointer: &str) -> Option<&'v Value> {
    value.pointer(pointer).filter(|v| !v.is_null())
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn keys_of(value: &Value) -> String {
    match value {
        Value::Object(map) if !map.is_empty() => format!(
            "it has {}",
            map.keys()
                .map(|k| format!("`/{}`", k.replace('~', "~0").replace('/', "~1")))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(items) => format!("it is an array of {} items", items.len()),
        other => format!("it is {other}"),
    }
}

impl CustomProvider {
    /// Builds the provider from the `config:` node of a `ci:` entry (what the
    /// [`Factory`] does), checking every URL, placeholder and pointer: all problems
    /// are reported at once, each with its line and key path.
    pub fn from_node(config: &Node, cx: &ProviderContext<'_>) -> Result<Self, ConfigErrors> {
        let raw: CustomConfig =
            from_node(config, &cx.key_path).map_err(|e| ConfigErrors::from(cx.locate(e)))?;
        let mut b = Builder {
            config,
            cx,
            errors: ConfigErrors::default(),
        };
        let trigger_url = b.url("trigger_url", &raw.trigger_url, &["workflow", "ref"], &[]);
        let status_url = b.url("status_url", &raw.status_url, &["run_id"], &["run_id"]);
        let logs_url = raw
            .logs_url
            .as_deref()
            .and_then(|u| b.url("logs_url", u, &["run_id", "offset", "job_id"], &["run_id"]));
        let cancel_url = raw
            .cancel_url
            .as_deref()
            .and_then(|u| b.url("cancel_url", u, &["run_id"], &["run_id"]));
        let retry_url = raw
            .retry_url
            .as_deref()
            .and_then(|u| b.url("retry_url", u, &["run_id", "scope", "job_id"], &["run_id"]));
        let artifacts_url = raw
            .artifacts_url
            .as_deref()
            .and_then(|u| b.url("artifacts_url", u, &["run_id"], &["run_id"]));
        let p = &raw.pointers;
        for (key, value) in [
            ("run_id", &p.run_id),
            ("status", &p.status),
            ("url", &p.url),
            ("artifacts", &p.artifacts),
            ("artifact_name", &p.artifact_name),
            ("artifact_url", &p.artifact_url),
            ("artifact_size", &p.artifact_size),
        ] {
            b.pointer(key, value);
        }
        let trigger_body = raw.trigger_body.clone().unwrap_or_else(
            || json!({"workflow": "{workflow}", "ref": "{ref}", "inputs": "{inputs}"}),
        );
        b.check_body(&trigger_body);
        let mut headers = Vec::new();
        for (name, value) in &raw.headers {
            if flowspec_http::reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                b.push(
                    &["headers", name.as_str()],
                    ConfigErrorKind::InvalidValue,
                    format!("`{name}` is not a valid header name"),
                    "header names are letters, digits and `-`",
                );
                continue;
            }
            match interpolate(value, cx.vars) {
                Ok(v) => headers.push((name.clone(), v.value)),
                Err(e) => b.push(
                    &["headers", name.as_str()],
                    ConfigErrorKind::UnsetVariable,
                    format!("`headers.{name}`: {e}"),
                    "export the variable, or put it in .flowspec/hooks/.env",
                ),
            }
        }
        let auth = raw.auth.as_ref().and_then(|a| {
            let unused = |kind: &str, fields: &[(&str, bool)]| -> Vec<(String, String)> {
                fields
                    .iter()
                    .filter(|(_, set)| *set)
                    .map(|(f, _)| {
                        (
                            (*f).to_owned(),
                            format!("`auth.{f}` is not used with `type: {kind}`"),
                        )
                    })
                    .collect()
            };
            let (kind, extra) = match a.kind {
                AuthKind::Bearer => (
                    "bearer",
                    unused(
                        "bearer",
                        &[
                            ("username", a.username.is_some()),
                            ("password", a.password.is_some()),
                            ("name", a.name.is_some()),
                            ("value", a.value.is_some()),
                        ],
                    ),
                ),
                AuthKind::Basic => (
                    "basic",
                    unused(
                        "basic",
                        &[
                            ("token", a.token.is_some()),
                            ("name", a.name.is_some()),
                            ("value", a.value.is_some()),
                        ],
                    ),
                ),
                AuthKind::Header => (
                    "header",
                    unused(
                        "header",
                        &[
                            ("token", a.token.is_some()),
                            ("username", a.username.is_some()),
                            ("password", a.password.is_some()),
                        ],
                    ),
                ),
            };
            for (field, message) in extra {
                b.push(
                    &["auth", field.as_str()],
                    ConfigErrorKind::UnknownField,
                    message,
                    &format!(
                        "`type: {kind}` takes {}",
                        match a.kind {
                            AuthKind::Bearer => "`token`",
                            AuthKind::Basic => "`username` and `password`",
                            AuthKind::Header => "`name` and `value`",
                        }
                    ),
                );
            }
            match a.kind {
                AuthKind::Bearer => b
                    .secret("token", a.token.as_deref(), "the bearer token")
                    .map(Auth::Bearer),
                AuthKind::Basic => {
                    let user = match &a.username {
                        Some(u) => match interpolate(u, cx.vars) {
                            Ok(v) => Some(v.value),
                            Err(e) => {
                                b.push(
                                    &["auth", "username"],
                                    ConfigErrorKind::UnsetVariable,
                                    format!("`auth.username`: {e}"),
                                    "export the variable, or put it in .flowspec/hooks/.env",
                                );
                                None
                            }
                        },
                        None => {
                            b.push(
                                &["auth"],
                                ConfigErrorKind::MissingField,
                                "missing field `auth.username` (the basic-auth user)".into(),
                                "write `username: ci-bot`",
                            );
                            None
                        }
                    };
                    let password =
                        b.secret("password", a.password.as_deref(), "the basic-auth password");
                    Some(Auth::Basic(user?, password?))
                }
                AuthKind::Header => {
                    let name = match &a.name {
                        Some(n)
                            if flowspec_http::reqwest::header::HeaderName::from_bytes(
                                n.as_bytes(),
                            )
                            .is_ok() =>
                        {
                            Some(n.clone())
                        }
                        Some(n) => {
                            b.push(
                                &["auth", "name"],
                                ConfigErrorKind::InvalidValue,
                                format!("`{n}` is not a valid header name"),
                                "write the API-key header's name: `X-Api-Key`",
                            );
                            None
                        }
                        None => {
                            b.push(
                                &["auth"],
                                ConfigErrorKind::MissingField,
                                "missing field `auth.name` (the header's name)".into(),
                                "write `name: X-Api-Key`",
                            );
                            None
                        }
                    };
                    let value = b.secret("value", a.value.as_deref(), "the header's value");
                    Some(Auth::Header(name?, value?))
                }
            }
        });
        if let Some(h) = &raw.idempotency_header
            && flowspec_http::reqwest::header::HeaderName::from_bytes(h.as_bytes()).is_err()
        {
            b.push(
                &["idempotency_header"],
                ConfigErrorKind::InvalidValue,
                format!("`{h}` is not a valid header name"),
                "write the header your CI reads the key from: `Idempotency-Key`",
            );
        }
        let errors = b.errors;
        let (Some(trigger_url), Some(status_url)) = (trigger_url, status_url) else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut http = HttpConfig::default();
        if let Some(secs) = raw.timeout {
            http = http.request_timeout(Duration::from_secs(secs.max(1)));
        }
        Ok(CustomProvider {
            trigger_url,
            status_url,
            logs_url,
            cancel_url,
            retry_url,
            artifacts_url,
            trigger_body,
            idempotency_header: raw.idempotency_header,
            headers,
            auth,
            pointers: raw.pointers,
            status_map: raw
                .status_map
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            key_path: cx.key_path.clone(),
            http: HttpClient::shared().with_config(http),
        })
    }

    /// Uses `http` (timeouts, retry policy) for every request.
    pub fn with_http(mut self, http: HttpClient) -> Self {
        self.http = http;
        self
    }

    /// What a status value means: `status_map`, then [`default_status`].
    pub fn map_status(&self, value: &str) -> RunStatus {
        self.status_map
            .get(&value.to_ascii_lowercase())
            .copied()
            .unwrap_or_else(|| default_status(value))
    }

    fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.key_path)
    }

    fn unsupported(&self, operation: &str, key: &str) -> ProviderError {
        ProviderError::new(
            ProviderErrorKind::Unsupported,
            format!(
                "this custom CI does not support {operation}: set `{}` to enable it",
                self.field(key)
            ),
        )
    }

    fn url(&self, t: &UrlTemplate, values: &[(&str, &str)]) -> Result<Url, ProviderError> {
        let text = t.template.render(|name| {
            values
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| encode(v))
        });
        Url::parse(&text).map_err(|e| {
            ProviderError::new(
                ProviderErrorKind::InvalidRequest,
                format!("`{}` does not make a valid URL: {e}", self.field(t.key)),
            )
        })
    }

    fn request(&self, method: Method, url: &Url, credentials: bool) -> RequestBuilder {
        self.authorize(
            self.http.reqwest().request(method, url.clone()),
            credentials,
        )
    }

    fn authorize(&self, request: RequestBuilder, credentials: bool) -> RequestBuilder {
        let mut request = request;
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if !credentials {
            return request;
        }
        match &self.auth {
            Some(Auth::Bearer(t)) => request.bearer_auth(t.expose()),
            Some(Auth::Basic(user, t)) => request.basic_auth(user, Some(t.expose())),
            Some(Auth::Header(name, t)) => request.header(name.as_str(), t.expose()),
            None => request,
        }
    }

    fn error(&self, error: &HttpError, what: &str) -> ProviderError {
        common::from_http(error, what, self.auth.as_ref().map(Auth::source))
    }

    async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        extra: Option<(&str, &str)>,
        idempotency: Idempotency,
        what: &str,
    ) -> Result<Response, ProviderError> {
        self.http
            .send_with_retry(idempotency, || {
                let mut request = self.request(method.clone(), url, true);
                if let Some((k, v)) = extra {
                    request = request.header(k, v);
                }
                match body {
                    Some(b) => request.json(b),
                    None => request,
                }
            })
            .await
            .map(|(r, _)| r)
            .map_err(|e| self.error(&e.error, what))
    }

    async fn body(response: Response, what: &str) -> Result<Vec<u8>, ProviderError> {
        response.bytes().await.map(|b| b.to_vec()).map_err(|e| {
            ProviderError::new(
                ProviderErrorKind::Transient,
                format!("{what}: the response broke off: {}", e.without_url()),
            )
        })
    }

    async fn json(response: Response, what: &str) -> Result<Value, ProviderError> {
        let bytes = Self::body(response, what).await?;
        common::parse_json(&bytes, what)
    }

    fn pick(
        &self,
        body: &Value,
        key: &str,
        pointer: &str,
        what: &str,
    ) -> Result<String, ProviderError> {
        at_pointer(body, pointer).and_then(scalar).ok_or_else(|| {
            ProviderError::malformed(
                what,
                format!(
                    "nothing usable at `{pointer}` (`{}`): {}",
                    self.field(&format!("pointers.{key}")),
                    keys_of(body)
                ),
            )
        })
    }

    /// Renders the trigger body for `request`.
    fn render_body(&self, request: &TriggerRequest, correlation: &str) -> Value {
        fn walk(v: &Value, f: &dyn Fn(&str) -> Value) -> Value {
            match v {
                Value::String(s) => f(s),
                Value::Array(items) => Value::Array(items.iter().map(|i| walk(i, f)).collect()),
                Value::Object(map) => {
                    Value::Object(map.iter().map(|(k, v)| (k.clone(), walk(v, f))).collect())
                }
                other => other.clone(),
            }
        }
        let value_of = |name: &str| -> Option<String> {
            match name {
                "workflow" => Some(request.workflow.clone()),
                "ref" => request.git_ref.clone(),
                "correlation_id" => Some(correlation.to_owned()),
                "idempotency_key" => request.idempotency_key.clone(),
                _ => name
                    .strip_prefix("input.")
                    .and_then(|n| request.inputs.get(n).cloned()),
            }
        };
        walk(&self.trigger_body, &|s: &str| {
            let trimmed = s.trim();
            if trimmed == "{inputs}" {
                return json!(request.inputs);
            }
            // A whole-value placeholder without a value is `null`, not "".
            if let Ok(names) = placeholders(trimmed)
                && names.len() == 1
                && trimmed == format!("{{{}}}", names[0])
            {
                return value_of(&names[0]).map_or(Value::Null, Value::String);
            }
            Value::String(Template { text: s.to_owned() }.render(value_of))
        })
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

/// `provider: custom`.
pub struct Factory;

impl ProviderFactory for Factory {
    fn kind(&self) -> &'static str {
        "custom"
    }

    fn describe(&self) -> &'static str {
        "Any CI with an HTTP API: URL templates, JSON pointers and a status mapping (seed 002, story 4)"
    }

    fn example_yaml(&self) -> &'static str {
        "ci:\n  provider: custom\n  config:\n    trigger_url: https://ci.example.com/api/trigger\n    status_url: https://ci.example.com/api/status/{run_id}\n    auth:\n      type: bearer\n      token: ${CI_TOKEN}\n    pointers:\n      run_id: /run/id\n      status: /run/state\n    status_map:\n      passed: success\n      broken: failed\n    logs_url: https://ci.example.com/api/runs/{run_id}/log?offset={offset}\n    cancel_url: https://ci.example.com/api/runs/{run_id}/cancel\n"
    }

    fn build(
        &self,
        config: &Node,
        cx: &ProviderContext<'_>,
    ) -> Result<Arc<dyn CiProvider>, ConfigErrors> {
        Ok(Arc::new(CustomProvider::from_node(config, cx)?))
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
        let text = t.render(|n| Some(encode(if n == "ref" { "feature/a b" } else { "7" })));
        assert_eq!(text, "https://x/runs/7?b=feature%2Fa%20b");
    }

    #[test]
    fn should_map_common_status_words() {
        assert_eq!(default_status("PASSED"), RunStatus::Success);
        assert_eq!(default_status("in_progress"), RunStatus::Running);
        assert_eq!(default_status("weird"), RunStatus::Unknown);
    }
}
