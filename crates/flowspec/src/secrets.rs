//! Which values of a project are credentials, to be masked wherever text leaves the
//! process (hook output, the audit log, logs, errors).
//!
//! Besides the variables whose names look secret, every value flowspec.yaml uses as a
//! credential counts, whatever the variable it came from is called and whether it is
//! written literally or as `${VAR}`:
//!
//! - a value under a credential key: one containing `token`, `secret`, `password`,
//!   `dsn`, `webhook` or `credential`, `pat`, `key`/`keys` or one ending in `_key`/`_keys`
//!   (`api_key`, `routing_key`, `signing_keys`; not `project_key` and the like);
//! - every value of an `auth:` mapping but its `type`, `name` and user name;
//! - the value of a `headers:` entry whose name looks like a credential
//!   (`Authorization`, `X-Api-Key`, `Circle-Token`...);
//! - the variables read by any value under a key mentioning `url`, `key`, `auth` or
//!   `header`, or by any `headers:` entry;
//! - the variables listed under a `secrets:` key;
//! - the password of any URL (`state.url`, an `api_url` with credentials);
//! - the credentials the server's sources resolve to, default variables included.

use flowspec_core::config::{Node, Value, Vars, interpolate};
use flowspec_core::secret::{ExposeSecret, looks_secret};
use flowspec_core::settings::Settings;

/// Keys ending in `_key` that name no credential.
const NOT_CREDENTIALS: &[&str] = &[
    "project_key",
    "issue_key",
    "public_key",
    "run_key",
    "dedup_key",
    "group_key",
    "concurrency_key",
    "idempotency_key",
    "sort_key",
];

/// Keys of an `auth:` mapping that hold no credential.
const AUTH_PLAIN: &[&str] = &["type", "name", "header", "scheme", "user", "username"];

/// What a string value is, judging by its key and the key of its mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A credential: its value (literal or interpolated) and what it reads.
    Credential,
    /// Not one itself, but what it reads from variables is.
    Reads,
    /// Neither.
    Plain,
}

/// Every value of `settings` and `vars` to mask (see the module docs).
pub(crate) fn project_secrets(settings: &Settings, vars: &Vars) -> Vec<String> {
    let mut secrets: Vec<String> = vars
        .iter()
        .filter(|(name, _)| looks_secret(name))
        .map(|(_, value)| value.to_owned())
        .collect();
    if let Some(text) = settings.text()
        && let Ok(root) = Node::parse(&text)
    {
        walk(&root, "", "", vars, &mut secrets);
    }
    if let Ok(server) = flowspec_server::ServerConfig::from_settings(settings, vars) {
        for kind in flowspec_server::sources::SOURCES {
            let Some(credentials) = server.sources.get(kind.name) else {
                continue;
            };
            for credential in kind.credentials {
                for value in credentials.all(credential.key) {
                    secrets.push(value.expose_secret().to_owned());
                }
            }
        }
    }
    secrets.retain(|s| !s.is_empty());
    secrets
}

fn walk(node: &Node, key: &str, parent: &str, vars: &Vars, out: &mut Vec<String>) {
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                walk(v, &k.name, key, vars, out);
            }
        }
        // A list's items are under the list's key (`signing_keys: [a, b]`).
        Value::Seq(items) => {
            for item in items {
                walk(item, key, parent, vars, out);
            }
        }
        Value::String(text) => scalar(text, key, parent, vars, out),
        _ => {}
    }
}

fn scalar(text: &str, key: &str, parent: &str, vars: &Vars, out: &mut Vec<String>) {
    let read = referenced_vars(text).filter_map(|name| vars.get(name));
    if key.eq_ignore_ascii_case("secrets") {
        // A list of variable names: their values are secret.
        out.extend(vars.get(text.trim()).map(str::to_owned));
        return;
    }
    let value = interpolate(text, vars).ok().map(|i| i.value);
    match kind(key, parent) {
        Kind::Credential => {
            out.extend(read.map(str::to_owned));
            match &value {
                Some(v) => out.push(v.clone()),
                None if !text.contains("${") => out.push(text.to_owned()),
                None => {}
            }
        }
        Kind::Reads => out.extend(read.map(str::to_owned)),
        Kind::Plain => {}
    }
    if let Some(v) = &value {
        url_password(v, out);
    }
}

fn kind(key: &str, parent: &str) -> Kind {
    let key = key.to_ascii_lowercase();
    let parent = parent.to_ascii_lowercase();
    if parent == "headers" {
        return if credential_header(&key) {
            Kind::Credential
        } else {
            Kind::Reads
        };
    }
    if parent == "auth" {
        return if AUTH_PLAIN.contains(&key.as_str()) {
            Kind::Reads
        } else {
            Kind::Credential
        };
    }
    if credential_key(&key) {
        return Kind::Credential;
    }
    // A server's URL (`redis://user:pw@host`, `postgres://...`) holds its credential in
    // the password, taken below; the host stays readable in logs and errors.
    if key == "url" && matches!(parent.as_str(), "transport" | "state") {
        return Kind::Plain;
    }
    if ["url", "key", "auth", "header"]
        .iter()
        .any(|w| key.contains(w))
    {
        return Kind::Reads;
    }
    Kind::Plain
}

