//! The hooks of a project as data: which hooks an event type selects, a summary of
//! each hook (what `flowspec hooks list --json` prints), the problems of an invalid
//! configuration as records, and the event a hook is tested with.
//!
//! ```no_run
//! # async fn run() -> flowspec::Result<()> {
//! let project = flowspec::Project::discover(std::path::Path::new("."))?;
//! let engine = project.engine_without_state(std::sync::Arc::new(flowspec::SilentReporter)).await?;
//! for hook in flowspec::hooks::selected(&engine, Some("deploy.completed"))? {
//!     let summary = flowspec::hooks::HookSummary::of(hook);
//!     println!("{}: {}", summary.name, summary.summary);
//! }
//! # Ok(()) }
//! ```

use std::path::PathBuf;

use flowspec_core::config::ConfigErrors;
use flowspec_core::spec::{FailMode, Trigger};
use flowspec_core::{Engine, EngineError, EventType, HookSpec};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The hooks whose event selectors match `event_type` (filters are not applied: they
/// need an event's fields), or every hook.
pub fn selected<'e>(engine: &'e Engine, event_type: Option<&str>) -> Result<Vec<&'e HookSpec>> {
    let event_type = event_type
        .map(|t| EventType::new(t).map_err(|e| Error::Usage(e.to_string())))
        .transpose()?;
    Ok(engine
        .hooks()
        .iter()
        .filter(|h| {
            event_type.as_ref().is_none_or(|t| {
                h.triggers()
                    .iter()
                    .any(|tr| tr.selector.matches(t.as_str()))
            })
        })
        .collect())
}

/// The hook named `name`, or an unknown-hook error suggesting a close name.
pub fn find<'e>(engine: &'e Engine, name: &str) -> Result<&'e HookSpec> {
    engine.hook(name).ok_or_else(|| {
        Error::Engine(EngineError::UnknownHook {
            name: name.to_owned(),
            suggestion: flowspec_core::config::suggest(
                name,
                engine.hooks().iter().map(HookSpec::name),
            )
            .map(str::to_owned),
        })
    })
}

/// The event type a test of `hook` uses by default: its first one without a wildcard.
pub fn sample_event_type(hook: &HookSpec) -> Result<String> {
    hook.triggers()
        .iter()
        .map(|t| &t.selector)
        .find(|s| !s.is_wildcard())
        .map(ToString::to_string)
        .ok_or_else(|| {
            Error::Usage(format!(
                "hook `{}` only has wildcard event types; pass one with --event, e.g. --event deploy.completed",
                hook.name()
            ))
        })
}

/// One event selector of a hook, with its filter.
#[derive(Clone, Debug, Serialize)]
pub struct TriggerSummary {
    /// The selector (`deploy.completed`, `ci.*`).
    #[serde(rename = "type")]
    pub selector: String,
    /// The filter: each field path with its accepted values.
    pub filter: Map<String, Value>,
}

impl TriggerSummary {
    fn of(trigger: &Trigger) -> Self {
        TriggerSummary {
            selector: trigger.selector.to_string(),
            filter: trigger
                .filter
                .conditions()
                .map(|(path, values)| (path.to_owned(), Value::Array(values)))
                .collect(),
        }
    }
}

impl std::fmt::Display for TriggerSummary {
    /// `deploy.completed`, or `deploy.completed [environment=staging|prod]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.selector)?;
        if self.filter.is_empty() {
            return Ok(());
        }
        let conditions: Vec<String> = self
            .filter
            .iter()
            .map(|(path, values)| {
                let values: Vec<String> = values
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                format!("{path}={}", values.join("|"))
            })
            .collect();
        write!(f, " [{}]", conditions.join(" "))
    }
}

/// What a hook does, as `flowspec hooks list --json` prints it (no `env` values).
#[derive(Clone, Debug, Serialize)]
pub struct HookSummary {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Its event selectors.
    pub events: Vec<TriggerSummary>,
    /// The action's key (`script`, `command`, `ci`, `notify`, ...).
    pub action: String,
    /// The action in a few words.
    pub summary: String,
    /// The timeout in seconds.
    pub timeout_secs: f64,
    /// `stop` or `continue`.
    pub fail_mode: FailMode,
    /// Whether it runs with its neighbours.
    pub parallel: bool,
    /// Whether it is enabled.
    pub enabled: bool,
    /// Where it runs.
    pub working_dir: Option<PathBuf>,
    /// The names of its `env` variables.
    pub env: Vec<String>,
    /// Its line in hooks.yaml.
    pub line: Option<u32>,
}

impl HookSummary {
    /// The summary of `hook`.
    pub fn of(hook: &HookSpec) -> Self {
        HookSummary {
            name: hook.name().to_owned(),
            description: hook.description().map(str::to_owned),
            events: hook.triggers().iter().map(TriggerSummary::of).collect(),
            action: hook.action_key().to_owned(),
            summary: hook.action().summary(),
            timeout_secs: hook.timeout().as_secs_f64(),
            fail_mode: hook.fail_mode(),
            parallel: hook.parallel(),
            enabled: hook.enabled(),
            working_dir: hook.working_dir().map(|p| p.to_path_buf()),
            env: hook.env().iter().map(|(k, _)| k.clone()).collect(),
            line: hook.line(),
        }
    }
}

/// One configuration problem as a record (`flowspec hooks validate --json`).
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    /// The file.
    pub file: Option<String>,
    /// The 1-based line.
    pub line: Option<u32>,
    /// The 1-based column.
    pub column: Option<u32>,
    /// The key path (`hooks[2].timeout`; empty for the whole file).
    pub path: String,
    /// What kind of problem.
    pub kind: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when known.
    pub hint: Option<String>,
}

/// Every problem of `errors` as a record.
pub fn problems(errors: &ConfigErrors) -> Vec<Problem> {
    errors
        .iter()
        .map(|e| Problem {
            file: e.file().map(|f| f.display().to_string()),
            line: e.line_column().map(|(l, _)| l),
            column: e.line_column().map(|(_, c)| c),
            path: e.key_path().to_owned(),
            kind: format!("{:?}", e.kind()),
            message: e.message().to_owned(),
            hint: e.hint_text().map(str::to_owned),
        })
        .collect()
}
