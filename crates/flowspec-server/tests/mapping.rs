//! Webhook payloads (shaped like the samples in GitHub's, GitLab's, CircleCI's and the
//! Jenkins Notification plugin's documentation) mapped to flowspec events.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use flowspec_core::secret::SecretString;
use flowspec_server::config::UnknownEvents;
use flowspec_server::sources::circleci::CircleciSource;
use flowspec_server::sources::github::GithubSource;
use flowspec_server::sources::gitlab::GitlabSource;
use flowspec_server::sources::jenkins::JenkinsSource;
use flowspec_server::sources::{Decoded, IncomingRequest, Source};
use serde_json::Value;

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            )
        })
        .collect()
}

/// The mapped event without the fields that change per run, and without the raw payload.
fn decode(source: &dyn Source, headers: &HeaderMap, body: &[u8], unknown: UnknownEvents) -> Value {
    let request = IncomingRequest {
        headers,
        body,
        query: None,
        now: 0,
    };
    match source.decode(&request, unknown).expect("decodes") {
        Decoded::Events(events) => {
            assert_eq!(events.len(), 1);
            let mut json = events[0].to_json();
            let map = json.as_object_mut().unwrap();
            map.remove("timestamp");
            let payload = map.remove("payload").expect("the raw payload is kept");
            assert_eq!(payload, serde_json::from_slice::<Value>(body).unwrap());
            json
        }
        Decoded::Ignored(reason) => serde_json::json!({"ignored": reason}),
    }
}

fn secret() -> SecretString {
    SecretString::from("s".to_owned())
}

#[test]
fn should_map_github_payloads() {
    let gh = GithubSource::new(secret());
    for (kind, file) in [
        ("workflow_run", "workflow_run.completed"),
        ("workflow_run", "workflow_run.requested"),
        ("check_suite", "check_suite.completed"),
        ("deployment_status", "deployment_status.success"),
        ("workflow_job", "workflow_job.queued"),
        ("workflow_job", "workflow_job.in_progress"),
        ("workflow_job", "workflow_job.completed"),
        ("push", "push"),
        ("push", "push.deleted"),
        ("pull_request", "pull_request.closed"),
        ("star", "star.created"),
        ("ping", "star.created"),
    ] {
        let h = headers(&[
            ("x-github-event", kind),
            ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ]);
        let event = decode(
            &gh,
            &h,
            &fixture(&format!("github/{file}.json")),
            UnknownEvents::Accept,
        );
        insta::assert_json_snapshot!(format!("github_{kind}_{file}"), event);
    }
    let h = headers(&[("x-github-event", "star")]);
    let ignored = decode(
        &gh,
        &h,
        &fixture("github/star.created.json"),
        UnknownEvents::Ignore,
    );
    assert!(ignored["ignored"].as_str().unwrap().contains("star"));
}

#[test]
fn should_map_gitlab_payloads() {
    let gl = GitlabSource::new(secret());
    for (kind, file) in [
        ("Pipeline Hook", "pipeline.success"),
        ("Pipeline Hook", "pipeline.running"),
        ("Pipeline Hook", "pipeline.failed"),
        ("Job Hook", "job.failed"),
        ("Deployment Hook", "deployment.success"),
        ("Merge Request Hook", "merge_request.merge"),
        ("Push Hook", "push"),
        ("Push Hook", "push.deleted"),
    ] {
        let h = headers(&[
            ("x-gitlab-event", kind),
            ("idempotency-key", "4c2e9ea5-8b70-4b3f-a0c6-2d5f5f6f7a1b"),
        ]);
        let event = decode(
            &gl,
            &h,
            &fixture(&format!("gitlab/{file}.json")),
            UnknownEvents::Accept,
        );
        insta::assert_json_snapshot!(format!("gitlab_{file}"), event);
    }
}

#[test]
fn should_map_circleci_and_jenkins_payloads() {
    let event = decode(
        &CircleciSource::new(secret()),
        &HeaderMap::new(),
        &fixture("circleci/workflow-completed.json"),
        UnknownEvents::Accept,
    );
    insta::assert_json_snapshot!("circleci_workflow_completed", event);
    let event = decode(
        &JenkinsSource::new(secret()),
        &HeaderMap::new(),
        &fixture("jenkins/completed.json"),
        UnknownEvents::Accept,
    );
    insta::assert_json_snapshot!("jenkins_completed", event);
}

