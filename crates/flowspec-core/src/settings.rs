//! Project settings in `.flowspec/flowspec.yaml` (optional).
//!
//! ```yaml
//! audit:
//!   path: .flowspec/audit.log   # relative to the project root
//!   enabled: true
//!   output_tail_bytes: 4096     # how much of each hook's output the audit keeps
//! state:
//!   url: ${FLOWSPEC_STATE_URL:-} # empty: SQLite under .flowspec/state/; or postgres://...
//!   retention:                   # see [`crate::retention`]
//!     max_age: 30d
//! ```
//!
//! Other top-level sections (`ci`, `integrations`, `server`...) belong to the crates
//! that read them; [`Settings::section`] hands them out and
//! [`Settings::check_sections`] refuses names nobody claims.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::config::{
    ConfigError, ConfigErrorKind, ConfigErrors, Key, Node, Value, from_node_in, suggest,
    syntax_error,
};
use crate::retention::Retention;

/// The default number of output bytes kept per hook in the audit log.
pub const DEFAULT_OUTPUT_TAIL_BYTES: usize = 4096;

/// `audit:` settings.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct AuditSettings {
    /// Where the audit log is written, relative to the project root.
    /// Example: `.flowspec/audit.log`.
    pub path: Option<PathBuf>,
    /// Whether to write it at all. Example: `true`.
    pub enabled: bool,
    /// How many bytes of each hook's output are kept. Example: `4096`.
    pub output_tail_bytes: usize,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            path: None,
            enabled: true,
            output_tail_bytes: DEFAULT_OUTPUT_TAIL_BYTES,
        }
    }
}

/// `state:` settings.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct StateSettings {
    /// A database URL (`sqlite://PATH` or `postgres://...`, `${VAR}` allowed); empty or
    /// absent for the embedded SQLite file.
    pub url: Option<String>,
    /// How long finished events, hook runs and test results are kept.
    pub retention: Retention,
}

/// The parsed flowspec.yaml.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Settings {
    /// `audit:`.
    pub audit: AuditSettings,
    /// `state:`.
    pub state: StateSettings,
    file: Option<PathBuf>,
    text: Option<Arc<str>>,
    sections: Vec<(Key, Node)>,
}

const CORE_SECTIONS: &[&str] = &["audit", "state"];

impl Settings {
    /// Reads `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Settings, ConfigErrors> {
        match std::fs::read_to_string(path) {
            Ok(text) => Settings::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(ConfigError::new(
                ConfigErrorKind::Io,
                format!("cannot read {}: {e}", path.display()),
            )
            .in_file(path, None)
            .into()),
        }
    }

    /// Parses flowspec.yaml text.
    pub fn parse(path: &Path, text: &str) -> Result<Settings, ConfigErrors> {
        let text: Arc<str> = Arc::from(text);
        let root =
            Node::parse(&text).map_err(|e| ConfigErrors::from(syntax_error(path, &text, &e)))?;
        let mut settings = Settings {
            file: Some(path.to_path_buf()),
            text: Some(text.clone()),
            ..Settings::default()
        };
        let entries = match root.value {
            Value::Null => return Ok(settings),
            Value::Map(entries) => entries,
            other => {
                return Err(ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    format!(
                        "flowspec.yaml must be a mapping of sections, found {}",
                        other.kind()
                    ),
                )
                .in_file(path, Some(text))
                .at(root.loc)
                .into());
            }
        };
        let mut errors = ConfigErrors::default();
        for (key, node) in entries {
            match key.name.as_str() {
                "audit" if node.value != Value::Null => {
                    match from_node_in(&node, "audit", path, Some(text.clone())) {
                        Ok(audit) => settings.audit = audit,
                        Err(e) => errors.push(e),
                    }
                }
                "state" if node.value != Value::Null => {
                    match from_node_in(&node, "state", path, Some(text.clone())) {
                        Ok(state) => settings.state = state,
                        Err(e) => errors.push(e),
                    }
                }
                "audit" | "state" => {}
                _ => settings.sections.push((key, node)),
            }
        }
        errors.into_result(settings)
    }

    /// A section owned by another crate (`ci`, `integrations`...).
    pub fn section(&self, name: &str) -> Option<&Node> {
        self.sections
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(_, n)| n)
    }

    /// The file, when one was read.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The file's text, for error snippets.
    pub fn text(&self) -> Option<Arc<str>> {
        self.text.clone()
    }

    /// Refuses top-level sections not in `known` (besides `audit` and `state`).
    pub fn check_sections(&self, known: &[&str]) -> Result<(), ConfigErrors> {
        let all: Vec<&str> = CORE_SECTIONS.iter().chain(known).copied().collect();
        let mut errors = ConfigErrors::default();
        for (key, _) in &self.sections {
            if !known.contains(&key.name.as_str()) {
                let hint = match suggest(&key.name, all.iter().copied()) {
                    Some(name) => format!("did you mean `{name}`?"),
                    None => format!("known sections: {}", crate::config::de::backticked(&all)),
                };
                let mut err = ConfigError::new(
                    ConfigErrorKind::UnknownField,
                    format!("unknown section `{}` in flowspec.yaml", key.name),
                )
                .at(key.loc)
                .path(key.name.clone())
                .hint(hint);
                if let Some(file) = &self.file {
                    err = err.in_file(file, self.text.clone());
                }
                errors.push(err);
            }
        }
        errors.into_result(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_read_audit_and_state_and_keep_other_sections() {
        let s = Settings::parse(
            Path::new("flowspec.yaml"),
            "audit:\n  path: logs/audit.log\n  output_tail_bytes: 100\nci:\n  provider: github\n",
        )
        .unwrap();
        assert_eq!(s.audit.path.as_deref(), Some(Path::new("logs/audit.log")));
        assert_eq!(s.audit.output_tail_bytes, 100);
        assert!(s.audit.enabled);
        assert!(s.section("ci").is_some());
        assert!(s.check_sections(&["ci"]).is_ok());
        let err = s.check_sections(&[]).unwrap_err();
        assert!(err.to_string().contains("unknown section `ci`"), "{err}");
    }

    #[test]
    fn should_locate_mistakes_in_known_sections() {
        let err = Settings::parse(Path::new("flowspec.yaml"), "audit:\n  pth: x\n").unwrap_err();
        let e = err.iter().next().unwrap();
        assert_eq!(e.line_column(), Some((2, 3)));
        assert_eq!(e.hint_text(), Some("did you mean `path`?"));
    }
}
