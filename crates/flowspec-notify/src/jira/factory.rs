//! Building the `jira` notifier from its `integrations:` entry.

use super::*;
use flowspec_core::notifier::{Example, ExampleAnswer};
use serde_json::json;

/// `jira`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "jira"
    }

    fn describe(&self) -> &'static str {
        "Jira Cloud: one issue per spec (ADF description, custom fields), transitions, PR links, comments"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  jira:
    enabled: true
    base_url: "https://your-domain.atlassian.net"
    project_key: "PROJ"
    issue_type: "Story"
    transition_on_approve: "21"  # "In Progress" transition ID
    transition_on_implement: "31"  # "Done" transition ID
    field_mappings:
      spec_id: "customfield_10001"
      acceptance_criteria: "customfield_10002"
    notify_on:
      - "spec_created"
      - "spec_approved"
      - "implementation_completed"
      - "implementation_failed"
"##
    }

    fn example(&self) -> Example {
        Example::http(ExampleAnswer::json(
            201,
            &json!({"issues": [], "id": "10000", "key": "PROJ-1"}),
        ))
        .expect_request("POST", "/rest/api/3/issue")
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[BASE_URL, EMAIL, API_TOKEN]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: JiraConfig = cx.deserialize(config)?;
        let mut errors = ConfigErrors::default();
        let site = cx
            .secret(config.get("base_url"), &BASE_URL)
            .map(|v| v.map(|v| v.expose_secret().to_owned()).unwrap_or_default());
        let email = cx.secret(config.get("email"), &EMAIL);
        let token = cx.secret(config.get("api_token"), &API_TOKEN);
        if parsed.project_key.trim().is_empty() {
            errors.push(cx.error(
                config.get("project_key"),
                "project_key",
                "`project_key` must not be empty",
            ));
        }
        let (site, email, token) = match (site, email, token) {
            (Ok(s), Ok(Some(e)), Ok(Some(t))) => (s, e, t),
            (s, e, t) => {
                for err in [s.err(), e.err(), t.err()].into_iter().flatten() {
                    errors.push(err);
                }
                return Err(errors);
            }
        };
        let site = site.trim_end_matches('/').to_owned();
        if let Err(m) = Endpoint::new(&site) {
            errors.push(cx.error(config.get("base_url"), "base_url", m));
        }
        let api = Endpoint::new(parsed.api_url.as_deref().unwrap_or(&site))
            .map_err(|m| cx.error(config.get("api_url"), "api_url", format!("`api_url`: {m}")));
        let api = match api {
            Ok(api) => api,
            Err(e) => {
                errors.push(e);
                return Err(errors);
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            email.expose_secret(),
            token.expose_secret()
        ));
        let notifier = JiraNotifier {
            api,
            site,
            auth: SecretString::from(format!("Basic {basic}")),
            config: parsed,
            client: HttpClient::without_redirects(),
            created: Mutex::default(),
        };
        Ok(vec![Built::new(cx.name(), Arc::new(notifier))])
    }
}
