//! Reading hooks.yaml into [`HookSpec`]s, reporting every problem at once.
//!
//! ```yaml
//! version: 1            # optional
//! secrets: [DEPLOY_URL] # optional: variables whose values are masked like tokens
//! hooks:
//!   - name: quality-gate
//!     events:
//!       - type: validate.completed
//!     script: .flowspec/hooks/quality-gate.sh
//!     timeout: 600
//!     fail_mode: stop
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::HookSpec;
use crate::action::{Action, ActionFactory};
use crate::config::{ConfigError, ConfigErrorKind, ConfigErrors, Key, Node, Value, Vars, suggest};

mod events;
mod hook;

/// The longest timeout accepted (one week).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

const TOP_LEVEL_FIELDS: &[&str] = &["version", "secrets", "hooks"];
const HOOK_FIELDS: &[&str] = &[
    "name",
    "description",
    "events",
    "timeout",
    "env",
    "fail_mode",
    "parallel",
    "working_dir",
    "enabled",
    "max_concurrent",
    "concurrency_key",
    "when",
];
const EVENT_FIELDS: &[&str] = &["type", "filter"];

/// A loaded hooks.yaml.
#[derive(Debug)]
#[non_exhaustive]
pub struct HooksFile {
    /// The hooks, in file order.
    pub hooks: Vec<HookSpec>,
    /// Names of variables declared secret under `secrets:`.
    pub secret_vars: Vec<String>,
}

/// What loading needs besides the file.
pub struct LoadOptions<'a> {
    /// Relative `script` and `working_dir` paths start here.
    pub project_root: &'a Path,
    /// Variables for `${VAR}`.
    pub vars: &'a Vars,
    /// The action keys (`script`, `command`, `action`, and any registered ones).
    pub factories: &'a [Arc<dyn ActionFactory>],
    /// Handlers for `action:`.
    pub handlers: &'a HashMap<String, Arc<dyn Action>>,
}

/// Reads and validates a hooks file.
pub fn load_file(path: &Path, options: &LoadOptions<'_>) -> Result<HooksFile, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(
            ConfigErrorKind::Io,
            format!("cannot read {}: {e}", path.display()),
        )
        .in_file(path, None)
    })?;
    load_str(path, &text, options)
}

/// Validates hooks.yaml text; `path` is used in messages and snippets.
pub fn load_str(
    path: &Path,
    text: &str,
    options: &LoadOptions<'_>,
) -> Result<HooksFile, ConfigErrors> {
    let text: Arc<str> = Arc::from(text);
    let mut cx = Checker {
        file: path.to_path_buf(),
        text: text.clone(),
        errors: ConfigErrors::default(),
    };
    let root = Node::parse(&text)
        .map_err(|e| ConfigErrors::from(crate::config::syntax_error(path, &text, &e)))?;
    let Some(entries) = cx.mapping(&root, "", "the top level of hooks.yaml") else {
        return Err(cx.errors);
    };
    cx.unknown_keys(entries, TOP_LEVEL_FIELDS, "", "at the top level");

    if let Some(version) = root.get("version")
        && version.value != Value::Int(1)
    {
        cx.error(
            ConfigErrorKind::InvalidValue,
            version,
            "version",
            "unsupported `version`",
        )
        .hint("the only version is 1 (or leave `version` out)");
    }
    let secret_vars = root
        .get("secrets")
        .map(|n| cx.string_list(n, "secrets"))
        .unwrap_or_default();

    let mut hooks = Vec::new();
    match root.get("hooks") {
        None => cx.error_at(
            ConfigErrorKind::MissingField,
            root.loc,
            "",
            "missing field `hooks`",
            Some("hooks.yaml needs a `hooks:` list; run `flowspec init` for a commented example"),
        ),
        Some(Node {
            value: Value::Null, ..
        }) => {}
        Some(Node {
            value: Value::Seq(items),
            ..
        }) => {
            let mut seen: HashMap<&str, u32> = HashMap::new();
            for (i, item) in items.iter().enumerate() {
                // Duplicates are found on the names alone, whatever else is wrong.
                let name_node = item.get("name");
                let duplicate_of =
                    name_node
                        .and_then(Node::as_str)
                        .and_then(|name| match seen.get(name) {
                            Some(first_line) => Some((name, *first_line)),
                            None => {
                                seen.insert(name, item.loc.line);
                                None
                            }
                        });
                if let (Some((name, first_line)), Some(node)) = (duplicate_of, name_node) {
                    cx.error_at(
                        ConfigErrorKind::Duplicate,
                        node.loc,
                        &format!("hooks[{i}].name"),
                        &format!("duplicate hook name `{name}`"),
                        Some(&format!(
                            "hook names must be unique; the first `{name}` is on line {first_line}"
                        )),
                    );
                }
                if let Some(hook) = cx.hook(item, i, options, &secret_vars)
                    && duplicate_of.is_none()
                {
                    hooks.push(hook);
                }
            }
        }
        Some(other) => cx.error_at(
            ConfigErrorKind::InvalidValue,
            other.loc,
            "hooks",
            &format!("`hooks` must be a list, found {}", other.value.kind()),
            Some("write each hook as a list item starting with `- name: ...`"),
        ),
    }
    let errors = std::mem::take(&mut cx.errors);
    errors.into_result(HooksFile { hooks, secret_vars })
}

