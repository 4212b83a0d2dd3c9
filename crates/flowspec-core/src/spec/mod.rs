//! Hook specs: which events a hook reacts to and what it does.
//!
//! - [`HookSpec`] is the validated hook, built from hooks.yaml by [`load`] or in Rust
//!   with [`HookSpec::builder`].
//! - [`load`] reads hooks.yaml and reports every problem at once.

pub mod load;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::action::Action;
use crate::action::process::ProcessAction;
use crate::event::{Event, EventError};
use crate::filter::Filter;
use crate::selector::EventSelector;

/// The default hook timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// What a failing hook does to the hooks after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Record the failure and go on (the default: CI trouble never breaks local work).
    #[default]
    Continue,
    /// Skip the remaining hooks for this event and make the emit fail.
    Stop,
}

impl FailMode {
    /// `continue` or `stop`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailMode::Continue => "continue",
            FailMode::Stop => "stop",
        }
    }
}

/// One entry of a hook's `events`: a type selector and an optional filter.
#[derive(Clone, Debug, PartialEq)]
pub struct Trigger {
    /// The event type pattern.
    pub selector: EventSelector,
    /// Conditions on the payload.
    pub filter: Filter,
}

impl Trigger {
    /// Whether `event` fires this trigger.
    #[inline]
    pub fn matches(&self, event: &Event) -> bool {
        self.selector.matches(event.event_type().as_str()) && self.filter.matches(event)
    }
}

/// A hook's concurrency limit: at most `max` runs at once, per value of the event
/// field `key` when there is one (`concurrency_key`), admitted in arrival order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Concurrency {
    /// Runs allowed at once (per key value).
    pub max: usize,
    /// The event field whose value separates the lines (`environment`), if any.
    pub key: Option<String>,
}

/// A value of a hook's `env`. Secret values are held as [`SecretString`] and never
/// shown by `Debug`.
#[derive(Clone)]
pub enum EnvValue {
    /// A value that may be shown.
    Plain(String),
    /// A value that must be masked.
    Secret(SecretString),
}

impl EnvValue {
    /// The value, for passing to a process.
    pub fn expose(&self) -> &str {
        match self {
            EnvValue::Plain(v) => v,
            EnvValue::Secret(v) => v.expose_secret(),
        }
    }

    /// Whether the value is secret.
    pub fn is_secret(&self) -> bool {
        matches!(self, EnvValue::Secret(_))
    }
}

impl fmt::Debug for EnvValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvValue::Plain(v) => write!(f, "{v:?}"),
            EnvValue::Secret(_) => f.write_str("***"),
        }
    }
}

/// A validated hook.
#[derive(Clone)]
pub struct HookSpec {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) triggers: Vec<Trigger>,
    pub(crate) action_key: String,
    pub(crate) action: Arc<dyn Action>,
    pub(crate) timeout: Duration,
    pub(crate) env: Vec<(String, EnvValue)>,
    pub(crate) fail_mode: FailMode,
    pub(crate) parallel: bool,
    pub(crate) working_dir: Option<PathBuf>,
    pub(crate) enabled: bool,
    pub(crate) concurrency: Option<Concurrency>,
    pub(crate) when: Option<String>,
    pub(crate) line: Option<u32>,
}

impl fmt::Debug for HookSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookSpec")
            .field("name", &self.name)
            .field("triggers", &self.triggers)
            .field("action", &self.action.summary())
            .field("timeout", &self.timeout)
            .field("env", &self.env)
            .field("fail_mode", &self.fail_mode)
            .field("parallel", &self.parallel)
            .field("working_dir", &self.working_dir)
            .field("enabled", &self.enabled)
            .field("concurrency", &self.concurrency)
            .field("when", &self.when)
            .finish()
    }
}

impl HookSpec {
    /// Starts a hook built in Rust.
    ///
    /// ```
    /// use flowspec_core::{FailMode, HookSpec};
    ///
    /// let hook = HookSpec::builder("notify-staging")
    ///     .on("deploy.completed")
    ///     .command("echo deployed")
    ///     .fail_mode(FailMode::Stop)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(hook.name(), "notify-staging");
    /// ```
    pub fn builder(name: impl Into<String>) -> HookSpecBuilder {
        HookSpecBuilder {
            name: name.into(),
            description: None,
            triggers: Vec::new(),
            action: None,
            timeout: DEFAULT_TIMEOUT,
            env: Vec::new(),
            fail_mode: FailMode::Continue,
            parallel: false,
            working_dir: None,
            enabled: true,
            concurrency: None,
            when: None,
            error: None,
        }
    }

    /// The unique name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The `events` entries.
    pub fn triggers(&self) -> &[Trigger] {
        &self.triggers
    }

    /// The hooks.yaml key of the action (`script`, `command`, `ci`...).
    pub fn action_key(&self) -> &str {
        &self.action_key
    }

    /// The action.
    pub fn action(&self) -> &Arc<dyn Action> {
        &self.action
    }

    /// The timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The `env` entries.
    pub fn env(&self) -> &[(String, EnvValue)] {
        &self.env
    }

    /// The fail mode.
    pub fn fail_mode(&self) -> FailMode {
        self.fail_mode
    }

    /// Whether it may run at the same time as adjacent parallel hooks.
    pub fn parallel(&self) -> bool {
        self.parallel
    }

    /// The working directory (absolute), if not the project root.
    pub fn working_dir(&self) -> Option<&std::path::Path> {
        self.working_dir.as_deref()
    }

