//! What every provider shares: tokens from the conventional variables or `${VAR}`,
//! the `api_url` check, defaults from the git checkout, HTTP errors turned into
//! [`ProviderError`]s, and `Link`-header pagination.

use std::path::Path;
use std::process::Command;

use flowspec_core::config::{ConfigError, ConfigErrorKind, Vars, interpolate};
use flowspec_core::provider::{ProviderError, ProviderErrorKind};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::reqwest::header::HeaderMap;
use flowspec_http::{HttpError, HttpErrorKind};
use url::Url;

/// A token and the variable it came from (named in errors, never its value).
#[derive(Clone)]
pub struct Token {
    secret: SecretString,
    source: String,
}

impl Token {
    /// A token from `source` (a variable name or a description).
    pub fn new(secret: impl Into<String>, source: impl Into<String>) -> Self {
        Token {
            secret: SecretString::from(secret.into()),
            source: source.into(),
        }
    }

    /// The secret value, for a request header.
    pub fn expose(&self) -> &str {
        self.secret.expose_secret()
    }

    /// Where the token came from: `GITHUB_TOKEN`, or `ci.config.token (${VAR})`.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Finds a token: the config value (with `${VAR}` interpolated) when given,
    /// otherwise the first set variable of `conventional`. An empty value counts
    /// as unset. `field` is the key path of the config value, for errors.
    ///
    /// ```
    /// use flowspec_core::config::Vars;
    /// use flowspec_providers::common::Token;
    ///
    /// let vars = Vars::from_pairs([("GH_TOKEN", "ghp_x"), ("MY_TOKEN", "ghp_y")]);
    /// let t = Token::resolve(None, &vars, &["GITHUB_TOKEN", "GH_TOKEN"], "ci.config.token").unwrap().unwrap();
    /// assert_eq!((t.expose(), t.source()), ("ghp_x", "GH_TOKEN"));
    /// let t = Token::resolve(Some("${MY_TOKEN}"), &vars, &["GH_TOKEN"], "ci.config.token").unwrap().unwrap();
    /// assert_eq!((t.expose(), t.source()), ("ghp_y", "MY_TOKEN"));
    /// ```
    pub fn resolve(
        configured: Option<&str>,
        vars: &Vars,
        conventional: &[&str],
        field: &str,
    ) -> Result<Option<Token>, ConfigError> {
        if let Some(raw) = configured {
            let interpolated = interpolate(raw, vars).map_err(|e| {
                ConfigError::new(ConfigErrorKind::UnsetVariable, format!("`{field}`: {e}"))
                    .path(field)
                    .hint("export the variable, or put it in .flowspec/hooks/.env")
            })?;
            if interpolated.vars.is_empty() {
                return Err(ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    format!("`{field}` holds a literal token; secrets never go in config files"),
                )
                .path(field)
                .hint("write `${MY_TOKEN}` and set MY_TOKEN in the environment or .flowspec/hooks/.env"));
            }
            if interpolated.value.trim().is_empty() {
                return Ok(None);
            }
            let source = interpolated.vars.join("+");
            return Ok(Some(Token::new(interpolated.value, source)));
        }
        Ok(conventional.iter().find_map(|name| {
            vars.get(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| Token::new(v, *name))
        }))
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token(*** from {})", self.source)
    }
}

pub use flowspec_http::target::path_segment;

