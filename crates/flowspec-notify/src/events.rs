//! Event names in routing lists: short names and flowspec's dotted types.
//!
//! `notify_on`, `alert_on`, `report_on`, a webhook endpoint's `events` and the keys of
//! email `recipients` accept a short name from flowspec's table of event names
//! ([`flowspec_core::event::names`]) or a dotted type:
//!
//! | short name                 | event types                 |
//! |----------------------------|-----------------------------|
//! | `spec_created`             | `spec.created`              |
//! | `spec_approved`            | `spec.approved`             |
//! | `implementation_started`   | `implement.started`         |
//! | `implementation_completed` | `implement.completed`       |
//! | `implementation_failed`    | `implement.failed`          |
//! | `validation_failed`        | `validate.failed`           |
//! | `pr_created`               | `pr.opened`, `pr.created`   |
//! | `pr_merged`                | `pr.merged`                 |
//!
//! `pr_created` matches both the `pr.opened` a forge sends through `flowspec serve`
//! and the `pr.created` a workflow emits. Any other entry is an event type selector
//! (`deploy.completed`, `deploy.*`, `*.failed`, `*`). A name without a dot that is not
//! in the table is refused, so a typo (`implementation_complete`) is caught when the
//! config is read.

use flowspec_core::event::names;
use flowspec_core::{Event, EventSelector};

/// The event type a short name stands for, the first of its types in the table
/// (`implementation_failed` → `implement.failed`, `pr_created` → `pr.opened`).
pub fn event_type_of(name: &str) -> Option<&'static str> {
    names::types_of(name).first().copied()
}

/// The short name of an event type, if it has one (`implement.failed` →
/// `implementation_failed`, `pr.opened` → `pr_created`).
pub fn name_of(event_type: &str) -> Option<&'static str> {
    names::short_name_of(event_type)
}

/// The name shown for an event type: its short name, or the type itself.
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
            matcher.selectors.extend(selectors_for(entry)?);
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

/// The selectors for one routing entry: one per type of a short name, or the entry
/// itself as a selector.
pub fn selectors_for(entry: &str) -> Result<Vec<EventSelector>, String> {
    let types = names::types_of(entry);
    if !types.is_empty() {
        return types
            .into_iter()
            .map(|t| EventSelector::new(t).map_err(|e| e.to_string()))
            .collect();
    }
    if entry != "*" && !entry.contains('.') {
        let known = names::short_names();
        let hint = match flowspec_core::config::suggest(entry, known.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!(
                "use one of {} or a dotted event type such as `deploy.completed` (wildcards: `deploy.*`, `*.failed`, `*`)",
                known
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        return Err(format!("unknown event name `{entry}` ({hint})"));
    }
    EventSelector::new(entry)
        .map(|s| vec![s])
        .map_err(|e| e.to_string())
}

/// The spec statuses events move a spec to, in the order of its life: the keys of
/// `state_mappings` (Linear, Azure DevOps), `status_mappings` (GitHub Projects) and
/// Jira's `transition_on_*` options.
pub const SPEC_STATUSES: &[&str] = &["draft", "in_progress", "review", "approved", "implemented"];

/// The spec status `event` moves its spec to, if any: the event's own `status` (or
/// `spec.status`) field when it has one, else from its type: `spec.created` →
/// `draft`, `implement.started` → `in_progress`, `pr.opened` and `pr.created` →
/// `review`,
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
        "pr.opened" | "pr.created" => "review",
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
    fn should_match_every_type_of_a_short_name() {
        for row in names::EVENT_NAMES {
            let Some(name) = row.short_name else { continue };
            assert_eq!(name_of(row.event_type), Some(name));
            assert!(
                EventMatcher::parse([name])
                    .unwrap()
                    .matches_type(row.event_type)
            );
            assert!(
                EventMatcher::parse([row.event_type])
                    .unwrap()
                    .matches_type(row.event_type)
            );
        }
        assert_eq!(
            event_type_of("implementation_failed"),
            Some("implement.failed")
        );
    }

    #[test]
    fn should_route_pr_created_to_the_pr_opened_a_forge_sends() {
        let m = EventMatcher::parse(["pr_created"]).unwrap();
        assert!(m.matches_type("pr.opened"));
        assert!(m.matches_type("pr.created"));
        assert!(!m.matches_type("pr.merged"));
        assert_eq!(m.entries(), ["pr_created"]);
        assert_eq!(display_name("pr.opened"), "pr_created");
        let opened = Event::builder("pr.opened").build().unwrap();
        assert_eq!(spec_status(&opened).as_deref(), Some("review"));
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
