//! Event names in routing lists: seed 003's names and flowspec's dotted types.
//!
//! `notify_on`, `alert_on`, `report_on`, a webhook endpoint's `events` and the keys of
//! email `recipients` accept both spellings:
//!
//! | name (seed 003)            | event type            |
//! |----------------------------|-----------------------|
//! | `spec_created`             | `spec.created`        |
//! | `spec_approved`            | `spec.approved`       |
//! | `implementation_started`   | `implement.started`   |
//! | `implementation_completed` | `implement.completed` |
//! | `implementation_failed`    | `implement.failed`    |
//! | `pr_created`               | `pr.created`          |
//! | `pr_merged`                | `pr.merged`           |
//! | `validation_failed`        | `validate.failed`     |
//!
//! Any other entry is an event type selector (`deploy.completed`, `deploy.*`,
//! `*.failed`, `*`). A name without a dot that is not in the table is refused, so a
//! typo (`implementation_complete`) is caught when the config is read.

use flowspec_core::{Event, EventSelector};

/// Seed 003's event names and the event types they stand for.
pub const EVENT_NAMES: &[(&str, &str)] = &[
    ("spec_created", "spec.created"),
    ("spec_approved", "spec.approved"),
    ("implementation_started", "implement.started"),
    ("implementation_completed", "implement.completed"),
    ("implementation_failed", "implement.failed"),
    ("pr_created", "pr.created"),
    ("pr_merged", "pr.merged"),
    ("validation_failed", "validate.failed"),
];

/// The event type a seed name stands for (`implementation_failed` → `implement.failed`).
pub fn event_type_of(name: &str) -> Option<&'static str> {
    EVENT_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

/// The seed name of an event type, if it has one (`implement.failed` → `implementation_failed`).
pub fn name_of(event_type: &str) -> Option<&'static str> {
    EVENT_NAMES
        .iter()
        .find(|(_, t)| *t == event_type)
        .map(|(n, _)| *n)
}

/// The name shown for an event type: its seed name, or the type itself.
pub fn display_name(event_type: &str) -> String {
    name_of(event_type).unwrap_or(event_type).to_owned()
}

/// A set of events from a routing list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventMatcher {
    entries: Vec<String>,
    selectors: Vec<EventSelector>,
}

impl EventMatcher {
    /// Every event.
    pub fn all() -> Self {
        EventMatcher::parse(["*"]).expect("`*` is a valid selector")
    }

    /// No event.
    pub fn none() -> Self {
        EventMatcher::default()
    }

    /// Reads a routing list. The error names the bad entry and how to fix it.
    ///
    /// ```
    /// use flowspec_notify::events::EventMatcher;
    /// let m = EventMatcher::parse(["implementation_failed", "deploy.*"]).unwrap();
    /// assert!(m.matches_type("implement.failed"));
    /// assert!(m.matches_type("deploy.completed"));
    /// assert!(!m.matches_type("implement.completed"));
    /// let err = EventMatcher::parse(["implementation_complete"]).unwrap_err();
    /// assert!(err.contains("did you mean `implementation_completed`"), "{err}");
    /// ```
    pub fn parse<S: AsRef<str>>(entries: impl IntoIterator<Item = S>) -> Result<Self, String> {
        let mut matcher = EventMatcher::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            matcher.selectors.push(selector_for(entry)?);
            matcher.entries.push(entry.to_owned());
        }
        Ok(matcher)
    }

    /// Adds the entries of `other`.
    pub fn extend(&mut self, other: EventMatcher) {
        self.entries.extend(other.entries);
        self.selectors.extend(other.selectors);
    }

    /// Whether it matches nothing.
    pub fn is_empty(&self) -> bool {
        self.selectors.is_empty()
    }

    /// The entries as written.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Whether an event of `event_type` is in the set.
    pub fn matches_type(&self, event_type: &str) -> bool {
        self.selectors.iter().any(|s| s.matches(event_type))
    }

    /// Whether `event` is in the set.
    pub fn matches(&self, event: &Event) -> bool {
        self.matches_type(event.event_type().as_str())
    }
}

/// The selector for one routing entry.
pub fn selector_for(entry: &str) -> Result<EventSelector, String> {
    if let Some(event_type) = event_type_of(entry) {
        return EventSelector::new(event_type).map_err(|e| e.to_string());
    }
    if entry != "*" && !entry.contains('.') {
        let names = EVENT_NAMES.iter().map(|(n, _)| *n);
        let hint = match flowspec_core::config::suggest(entry, names) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!(
                "use one of {} or a dotted event type such as `deploy.completed` (wildcards: `deploy.*`, `*.failed`, `*`)",
                EVENT_NAMES
                    .iter()
                    .map(|(n, _)| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        return Err(format!("unknown event name `{entry}` ({hint})"));
    }
    EventSelector::new(entry).map_err(|e| e.to_string())
}

/// The spec statuses events move a spec to, in the order of its life: the keys of
/// `state_mappings` (Linear, Azure DevOps), `status_mappings` (GitHub Projects) and
/// Jira's `transition_on_*` options.
pub const SPEC_STATUSES: &[&str] = &["draft", "in_progress", "review", "approved", "implemented"];

/// The spec status `event` moves its spec to, if any: the event's own `status` (or
/// `spec.status`) field when it has one, else from its type: `spec.created` →
/// `draft`, `implement.started` → `in_progress`, `pr.created` → `review`,
/// `spec.approved` → `approved`, `implement.completed` and `pr.merged` →
/// `implemented`.
///
/// ```
/// use flowspec_core::Event;
/// use flowspec_notify::events::spec_status;
/// let approved = Event::builder("spec.approved").build().unwrap();
/// assert_eq!(spec_status(&approved).as_deref(), Some("approved"));
/// let moved = Event::builder("spec.updated").field("status", "review").build().unwrap();
/// assert_eq!(spec_status(&moved).as_deref(), Some("review"));
/// ```
pub fn spec_status(event: &Event) -> Option<String> {
    for path in ["status", "spec.status"] {
        if let Some(flowspec_core::event::FieldValue::Json(serde_json::Value::String(s))) =
            event.field(path)
            && !s.trim().is_empty()
        {
            return Some(s.trim().to_ascii_lowercase());
        }
    }
    let status = match event.event_type().as_str() {
        "spec.created" => "draft",
        "implement.started" => "in_progress",
        "pr.created" => "review",
        "spec.approved" => "approved",
        "implement.completed" | "pr.merged" => "implemented",
        _ => return None,
    };
    Some(status.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_map_every_seed_name_both_ways() {
        for (name, event_type) in EVENT_NAMES {
            assert_eq!(event_type_of(name), Some(*event_type));
            assert_eq!(name_of(event_type), Some(*name));
            assert!(
                EventMatcher::parse([*name])
                    .unwrap()
                    .matches_type(event_type)
            );
            assert!(
                EventMatcher::parse([*event_type])
                    .unwrap()
                    .matches_type(event_type)
            );
        }
    }

    #[test]
    fn should_accept_wildcards_and_refuse_typos() {
        assert!(EventMatcher::all().matches_type("anything.at.all"));
        assert!(
            EventMatcher::parse(["*.failed"])
                .unwrap()
                .matches_type("validate.failed")
        );
        assert!(EventMatcher::parse(["deploy..x"]).is_err());
        assert!(
            EventMatcher::parse(["spec_create"])
                .unwrap_err()
                .contains("`spec_created`")
        );
    }
}
