//! The requests the custom HTTP CI's provider sends: one method per API call, with the error mapping and pagination of the platform.

use super::*;

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

    pub(super) fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.key_path)
    }

    pub(super) fn unsupported(&self, operation: &str, key: &str) -> ProviderError {
        ProviderError::new(
            ProviderErrorKind::Unsupported,
            format!(
                "this custom CI does not support {operation}: set `{}` to enable it",
                self.field(key)
            ),
        )
    }

    pub(super) fn url(
        &self,
        t: &UrlTemplate,
        values: &[(&str, &str)],
    ) -> Result<Url, ProviderError> {
        let text = t.template.render(|name| {
            values
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| path_segment(v))
        });
        Url::parse(&text).map_err(|e| {
            ProviderError::new(
                ProviderErrorKind::InvalidRequest,
                format!("`{}` does not make a valid URL: {e}", self.field(t.key)),
            )
        })
    }

    pub(super) fn request(&self, method: Method, url: &Url, credentials: bool) -> RequestBuilder {
        self.authorize(
            self.http.reqwest().request(method, url.clone()),
            credentials,
        )
    }

    pub(super) fn authorize(&self, request: RequestBuilder, credentials: bool) -> RequestBuilder {
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

    pub(super) fn error(&self, error: &HttpError, what: &str) -> ProviderError {
        common::from_http(error, what, self.auth.as_ref().map(Auth::source))
    }

    pub(super) async fn send(
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

    pub(super) async fn body(response: Response, what: &str) -> Result<Vec<u8>, ProviderError> {
        response.bytes().await.map(|b| b.to_vec()).map_err(|e| {
            ProviderError::new(
                ProviderErrorKind::Transient,
                format!("{what}: the response broke off: {}", e.without_url()),
            )
        })
    }

    pub(super) async fn json(response: Response, what: &str) -> Result<Value, ProviderError> {
        let bytes = Self::body(response, what).await?;
        common::parse_json(&bytes, what)
    }

    pub(super) fn pick(
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
    pub(super) fn render_body(&self, request: &TriggerRequest, correlation: &str) -> Value {
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
