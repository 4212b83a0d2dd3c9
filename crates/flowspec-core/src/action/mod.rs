//! Actions: what a hook does when it runs.
//!
//! Every hook has exactly one action, chosen by a key in hooks.yaml. Each key is an
//! [`ActionFactory`] in a registry; the built-in ones are:
//!
//! | key       | action |
//! |-----------|--------|
//! | `script`  | [`process`]: run an executable file, relative to the project root |
//! | `command` | [`process`]: run a command line with `sh -c` |
//! | `action`  | [`handler`]: call an in-process Rust handler registered by name |
//!
//! Other crates add theirs with one registration each (the CI providers add `ci`, the
//! notifiers add `notify`): implement [`ActionFactory`] and pass it to
//! [`EngineBuilder::action_factory`](crate::EngineBuilder::action_factory).

pub mod disabled;
pub mod handler;
pub mod process;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::config::{ConfigErrors, Node, Vars};
use crate::event::Event;
use crate::output::OutputSink;

/// What a hook does. Object-safe, so hooks hold `Arc<dyn Action>`.
#[async_trait]
pub trait Action: Send + Sync + fmt::Debug {
    /// One line for listings, e.g. `command: make test` (no secrets).
    fn summary(&self) -> String;

    /// Whether the action stops itself at `cx.timeout` (processes do: SIGTERM, grace,
    /// SIGKILL). Otherwise the engine cancels the future at the timeout.
    fn enforces_timeout(&self) -> bool {
        false
    }

    /// Runs the action for one event.
    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome;
}

#[async_trait]
impl<T: Action + ?Sized> Action for Arc<T> {
    fn summary(&self) -> String {
        (**self).summary()
    }

    fn enforces_timeout(&self) -> bool {
        (**self).enforces_timeout()
    }

    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome {
        (**self).run(cx).await
    }
}

#[async_trait]
impl<T: Action + ?Sized> Action for Box<T> {
    fn summary(&self) -> String {
        (**self).summary()
    }

    fn enforces_timeout(&self) -> bool {
        (**self).enforces_timeout()
    }

    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome {
        (**self).run(cx).await
    }
}

fn _assert_object_safe(_: &dyn Action, _: &dyn ActionFactory) {}

/// Everything an action gets for one run.
#[non_exhaustive]
pub struct ActionContext<'a> {
    /// The event.
    pub event: &'a Event,
    /// The event as JSON bytes (what processes read on stdin).
    pub payload: &'a [u8],
    /// The hook's name.
    pub hook_name: &'a str,
    /// Variables to add to the process environment: the hook's `env`, then
    /// `FLOWSPEC_*` and `EVENT_TYPE`.
    pub env: &'a [(String, String)],
    /// Variables the process must not inherit from this process's environment (the
    /// secrets of a server, see [`Engine::withhold_env`](crate::Engine::withhold_env)).
    pub env_remove: &'a [String],
    /// The project root.
    pub project_root: &'a Path,
    /// Where processes start: the hook's `working_dir`, or the project root.
    pub working_dir: &'a Path,
    /// How long the action may run.
    pub timeout: Duration,
    /// After a timeout, how long a process gets between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
    /// 1 for the first run of this (event id, hook), more when re-run after a crash
    /// or a failure.
    pub attempt: u32,
    /// Where to write output lines.
    pub output: &'a OutputSink,
}

/// How an action ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionResult {
    /// It worked.
    Success,
    /// It failed; the message says why.
    Failed(String),
    /// It ran out of time.
    TimedOut,
}

/// The result of [`Action::run`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ActionOutcome {
    /// How it ended.
    pub result: ActionResult,
    /// The exit code, for processes that exited.
    pub exit_code: Option<i32>,
    /// Extra fields for the audit line and the report (masked before writing).
    pub details: Map<String, Value>,
    /// Events to dispatch after this one (for example `ci.triggered`).
    pub follow_ups: Vec<Event>,
}

impl ActionOutcome {
    /// A success.
    pub fn success() -> Self {
        ActionOutcome {
            result: ActionResult::Success,
            exit_code: None,
            details: Map::new(),
            follow_ups: Vec::new(),
        }
    }

    /// A failure with a message.
    pub fn failed(message: impl Into<String>) -> Self {
        ActionOutcome {
            result: ActionResult::Failed(message.into()),
            ..ActionOutcome::success()
        }
    }

    /// A timeout.
    pub fn timed_out() -> Self {
        ActionOutcome {
            result: ActionResult::TimedOut,
            ..ActionOutcome::success()
        }
    }

    /// Sets the exit code.
    pub fn with_exit_code(mut self, code: Option<i32>) -> Self {
        self.exit_code = code;
        self
    }

    /// Adds a detail field.
    pub fn with_detail(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }

    /// Adds an event to dispatch afterwards.
    pub fn with_follow_up(mut self, event: Event) -> Self {
        self.follow_ups.push(event);
        self
    }
}

/// Builds an [`Action`] from its hooks.yaml value. One per key.
pub trait ActionFactory: Send + Sync {
    /// The hooks.yaml key that selects this action (`script`, `ci`, `notify`...).
    fn key(&self) -> &'static str;

    /// A one-line description for `--help` and docs.
    fn describe(&self) -> &'static str;

    /// A complete hook using this action, as YAML (checked by tests).
    fn example_yaml(&self) -> &'static str;

    /// Validates `value` (the node under the key) and builds the action.
    fn build(&self, value: &Node, cx: &BuildContext<'_>) -> Result<Arc<dyn Action>, ConfigErrors>;

    /// `true` for an action that may sit next to one other action key in the same
    /// hook and wrap it (`status:` next to `command:` reports the command's result):
    /// the other action is built first and handed over as [`BuildContext::inner`].
    fn wraps(&self) -> bool {
        false
    }
}

impl fmt::Debug for dyn ActionFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ActionFactory({})", self.key())
    }
}

/// What a factory may use while building.
#[non_exhaustive]
pub struct BuildContext<'a> {
    /// The project root (relative paths start here).
    pub project_root: &'a Path,
    /// The file being read, if any.
    pub file: Option<&'a Path>,
    /// The file's text, for error snippets.
    pub file_text: Option<Arc<str>>,
    /// The key path of the value, e.g. `hooks[2].script`.
    pub key_path: String,
    /// The hook's name.
    pub hook_name: &'a str,
    /// Whether the hook is enabled (disabled hooks need not have their secrets set).
    pub enabled: bool,
    /// Variables for `${VAR}`.
    pub vars: &'a Vars,
    /// In-process handlers registered by name.
    pub handlers: &'a HashMap<String, Arc<dyn Action>>,
    /// For a factory that [`wraps`](ActionFactory::wraps): the hook's other action,
    /// when there is one.
    pub inner: Option<Arc<dyn Action>>,
}

impl BuildContext<'_> {
    /// Attaches this context's file to an error that has none.
    pub fn locate(&self, error: crate::config::ConfigError) -> crate::config::ConfigError {
        match (error.file(), self.file) {
            (None, Some(file)) => error.in_file(file, self.file_text.clone()),
            _ => error,
        }
    }
}

/// The built-in factories: `script`, `command` and `action`.
pub fn builtin_factories() -> Vec<Arc<dyn ActionFactory>> {
    vec![
        Arc::new(process::ScriptFactory),
        Arc::new(process::CommandFactory),
        Arc::new(handler::HandlerFactory),
    ]
}
