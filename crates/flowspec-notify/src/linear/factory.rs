//! Building the `linear` notifier from its `integrations:` entry.

use super::*;
use flowspec_core::notifier::{Example, ExampleAnswer};
use serde_json::json;

/// `linear`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "linear"
    }

    fn describe(&self) -> &'static str {
        "Linear (GraphQL): one issue per spec with labels; comments and workflow states follow its events"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  linear:
    enabled: true
    team_id: "TEAM_ID"
    labels:
      - "spec"
      - "automated"
    state_mappings:
      draft: "Backlog"
      review: "In Review"
      approved: "Todo"
      implemented: "Done"
    notify_on:
      - "spec_created"
      - "spec_approved"
      - "pr_created"
      - "implementation_completed"
"##
    }

    fn example(&self) -> Example {
        Example::http(ExampleAnswer::json(
            200,
            &json!({"data": {
                "teams": {"nodes": [{"id": "t1", "key": "ENG", "states": {"nodes": []}}]},
                "issueLabels": {"nodes": [
                    {"id": "l1", "name": "spec", "team": null},
                    {"id": "l2", "name": "automated", "team": null}
                ]},
                "issues": {"nodes": []},
                "issueCreate": {"success": true, "issue": {"id": "i1", "identifier": "ENG-1", "url": "https://linear.app/x/issue/ENG-1"}}
            }}),
        ))
        .expect_request("POST", "/graphql")
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[API_KEY]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: LinearConfig = cx.deserialize(config)?;
        let mut errors = ConfigErrors::default();
        let key = cx.secret(config.get("api_key"), &API_KEY);
        if parsed.team_id.trim().is_empty() {
            errors.push(cx.error(
                config.get("team_id"),
                "team_id",
                "`team_id` must not be empty",
            ));
        }
        if let Some(p) = parsed.priority.filter(|p| *p > 4) {
            errors.push(cx.error(
                config.get("priority"),
                "priority",
                format!("`priority` must be 0 (none) to 4 (low), found {p}"),
            ));
        }
        let mappings = config.get("state_mappings");
        for status in parsed.state_mappings.keys() {
            if !crate::events::SPEC_STATUSES.contains(&status.as_str()) {
                let hint = match flowspec_core::config::suggest(
                    status,
                    crate::events::SPEC_STATUSES.iter().copied(),
                ) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("spec statuses: {}", crate::events::SPEC_STATUSES.join(", ")),
                };
                errors.push(
                    cx.error(
                        mappings.and_then(|m| m.get(status)),
                        &format!("state_mappings.{status}"),
                        format!("unknown spec status `{status}`"),
                    )
                    .hint(hint),
                );
            }
        }
        let endpoint = Endpoint::new(parsed.api_url.as_deref().unwrap_or(DEFAULT_API))
            .and_then(|t| t.join("graphql"))
            .map_err(|m| cx.error(config.get("api_url"), "api_url", format!("`api_url`: {m}")));
        let (key, endpoint) = match (key, endpoint) {
            (Ok(Some(k)), Ok(e)) if errors.is_empty() => (k, e),
            (k, e) => {
                for err in [k.err(), e.err()].into_iter().flatten() {
                    errors.push(err);
                }
                return Err(errors);
            }
        };
        let auth = if key.expose_secret().starts_with("lin_oauth_") {
            SecretString::from(format!("Bearer {}", key.expose_secret()))
        } else {
            key
        };
        let notifier = LinearNotifier {
            endpoint,
            auth,
            config: parsed,
            client: HttpClient::without_redirects(),
            created: Mutex::default(),
        };
        Ok(vec![Built::new(cx.name(), Arc::new(notifier))])
    }
}
