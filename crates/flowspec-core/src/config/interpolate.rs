//! `${VAR}` and `${VAR:-default}` in config values.
//!
//! Variables come from the process environment first, then from the project's
//! `.flowspec/hooks/.env` file (the process wins, as with every dotenv tool).
//! `$$` writes a literal `$`; a `$` not followed by `{` is kept as is.

use std::collections::HashMap;
use std::path::Path;

use thiserror::Error;

/// Where `${VAR}` looks up values.
#[derive(Clone, Default)]
pub struct Vars {
    process: HashMap<String, String>,
    dotenv: HashMap<String, String>,
}

impl std::fmt::Debug for Vars {
    // Values are left out: many of them are secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vars")
            .field("process", &self.process.len())
            .field("dotenv", &self.dotenv.len())
            .finish()
    }
}

/// A `.env` file that could not be read.
#[derive(Debug, Error)]
#[error("cannot read {path}: {message}")]
pub struct DotenvError {
    /// The file.
    pub path: String,
    /// What went wrong (line numbers included by the parser).
    pub message: String,
}

impl Vars {
    /// The current process environment and, if it exists, the `.env` file at `dotenv`.
    pub fn from_process(dotenv: Option<&Path>) -> Result<Self, DotenvError> {
        let process = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let mut vars = Vars {
            process,
            dotenv: HashMap::new(),
        };
        if let Some(path) = dotenv.filter(|p| p.is_file()) {
            let iter = dotenvy::from_path_iter(path).map_err(|e| DotenvError {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            for item in iter {
                let (k, v) = item.map_err(|e| DotenvError {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                vars.dotenv.insert(k, v);
            }
        }
        Ok(vars)
    }

    /// Only the given pairs (for tests and embedders that control the environment).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Vars {
            process: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            dotenv: HashMap::new(),
        }
    }

    /// The value of `name`: the process environment first, then the `.env` file.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.process
            .get(name)
            .or_else(|| self.dotenv.get(name))
            .map(String::as_str)
    }

    /// Every (name, value) pair visible, the process winning over `.env`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.process
            .iter()
            .chain(
                self.dotenv
                    .iter()
                    .filter(|(k, _)| !self.process.contains_key(*k)),
            )
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The result of interpolating one value.
#[derive(Clone, PartialEq, Eq)]
pub struct Interpolated {
    /// The text with every `${...}` replaced.
    pub value: String,
    /// Names of the variables that were read (set or not), in order.
    pub vars: Vec<String>,
}

impl std::fmt::Debug for Interpolated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interpolated")
            .field("value", &"<redacted>")
            .field("vars", &self.vars)
            .finish()
    }
}

/// Why a value could not be interpolated.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InterpolateError {
    /// `${NAME}` without a default, and `NAME` is not set.
    #[error("environment variable `{name}` is not set")]
    Unset {
        /// The variable.
        name: String,
    },
    /// `${` without a closing `}`, or an invalid variable name.
    #[error("invalid `${{...}}` reference at byte {offset}: {reason}")]
    Syntax {
        /// Byte offset of the `$` in the value.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Replaces `${VAR}` and `${VAR:-default}` in `text`.
///
/// ```
/// use flowspec_core::config::{Vars, interpolate};
///
/// let vars = Vars::from_pairs([("ENV", "staging")]);
/// let out = interpolate("deploy to ${ENV}, region ${REGION:-eu}", &vars).unwrap();
/// assert_eq!(out.value, "deploy to staging, region eu");
/// assert!(interpolate("${MISSING}", &vars).is_err());
/// ```
pub fn interpolate(text: &str, vars: &Vars) -> Result<Interpolated, InterpolateError> {
    let mut value = String::with_capacity(text.len());
    let mut used = Vec::new();
    let mut rest = text;
    let mut consumed = 0;
    while let Some(pos) = rest.find('$') {
        value.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            value.push('$');
            consumed += pos + 2;
            rest = stripped;
            continue;
        }
        let Some(body_start) = after.strip_prefix('{') else {
            value.push('$');
            consumed += pos + 1;
            rest = after;
            continue;
        };
        let offset = consumed + pos;
        let Some(end) = body_start.find('}') else {
            return Err(InterpolateError::Syntax {
                offset,
                reason: "missing closing `}`".into(),
            });
        };
        let body = &body_start[..end];
        let (name, default) = match body.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (body, None),
        };
        if !is_var_name(name) {
            return Err(InterpolateError::Syntax {
                offset,
                reason: format!(
                    "`{name}` is not a variable name (letters, digits and `_`, not starting with a digit)"
                ),
            });
        }
        used.push(name.to_owned());
        match (vars.get(name), default) {
            (Some(""), Some(d)) => value.push_str(d),
            (Some(v), _) => value.push_str(v),
            (None, Some(d)) => value.push_str(d),
            (None, None) => {
                return Err(InterpolateError::Unset {
                    name: name.to_owned(),
                });
            }
        }
        let skip = pos + 2 + end + 1;
        consumed += skip;
        rest = &rest[skip..];
    }
    value.push_str(rest);
    Ok(Interpolated { value, vars: used })
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars::from_pairs([("A", "1"), ("EMPTY", ""), ("TOKEN", "s3cr3t")])
    }

    #[test]
    fn should_replace_set_variables_and_defaults() {
        let out = interpolate("x${A}y${B:-two}z${EMPTY:-dflt}", &vars()).unwrap();
        assert_eq!(out.value, "x1ytwozdflt");
        assert_eq!(out.vars, ["A", "B", "EMPTY"]);
    }

    #[test]
    fn should_keep_plain_dollars_and_unescape_double_dollars() {
        let out = interpolate("cost $5, $$HOME, ${A}$", &vars()).unwrap();
        assert_eq!(out.value, "cost $5, $HOME, 1$");
    }

    #[test]
    fn should_refuse_unset_variables_without_default() {
        assert_eq!(
            interpolate("${NOPE}", &vars()),
            Err(InterpolateError::Unset {
                name: "NOPE".into()
            })
        );
    }

    #[test]
    fn should_refuse_broken_references() {
        assert!(matches!(
            interpolate("a ${A", &vars()),
            Err(InterpolateError::Syntax { offset: 2, .. })
        ));
        assert!(matches!(
            interpolate("${1X}", &vars()),
            Err(InterpolateError::Syntax { .. })
        ));
    }

    #[test]
    fn should_prefer_process_over_dotenv() {
        let mut v = Vars::from_pairs([("A", "process")]);
        v.dotenv.insert("A".into(), "file".into());
        v.dotenv.insert("B".into(), "file".into());
        assert_eq!(v.get("A"), Some("process"));
        assert_eq!(v.get("B"), Some("file"));
        assert_eq!(v.iter().filter(|(k, _)| *k == "A").count(), 1);
    }
}