/// Parses and checks an `api_url` (HTTPS, or plain HTTP to loopback only); `${VAR}`
/// is interpolated. A trailing `/` is added so relative paths join under it.
pub fn api_url(raw: &str, vars: &Vars, field: &str) -> Result<Url, ConfigError> {
    let value = interpolate(raw, vars)
        .map_err(|e| {
            ConfigError::new(ConfigErrorKind::UnsetVariable, format!("`{field}`: {e}")).path(field)
        })?
        .value;
    let mut url = flowspec_http::target::check_target(value.trim()).map_err(|e| {
        ConfigError::new(
            ConfigErrorKind::InvalidValue,
            format!("`{field}`: {}", e.message()),
        )
        .path(field)
        .hint("use https://..., or http:// only for localhost")
    })?;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The repository and branch of a git checkout, for defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitDefaults {
    /// The host of the `origin` remote (`github.com`).
    pub host: Option<String>,
    /// The repository path of the `origin` remote (`owner/name`, `group/sub/proj`).
    pub repo: Option<String>,
    /// The current branch (none on a detached HEAD).
    pub branch: Option<String>,
}

impl GitDefaults {
    /// Reads `origin` and the current branch of the checkout at `root` with `git`;
    /// everything is `None` outside a checkout or without git.
    pub fn discover(root: &Path) -> Self {
        let git = |args: &[&str]| -> Option<String> {
            let output = Command::new("git")
                .arg("-C")
                .arg(root)
                .args(args)
                .output()
                .ok()?;
            let text = String::from_utf8(output.stdout).ok()?;
            let text = text.trim();
            (output.status.success() && !text.is_empty()).then(|| text.to_owned())
        };
        let (host, repo) = git(&["remote", "get-url", "origin"])
            .and_then(|url| parse_remote(&url))
            .map_or((None, None), |(h, r)| (Some(h), Some(r)));
        GitDefaults {
            host,
            repo,
            branch: git(&["branch", "--show-current"]),
        }
    }
}

/// Splits a git remote URL into (host, repository path).
///
/// ```
/// use flowspec_providers::common::parse_remote;
/// assert_eq!(parse_remote("git@github.com:octo/app.git"), Some(("github.com".into(), "octo/app".into())));
/// assert_eq!(parse_remote("https://gitlab.com/group/sub/proj"), Some(("gitlab.com".into(), "group/sub/proj".into())));
/// assert_eq!(parse_remote("ssh://git@git.example.com:2222/a/b.git"), Some(("git.example.com".into(), "a/b".into())));
/// ```
pub fn parse_remote(url: &str) -> Option<(String, String)> {
    let url = url.trim();
    let (host, path) = if let Ok(parsed) = Url::parse(url)
        && parsed.has_host()
    {
        (parsed.host_str()?.to_owned(), parsed.path().to_owned())
    } else {
        // scp-like: [user@]host:path
        let (left, path) = url.split_once(':')?;
        let host = left.rsplit('@').next()?;
        (host.to_owned(), path.to_owned())
    };
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    (!host.is_empty() && path.contains('/')).then(|| (host, path.to_owned()))
}

/// Turns an HTTP failure into a [`ProviderError`]. `what` says what was being done
/// (`get run 42`); `token_var` names where the token came from, for auth errors.
pub fn from_http(error: &HttpError, what: &str, token_var: Option<&str>) -> ProviderError {
    let kind = match error.kind() {
        HttpErrorKind::Auth => ProviderErrorKind::Auth,
        HttpErrorKind::NotFound => ProviderErrorKind::NotFound,
        HttpErrorKind::RateLimited => ProviderErrorKind::RateLimited,
        HttpErrorKind::Transient => ProviderErrorKind::Transient,
        HttpErrorKind::InvalidRequest => ProviderErrorKind::InvalidRequest,
        _ => ProviderErrorKind::Platform,
    };
    let mut err = ProviderError::new(kind, format!("{what}: {}", error.message()))
        .with_retry_after(error.retry_after())
        .with_reset_at(error.reset_at())
        .with_delivery(error.maybe_sent(), true);
    if let Some(status) = error.status() {
        err = err.with_status(status.as_u16());
    }
    if let Some(message) = error.body().and_then(platform_message) {
        err = err.with_platform_message(message);
    }
    if kind == ProviderErrorKind::Auth {
        match token_var {
            Some(var) => err = err.with_token_var(var),
            None => {
                err = err.with_platform_message(
                    "no token was sent (set the provider's token variable or `token:` in the `ci:` config)",
                )
            }
        }
    }
    err
}

/// The message of a JSON error body (`message`, `error`, GitLab's per-field
/// `{"message": {"ref": ["..."]}}`), or its first line.
pub fn platform_message(body: &str) -> Option<String> {
    let body = body.trim();
    if body.is_empty() {
        return None;
    }
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
        for key in ["message", "error", "error_description"] {
            match json.get(key) {
                Some(serde_json::Value::String(s)) => return Some(s.clone()),
                Some(serde_json::Value::Object(fields)) => {
                    let parts: Vec<String> = fields
                        .iter()
                        .map(|(k, v)| match v {
                            serde_json::Value::Array(items) => format!(
                                "{k}: {}",
                                items
                                    .iter()
                                    .map(|i| i
                                        .as_str()
                                        .map_or_else(|| i.to_string(), str::to_owned))
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            ),
                            other => format!("{k}: {other}"),
                        })
                        .collect();
                    return Some(parts.join(", "));
                }
                _ => {}
            }
        }
        return None;
    }
    // HTML error pages (Jenkins, proxies) say nothing useful in their first line.
    if body.starts_with('<') {
        return None;
    }
    body.lines()
        .next()
        .map(|l| l.chars().take(300).collect::<String>())
}

