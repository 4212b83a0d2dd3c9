//! `/ui/trigger`: start a workflow on a branch with inputs, then open the new run.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use flowspec_core::provider::{InputKind, ProviderErrorKind, TriggerRequest, WorkflowInput};
use maud::{Markup, html};
use serde::Deserialize;

use super::State as AppState;
use crate::BASE;
use crate::auth::{CsrfField, CsrfForm, Session};
use crate::error::DashboardError;
use crate::layout::{Nav, Page, flash, query_value};

#[derive(Deserialize, Default)]
pub(crate) struct TriggerQuery {
    profile: Option<String>,
    workflow: Option<String>,
    done: Option<String>,
}

/// The field names of declared inputs: `input.NAME`.
const INPUT: &str = "input.";

/// One field per declared input: a list for choices and booleans, text otherwise.
fn input_field(input: &WorkflowInput) -> Markup {
    let name = format!("{INPUT}{}", input.name);
    let default = input.default.as_deref();
    let options: Option<Vec<String>> = match &input.kind {
        InputKind::Choice(options) => Some(options.clone()),
        InputKind::Boolean => Some(vec!["true".into(), "false".into()]),
        _ => None,
    };
    html! {
        label {
            span {
                span.mono { (input.name) } @if input.required { " (required)" }
                @if let Some(d) = &input.description { " " span.muted.small { (d) } }
            }
            @if let Some(options) = options {
                select name=(name) required[input.required] {
                    @if !input.required && default.is_none() { option value="" { "—" } }
                    @for o in &options { option value=(o) selected[Some(o.as_str()) == default] { (o) } }
                }
            } @else {
                input type=(if input.kind == InputKind::Number { "number" } else { "text" })
                    name=(name) value=[default] required[input.required];
            }
        }
    }
}

pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Query(query): Query<TriggerQuery>,
) -> Result<Response, DashboardError> {
    let profiles = state.profiles();
    let (profile, provider) = state.provider(query.profile.as_deref())?;
    // Platforms that cannot list workflows take a typed name.
    let workflows: Vec<_> = provider
        .list_workflows()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|w| w.active)
        .collect();
    let chosen = query
        .workflow
        .as_deref()
        .filter(|w| workflows.iter().any(|known| known.id == *w))
        .or(workflows.first().map(|w| w.id.as_str()));
    // The chosen workflow's declared inputs; typed lines where the platform does not
    // say, or the definition could not be read (the reason is shown).
    let (inputs, unread) = match chosen {
        Some(w) => match provider.workflow_inputs(w, None).await {
            Ok(inputs) => (Some(inputs), None),
            Err(e) if e.kind() == ProviderErrorKind::Unsupported => (None, None),
            Err(e) => (None, Some(e.to_string())),
        },
        None => (None, None),
    };
    let body = html! {
        h1 { "Trigger a run" }
        (flash(query.done.as_deref()))
        form.filters method="get" action={(BASE) "/trigger"} {
            label { "Profile "
                select name="profile" data-submit {
                    @for (name, kind) in &profiles {
                        option value=(name) selected[*name == profile] { (name) " (" (kind) ")" }
                    }
                }
            }
            @if !workflows.is_empty() {
                label { "Workflow "
                    select name="workflow" data-submit {
                        @for w in &workflows {
                            option value=(w.id) selected[Some(w.id.as_str()) == chosen] { (w.name) " (" (w.id) ")" }
                        }
                    }
                }
            }
            button type="submit" { "Choose" }
        }
        form.stack method="post" action={(BASE) "/trigger"} {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="profile" value=(profile);
            @match chosen {
                Some(w) => input type="hidden" name="workflow" value=(w);,
                None => label { "Workflow " input type="text" name="workflow" required placeholder="ci.yml"; },
            }
            label { "Branch or tag " input type="text" name="git_ref" placeholder="the default branch"; }
            @match &inputs {
                Some(inputs) if inputs.is_empty() => p.muted { "This workflow declares no inputs." },
                Some(inputs) => @for input in inputs { (input_field(input)) },
                None => {
                    @if let Some(why) = &unread { p.muted.small { "Its inputs could not be read (" (why) "); type them." } }
                    label { "Inputs, one " code { "name=value" } " per line "
                        textarea name="inputs" rows="4" placeholder="environment=staging" {}
                    }
                }
            }
            button type="submit" { "Trigger" }
        }
    };
    Ok(Page::new("Trigger")
        .nav(Nav::Trigger, &session)
        .body(body)
        .render())
}

