//! The event types flowspec emits or maps, in one table.
//!
//! `flowspec serve` maps webhooks to these types, actions emit some as follow-ups
//! (`ci.triggered`, `ci.retried`), and routing lists (`notify_on`, `alert_on`…) accept
//! a row's short name as well as its type: `notify_on: [pr_created]` matches the
//! `pr.opened` a forge sends and the `pr.created` a workflow emits.
//!
//! A row whose type ends in `.*` is a family: types built from the sender's own words
//! (`pr.synchronize`, `github.star.created`). [`lookup`] finds a type's row, exact rows
//! first.
//!
//! ```
//! use flowspec_core::event::names;
//! assert_eq!(names::short_name_of("pr.opened"), Some("pr_created"));
//! assert_eq!(names::types_of("pr_created"), ["pr.opened", "pr.created"]);
//! assert_eq!(names::lookup("pr.synchronize").unwrap().event_type, "pr.*");
//! assert!(names::lookup("nobody.sends.this").is_none());
//! ```
//!
//! [`markdown_table`] renders the table as written in the notify documentation; a test
//! keeps the two equal.

/// Who emits an event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Emitter {
    /// The workflow around a spec, with `flowspec emit` (or an agent doing so).
    Workflow,
    /// `flowspec serve`, mapping a CI platform's or a forge's webhook.
    Serve,
    /// An action of flowspec, as a follow-up event (`ci`, `retry_flaky`, `ci fix`).
    Action,
}

impl Emitter {
    /// How the documentation names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Emitter::Workflow => "workflow",
            Emitter::Serve => "serve",
            Emitter::Action => "action",
        }
    }
}

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventName {
    /// The dotted event type (`pr.opened`), or a family (`pr.*`).
    pub event_type: &'static str,
    /// The short name routing lists accept for it (`pr_created`), if any. Several
    /// types may share one: the name then matches each of them.
    pub short_name: Option<&'static str>,
    /// Who emits it.
    pub emitter: Emitter,
    /// What it means, in a few words.
    pub meaning: &'static str,
}

const fn row(
    event_type: &'static str,
    short_name: Option<&'static str>,
    emitter: Emitter,
    meaning: &'static str,
) -> EventName {
    EventName {
        event_type,
        short_name,
        emitter,
        meaning,
    }
}

use Emitter::{Action, Serve, Workflow};

/// Every event type flowspec emits or maps, exact types before the families that
/// would also match them.
pub const EVENT_NAMES: &[EventName] = &[
    row(
        "spec.created",
        Some("spec_created"),
        Workflow,
        "a spec was written",
    ),
    row(
        "spec.approved",
        Some("spec_approved"),
        Workflow,
        "a spec was approved",
    ),
    row(
        "implement.started",
        Some("implementation_started"),
        Workflow,
        "work on a spec started",
    ),
    row(
        "implement.completed",
        Some("implementation_completed"),
        Workflow,
        "a spec was implemented",
    ),
    row(
        "implement.failed",
        Some("implementation_failed"),
        Workflow,
        "implementing a spec failed",
    ),
    row(
        "validate.failed",
        Some("validation_failed"),
        Workflow,
        "validating an implementation failed",
    ),
    row(
        "pr.opened",
        Some("pr_created"),
        Serve,
        "a pull or merge request was opened",
    ),
    row(
        "pr.created",
        Some("pr_created"),
        Workflow,
        "a pull request was opened by the workflow",
    ),
    row(
        "pr.merged",
        Some("pr_merged"),
        Serve,
        "a pull or merge request was merged",
    ),
    row(
        "pr.closed",
        None,
        Serve,
        "a pull or merge request was closed without merging",
    ),
    row(
        "pr.reopened",
        None,
        Serve,
        "a pull or merge request was reopened",
    ),
    row(
        "pr.updated",
        None,
        Serve,
        "a merge request was updated (GitLab)",
    ),
    row(
        "pr.*",
        None,
        Serve,
        "another pull request action, as GitHub names it (`pr.synchronize`, `pr.edited`)",
    ),
    row(
        "ci.requested",
        None,
        Serve,
        "a pipeline run was requested or queued",
    ),
    row("ci.started", None, Serve, "a pipeline run started"),
    row(
        "ci.completed",
        None,
        Serve,
        "a pipeline run finished (`conclusion`: success, failure, cancelled, skipped…); also the `ci` action's follow-up",
    ),
    row("ci.job.requested", None, Serve, "a job was queued"),
    row("ci.job.started", None, Serve, "a job started"),
    row(
        "ci.job.completed",
        None,
        Serve,
        "a job finished (`conclusion` as for `ci.completed`)",
    ),
    row(
        "ci.check_suite.*",
        None,
        Serve,
        "a GitHub check suite changed (`ci.check_suite.completed`)",
    ),
    row(
        "ci.triggered",
        None,
        Action,
        "the `ci` action started a pipeline run",
    ),
    row(
        "ci.retried",
        None,
        Action,
        "`retry_flaky` re-ran the flaky tests of a run",
    ),
    row(
        "ci.fix.requested",
        None,
        Action,
        "`flowspec ci fix` gathered a failed run's context for a fix",
    ),
    row(
        "ci.fix.exhausted",
        None,
        Action,
        "`flowspec ci fix --max-attempts` found the branch's fix rounds spent: no more fix is asked for",
    ),
    row(
        "deploy.started",
        None,
        Serve,
        "a deployment is queued or running",
    ),
    row("deploy.completed", None, Serve, "a deployment succeeded"),
    row("deploy.failed", None, Serve, "a deployment failed"),
    row(
        "deploy.*",
        None,
        Serve,
        "another deployment state, as the forge names it (`deploy.inactive`)",
    ),
    row("git.push", None, Serve, "commits were pushed to a branch"),
    row("git.tag", None, Serve, "a tag was pushed (GitLab)"),
    row(
        "git.branch.deleted",
        None,
        Serve,
        "a branch was deleted (a push whose `after` is all zeros)",
    ),
    row(
        "github.*",
        None,
        Serve,
        "a GitHub webhook with no mapping (`github.<event>.<action>`)",
    ),
    row(
        "gitlab.*",
        None,
        Serve,
        "a GitLab webhook with no mapping (`gitlab.<event>`)",
    ),
    row(
        "circleci.*",
        None,
        Serve,
        "a CircleCI webhook with no mapping (`circleci.<type>`)",
    ),
    row(
        "jenkins.*",
        None,
        Serve,
        "a Jenkins phase with no mapping (`jenkins.<phase>`)",
    ),
];

