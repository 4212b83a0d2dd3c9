//! Event type selectors: `deploy.completed`, `deploy.*`, `*.completed`, `*`.
//!
//! `*` matches any run of characters, dots included, so `deploy.*` matches
//! `deploy.completed` and `deploy.staging.completed` but not `deploy` itself.
//! Selectors are compiled once; matching is a few byte comparisons.

use std::fmt;

use crate::event::{EventError, check_dotted_name};
use crate::glob::Glob;

/// A compiled event type pattern.
///
/// ```
/// use flowspec_core::EventSelector;
///
/// let s = EventSelector::new("*.completed").unwrap();
/// assert!(s.matches("implement.completed"));
/// assert!(!s.matches("implement.started"));
/// assert!(EventSelector::new("deploy.*").unwrap().matches("deploy.staging.completed"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct EventSelector {
    pattern: String,
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Any,
    Exact,
    Prefix(String),
    Suffix(String),
    // Literal pieces between stars; the pattern starts and ends with a piece (possibly empty).
    Glob(Glob),
}

impl EventSelector {
    /// Compiles a selector. Segments are as in event types, plus `*`.
    pub fn new(pattern: impl Into<String>) -> Result<Self, EventError> {
        let pattern = pattern.into();
        if pattern != "*" {
            check_dotted_name(&pattern, true).map_err(|reason| EventError::InvalidType {
                value: pattern.clone(),
                reason,
            })?;
        }
        let stars = pattern.matches('*').count();
        let kind = if pattern.chars().all(|c| c == '*') {
            Kind::Any
        } else if stars == 0 {
            Kind::Exact
        } else if stars == 1 && pattern.ends_with('*') {
            Kind::Prefix(pattern[..pattern.len() - 1].to_owned())
        } else if stars == 1 && pattern.starts_with('*') {
            Kind::Suffix(pattern[1..].to_owned())
        } else {
            Kind::Glob(Glob::new(pattern.as_str()))
        };
        Ok(EventSelector { pattern, kind })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the pattern has a wildcard.
    pub fn is_wildcard(&self) -> bool {
        self.kind != Kind::Exact
    }

    /// Whether `event_type` matches.
    #[inline]
    pub fn matches(&self, event_type: &str) -> bool {
        match &self.kind {
            Kind::Any => true,
            Kind::Exact => self.pattern == event_type,
            Kind::Prefix(p) => event_type.len() > p.len() && event_type.starts_with(p.as_str()),
            Kind::Suffix(s) => event_type.len() > s.len() && event_type.ends_with(s.as_str()),
            Kind::Glob(glob) => glob.matches(event_type),
        }
    }
}

impl fmt::Debug for EventSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventSelector({:?})", self.pattern)
    }
}

impl fmt::Display for EventSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, event_type: &str) -> bool {
        EventSelector::new(pattern).unwrap().matches(event_type)
    }

    #[test]
    fn should_match_exact_types_only_exactly() {
        assert!(m("implement.completed", "implement.completed"));
        assert!(!m("implement.completed", "implement.completed.x"));
        assert!(!m("implement", "implement.completed"));
    }

    #[test]
    fn should_match_prefix_suffix_and_any() {
        assert!(m("deploy.*", "deploy.completed"));
        assert!(m("deploy.*", "deploy.staging.completed"));
        assert!(!m("deploy.*", "deploy"));
        assert!(!m("deploy.*", "deployx.completed"));
        assert!(m("*.completed", "validate.completed"));
        assert!(!m("*.completed", "completed"));
        assert!(!m("*.completed", "validate.completed.not"));
        assert!(m("*", "anything.at.all"));
    }

    #[test]
    fn should_match_inner_and_multiple_wildcards() {
        assert!(m("ci.*.completed", "ci.github.completed"));
        assert!(!m("ci.*.completed", "ci.completed"));
        assert!(m("*.deploy.*", "prod.deploy.done"));
        assert!(!m("*.deploy.*", "prod.deployed"));
        assert!(m("impl*", "implement.completed"));
    }

    #[test]
    fn should_reject_malformed_selectors() {
        assert!(EventSelector::new("").is_err());
        assert!(EventSelector::new("a..b").is_err());
        assert!(EventSelector::new("a b").is_err());
        assert!(EventSelector::new("a.").is_err());
    }
}
