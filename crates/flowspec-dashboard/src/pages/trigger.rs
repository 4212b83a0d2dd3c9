//! `/ui/trigger`: start a workflow on a branch with inputs, then open the new run.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use flowspec_core::provider::TriggerRequest;
use maud::html;
use serde::Deserialize;

use super::State as AppState;
use crate::BASE;
use crate::auth::{CsrfField, CsrfForm, Session};
use crate::error::DashboardError;
use crate::layout::{Nav, Page, flash, query_value};

#[derive(Deserialize, Default)]
pub(crate) struct TriggerQuery {
    profile: Option<String>,
    done: Option<String>,
}

pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Query(query): Query<TriggerQuery>,
) -> Result<Response, DashboardError> {
    let profiles = state.profiles();
    let (profile, provider) = state.provider(query.profile.as_deref())?;
    // Platforms that cannot list workflows take a typed name.
    let workflows = provider.list_workflows().await.unwrap_or_default();
    let body = html! {
        h1 { "Trigger a run" }
        (flash(query.done.as_deref()))
        form.stack method="post" action={(BASE) "/trigger"} {
            input type="hidden" name="csrf" value=(session.csrf);
            label { "Profile "
                select name="profile" {
                    @for (name, kind) in &profiles {
                        option value=(name) selected[*name == profile] { (name) " (" (kind) ")" }
                    }
                }
            }
            label { "Workflow "
                @if workflows.is_empty() {
                    input type="text" name="workflow" required placeholder="ci.yml";
                } @else {
                    select name="workflow" required {
                        @for w in workflows.iter().filter(|w| w.active) {
                            option value=(w.id) { (w.name) }
                        }
                    }
                }
            }
            label { "Branch or tag " input type="text" name="git_ref" placeholder="the default branch"; }
            label { "Inputs, one " code { "name=value" } " per line "
                textarea name="inputs" rows="4" placeholder="environment=staging" {}
            }
            button type="submit" { "Trigger" }
        }
    };
    Ok(Page::new("Trigger")
        .nav(Nav::Trigger, &session)
        .body(body)
        .render())
}

#[derive(Deserialize)]
pub(crate) struct TriggerForm {
    csrf: String,
    profile: Option<String>,
    workflow: String,
    #[serde(default)]
    git_ref: String,
    #[serde(default)]
    inputs: String,
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
}