/// The fields a CI job event carries, whichever forge sent it.
const JOB_FIELDS: &[&str] = &[
    "provider",
    "job",
    "job_id",
    "run_id",
    "status",
    "conclusion",
    "branch",
    "commit",
    "url",
    "duration_secs",
];

#[test]
fn should_give_github_and_gitlab_job_events_the_same_fields() {
    let gh = decode(
        &GithubSource::new(secret()),
        &headers(&[("x-github-event", "workflow_job")]),
        &fixture("github/workflow_job.completed.json"),
        UnknownEvents::Accept,
    );
    let gl = decode(
        &GitlabSource::new(secret()),
        &headers(&[("x-gitlab-event", "Job Hook")]),
        &fixture("gitlab/job.failed.json"),
        UnknownEvents::Accept,
    );
    for event in [&gh, &gl] {
        assert_eq!(event["event_type"], "ci.job.completed");
        assert_eq!(event["conclusion"], "failure", "{event}");
        for field in JOB_FIELDS {
            assert!(
                event.get(*field).is_some(),
                "`{field}` missing from {event}"
            );
        }
    }
    assert_eq!(gh["duration_secs"], 192);
    assert_eq!(gh["run_id"], 5428376571u64);
}

#[test]
fn should_record_a_push_with_its_head_commit_and_a_deleted_branch_as_its_own_event() {
    let gh = GithubSource::new(secret());
    let h = headers(&[("x-github-event", "push")]);
    let push = decode(&gh, &h, &fixture("github/push.json"), UnknownEvents::Accept);
    assert_eq!(push["event_type"], "git.push");
    assert_eq!(push["commit"], "b20867b14bb761a232cd80139fbd4c0d33264241");
    let deleted = decode(
        &gh,
        &h,
        &fixture("github/push.deleted.json"),
        UnknownEvents::Accept,
    );
    assert_eq!(deleted["event_type"], "git.branch.deleted");
    assert_eq!(
        (&deleted["branch"], &deleted["pusher"]),
        (
            &serde_json::json!("feature/login"),
            &serde_json::json!("Codertocat")
        )
    );
    assert_eq!(
        deleted["before"],
        "b20867b14bb761a232cd80139fbd4c0d33264241"
    );
    assert!(deleted.get("commit").is_none(), "{deleted}");

    let gl = GitlabSource::new(secret());
    let h = headers(&[("x-gitlab-event", "Push Hook")]);
    let deleted = decode(
        &gl,
        &h,
        &fixture("gitlab/push.deleted.json"),
        UnknownEvents::Accept,
    );
    assert_eq!(deleted["event_type"], "git.branch.deleted");
    assert_eq!(deleted["branch"], "feature/login");
    assert!(deleted.get("commit").is_none(), "{deleted}");
}

