//! Building the `github_projects` notifier from its `integrations:` entry.

use super::*;
use flowspec_core::notifier::{Example, ExampleAnswer};
use serde_json::json;

/// `github_projects`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "github_projects"
    }

    fn describe(&self) -> &'static str {
        "GitHub Projects (v2): adds each spec's PR or a draft issue to a board and sets its Status"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  github_projects:
    enabled: true
    project_number: 1
    status_field: "Status"
    status_mappings:
      draft: "Backlog"
      review: "In Review"
      approved: "Ready"
      implemented: "Done"
"##
    }

    fn example(&self) -> Example {
        Example::http(ExampleAnswer::json(
            200,
            &json!({"data": {
                "repositoryOwner": {"projectV2": {"id": "P1", "field": {"id": "F1", "options": []}}},
                "node": {"items": {"pageInfo": {"hasNextPage": false}, "nodes": []}},
                "addProjectV2DraftIssue": {"projectItem": {"id": "I1"}}
            }}),
        ))
        .expect_request("POST", "/graphql")
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[TOKEN, OWNER]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: GithubProjectsConfig = cx.deserialize(config)?;
        let mut errors = ConfigErrors::default();
        let token = cx.secret(config.get("token"), &TOKEN);
        let owner = cx
            .secret(config.get("owner"), &OWNER)
            .map(|v| v.map(|v| v.expose_secret().to_owned()).unwrap_or_default());
        if parsed.project_number == 0 {
            errors.push(cx.error(
                config.get("project_number"),
                "project_number",
                "`project_number` starts at 1 (it is the number in the project's URL)",
            ));
        }
        let mappings = config.get("status_mappings");
        for status in parsed.status_mappings.keys() {
            if !crate::events::SPEC_STATUSES.contains(&status.as_str()) {
                errors.push(
                    cx.error(
                        mappings.and_then(|m| m.get(status)),
                        &format!("status_mappings.{status}"),
                        format!("unknown spec status `{status}`"),
                    )
                    .hint(format!(
                        "spec statuses: {}",
                        crate::events::SPEC_STATUSES.join(", ")
                    )),
                );
            }
        }
        let endpoint = Endpoint::new(parsed.api_url.as_deref().unwrap_or(DEFAULT_API))
            .and_then(|t| t.join("graphql"))
            .map_err(|m| cx.error(config.get("api_url"), "api_url", format!("`api_url`: {m}")));
        let (token, owner, endpoint) = match (token, owner, endpoint) {
            (Ok(Some(t)), Ok(o), Ok(e)) if errors.is_empty() => (t, o, e),
            (t, o, e) => {
                for err in [t.err(), o.err(), e.err()].into_iter().flatten() {
                    errors.push(err);
                }
                return Err(errors);
            }
        };
        let notifier = GithubProjectsNotifier {
            endpoint,
            owner: owner.trim().to_owned(),
            auth: token,
            config: parsed,
            client: HttpClient::without_redirects(),
            created: Mutex::default(),
        };
        Ok(vec![Built::new(cx.name(), Arc::new(notifier))])
    }
}
