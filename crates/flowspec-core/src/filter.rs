//! Payload filters: which events of a type a hook cares about.
//!
//! A filter is a list of conditions, all of which must hold. A condition names a
//! field (top-level or dotted path, see [`Event::field`]) and one or more accepted
//! values (a YAML list means any-of). Values compare as JSON, except that scalars
//! also match by their text (`"3"` matches `3`, `"true"` matches `true`), strings
//! with `*` are wildcards (`release/*`), `null` matches a missing field, and an
//! array field matches when any element does.

use serde_json::Value;

use crate::event::{Event, FieldValue};
use crate::glob::Glob;

/// All conditions a payload must meet.
///
/// ```
/// use flowspec_core::{Event, Filter};
/// use serde_json::json;
///
/// let filter = Filter::new()
///     .any_of("environment", [json!("staging"), json!("qa")])
///     .equals("branch", json!("release/*"));
/// let event = Event::from_json(json!({
///     "event_type": "deploy.completed", "environment": "staging", "branch": "release/1.2"
/// })).unwrap();
/// assert!(filter.matches(&event));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    conditions: Vec<Condition>,
}

#[derive(Clone, Debug, PartialEq)]
struct Condition {
    path: String,
    accepted: Vec<Expected>,
}

#[derive(Clone, Debug, PartialEq)]
enum Expected {
    Null,
    Exact(Value),
    Glob(Glob),
}

impl Filter {
    /// A filter that accepts every event.
    pub fn new() -> Self {
        Filter::default()
    }

    /// Adds a condition: `path` equals `value`.
    pub fn equals(self, path: impl Into<String>, value: Value) -> Self {
        self.any_of(path, [value])
    }

    /// Adds a condition: `path` equals one of `values`.
    pub fn any_of(
        mut self,
        path: impl Into<String>,
        values: impl IntoIterator<Item = Value>,
    ) -> Self {
        let accepted = values
            .into_iter()
            .map(|v| match v {
                Value::Null => Expected::Null,
                Value::String(s) if s.contains('*') => Expected::Glob(Glob::new(s)),
                other => Expected::Exact(other),
            })
            .collect();
        self.conditions.push(Condition {
            path: path.into(),
            accepted,
        });
        self
    }

    /// Whether there are no conditions.
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// The conditions as (path, accepted values), for listings.
    pub fn conditions(&self) -> impl Iterator<Item = (&str, Vec<Value>)> {
        self.conditions.iter().map(|c| {
            let values = c
                .accepted
                .iter()
                .map(|e| match e {
                    Expected::Null => Value::Null,
                    Expected::Exact(v) => v.clone(),
                    Expected::Glob(glob) => Value::String(glob.as_str().to_owned()),
                })
                .collect();
            (c.path.as_str(), values)
        })
    }

    /// Whether `event` meets every condition.
    #[inline]
    pub fn matches(&self, event: &Event) -> bool {
        self.conditions.iter().all(|c| c.matches(event))
    }
}

impl Condition {
    fn matches(&self, event: &Event) -> bool {
        match event.field(&self.path) {
            None | Some(FieldValue::Json(Value::Null)) => self.accepted.contains(&Expected::Null),
            Some(FieldValue::Str(s)) => self.accepted.iter().any(|e| e.matches_str(s)),
            Some(FieldValue::Json(Value::Array(items))) => items
                .iter()
                .any(|item| self.accepted.iter().any(|e| e.matches_json(item))),
            Some(FieldValue::Json(v)) => self.accepted.iter().any(|e| e.matches_json(v)),
        }
    }
}

impl Expected {
    fn matches_str(&self, actual: &str) -> bool {
        match self {
            Expected::Null => false,
            Expected::Exact(Value::String(s)) => s == actual,
            // Numbers and booleans match their text ("3" == 3); the allocation is tiny.
            #[allow(clippy::cmp_owned)]
            Expected::Exact(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string() == actual,
            Expected::Exact(_) => false,
            Expected::Glob(glob) => glob.matches(actual),
        }
    }

    fn matches_json(&self, actual: &Value) -> bool {
        match actual {
            Value::String(s) => self.matches_str(s),
            Value::Number(_) | Value::Bool(_) => match self {
                Expected::Exact(v) if v == actual => true,
                // Compare numbers by text too, so YAML `3` matches JSON `3.0`-free `3`.
                _ => self.matches_str(&actual.to_string()),
            },
            Value::Null => *self == Expected::Null,
            Value::Array(_) | Value::Object(_) => matches!(self, Expected::Exact(v) if v == actual),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(fields: Value) -> Event {
        let mut map = fields.as_object().unwrap().clone();
        map.insert("event_type".into(), json!("deploy.completed"));
        Event::from_json(Value::Object(map)).unwrap()
    }

    #[test]
    fn should_require_every_condition() {
        let f = Filter::new()
            .equals("environment", json!("staging"))
            .equals("region", json!("eu"));
        assert!(f.matches(&event(json!({"environment": "staging", "region": "eu"}))));
        assert!(!f.matches(&event(json!({"environment": "staging", "region": "us"}))));
        assert!(!f.matches(&event(json!({"environment": "staging"}))));
    }

    #[test]
    fn should_treat_lists_as_any_of() {
        let f = Filter::new().any_of("environment", [json!("staging"), json!("qa")]);
        assert!(f.matches(&event(json!({"environment": "qa"}))));
        assert!(!f.matches(&event(json!({"environment": "prod"}))));
    }

    #[test]
    fn should_compare_scalars_by_text() {
        let f = Filter::new().equals("attempt", json!("3"));
        assert!(f.matches(&event(json!({"attempt": 3}))));
        let f = Filter::new().equals("attempt", json!(3));
        assert!(f.matches(&event(json!({"attempt": "3"}))));
        let f = Filter::new().equals("draft", json!(false));
        assert!(f.matches(&event(json!({"draft": false}))));
        assert!(!f.matches(&event(json!({"draft": true}))));
    }

    #[test]
    fn should_match_dotted_paths_wildcards_null_and_arrays() {
        assert!(
            Filter::new()
                .equals("repo.name", json!("flowspec"))
                .matches(&event(json!({"repo": {"name": "flowspec"}})))
        );
        assert!(
            Filter::new()
                .equals("branch", json!("release/*"))
                .matches(&event(json!({"branch": "release/2.0"})))
        );
        assert!(
            Filter::new()
                .equals("pr", Value::Null)
                .matches(&event(json!({})))
        );
        assert!(
            Filter::new()
                .equals("labels", json!("urgent"))
                .matches(&event(json!({"labels": ["ui", "urgent"]})))
        );
        assert!(
            Filter::new()
                .equals("feature", json!("auth"))
                .matches(&event(json!({"feature": "auth"})))
        );
    }
}