/// Every kind and state each source maps, with whether the type it becomes has a row
/// of its own in flowspec's table of event names (`false`: it belongs to a family
/// such as `pr.*` or `github.*`).
#[test]
fn should_emit_only_event_types_in_the_table_of_event_names() {
    use flowspec_core::event::names;
    use serde_json::json;

    /// A source, its headers, a body, and whether the type has a row of its own.
    type Case = (
        Box<dyn Source>,
        Vec<(&'static str, &'static str)>,
        Value,
        bool,
    );
    let mut cases: Vec<Case> = Vec::new();
    let gh = || Box::new(GithubSource::new(secret())) as Box<dyn Source>;
    for (action, exact) in [
        ("requested", true),
        ("in_progress", true),
        ("completed", true),
        ("something_new", false),
    ] {
        cases.push((
            gh(),
            vec![("x-github-event", "workflow_run")],
            json!({"action": action, "workflow_run": {}}),
            exact,
        ));
    }
    for (action, exact) in [
        ("queued", true),
        ("in_progress", true),
        ("completed", true),
        ("waiting", false),
    ] {
        cases.push((
            gh(),
            vec![("x-github-event", "workflow_job")],
            json!({"action": action, "workflow_job": {}}),
            exact,
        ));
    }
    cases.push((
        gh(),
        vec![("x-github-event", "check_suite")],
        json!({"action": "completed", "check_suite": {}}),
        false,
    ));
    for (state, exact) in [
        ("success", true),
        ("failure", true),
        ("error", true),
        ("pending", true),
        ("queued", true),
        ("in_progress", true),
        ("inactive", false),
    ] {
        cases.push((
            gh(),
            vec![("x-github-event", "deployment_status")],
            json!({"deployment_status": {"state": state}, "deployment": {}}),
            exact,
        ));
    }
    for (after, deleted) in [
        ("b20867b14bb761a232cd80139fbd4c0d33264241", false),
        ("0000000000000000000000000000000000000000", true),
    ] {
        cases.push((
            gh(),
            vec![("x-github-event", "push")],
            json!({"ref": "refs/heads/main", "after": after, "deleted": deleted}),
            true,
        ));
    }
    for (action, merged, exact) in [
        ("opened", false, true),
        ("closed", true, true),
        ("closed", false, true),
        ("reopened", false, true),
        ("synchronize", false, false),
    ] {
        cases.push((
            gh(),
            vec![("x-github-event", "pull_request")],
            json!({"action": action, "pull_request": {"merged": merged}}),
            exact,
        ));
    }
    cases.push((
        gh(),
        vec![("x-github-event", "star")],
        json!({"action": "created"}),
        false,
    ));

    let gl = || Box::new(GitlabSource::new(secret())) as Box<dyn Source>;
    for status in [
        "success", "failed", "canceled", "skipped", "running", "pending",
    ] {
        cases.push((
            gl(),
            vec![("x-gitlab-event", "Pipeline Hook")],
            json!({"object_attributes": {"status": status}}),
            true,
        ));
        cases.push((
            gl(),
            vec![("x-gitlab-event", "Job Hook")],
            json!({"build_status": status}),
            true,
        ));
    }
    for (status, exact) in [
        ("success", true),
        ("failed", true),
        ("canceled", true),
        ("running", true),
        ("created", false),
    ] {
        cases.push((
            gl(),
            vec![("x-gitlab-event", "Deployment Hook")],
            json!({"status": status}),
            exact,
        ));
    }
    for (action, exact) in [
        ("open", true),
        ("merge", true),
        ("close", true),
        ("reopen", true),
        ("update", true),
        ("approved", false),
    ] {
        cases.push((
            gl(),
            vec![("x-gitlab-event", "Merge Request Hook")],
            json!({"object_attributes": {"action": action}}),
            exact,
        ));
    }
    for (kind, after) in [
        ("Push Hook", "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"),
        ("Push Hook", "0000000000000000000000000000000000000000"),
        ("Tag Push Hook", "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"),
    ] {
        cases.push((
            gl(),
            vec![("x-gitlab-event", kind)],
            json!({"ref": "refs/heads/main", "after": after}),
            true,
        ));
    }
    cases.push((
        gl(),
        vec![("x-gitlab-event", "Issue Hook")],
        json!({}),
        false,
    ));

    let circle = || Box::new(CircleciSource::new(secret())) as Box<dyn Source>;
    cases.push((
        circle(),
        vec![],
        json!({"type": "workflow-completed", "workflow": {"status": "failed"}}),
        true,
    ));
    cases.push((
        circle(),
        vec![],
        json!({"type": "job-completed", "job": {"status": "success"}}),
        true,
    ));
    cases.push((circle(), vec![], json!({"type": "ping"}), false));
    let jenkins = || Box::new(JenkinsSource::new(secret())) as Box<dyn Source>;
    for (phase, exact) in [
        ("QUEUED", true),
        ("STARTED", true),
        ("COMPLETED", true),
        ("PAUSED", false),
    ] {
        cases.push((
            jenkins(),
            vec![],
            json!({"name": "app", "build": {"phase": phase, "number": 3}}),
            exact,
        ));
    }

    for (source, pairs, body, exact) in cases {
        let body = serde_json::to_vec(&body).unwrap();
        let event = decode(
            source.as_ref(),
            &headers(&pairs),
            &body,
            UnknownEvents::Accept,
        );
        let event_type = event["event_type"].as_str().expect("an event").to_owned();
        let row = names::lookup(&event_type).unwrap_or_else(|| {
            panic!(
                "`{event_type}` ({}) is not in flowspec_core::event::names",
                source.name()
            )
        });
        assert_eq!(
            row.event_type == event_type,
            exact,
            "`{event_type}` from {} falls under `{}`",
            source.name(),
            row.event_type
        );
    }
}