    /// Whether it is enabled.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The concurrency limit, if any.
    pub fn concurrency(&self) -> Option<&Concurrency> {
        self.concurrency.as_ref()
    }

    /// The `when:` gate: a shell command run before the hook; exit 0 runs the hook,
    /// anything else skips it.
    pub fn when(&self) -> Option<&str> {
        self.when.as_deref()
    }

    /// The line in hooks.yaml where the hook starts, for hooks read from a file.
    pub fn line(&self) -> Option<u32> {
        self.line
    }

    /// Whether the hook is enabled and one of its triggers fires for `event`.
    #[inline]
    pub fn matches(&self, event: &Event) -> bool {
        self.enabled && self.triggers.iter().any(|t| t.matches(event))
    }
}

/// Builds a [`HookSpec`] in Rust; see [`HookSpec::builder`].
#[must_use]
pub struct HookSpecBuilder {
    name: String,
    description: Option<String>,
    triggers: Vec<Trigger>,
    action: Option<(String, Arc<dyn Action>)>,
    timeout: Duration,
    env: Vec<(String, EnvValue)>,
    fail_mode: FailMode,
    parallel: bool,
    working_dir: Option<PathBuf>,
    enabled: bool,
    concurrency: Option<Concurrency>,
    when: Option<String>,
    error: Option<EventError>,
}

/// Why a hook built in Rust is invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookSpecError {
    /// A selector could not be compiled.
    #[error("hook `{hook}`: {source}")]
    Selector {
        /// The hook.
        hook: String,
        /// The selector problem.
        source: EventError,
    },
    /// A required part is missing.
    #[error("hook `{hook}`: {what}")]
    Incomplete {
        /// The hook.
        hook: String,
        /// What is missing.
        what: &'static str,
    },
}

impl HookSpecBuilder {
    /// Adds an event selector without a filter.
    pub fn on(self, selector: &str) -> Self {
        self.on_filtered(selector, Filter::new())
    }

    /// Adds an event selector with a payload filter.
    pub fn on_filtered(mut self, selector: &str, filter: Filter) -> Self {
        match EventSelector::new(selector) {
            Ok(selector) => self.triggers.push(Trigger { selector, filter }),
            Err(e) => self.error = Some(e),
        }
        self
    }

    /// Sets the description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// Runs `line` with `sh -c`.
    pub fn command(mut self, line: impl Into<String>) -> Self {
        self.action = Some(("command".into(), Arc::new(ProcessAction::command(line))));
        self
    }

    /// Runs an executable file.
    pub fn script(mut self, path: impl Into<PathBuf>) -> Self {
        self.action = Some(("script".into(), Arc::new(ProcessAction::script(path))));
        self
    }

    /// Runs an in-process action.
    pub fn action(mut self, action: Arc<dyn Action>) -> Self {
        self.action = Some(("action".into(), action));
        self
    }

    /// Sets the timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), EnvValue::Plain(value.into())));
        self
    }

    /// Adds an environment variable whose value is masked everywhere.
    pub fn secret_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((
            name.into(),
            EnvValue::Secret(SecretString::from(value.into())),
        ));
        self
    }

    /// Sets the fail mode.
    pub fn fail_mode(mut self, mode: FailMode) -> Self {
        self.fail_mode = mode;
        self
    }

    /// Lets the hook run at the same time as adjacent parallel hooks.
    pub fn parallel(mut self, parallel: bool) -> Self {
        self.parallel = parallel;
        self
    }

    /// Sets the working directory.
    pub fn working_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.working_dir = Some(dir.into());
        self
    }

    /// Enables or disables the hook.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Limits runs at once to `max`, per value of the event field `key` if given.
    pub fn concurrency(mut self, max: usize, key: Option<&str>) -> Self {
        self.concurrency = Some(Concurrency {
            max: max.max(1),
            key: key.map(str::to_owned),
        });
        self
    }

    /// Gates the hook on a shell command (`when:` in hooks.yaml): it runs in the hook's
    /// working directory with the hook's environment; exit 0 runs the hook, anything
    /// else skips it.
    ///
    /// ```
    /// use flowspec_core::HookSpec;
    ///
    /// let hook = HookSpec::builder("open-pr")
    ///     .on("task.completed")
    ///     .when("test -f .ready")
    ///     .command("echo ready")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(hook.when(), Some("test -f .ready"));
    /// ```
    pub fn when(mut self, command: impl Into<String>) -> Self {
        self.when = Some(command.into());
        self
    }

    /// Checks and builds.
    pub fn build(self) -> Result<HookSpec, HookSpecError> {
        if let Some(source) = self.error {
            return Err(HookSpecError::Selector {
                hook: self.name,
                source,
            });
        }
        if self.triggers.is_empty() {
            return Err(HookSpecError::Incomplete {
                hook: self.name,
                what: "no events: call .on(\"event.type\")",
            });
        }
        let Some((action_key, action)) = self.action else {
            return Err(HookSpecError::Incomplete {
                hook: self.name,
                what: "no action: call .command(), .script() or .action()",
            });
        };
        Ok(HookSpec {
            name: self.name,
            description: self.description,
            triggers: self.triggers,
            action_key,
            action,
            timeout: self.timeout,
            env: self.env,
            fail_mode: self.fail_mode,
            parallel: self.parallel,
            working_dir: self.working_dir,
            enabled: self.enabled,
            concurrency: self.concurrency,
            when: self.when,
            line: None,
        })
    }
}