fn family_matches(family: &str, event_type: &str) -> bool {
    family
        .strip_suffix('*')
        .is_some_and(|prefix| event_type.starts_with(prefix) && event_type.len() > prefix.len())
}

/// The row of `event_type`: its own, else the family it belongs to.
pub fn lookup(event_type: &str) -> Option<&'static EventName> {
    EVENT_NAMES
        .iter()
        .find(|r| r.event_type == event_type)
        .or_else(|| {
            EVENT_NAMES
                .iter()
                .find(|r| family_matches(r.event_type, event_type))
        })
}

/// The short name of an event type, if its row has one (`pr.opened` → `pr_created`).
pub fn short_name_of(event_type: &str) -> Option<&'static str> {
    EVENT_NAMES
        .iter()
        .find(|r| r.event_type == event_type)
        .and_then(|r| r.short_name)
}

/// The event types a short name stands for, in table order (`pr_created` →
/// `pr.opened`, `pr.created`); empty for a name that is not in the table.
pub fn types_of(short_name: &str) -> Vec<&'static str> {
    EVENT_NAMES
        .iter()
        .filter(|r| r.short_name == Some(short_name))
        .map(|r| r.event_type)
        .collect()
}

/// Every short name, once, in table order.
pub fn short_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for name in EVENT_NAMES.iter().filter_map(|r| r.short_name) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The table as Markdown, one row per event type: type, short name, emitter, meaning.
pub fn markdown_table() -> String {
    let mut out =
        String::from("| event type | short name | emitted by | meaning |\n|---|---|---|---|\n");
    for r in EVENT_NAMES {
        let short = r.short_name.map_or(String::new(), |n| format!("`{n}`"));
        out.push_str(&format!(
            "| `{}` | {short} | {} | {} |\n",
            r.event_type,
            r.emitter.as_str(),
            r.meaning
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventSelector;

    #[test]
    fn should_list_each_type_once_as_a_valid_selector() {
        for (i, r) in EVENT_NAMES.iter().enumerate() {
            assert!(EventSelector::new(r.event_type).is_ok(), "{}", r.event_type);
            assert!(
                EVENT_NAMES[..i]
                    .iter()
                    .all(|o| o.event_type != r.event_type),
                "{} twice",
                r.event_type
            );
            if let Some(short) = r.short_name {
                assert!(!short.contains('.'), "{short}");
            }
        }
    }

    #[test]
    fn should_put_exact_types_before_the_family_that_covers_them() {
        for (i, r) in EVENT_NAMES.iter().enumerate() {
            for family in &EVENT_NAMES[..i] {
                assert!(
                    !family_matches(family.event_type, r.event_type),
                    "{} comes after {}",
                    r.event_type,
                    family.event_type
                );
            }
            assert_eq!(lookup(r.event_type), Some(r));
        }
    }

    #[test]
    fn should_map_short_names_both_ways() {
        for name in short_names() {
            let types = types_of(name);
            assert!(!types.is_empty());
            for t in types {
                assert_eq!(short_name_of(t), Some(name));
            }
        }
        assert_eq!(types_of("pr_merged"), ["pr.merged"]);
        assert!(types_of("pr_opened").is_empty());
        assert_eq!(
            lookup("github.star.created").unwrap().event_type,
            "github.*"
        );
        assert!(lookup("github").is_none());
    }

    /// docs/notify.md carries [`markdown_table`] between two markers. Run with
    /// `FLOWSPEC_UPDATE_DOCS=1` to rewrite it after changing the table.
    #[test]
    fn should_match_the_table_in_the_notify_docs() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/notify.md");
        let doc = std::fs::read_to_string(path).expect("docs/notify.md");
        let start = "<!-- event-names:start";
        let end = "<!-- event-names:end -->";
        let from = doc.find(start).expect("the start marker");
        let from = from + doc[from..].find('\n').expect("a line after the marker") + 1;
        let to = doc.find(end).expect("the end marker");
        let table = markdown_table();
        if std::env::var_os("FLOWSPEC_UPDATE_DOCS").is_some() {
            let updated = format!("{}{table}{}", &doc[..from], &doc[to..]);
            std::fs::write(path, updated).expect("write docs/notify.md");
            return;
        }
        assert_eq!(
            &doc[from..to],
            table,
            "docs/notify.md's event table is out of date: run this test with FLOWSPEC_UPDATE_DOCS=1"
        );
    }
}