/// The `rel="next"` URL of a `Link` header (GitHub and GitLab pagination).
///
/// ```
/// use flowspec_providers::common::next_link;
/// let header = r#"<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last""#;
/// assert_eq!(next_link(header).as_deref(), Some("https://api.github.com/x?page=2"));
/// ```
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

/// The next page URL from response headers (`Link: rel="next"`), if any.
pub fn next_page(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(next_link)
}

/// Parses JSON, turning a malformed body into a [`ProviderErrorKind::Platform`] error.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> Result<T, ProviderError> {
    serde_json::from_slice(bytes).map_err(|e| ProviderError::malformed(what, e))
}

/// A new correlation id: short, unique, safe in a run name and an input value.
pub fn correlation_id() -> String {
    let id = uuid::Uuid::now_v7().simple().to_string();
    format!("fs-{}", &id[id.len() - 12..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_refuse_literal_tokens_in_config() {
        let vars = Vars::from_pairs([("A", "b")]);
        let err = Token::resolve(Some("ghp_literal"), &vars, &[], "ci.config.token").unwrap_err();
        assert!(err.to_string().contains("literal token"), "{err}");
        let err = Token::resolve(Some("${NOPE}"), &vars, &[], "ci.config.token").unwrap_err();
        assert!(err.to_string().contains("`NOPE` is not set"), "{err}");
    }

    #[test]
    fn should_prefer_the_first_conventional_variable_that_is_set() {
        let vars = Vars::from_pairs([("GITHUB_TOKEN", ""), ("GH_TOKEN", "b")]);
        let t = Token::resolve(None, &vars, &["GITHUB_TOKEN", "GH_TOKEN"], "x")
            .unwrap()
            .unwrap();
        assert_eq!(t.source(), "GH_TOKEN");
        assert_eq!(format!("{t:?}"), "Token(*** from GH_TOKEN)");
    }

    #[test]
    fn should_accept_https_and_loopback_api_urls_only() {
        let vars = Vars::default();
        assert_eq!(
            api_url("https://ghe.example.com/api/v3", &vars, "f")
                .unwrap()
                .as_str(),
            "https://ghe.example.com/api/v3/"
        );
        assert!(api_url("http://127.0.0.1:9/", &vars, "f").is_ok());
        let err = api_url("http://ghe.example.com/api/v3", &vars, "ci.config.api_url").unwrap_err();
        assert!(err.to_string().contains("plain HTTP"), "{err}");
    }

    #[test]
    fn should_read_gitlab_field_errors() {
        assert_eq!(
            platform_message(r#"{"message":{"base":["Reference not found"]}}"#).as_deref(),
            Some("base: Reference not found")
        );
        assert_eq!(platform_message("<html>oops</html>"), None);
    }

    #[test]
    fn should_read_the_checkout_of_a_real_git_repository() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            assert!(
                Command::new("git")
                    .arg("-C")
                    .arg(dir.path())
                    .args(args)
                    .output()
                    .expect("git is installed")
                    .status
                    .success()
            )
        };
        git(&["init", "-q", "-b", "feature/auth"]);
        git(&["remote", "add", "origin", "git@github.com:octo/app.git"]);
        let d = GitDefaults::discover(dir.path());
        assert_eq!(d.repo.as_deref(), Some("octo/app"));
        assert_eq!(d.host.as_deref(), Some("github.com"));
        assert_eq!(d.branch.as_deref(), Some("feature/auth"));
    }
}
