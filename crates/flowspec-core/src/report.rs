//! What happened when an event was dispatched: a [`DispatchReport`] with one
//! [`HookReport`] per matching hook, and the [`Reporter`] callbacks that let a
//! terminal show progress while it happens.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::event::Event;
use crate::output::Stream;
use crate::spec::FailMode;

/// How a hook run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HookStatus {
    /// The action succeeded (exit code 0).
    Success,
    /// The action failed (non-zero exit, signal, or an action error).
    Failed,
    /// The action ran past its timeout and was stopped.
    Timeout,
    /// The hook did not run; see [`SkipReason`].
    Skipped,
}

impl HookStatus {
    /// The lowercase name used in the audit log and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            HookStatus::Success => "success",
            HookStatus::Failed => "failed",
            HookStatus::Timeout => "timeout",
            HookStatus::Skipped => "skipped",
        }
    }

    /// Whether this status counts as a failure for `fail_mode`.
    pub fn is_failure(self) -> bool {
        matches!(self, HookStatus::Failed | HookStatus::Timeout)
    }
}

impl std::fmt::Display for HookStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a hook was skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// It already succeeded for this event id (use `--force` to run it again).
    AlreadySucceeded,
    /// Another flowspec process ran it for this event id at the same time; its result.
    RanElsewhere {
        /// The status the other process recorded.
        status: HookStatus,
    },
    /// An earlier hook with `fail_mode: stop` failed.
    Blocked {
        /// The hook that failed.
        by: String,
    },
    /// `--dry-run`: it would have run.
    DryRun,
    /// Its `when:` command did not exit 0.
    Condition {
        /// The command and how it ended (exit status, or why it could not run).
        reason: String,
    },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::AlreadySucceeded => {
                f.write_str("already succeeded for this event id (use --force to run again)")
            }
            SkipReason::RanElsewhere { status } => {
                write!(
                    f,
                    "ran in another flowspec process for this event id ({status})"
                )
            }
            SkipReason::Blocked { by } => write!(f, "blocked: `{by}` failed with fail_mode: stop"),
            SkipReason::DryRun => f.write_str("dry run"),
            SkipReason::Condition { reason } => write!(f, "`when` not met: {reason}"),
        }
    }
}

/// The outcome of one hook for one event.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct HookReport {
    /// The hook's name.
    pub hook: String,
    /// The hooks.yaml key of its action (`script`, `command`, `ci`, `notify`...).
    pub action: String,
    /// How it ended.
    pub status: HookStatus,
    /// Why it was skipped, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<SkipReason>,
    /// The process exit code, when there was a process that exited.
    pub exit_code: Option<i32>,
    /// Wall time of the run in milliseconds (0 when skipped).
    pub duration_ms: u64,
    /// Which attempt this was for the (event id, hook) pair, starting at 1.
    pub attempt: u32,
    /// The hook's fail mode.
    pub fail_mode: FailMode,
    /// A short explanation of a failure ("exit code 2", "timed out after 30s"...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The last lines of output (masked).
    pub output: String,
    /// Extra fields from the action (for example a CI run id and url).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub details: Map<String, Value>,
}

impl HookReport {
    pub(crate) fn skipped(hook: &crate::spec::HookSpec, reason: SkipReason) -> Self {
        HookReport {
            hook: hook.name().to_owned(),
            action: hook.action_key().to_owned(),
            status: HookStatus::Skipped,
            skip_reason: Some(reason),
            exit_code: None,
            duration_ms: 0,
            attempt: 0,
            fail_mode: hook.fail_mode(),
            message: None,
            output: String::new(),
            details: Map::new(),
        }
    }

    /// The run time.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.duration_ms)
    }
}

/// Everything that happened for one event, and for the events its hooks emitted.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct DispatchReport {
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// One report per matching hook, in file order.
    pub hooks: Vec<HookReport>,
    /// The `fail_mode: stop` hook that failed and blocked the rest, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
    /// Reports for follow-up events emitted by actions (for example `ci.triggered`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub follow_ups: Vec<DispatchReport>,
}

impl DispatchReport {
    /// Whether no `fail_mode: stop` hook failed, here or in a follow-up event.
    pub fn is_blocked(&self) -> bool {
        self.blocked_by.is_some() || self.follow_ups.iter().any(DispatchReport::is_blocked)
    }

    /// Every hook that failed or timed out, here and in follow-ups.
    pub fn failures(&self) -> Vec<&HookReport> {
        let mut out: Vec<&HookReport> = self
            .hooks
            .iter()
            .filter(|h| h.status.is_failure())
            .collect();
        for follow_up in &self.follow_ups {
            out.extend(follow_up.failures());
        }
        out
    }

    /// What failed, in one line: "hook `a` failed (exit code 1); hook `b` timeout
    /// (timed out after 30s)", or "blocked by `a`".
    pub fn failure_summary(&self) -> String {
        let parts: Vec<String> = self
            .failures()
            .iter()
            .map(|h| match &h.message {
                Some(m) => format!("hook `{}` {} ({m})", h.hook, h.status),
                None => format!("hook `{}` {}", h.hook, h.status),
            })
            .collect();
        if !parts.is_empty() {
            return parts.join("; ");
        }
        match &self.blocked_by {
            Some(by) => format!("blocked by `{by}`"),
            None => "failed".to_owned(),
        }
    }

    /// The report of a hook by name (in this event only).
    pub fn hook(&self, name: &str) -> Option<&HookReport> {
        self.hooks.iter().find(|h| h.hook == name)
    }
}

/// Progress callbacks from the engine; every method has an empty default.
///
/// Implementations must be quick: they are called on the engine's task.
pub trait Reporter: Send + Sync {
    /// An event is about to be dispatched to `hooks` (names, in order).
    fn event_started(&self, _event: &Event, _hooks: &[&str]) {}
    /// A hook is starting.
    fn hook_started(&self, _event: &Event, _hook: &str) {}
    /// One line of a hook's output, already masked.
    fn hook_output(&self, _hook: &str, _stream: Stream, _line: &str) {}
    /// A hook finished (or was skipped).
    fn hook_finished(&self, _event: &Event, _report: &HookReport) {}
}

/// A [`Reporter`] that shows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct SilentReporter;

impl Reporter for SilentReporter {}

/// Several reporters as one: each callback goes to all, in order.
///
/// ```
/// use std::sync::Arc;
/// use flowspec_core::report::{Reporters, SilentReporter};
/// let both = Reporters(vec![Arc::new(SilentReporter), Arc::new(SilentReporter)]);
/// # let _ = both;
/// ```
pub struct Reporters(pub Vec<std::sync::Arc<dyn Reporter>>);

impl Reporter for Reporters {
    fn event_started(&self, event: &Event, hooks: &[&str]) {
        self.0.iter().for_each(|r| r.event_started(event, hooks));
    }

    fn hook_started(&self, event: &Event, hook: &str) {
        self.0.iter().for_each(|r| r.hook_started(event, hook));
    }

    fn hook_output(&self, hook: &str, stream: Stream, line: &str) {
        self.0
            .iter()
            .for_each(|r| r.hook_output(hook, stream, line));
    }

    fn hook_finished(&self, event: &Event, report: &HookReport) {
        self.0.iter().for_each(|r| r.hook_finished(event, report));
    }
}
