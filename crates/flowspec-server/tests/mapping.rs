//! Webhook payloads (shaped like the samples in GitHub's, GitLab's, CircleCI's and the
//! Jenkins Notification plugin's documentation) mapped to flowspec events.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use flowspec_core::secret::SecretString;
use flowspec_server::config::UnknownEvents;
use flowspec_server::sources::circleci::CircleciSource;
use flowspec_server::sources::github::GithubSource;
use flowspec_server::sources::gitlab::GitlabSource;
use flowspec_server::sources::jenkins::JenkinsSource;
use flowspec_server::sources::{Decoded, Request, Source};
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
    let request = Request {
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
        ("push", "push"),
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
