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

use secrecy::SecretString;
use serde_json::Value as Json;

use super::{Concurrency, DEFAULT_TIMEOUT, EnvValue, FailMode, HookSpec, Trigger};
use crate::action::{Action, ActionFactory, BuildContext};
use crate::config::{
    ConfigError, ConfigErrorKind, ConfigErrors, InterpolateError, Key, Node, Value, Vars,
    interpolate, suggest,
};
use crate::filter::Filter;
use crate::secret::looks_secret;
use crate::selector::EventSelector;

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

    fn hook(
        &mut self,
        node: &Node,
        index: usize,
        options: &LoadOptions<'_>,
        secret_vars: &[String],
    ) -> Option<HookSpec> {
        let path = format!("hooks[{index}]");
        let entries = self.mapping(node, &path, "a hook")?;
        let action_keys: Vec<&str> = options.factories.iter().map(|f| f.key()).collect();
        let allowed: Vec<&str> = HOOK_FIELDS
            .iter()
            .copied()
            .chain(action_keys.iter().copied())
            .collect();
        let name = match node.get("name") {
            Some(n) => self
                .string(n, &format!("{path}.name"), "name")
                .and_then(|name| {
                    let bad = name.is_empty()
                        || name
                            .chars()
                            .any(|c| c.is_whitespace() || c.is_control() || c == '/');
                    if bad {
                        self.error(
                            ConfigErrorKind::InvalidValue,
                            n,
                            &format!("{path}.name"),
                            "invalid hook name",
                        )
                        .hint("use letters, digits, `-`, `_` or `.`, without spaces or `/`");
                        None
                    } else {
                        Some(name.to_owned())
                    }
                }),
            None => {
                self.error(
                    ConfigErrorKind::MissingField,
                    node,
                    &path,
                    "missing field `name` in hook",
                )
                .hint("every hook needs a unique `name`");
                None
            }
        };
        let context = match &name {
            Some(n) => format!("in hook `{n}`"),
            None => "in hook".to_owned(),
        };
        self.unknown_keys(entries, &allowed, &path, &context);

        let description = node.get("description").and_then(|n| {
            self.string(n, &format!("{path}.description"), "description")
                .map(str::to_owned)
        });
        let enabled = node
            .get("enabled")
            .and_then(|n| self.boolean(n, &format!("{path}.enabled"), "enabled"))
            .unwrap_or(true);
        let parallel = node
            .get("parallel")
            .and_then(|n| self.boolean(n, &format!("{path}.parallel"), "parallel"))
            .unwrap_or(false);
        let timeout = node.get("timeout").map_or(Some(DEFAULT_TIMEOUT), |n| {
            self.timeout(n, &format!("{path}.timeout"))
        });
        let fail_mode = match node.get("fail_mode") {
            None => Some(FailMode::Continue),
            Some(n) => self.fail_mode(n, &format!("{path}.fail_mode")),
        };
        let triggers = match node.get("events") {
            Some(n) => self.events(n, &format!("{path}.events")),
            None => {
                self.error(
                    ConfigErrorKind::MissingField,
                    node,
                    &path,
                    &format!("missing field `events` {context}"),
                )
                .hint("add `events:` with at least one `- type: <event.type>`");
                None
            }
        };
        let env = node.get("env").map_or(Some(Vec::new()), |n| {
            self.env(
                n,
                &format!("{path}.env"),
                enabled,
                options.vars,
                secret_vars,
            )
        });
        let working_dir = match node.get("working_dir") {
            None => Some(None),
            Some(n) => self
                .working_dir(n, &format!("{path}.working_dir"), options.project_root)
                .map(Some),
        };
        let concurrency = self.concurrency(node, &path);

        // Exactly one action key.
        let present: Vec<(&Key, &Node)> = entries
            .iter()
            .filter(|(k, _)| action_keys.contains(&k.name.as_str()))
            .map(|(k, v)| (k, v))
            .collect();
        let action = match present.as_slice() {
            [] => {
                let keys = crate::config::de::backticked(&action_keys);
                self.error(
                    ConfigErrorKind::MissingField,
                    node,
                    &path,
                    &format!("no action {context}"),
                )
                .hint(format!("set exactly one of {keys}"));
                None
            }
            [(key, value)] => {
                let factory = options.factories.iter().find(|f| f.key() == key.name)?;
                let cx = BuildContext {
                    project_root: options.project_root,
                    file: Some(&self.file),
                    file_text: Some(self.text.clone()),
                    key_path: format!("{path}.{}", key.name),
                    hook_name: name.as_deref().unwrap_or(""),
                    enabled,
                    vars: options.vars,
                    handlers: options.handlers,
                };
                match factory.build(value, &cx) {
                    Ok(action) => Some((key.name.clone(), action)),
                    Err(errors) => {
                        errors.into_iter().for_each(|e| self.push(e));
                        None
                    }
                }
            }
            [(first, _), rest @ ..] => {
                for (key, _) in rest {
                    self.error_at(
                        ConfigErrorKind::InvalidValue,
                        key.loc,
                        &join(&path, &key.name),
                        &format!("`{}` and `{}` are both set {context}", first.name, key.name),
                        Some("a hook runs exactly one action; split it into two hooks"),
                    );
                }
                None
            }
        };

        let (action_key, action) = action?;
        Some(HookSpec {
            name: name?,
            description,
            triggers: triggers?,
            action_key,
            action,
            timeout: timeout?,
            env: env?,
            fail_mode: fail_mode?,
            parallel,
            working_dir: working_dir?,
            enabled,
            concurrency: concurrency?,
            line: Some(node.loc.line),
        })
    }

    /// `max_concurrent` (a positive integer) and `concurrency_key` (an event field);
    /// a key alone means one run at a time per key value.
    fn concurrency(&mut self, hook: &Node, path: &str) -> Option<Option<Concurrency>> {
        let max = match hook.get("max_concurrent") {
            None => None,
            Some(n) => match n.value {
                Value::Int(i) if i >= 1 => Some(i as usize),
                _ => {
                    let message = format!("`max_concurrent` must be a positive integer, found {n}");
                    self.error(
                        ConfigErrorKind::InvalidValue,
                        n,
                        &format!("{path}.max_concurrent"),
                        &message,
                    )
                    .hint("for example `max_concurrent: 1` for one run at a time");
                    return None;
                }
            },
        };
        let key = match hook.get("concurrency_key") {
            None => None,
            Some(n) => match n.as_str().filter(|k| !k.trim().is_empty()) {
                Some(k) => Some(k.to_owned()),
                None => {
                    let message = format!(
                        "`concurrency_key` must be an event field name or dotted path, found {n}"
                    );
                    self.error(
                        ConfigErrorKind::InvalidValue,
                        n,
                        &format!("{path}.concurrency_key"),
                        &message,
                    )
                    .hint("for example `concurrency_key: environment`");
                    return None;
                }
            },
        };
        Some(match (max, key) {
            (None, None) => None,
            (max, key) => Some(Concurrency {
                max: max.unwrap_or(1),
                key,
            }),
        })
    }

    fn timeout(&mut self, node: &Node, path: &str) -> Option<Duration> {
        let parsed = match &node.value {
            // A negative number is out of range, like zero.
            Value::Int(i) => Ok(crate::duration::from_secs(*i as f64).unwrap_or_default()),
            Value::Float(f) if !f.is_nan() => {
                Ok(crate::duration::from_secs(*f).unwrap_or_default())
            }
            Value::String(text) => crate::duration::parse(text).map_err(Some),
            _ => Err(None),
        };
        match parsed {
            Ok(d) if !d.is_zero() && d <= MAX_TIMEOUT => Some(d),
            Ok(_) => {
                let message = format!(
                    "`timeout` must be more than 0 and at most {} (one week), found {}",
                    humantime::format_duration(MAX_TIMEOUT),
                    node
                );
                self.error(ConfigErrorKind::InvalidValue, node, path, &message)
                    .hint("for example `timeout: 600` or `timeout: 10m` for ten minutes");
                None
            }
            Err(error) => {
                let message = match error {
                    Some(e) => format!("`timeout`: {e}"),
                    None => format!(
                        "`timeout` must be {}, found {}",
                        crate::duration::ACCEPTED_FORMS,
                        node
                    ),
                };
                self.error(ConfigErrorKind::InvalidValue, node, path, &message)
                    .hint("for example `timeout: 600` or `timeout: 10m` for ten minutes");
                None
            }
        }
    }

    fn fail_mode(&mut self, node: &Node, path: &str) -> Option<FailMode> {
        match node.as_str() {
            Some("continue") => Some(FailMode::Continue),
            Some("stop") => Some(FailMode::Stop),
            _ => {
                let hint = node
                    .as_str()
                    .and_then(|s| suggest(s, ["continue", "stop"]))
                    .map_or("use `continue` (the default) or `stop`".to_owned(), |s| {
                        format!("did you mean `{s}`?")
                    });
                let message = format!("invalid `fail_mode` {node}");
                self.error(ConfigErrorKind::InvalidValue, node, path, &message)
                    .hint(hint);
                None
            }
        }
    }

    fn events(&mut self, node: &Node, path: &str) -> Option<Vec<Trigger>> {
        let Value::Seq(items) = &node.value else {
            let message = format!("`events` must be a list, found {}", node.value.kind());
            self.error(ConfigErrorKind::InvalidValue, node, path, &message)
                .hint("write `events:` then `  - type: implement.completed`");
            return None;
        };
        if items.is_empty() {
            self.error(
                ConfigErrorKind::InvalidValue,
                node,
                path,
                "`events` is empty; the hook would never run",
            );
            return None;
        }
        let mut triggers = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            match self.trigger(item, &item_path) {
                Some(t) => triggers.push(t),
                None => ok = false,
            }
        }
        ok.then_some(triggers)
    }

    fn trigger(&mut self, node: &Node, path: &str) -> Option<Trigger> {
        // Shorthand: `- deploy.completed`.
        if let Some(text) = node.as_str() {
            return self.selector(node, text, path).map(|selector| Trigger {
                selector,
                filter: Filter::new(),
            });
        }
        let entries = self.mapping(node, path, "an `events` entry")?;
        self.unknown_keys(entries, EVENT_FIELDS, path, "in an `events` entry");
        let selector = match node.get("type") {
            Some(t) => {
                let text = self.string(t, &format!("{path}.type"), "type")?;
                self.selector(t, text, &format!("{path}.type"))
            }
            None => {
                self.error(
                    ConfigErrorKind::MissingField,
                    node,
                    path,
                    "missing field `type` in an `events` entry",
                )
                .hint("for example `type: implement.completed` or `type: \"deploy.*\"`");
                None
            }
        };
        let filter = match node.get("filter") {
            Some(f) => self.filter(f, &format!("{path}.filter")),
            None => Some(Filter::new()),
        };
        Some(Trigger {
            selector: selector?,
            filter: filter?,
        })
    }

    fn selector(&mut self, node: &Node, text: &str, path: &str) -> Option<EventSelector> {
        match EventSelector::new(text) {
            Ok(s) => Some(s),
            Err(e) => {
                self.error(ConfigErrorKind::InvalidValue, node, path, &e.to_string()).hint("event types are dotted names like `implement.completed`; `*` is a wildcard (`deploy.*`, `*.completed`)");
                None
            }
        }
    }

    fn filter(&mut self, node: &Node, path: &str) -> Option<Filter> {
        if node.value == Value::Null {
            return Some(Filter::new());
        }
        let entries = self.mapping(node, path, "`filter`")?;
        let mut filter = Filter::new();
        let mut ok = true;
        for (key, value) in entries {
            let field_path = join(path, &key.name);
            if key.name.is_empty() {
                self.error_at(
                    ConfigErrorKind::InvalidValue,
                    key.loc,
                    &field_path,
                    "empty field name in `filter`",
                    None,
                );
                ok = false;
                continue;
            }
            let values = match &value.value {
                Value::Seq(items) if items.is_empty() => {
                    self.error(
                        ConfigErrorKind::InvalidValue,
                        value,
                        &field_path,
                        "empty list in `filter`: nothing could match",
                    );
                    ok = false;
                    continue;
                }
                Value::Seq(items) => items
                    .iter()
                    .map(|item| self.filter_value(item, &field_path))
                    .collect::<Option<Vec<_>>>(),
                _ => self.filter_value(value, &field_path).map(|v| vec![v]),
            };
            match values {
                Some(values) => filter = filter.any_of(key.name.clone(), values),
                None => ok = false,
            }
        }
        ok.then_some(filter)
    }

    fn filter_value(&mut self, node: &Node, path: &str) -> Option<Json> {
        match &node.value {
            Value::Map(_) | Value::Seq(_) => {
                let message = format!(
                    "filter values must be scalars or lists of scalars, found {}",
                    node.value.kind()
                );
                self.error(ConfigErrorKind::InvalidValue, node, path, &message)
                    .hint(
                        "match nested fields with a dotted path, e.g. `repository.name: flowspec`",
                    );
                None
            }
            _ => Some(node.to_json()),
        }
    }

    fn env(
        &mut self,
        node: &Node,
        path: &str,
        enabled: bool,
        vars: &Vars,
        secret_vars: &[String],
    ) -> Option<Vec<(String, EnvValue)>> {
        if node.value == Value::Null {
            return Some(Vec::new());
        }
        let entries = self.mapping(node, path, "`env`")?;
        let mut env = Vec::with_capacity(entries.len());
        let mut ok = true;
        for (key, value) in entries {
            let var_path = join(path, &key.name);
            if !is_env_name(&key.name) {
                self.error_at(
                    ConfigErrorKind::InvalidValue,
                    key.loc,
                    &var_path,
                    &format!("`{}` is not a valid environment variable name", key.name),
                    Some("use letters, digits and `_`, not starting with a digit"),
                );
                ok = false;
                continue;
            }
            let Some(text) = value.scalar_text() else {
                let message = format!(
                    "`env` values must be strings, numbers or booleans, found {}",
                    value.value.kind()
                );
                self.error(ConfigErrorKind::InvalidValue, value, &var_path, &message);
                ok = false;
                continue;
            };
            if !enabled {
                // A disabled hook never runs: its variables need not be set.
                env.push((key.name.clone(), EnvValue::Plain(String::new())));
                continue;
            }
            match interpolate(&text, vars) {
                Ok(resolved) => {
                    let secret = looks_secret(&key.name)
                        || secret_vars.contains(&key.name)
                        || resolved
                            .vars
                            .iter()
                            .any(|v| looks_secret(v) || secret_vars.contains(v));
                    let value = if secret {
                        EnvValue::Secret(SecretString::from(resolved.value))
                    } else {
                        EnvValue::Plain(resolved.value)
                    };
                    env.push((key.name.clone(), value));
                }
                Err(InterpolateError::Unset { name }) => {
                    let message = format!(
                        "environment variable `{name}` is not set (needed by `{}`)",
                        key.name
                    );
                    self.error(ConfigErrorKind::UnsetVariable, value, &var_path, &message).hint(format!(
                        "export {name}=..., add it to .flowspec/hooks/.env, or give a default: ${{{name}:-value}}"
                    ));
                    ok = false;
                }
                Err(e @ InterpolateError::Syntax { .. }) => {
                    self.error(
                        ConfigErrorKind::InvalidValue,
                        value,
                        &var_path,
                        &e.to_string(),
                    )
                    .hint("write `${NAME}` or `${NAME:-default}`; `$$` for a literal `$`");
                    ok = false;
                }
            }
        }
        ok.then_some(env)
    }

    fn working_dir(&mut self, node: &Node, path: &str, root: &Path) -> Option<PathBuf> {
        let text = self.string(node, path, "working_dir")?;
        let dir = root.join(text);
        if dir.is_dir() {
            Some(dir)
        } else {
            let message = format!(
                "`working_dir` `{text}` is not a directory (looked at {})",
                dir.display()
            );
            self.error(ConfigErrorKind::MissingFile, node, path, &message)
                .hint("paths are relative to the project root");
            None
        }
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