#[derive(Deserialize, Default)]
#[serde(from = "Vec<(String, String)>")]
pub(crate) struct TriggerForm {
    csrf: String,
    profile: Option<String>,
    workflow: String,
    git_ref: String,
    /// `name=value` lines, where the inputs are not declared.
    inputs: String,
    /// The declared inputs' fields, by input name.
    declared: BTreeMap<String, String>,
}

impl From<Vec<(String, String)>> for TriggerForm {
    fn from(fields: Vec<(String, String)>) -> Self {
        let mut form = TriggerForm::default();
        for (name, value) in fields {
            match name.as_str() {
                "csrf" => form.csrf = value,
                "profile" => form.profile = Some(value),
                "workflow" => form.workflow = value,
                "git_ref" => form.git_ref = value,
                "inputs" => form.inputs = value,
                _ => {
                    // An empty optional field leaves the workflow's own default.
                    if let Some(input) = name.strip_prefix(INPUT)
                        && !value.is_empty()
                    {
                        form.declared.insert(input.to_owned(), value);
                    }
                }
            }
        }
        form
    }
}

impl CsrfField for TriggerForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `name=value` lines as inputs; a line without `=` is refused, naming it.
fn parse_inputs(text: &str) -> Result<BTreeMap<String, String>, DashboardError> {
    let mut inputs = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(DashboardError::BadRequest(format!(
                "input line {} (`{line}`) has no `=`: write one `name=value` per line",
                i + 1
            )));
        };
        inputs.insert(name.trim().to_owned(), value.trim().to_owned());
    }
    Ok(inputs)
}

pub(crate) async fn submit(
    State(state): State<Arc<AppState>>,
    CsrfForm(form): CsrfForm<TriggerForm>,
) -> Result<Response, DashboardError> {
    let (profile, provider) = state.provider(form.profile.as_deref())?;
    let workflow = form.workflow.trim();
    if workflow.is_empty() {
        return Err(DashboardError::BadRequest(
            "name a workflow to trigger".into(),
        ));
    }
    let mut request = TriggerRequest::new(workflow);
    if !form.git_ref.trim().is_empty() {
        request = request.git_ref(form.git_ref.trim());
    }
    request.inputs = parse_inputs(&form.inputs)?;
    request.inputs.extend(form.declared);
    let started = provider.trigger(&request).await?;
    Ok(Redirect::to(&format!(
        "{BASE}/runs/{}/{}?done={}",
        query_value(&profile),
        query_value(started.id.as_str()),
        query_value(&format!("Triggered {workflow}."))
    ))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_read_inputs_and_name_a_bad_line() {
        let inputs = parse_inputs("environment = staging\n\ndry_run=true\n").unwrap();
        assert_eq!(inputs["environment"], "staging");
        assert_eq!(inputs["dry_run"], "true");
        let err = parse_inputs("a=1\noops").unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn should_take_declared_inputs_from_their_fields_and_skip_empty_ones() {
        let pairs = |p: &[(&str, &str)]| {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let form = TriggerForm::from(pairs(&[
            ("csrf", "t"),
            ("workflow", "deploy.yml"),
            ("input.environment", "production"),
            ("input.note", ""),
        ]));
        assert_eq!(form.csrf, "t");
        assert_eq!(form.workflow, "deploy.yml");
        assert_eq!(form.declared.len(), 1);
        assert_eq!(form.declared["environment"], "production");
    }
}
