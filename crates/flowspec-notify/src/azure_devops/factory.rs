//! Building the `azure_devops` notifier from its `integrations:` entry.

use super::*;
use flowspec_core::notifier::{Example, ExampleAnswer};
use serde_json::json;

/// `azure_devops`.
pub struct Factory;

impl NotifierFactory for Factory {
    fn kind(&self) -> &'static str {
        "azure_devops"
    }

    fn describe(&self) -> &'static str {
        "Azure DevOps Boards: one work item per spec via JSON Patch, area/iteration paths, state sync"
    }

    fn example_yaml(&self) -> &'static str {
        r##"integrations:
  azure_devops:
    enabled: true
    organization: "your-org"
    project: "your-project"
    work_item_type: "User Story"
    area_path: "your-project\\Team"
    iteration_path: "your-project\\Sprint 1"
    notify_on:
      - "spec_created"
      - "spec_approved"
      - "implementation_completed"
      - "implementation_failed"
"##
    }

    fn example(&self) -> Example {
        Example::http(ExampleAnswer::json(200, &json!({"workItems": [], "id": 1})))
    }

    fn secrets(&self) -> &'static [SecretVar] {
        &[ORG, PROJECT, PAT]
    }

    fn build(&self, config: &Node, cx: &NotifierContext<'_>) -> Result<Vec<Built>, ConfigErrors> {
        let parsed: AzureDevopsConfig = cx.deserialize(config)?;
        let mut errors = ConfigErrors::default();
        let org = cx
            .secret(config.get("organization"), &ORG)
            .map(|v| v.map(|v| v.expose_secret().to_owned()).unwrap_or_default());
        let project = cx
            .secret(config.get("project"), &PROJECT)
            .map(|v| v.map(|v| v.expose_secret().to_owned()).unwrap_or_default());
        let pat = cx.secret(config.get("pat"), &PAT);
        let mappings = config.get("state_mappings");
        for status in parsed.state_mappings.keys() {
            if !crate::events::SPEC_STATUSES.contains(&status.as_str()) {
                errors.push(
                    cx.error(
                        mappings.and_then(|m| m.get(status)),
                        &format!("state_mappings.{status}"),
                        format!("unknown spec status `{status}`"),
                    )
                    .hint(format!(
                        "spec statuses: {}",
                        crate::events::SPEC_STATUSES.join(", ")
                    )),
                );
            }
        }
        if parsed.work_item_type.trim().is_empty() {
            errors.push(cx.error(
                config.get("work_item_type"),
                "work_item_type",
                "`work_item_type` must not be empty",
            ));
        }
        let base = Endpoint::new(parsed.api_url.as_deref().unwrap_or(DEFAULT_API))
            .map_err(|m| cx.error(config.get("api_url"), "api_url", format!("`api_url`: {m}")));
        let (organization, project, pat, base) = match (org, project, pat, base) {
            (Ok(o), Ok(p), Ok(Some(t)), Ok(b)) if errors.is_empty() => (o, p, t, b),
            (o, p, t, b) => {
                for e in [o.err(), p.err(), t.err(), b.err()].into_iter().flatten() {
                    errors.push(e);
                }
                return Err(errors);
            }
        };
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!(":{}", pat.expose_secret()));
        let notifier = AzureDevopsNotifier {
            base,
            organization: organization.trim().to_owned(),
            project: project.trim().to_owned(),
            auth: SecretString::from(format!("Basic {basic}")),
            config: parsed,
            client: HttpClient::without_redirects(),
            created: Mutex::default(),
        };
        Ok(vec![Built::new(cx.name(), Arc::new(notifier))])
    }
}
