//! The inputs a workflow declares under `on.workflow_dispatch.inputs`, read from the
//! workflow file through the contents API.

use base64::Engine as _;
use flowspec_core::provider::InputKind;

use super::*;

/// The most a workflow file may be (the contents API inlines files up to 1 MB).
const MOST_BYTES: usize = 1024 * 1024;

#[derive(Deserialize)]
struct GhContent {
    #[serde(default)]
    content: String,
    #[serde(default)]
    encoding: String,
}

impl GithubProvider {
    pub(super) async fn read_workflow_inputs(
        &self,
        workflow: &str,
        git_ref: Option<&str>,
    ) -> Result<Vec<WorkflowInput>, ProviderError> {
        let file = workflow.rsplit('/').next().unwrap_or(workflow);
        let mut rest = format!(".github/workflows/{}", path_segment(file));
        if let Some(r) = git_ref {
            rest.push_str(&format!("?ref={}", path_segment(r)));
        }
        let what = format!("read the workflow file {file}");
        let (content, _): (GhContent, _) = self
            .get_json(&self.repo_path(&format!("contents/{rest}")), &what)
            .await?;
        if content.encoding != "base64" {
            return Err(ProviderError::malformed(
                &what,
                format!("the file came as `{}`, not base64", content.encoding),
            ));
        }
        let packed: String = content.content.split_whitespace().collect();
        if packed.len() > MOST_BYTES * 4 / 3 + 4 {
            return Err(ProviderError::malformed(&what, "the file is over 1 MB"));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(packed)
            .map_err(|e| ProviderError::malformed(&what, e))?;
        let text = String::from_utf8(bytes).map_err(|e| ProviderError::malformed(&what, e))?;
        dispatch_inputs(&text).map_err(|e| ProviderError::malformed(&what, e))
    }
}

/// The `workflow_dispatch` inputs of a workflow file, in their order there.
pub(super) fn dispatch_inputs(workflow: &str) -> Result<Vec<WorkflowInput>, String> {
    let doc = Node::parse(workflow)
        .map_err(|e| format!("not YAML: {e}"))?
        .to_json();
    let Some(Value::Object(inputs)) = doc
        .get("on")
        .and_then(|on| on.get("workflow_dispatch"))
        .and_then(|dispatch| dispatch.get("inputs"))
    else {
        return Ok(Vec::new());
    };
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    };
    Ok(inputs
        .iter()
        .map(|(name, spec)| {
            let mut input = WorkflowInput::new(name.clone());
            input.description = spec.get("description").and_then(text);
            input.required = spec.get("required") == Some(&Value::Bool(true));
            input.default = spec.get("default").and_then(text);
            input.kind = match spec.get("type").and_then(Value::as_str) {
                Some("boolean") => InputKind::Boolean,
                Some("number") => InputKind::Number,
                Some("environment") => InputKind::Environment,
                Some("choice") => InputKind::Choice(
                    spec.get("options")
                        .and_then(Value::as_array)
                        .map(|o| o.iter().filter_map(text).collect())
                        .unwrap_or_default(),
                ),
                _ => InputKind::Text,
            };
            input
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_read_each_kind_of_dispatch_input_in_order() {
        let inputs = dispatch_inputs(
            "name: Deploy\non:\n  push:\n  workflow_dispatch:\n    inputs:\n\
             \x20     environment:\n        description: Where to\n        type: choice\n        options: [staging, production]\n        default: staging\n        required: true\n\
             \x20     dry_run:\n        type: boolean\n        default: false\n\
             \x20     replicas:\n        type: number\n\
             \x20     note:\n        description: Free text\n\
             jobs: {}\n",
        )
        .unwrap();
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["environment", "dry_run", "replicas", "note"]);
        assert_eq!(
            inputs[0].kind,
            InputKind::Choice(vec!["staging".into(), "production".into()])
        );
        assert!(inputs[0].required);
        assert_eq!(inputs[0].default.as_deref(), Some("staging"));
        assert_eq!(inputs[1].kind, InputKind::Boolean);
        assert_eq!(inputs[1].default.as_deref(), Some("false"));
        assert_eq!(inputs[2].kind, InputKind::Number);
        assert_eq!(inputs[3].kind, InputKind::Text);
        assert_eq!(inputs[3].description.as_deref(), Some("Free text"));
    }

    #[test]
    fn should_find_no_inputs_without_workflow_dispatch_inputs() {
        assert!(dispatch_inputs("on: push\n").unwrap().is_empty());
        assert!(
            dispatch_inputs("on: [push, workflow_dispatch]\n")
                .unwrap()
                .is_empty()
        );
        assert!(
            dispatch_inputs("on:\n  workflow_dispatch:\n")
                .unwrap()
                .is_empty()
        );
        assert!(dispatch_inputs("on: [unclosed\n").is_err());
    }
}
