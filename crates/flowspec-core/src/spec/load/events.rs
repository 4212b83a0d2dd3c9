//! Checking a hook's `events`: the event selectors and their filters.

use serde_json::Value as Json;

use crate::config::{ConfigErrorKind, Node, Value};
use crate::filter::Filter;
use crate::selector::EventSelector;
use crate::spec::Trigger;

use super::{Checker, EVENT_FIELDS, join};

impl Checker {
    pub(super) fn events(&mut self, node: &Node, path: &str) -> Option<Vec<Trigger>> {
        let Value::Seq(items) = &node.value else {
            let message = format!("`events` must be a list, found {}", node.value.kind());
            self.error(ConfigErrorKind::InvalidValue, node, path, &message)
                .hint("write `events:` then `  - type: implement.completed`");
            return None;
        };
        if items.is_empty() {
            self.error(
                ConfigErrorKind::InvalidValue,
                node,
                path,
                "`events` is empty; the hook would never run",
            );
            return None;
        }
        let mut triggers = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            match self.trigger(item, &item_path) {
                Some(t) => triggers.push(t),
                None => ok = false,
            }
        }
        ok.then_some(triggers)
    }

    pub(super) fn trigger(&mut self, node: &Node, path: &str) -> Option<Trigger> {
        // Shorthand: `- deploy.completed`.
        if let Some(text) = node.as_str() {
            return self.selector(node, text, path).map(|selector| Trigger {
                selector,
                filter: Filter::new(),
            });
        }
        let entries = self.mapping(node, path, "an `events` entry")?;
        self.unknown_keys(entries, EVENT_FIELDS, path, "in an `events` entry");
        let selector = match node.get("type") {
            Some(t) => {
                let text = self.string(t, &format!("{path}.type"), "type")?;
                self.selector(t, text, &format!("{path}.type"))
            }
            None => {
                self.error(
                    ConfigErrorKind::MissingField,
                    node,
                    path,
                    "missing field `type` in an `events` entry",
                )
                .hint("for example `type: implement.completed` or `type: \"deploy.*\"`");
                None
            }
        };
        let filter = match node.get("filter") {
            Some(f) => self.filter(f, &format!("{path}.filter")),
            None => Some(Filter::new()),
        };
        Some(Trigger {
            selector: selector?,
            filter: filter?,
        })
    }

    pub(super) fn selector(
        &mut self,
        node: &Node,
        text: &str,
        path: &str,
    ) -> Option<EventSelector> {
        match EventSelector::new(text) {
            Ok(s) => Some(s),
            Err(e) => {
                self.error(ConfigErrorKind::InvalidValue, node, path, &e.to_string()).hint("event types are dotted names like `implement.completed`; `*` is a wildcard (`deploy.*`, `*.completed`)");
                None
            }
        }
    }

    pub(super) fn filter(&mut self, node: &Node, path: &str) -> Option<Filter> {
        if node.value == Value::Null {
            return Some(Filter::new());
        }
        let entries = self.mapping(node, path, "`filter`")?;
        let mut filter = Filter::new();
        let mut ok = true;
        for (key, value) in entries {
            let field_path = join(path, &key.name);
            if key.name.is_empty() {
                self.error_at(
                    ConfigErrorKind::InvalidValue,
                    key.loc,
                    &field_path,
                    "empty field name in `filter`",
                    None,
                );
                ok = false;
                continue;
            }
            let values = match &value.value {
                Value::Seq(items) if items.is_empty() => {
                    self.error(
                        ConfigErrorKind::InvalidValue,
                        value,
                        &field_path,
                        "empty list in `filter`: nothing could match",
                    );
                    ok = false;
                    continue;
                }
                Value::Seq(items) => items
                    .iter()
                    .map(|item| self.filter_value(item, &field_path))
                    .collect::<Option<Vec<_>>>(),
                _ => self.filter_value(value, &field_path).map(|v| vec![v]),
            };
            match values {
                Some(values) => filter = filter.any_of(key.name.clone(), values),
                None => ok = false,
            }
        }
        ok.then_some(filter)
    }

    pub(super) fn filter_value(&mut self, node: &Node, path: &str) -> Option<Json> {
        match &node.value {
            Value::Map(_) | Value::Seq(_) => {
                let message = format!(
                    "filter values must be scalars or lists of scalars, found {}",
                    node.value.kind()
                );
                self.error(ConfigErrorKind::InvalidValue, node, path, &message)
                    .hint(
                        "match nested fields with a dotted path, e.g. `repository.name: flowspec`",
                    );
                None
            }
            _ => Some(node.to_json()),
        }
    }
}