/// Collects errors for one file.
struct Checker {
    file: PathBuf,
    text: Arc<str>,
    errors: ConfigErrors,
}

/// A pending error whose hint may still be set.
struct Pending<'a> {
    errors: &'a mut ConfigErrors,
    error: Option<ConfigError>,
    hint: Option<String>,
}

impl Pending<'_> {
    fn hint(mut self, hint: impl Into<String>) {
        self.hint = Some(hint.into());
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(mut error) = self.error.take() {
            if let Some(hint) = self.hint.take() {
                error = error.hint(hint);
            }
            self.errors.push(error);
        }
    }
}

impl Checker {
    fn error<'a>(
        &'a mut self,
        kind: ConfigErrorKind,
        node: &Node,
        path: &str,
        message: &str,
    ) -> Pending<'a> {
        let error = ConfigError::new(kind, message)
            .in_file(&self.file, Some(self.text.clone()))
            .at(node.loc)
            .path(path);
        Pending {
            errors: &mut self.errors,
            error: Some(error),
            hint: None,
        }
    }

    fn error_at(
        &mut self,
        kind: ConfigErrorKind,
        loc: crate::config::Loc,
        path: &str,
        message: &str,
        hint: Option<&str>,
    ) {
        let mut error = ConfigError::new(kind, message)
            .in_file(&self.file, Some(self.text.clone()))
            .at(loc)
            .path(path);
        if let Some(hint) = hint {
            error = error.hint(hint);
        }
        self.errors.push(error);
    }

    fn push(&mut self, error: ConfigError) {
        let error = if error.file().is_none() {
            error.in_file(&self.file, Some(self.text.clone()))
        } else {
            error
        };
        self.errors.push(error);
    }

    fn mapping<'n>(&mut self, node: &'n Node, path: &str, what: &str) -> Option<&'n [(Key, Node)]> {
        match &node.value {
            Value::Map(entries) => Some(entries),
            other => {
                let message = format!("{what} must be a mapping, found {}", other.kind());
                self.error(ConfigErrorKind::InvalidValue, node, path, &message);
                None
            }
        }
    }

    fn unknown_keys(
        &mut self,
        entries: &[(Key, Node)],
        allowed: &[&str],
        path: &str,
        context: &str,
    ) {
        for (key, _) in entries {
            if !allowed.contains(&key.name.as_str()) {
                let hint = match suggest(&key.name, allowed.iter().copied()) {
                    Some(name) => format!("did you mean `{name}`?"),
                    None => format!("known fields: {}", crate::config::de::backticked(allowed)),
                };
                self.error_at(
                    ConfigErrorKind::UnknownField,
                    key.loc,
                    &join(path, &key.name),
                    &format!("unknown field `{}` {context}", key.name),
                    Some(&hint),
                );
            }
        }
    }

    fn string<'n>(&mut self, node: &'n Node, path: &str, field: &str) -> Option<&'n str> {
        match &node.value {
            Value::String(s) => Some(s),
            other => {
                let message = format!("`{field}` must be a string, found {}", other.kind());
                self.error(ConfigErrorKind::InvalidValue, node, path, &message);
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node, path: &str, field: &str) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => Some(*b),
            other => {
                let message = format!(
                    "`{field}` must be `true` or `false`, found {other_kind}",
                    other_kind = describe(node, other)
                );
                self.error(ConfigErrorKind::InvalidValue, node, path, &message);
                None
            }
        }
    }

    fn string_list(&mut self, node: &Node, path: &str) -> Vec<String> {
        let Value::Seq(items) = &node.value else {
            let message = format!(
                "`{path}` must be a list of variable names, found {}",
                node.value.kind()
            );
            self.error(ConfigErrorKind::InvalidValue, node, path, &message);
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                self.string(item, &format!("{path}[{i}]"), path)
                    .map(str::to_owned)
            })
            .collect()
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn describe(node: &Node, value: &Value) -> String {
    match value {
        Value::String(s) => format!("the string {s:?}"),
        _ => format!("{} ({node})", value.kind()),
    }
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests;
