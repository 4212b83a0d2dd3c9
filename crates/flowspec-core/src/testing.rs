//! Helpers for tests: a recording action and a reporter that keeps everything.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::action::{Action, ActionContext, ActionOutcome};
use crate::event::Event;
use crate::output::Stream;
use crate::report::{HookReport, Reporter};

/// An action that records the events it receives and succeeds (or fails, if built
/// with [`RecordingAction::failing`]).
#[derive(Debug, Default)]
pub struct RecordingAction {
    events: Mutex<Vec<Event>>,
    fail_with: Option<String>,
}

impl RecordingAction {
    /// A recording action that succeeds.
    pub fn new() -> Arc<Self> {
        Arc::new(RecordingAction::default())
    }

    /// A recording action that fails with `message`.
    pub fn failing(message: &str) -> Arc<Self> {
        Arc::new(RecordingAction {
            events: Mutex::default(),
            fail_with: Some(message.to_owned()),
        })
    }

    /// The events received so far.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[async_trait]
impl Action for RecordingAction {
    fn summary(&self) -> String {
        "recording action".into()
    }

    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cx.event.clone());
        match &self.fail_with {
            Some(message) => ActionOutcome::failed(message.clone()),
            None => ActionOutcome::success(),
        }
    }
}

/// A reporter that keeps every callback as a line of text, in order.
#[derive(Debug, Default)]
pub struct RecordingReporter {
    lines: Mutex<Vec<String>>,
}

impl RecordingReporter {
    /// A new reporter.
    pub fn new() -> Arc<Self> {
        Arc::new(RecordingReporter::default())
    }

    /// The recorded lines.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn push(&self, line: String) {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
    }
}

impl Reporter for RecordingReporter {
    fn hook_started(&self, _event: &Event, hook: &str) {
        self.push(format!("start {hook}"));
    }

    fn hook_output(&self, hook: &str, stream: Stream, line: &str) {
        self.push(format!("{hook} {stream:?}: {line}"));
    }

    fn hook_finished(&self, _event: &Event, report: &HookReport) {
        self.push(format!("finish {} {}", report.hook, report.status));
    }
}

/// A sample event of `event_type` with feature `auth`.
pub fn sample_event(event_type: &str) -> Event {
    Event::builder(event_type)
        .feature("auth")
        .source("test")
        .build()
        .expect("sample event types are valid")
}
