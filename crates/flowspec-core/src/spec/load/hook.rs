//! Checking one hook entry: its fields, timeout, fail mode, concurrency, environment
//! and working directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::action::{Action, BuildContext};
use crate::config::{
    ConfigErrorKind, InterpolateError, Key, Node, Value, Vars, interpolate, suggest,
};
use crate::secret::looks_secret;
use crate::spec::{Concurrency, DEFAULT_TIMEOUT, EnvValue, FailMode, HookSpec};

use super::{Checker, HOOK_FIELDS, LoadOptions, MAX_TIMEOUT, is_env_name, join};

impl Checker {
    pub(super) fn hook(
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
        let when = match node.get("when") {
            None => Some(None),
            Some(n) => self
                .string(n, &format!("{path}.when"), "when")
                .and_then(|w| {
                    if w.trim().is_empty() {
                        self.error(
                            ConfigErrorKind::InvalidValue,
                            n,
                            &format!("{path}.when"),
                            "`when` is empty",
                        )
                        .hint("write a shell command whose exit status 0 lets the hook run, or remove `when`");
                        None
                    } else {
                        Some(Some(w.to_owned()))
                    }
                }),
        };

        // Exactly one action key.
        let present: Vec<(&Key, &Node)> = entries
            .iter()
            .filter(|(k, _)| action_keys.contains(&k.name.as_str()))
            .map(|(k, v)| (k, v))
            .collect();
        // A wrapping action (`status:`) may sit next to one other action: that one is
        // built first and runs inside it.
        let wrapper = |key: &Key| {
            options
                .factories
                .iter()
                .any(|f| f.key() == key.name && f.wraps())
        };
        let (present, outer) = match present.as_slice() {
            [a, b] if wrapper(a.0) != wrapper(b.0) => {
                let (outer, inner) = if wrapper(a.0) { (*a, *b) } else { (*b, *a) };
                (vec![inner], Some(outer))
            }
            _ => (present, None),
        };
        let build = |this: &mut Self, key: &Key, value: &Node, inner: Option<Arc<dyn Action>>| {
            let factory = options.factories.iter().find(|f| f.key() == key.name)?;
            let cx = BuildContext {
                project_root: options.project_root,
                file: Some(&this.file),
                file_text: Some(this.text.clone()),
                key_path: format!("{path}.{}", key.name),
                hook_name: name.as_deref().unwrap_or(""),
                enabled,
                vars: options.vars,
                handlers: options.handlers,
                inner,
            };
            match factory.build(value, &cx) {
                Ok(action) => Some(action),
                Err(errors) => {
                    errors.into_iter().for_each(|e| this.push(e));
                    None
                }
            }
        };
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
                let inner = build(self, key, value, None);
                match (outer, inner) {
                    (None, Some(action)) => Some((key.name.clone(), action)),
                    (Some((outer_key, outer_value)), Some(inner)) => {
                        build(self, outer_key, outer_value, Some(inner))
                            .map(|action| (key.name.clone(), action))
                    }
                    (_, None) => None,
                }
            }
            [(first, _), rest @ ..] => {
                for (key, _) in rest {
                    self.error_at(
                        ConfigErrorKind::InvalidValue,
                        key.loc,
                        &join(&path, &key.name),
                        &format!("`{}` and `{}` are both set {context}", first.name, key.name),
                        Some("a hook runs exactly one action (`status:` may come with it); split it into two hooks"),
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
            when: when?,
            line: Some(node.loc.line),
        })
    }

    /// `max_concurrent` (a positive integer) and `concurrency_key` (an event field);
    /// a key alone means one run at a time per key value.
    pub(super) fn concurrency(&mut self, hook: &Node, path: &str) -> Option<Option<Concurrency>> {
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

    pub(super) fn timeout(&mut self, node: &Node, path: &str) -> Option<Duration> {
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

    pub(super) fn fail_mode(&mut self, node: &Node, path: &str) -> Option<FailMode> {
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

    pub(super) fn env(
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

    pub(super) fn working_dir(&mut self, node: &Node, path: &str, root: &Path) -> Option<PathBuf> {
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
