//! The `config:` of a `custom` profile in `.flowspec/flowspec.yaml`: its raw shape and the validated form the provider is built from.

use super::*;

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

/// A text with `{name}` placeholders.
#[derive(Clone, Debug)]
pub(super) struct Template {
    pub(super) text: String,
}

impl Template {
    /// Parses `text`, allowing only `allowed` names (`input.*` when `input.` is allowed).
    pub(super) fn parse(text: &str, allowed: &[&str]) -> Result<Template, String> {
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

    pub(super) fn has(&self, name: &str) -> bool {
        placeholders(&self.text).is_ok_and(|names| names.iter().any(|n| n == name))
    }

    /// Replaces each placeholder with `value(name)` (missing: empty).
    pub(super) fn render(&self, value: impl Fn(&str) -> Option<String>) -> String {
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
pub(super) fn placeholders(text: &str) -> Result<Vec<String>, String> {
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

#[derive(Clone)]
pub(super) enum Auth {
    Bearer(Token),
    Basic(String, Token),
    Header(String, Token),
}

impl Auth {
    pub(super) fn source(&self) -> &str {
        match self {
            Auth::Bearer(t) | Auth::Basic(_, t) | Auth::Header(_, t) => t.source(),
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct UrlTemplate {
    pub(super) key: &'static str,
    pub(super) template: Template,
}

pub(super) struct Builder<'a, 'b> {
    pub(super) config: &'a Node,
    pub(super) cx: &'a ProviderContext<'b>,
    pub(super) errors: ConfigErrors,
}

impl Builder<'_, '_> {
    pub(super) fn loc(&self, path: &[&str]) -> Loc {
        let mut node = self.config;
        for key in path {
            match node.get(key) {
                Some(n) => node = n,
                None => break,
            }
        }
        node.loc
    }

    pub(super) fn push(
        &mut self,
        path: &[&str],
        kind: ConfigErrorKind,
        message: String,
        hint: &str,
    ) {
        let err = ConfigError::new(kind, message)
            .path(self.cx.field_path(&path.join(".")))
            .at(self.loc(path))
            .hint(hint);
        self.errors.push(self.cx.locate(err));
    }

    pub(super) fn vars(&self) -> &Vars {
        self.cx.vars
    }

    pub(super) fn url(
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

    pub(super) fn pointer(&mut self, key: &str, value: &str) {
        if let Err(message) = check_pointer(value) {
            self.push(
                &["pointers", key],
                ConfigErrorKind::InvalidValue,
                message,
                "a JSON pointer (RFC 6901) names keys from the top: `/data/run/id`; write `~1` for a `/` and `~0` for a `~` inside a key",
            );
        }
    }

    pub(super) fn secret(&mut self, field: &str, raw: Option<&str>, what: &str) -> Option<Token> {
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

    pub(super) fn check_body(&mut self, value: &Value) {
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