fn credential_key(key: &str) -> bool {
    [
        "token",
        "secret",
        "password",
        "passwd",
        "dsn",
        "webhook",
        "credential",
    ]
    .iter()
    .any(|w| key.contains(w))
        || key == "pat"
        || key.ends_with("_pat")
        || key == "key"
        || key == "keys"
        || ((key.ends_with("_key") || key.ends_with("_keys")) && !NOT_CREDENTIALS.contains(&key))
}

fn credential_header(name: &str) -> bool {
    [
        "auth",
        "token",
        "key",
        "secret",
        "password",
        "signature",
        "cookie",
        "session",
    ]
    .iter()
    .any(|w| name.contains(w))
}

/// The password of a URL with credentials, as written and percent-decoded.
fn url_password(text: &str, out: &mut Vec<String>) {
    let Ok(parsed) = url::Url::parse(text.trim()) else {
        return;
    };
    let Some(password) = parsed.password() else {
        return;
    };
    out.push(password.to_owned());
    let decoded: String = url::form_urlencoded::parse(password.as_bytes())
        .map(|(k, v)| {
            if v.is_empty() {
                k.into_owned()
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    out.push(decoded);
}

/// The names in `${NAME}` (and `${NAME:-default}`) of `text`.
pub(crate) fn referenced_vars(text: &str) -> impl Iterator<Item = &str> {
    text.split("${").skip(1).filter_map(|rest| {
        let end = rest.find('}')?;
        let inner = &rest[..end];
        let name = inner.split([':', '-', '?']).next()?;
        (!name.is_empty()).then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn secrets(yaml: &str, vars: &[(&str, &str)]) -> Vec<String> {
        let settings = Settings::parse(Path::new("flowspec.yaml"), yaml).unwrap();
        let mut found = project_secrets(&settings, &Vars::from_pairs(vars.iter().copied()));
        found.sort();
        found.dedup();
        found
    }

    #[test]
    fn should_find_the_variables_a_value_reads() {
        let names: Vec<&str> = referenced_vars(" ${GH_PAT} and ${OTHER:-x}").collect();
        assert_eq!(names, ["GH_PAT", "OTHER"]);
    }

    #[test]
    fn should_take_credentials_literal_or_from_any_variable() {
        let yaml = "server:\n  sources:\n    events:\n      signing_keys:\n        - ${NEW}\n        - ${OLD}\n    github:\n      secret: literal-gh-secret\nci:\n  provider: custom\n  config:\n    auth: {type: header, name: X-Api-Key, value: '${ACCESS}'}\n    headers:\n      X-Org: ${ORG}\n      Circle-Token: literal-circle\n      X-Team: core\n";
        let vars = [
            ("NEW", "whsec_new-value"),
            ("OLD", "whsec_old-value"),
            ("ACCESS", "access-value"),
            ("ORG", "org-value"),
        ];
        assert_eq!(
            secrets(yaml, &vars),
            [
                "access-value",
                "literal-circle",
                "literal-gh-secret",
                "org-value",
                "whsec_new-value",
                "whsec_old-value",
            ]
        );
    }

    #[test]
    fn should_leave_names_ids_and_plain_urls_alone() {
        let yaml = "integrations:\n  jira:\n    project_key: PROJ\n    user: bot@example.com\n    api_url: https://jira.example.com\nci:\n  provider: custom\n  config:\n    auth: {type: basic, username: ci-bot, password: '${PW}'}\n";
        assert_eq!(secrets(yaml, &[("PW", "pw-value")]), ["pw-value"]);
    }

    #[test]
    fn should_mask_only_the_password_of_a_transport_or_state_url() {
        let yaml = "transport:\n  url: ${R}\nstate:\n  url: ${S}\n";
        let secrets = secrets(
            yaml,
            &[
                ("R", "redis://:redis-pw@cache:6379/0"),
                ("S", "postgres://app:pg-pw@db/x"),
            ],
        );
        assert!(secrets.contains(&"redis-pw".to_owned()), "{secrets:?}");
        assert!(secrets.contains(&"pg-pw".to_owned()), "{secrets:?}");
        assert!(
            !secrets.iter().any(|s| s.contains("cache:6379")),
            "{secrets:?}"
        );
    }

    #[test]
    fn should_take_url_passwords_and_listed_secret_variables() {
        let yaml = "state:\n  url: postgres://app:p%40ss-word@db/flowspec\nci:\n  secrets: [DEPLOY_CRED]\n";
        assert_eq!(
            secrets(yaml, &[("DEPLOY_CRED", "deploy-value")]),
            ["deploy-value", "p%40ss-word", "p@ss-word"]
        );
    }
}
