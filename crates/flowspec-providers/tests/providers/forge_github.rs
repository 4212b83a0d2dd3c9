//! Pull requests on GitHub against a wiremock server that answers as the REST and
//! GraphQL APIs are documented (pulls, conversation comments, labels, statuses, check runs,
//! merge, `enablePullRequestAutoMerge`).

use std::sync::Arc;
use std::time::Duration;

use flowspec_core::{Engine, Event, HookSpec, HookStatus};
use flowspec_providers::common::Token;
use flowspec_providers::forge::action::{PrAction, PrActionConfig};
use flowspec_providers::forge::{self, CheckState, Forge, GreenWait, MergeMethod, PrError};
use flowspec_providers::github::GithubProvider;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, body_string_contains, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{Sequence, fallback, fast_retry};

const REPO: &str = "/repos/octo/app";

async fn setup() -> (MockServer, Arc<GithubProvider>) {
    let server = MockServer::start().await;
    fallback(&server).await;
    let provider = GithubProvider::new(
        "octo/app",
        url::Url::parse(&format!("{}/", server.uri())).unwrap(),
        Some(Token::new("ghp_test_token", "GITHUB_TOKEN")),
    )
    .unwrap()
    .with_retry(fast_retry())
    .with_timeout(Duration::from_secs(2));
    (server, Arc::new(provider))
}

fn pull(number: u64, head_sha: &str) -> Value {
    json!({
        "number": number, "node_id": format!("PR_node{number}"),
        "html_url": format!("https://github.com/octo/app/pull/{number}"),
        "title": "feat: auth", "state": "open", "draft": false, "merged": false,
        "mergeable": true, "mergeable_state": "clean",
        "head": {"ref": "feat/auth", "sha": head_sha},
        "base": {"ref": "main", "sha": "0000"}
    })
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn mount_pull(server: &MockServer, head_sha: &str) {
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/pulls/7")))
        .respond_with(ok(pull(7, head_sha)))
        .mount(server)
        .await;
}

fn check_runs(runs: &[(&str, &str, Option<&str>)]) -> ResponseTemplate {
    let runs: Vec<Value> = runs
        .iter()
        .map(|(name, status, conclusion)| {
            json!({"name": name, "status": status, "conclusion": conclusion,
                   "html_url": format!("https://github.com/octo/app/runs/{name}")})
        })
        .collect();
    ok(json!({"total_count": runs.len(), "check_runs": runs}))
}

async fn mount_statuses_and_reviews(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/commits/abc123/status")))
        .respond_with(ok(json!({"state": "success", "statuses": [
            {"context": "flowspec/quality-gate", "state": "success", "target_url": null}
        ]})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/pulls/7/reviews")))
        .respond_with(ok(
            json!([{"user": {"login": "octocat"}, "state": "APPROVED"}]),
        ))
        .mount(server)
        .await;
}

fn action(provider: Arc<GithubProvider>, config: Value) -> Arc<PrAction> {
    let config: PrActionConfig = serde_json::from_value(config).unwrap();
    Arc::new(PrAction::new(config, provider, "/nonexistent"))
}

#[tokio::test]
async fn should_open_a_pull_request_then_update_it_on_the_next_event() {
    let (server, provider) = setup().await;
    // The first look finds none; after the POST the list has it.
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/pulls")))
        .and(query_param("state", "open"))
        .and(query_param("head", "octo:feat/auth"))
        .respond_with(Sequence::new(vec![
            ok(json!([])),
            ok(json!([pull(7, "abc123")])),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/pulls")))
        .and(body_partial_json(json!({
            "title": "feat: auth", "head": "feat/auth", "base": "main", "draft": false,
            "body": "Implements auth."
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(pull(7, "abc123")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{REPO}/pulls/7")))
        .and(body_partial_json(
            json!({"title": "feat: auth", "body": "Implements auth."}),
        ))
        .respond_with(ok(pull(7, "abc123")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/issues/7/labels")))
        .and(body_partial_json(json!({"labels": ["automated"]})))
        .respond_with(ok(json!([{"name": "automated"}])))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/pulls/7/requested_reviewers")))
        .and(body_partial_json(
            json!({"reviewers": ["octocat"], "team_reviewers": ["reviewers"]}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(pull(7, "abc123")))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_string_contains("enablePullRequestAutoMerge"))
        .and(body_partial_json(
            json!({"variables": {"id": "PR_node7", "method": "SQUASH"}}),
        ))
        .respond_with(ok(
            json!({"data": {"enablePullRequestAutoMerge": {"pullRequest": {"number": 7}}}}),
        ))
        .expect(2)
        .mount(&server)
        .await;

    let hook = HookSpec::builder("auto-create-pr")
        .on("task.completed")
        .action(action(
            provider,
            json!({
                "title": "feat: {event.feature}", "base": "main",
                "body": "Implements {event.feature}.",
                "labels": ["automated"], "reviewers": ["octocat", "octo/reviewers"],
                "auto_merge": "squash"
            }),
        ))
        .build()
        .unwrap();
    let engine = Engine::builder().hook(hook).build().await.unwrap();
    let event = || {
        Event::builder("task.completed")
            .feature("auth")
            .field("branch", "feat/auth")
            .build()
            .unwrap()
    };

    let first = engine.emit(event()).await.unwrap();
    assert_eq!(
        first.hooks[0].status,
        HookStatus::Success,
        "{:?}",
        first.hooks[0].message
    );
    assert_eq!(first.follow_ups[0].event_type, "pr.created");
    let second = engine.emit(event()).await.unwrap();
    assert_eq!(
        second.hooks[0].status,
        HookStatus::Success,
        "{:?}",
        second.hooks[0].message
    );
    assert_eq!(second.follow_ups[0].event_type, "pr.updated");
    assert_eq!(
        second.hooks[0].details["response"],
        json!({"number": 7, "url": "https://github.com/octo/app/pull/7", "created": false})
    );
}

#[tokio::test]
async fn should_edit_the_sticky_comment_in_place() {
    let (server, provider) = setup().await;
    let marker = "<!-- flowspec:results -->";
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/issues/7/comments")))
        .respond_with(Sequence::new(vec![
            ok(json!([{"id": 1, "body": "LGTM", "html_url": null}])),
            ok(json!([
                {"id": 1, "body": "LGTM", "html_url": null},
                {"id": 99, "body": format!("{marker}\nold"), "html_url": "https://github.com/octo/app/pull/7#discussion-99"}
            ])),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/issues/7/comments")))
        .and(body_partial_json(json!({"body": format!("{marker}\n3 passed")})))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"id": 99, "body": "x", "html_url": "https://github.com/octo/app/pull/7#discussion-99"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{REPO}/issues/comments/99")))
        .and(body_partial_json(
            json!({"body": format!("{marker}\n4 passed")}),
        ))
        .respond_with(ok(json!({"id": 99, "body": "x", "html_url": null})))
        .expect(1)
        .mount(&server)
        .await;

    let first = provider
        .upsert_comment(7, marker, "3 passed")
        .await
        .unwrap();
    assert!(first.created);
    let second = provider
        .upsert_comment(7, marker, "4 passed")
        .await
        .unwrap();
    assert!(!second.created);
    assert_eq!(second.id, 99);
}

#[tokio::test]
async fn should_merge_only_after_the_last_check_turns_green() {
    let (server, provider) = setup().await;
    mount_pull(&server, "abc123").await;
    mount_statuses_and_reviews(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/commits/abc123/check-runs")))
        .respond_with(Sequence::new(vec![
            check_runs(&[
                ("build", "completed", Some("success")),
                ("test", "queued", None),
            ]),
            check_runs(&[
                ("build", "completed", Some("success")),
                ("test", "in_progress", None),
            ]),
            check_runs(&[
                ("build", "completed", Some("success")),
                ("test", "completed", Some("success")),
            ]),
        ]))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{REPO}/pulls/7/merge")))
        .and(body_partial_json(
            json!({"merge_method": "squash", "sha": "abc123"}),
        ))
        .respond_with(ok(
            json!({"sha": "m3rg3d", "merged": true, "message": "Pull Request successfully merged"}),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let pr = forge::resolve(provider.as_ref(), Some(7), None)
        .await
        .unwrap();
    let mut polls = Vec::new();
    let wait = GreenWait {
        interval: Duration::from_millis(10),
        timeout: Some(Duration::from_secs(5)),
    };
    let merged = forge::merge_when_green(
        provider.as_ref(),
        &pr,
        MergeMethod::Squash,
        Some(wait),
        &mut |s| polls.push(s.checks_state()),
    )
    .await
    .unwrap();
    assert_eq!(merged.sha.as_deref(), Some("m3rg3d"));
    assert_eq!(
        polls,
        [
            CheckState::Pending,
            CheckState::Pending,
            CheckState::Success
        ]
    );
    // The merge request came after the third look at the checks.
    let requests = server.received_requests().await.unwrap();
    let last_checks = requests
        .iter()
        .rposition(|r| r.url.path().ends_with("/check-runs"))
        .unwrap();
    let merge = requests
        .iter()
        .position(|r| r.url.path().ends_with("/merge"))
        .unwrap();
    assert!(merge > last_checks);
}

#[tokio::test]
async fn should_name_the_failed_checks_and_not_merge() {
    let (server, provider) = setup().await;
    mount_pull(&server, "abc123").await;
    mount_statuses_and_reviews(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/commits/abc123/check-runs")))
        .respond_with(check_runs(&[
            ("build", "completed", Some("success")),
            ("test", "completed", Some("failure")),
        ]))
        .mount(&server)
        .await;
    let pr = provider.get(7).await.unwrap();
    let err = forge::merge_when_green(
        provider.as_ref(),
        &pr,
        MergeMethod::Merge,
        Some(GreenWait::default()),
        &mut |_| {},
    )
    .await
    .unwrap_err();
    match &err {
        PrError::ChecksFailed { number: 7, checks } => assert_eq!(checks, &["test".to_string()]),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("failed checks: test"), "{err}");
}

#[tokio::test]
async fn should_report_a_refused_merge_with_the_forge_reason() {
    let (server, provider) = setup().await;
    mount_pull(&server, "abc123").await;
    Mock::given(method("PUT"))
        .and(path(format!("{REPO}/pulls/7/merge")))
        .respond_with(ResponseTemplate::new(405).set_body_json(json!({
            "message": "Repository rule violations found: required status check \"test\" is expected.",
            "documentation_url": "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"
        })))
        .mount(&server)
        .await;
    let pr = provider.get(7).await.unwrap();
    let err = forge::merge(provider.as_ref(), &pr, MergeMethod::Merge)
        .await
        .unwrap_err();
    match &err {
        PrError::Refused { number: 7, reason } => {
            assert!(reason.contains("required status check"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn should_read_checks_statuses_reviews_and_mergeability() {
    let (server, provider) = setup().await;
    mount_pull(&server, "abc123").await;
    mount_statuses_and_reviews(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/commits/abc123/check-runs")))
        .respond_with(check_runs(&[("build", "completed", Some("skipped"))]))
        .mount(&server)
        .await;
    let pr = provider.get(7).await.unwrap();
    let status = provider.status(&pr).await.unwrap();
    assert_eq!(status.checks_state(), CheckState::Success);
    let names: Vec<&str> = status.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["build", "flowspec/quality-gate"]);
    assert_eq!(status.reviews[0].author, "octocat");
    assert_eq!(status.pr.mergeable, Some(true));
    assert_eq!(status.pr.mergeable_state.as_deref(), Some("clean"));
}

#[tokio::test]
async fn should_refuse_a_head_equal_to_the_base_without_a_request() {
    let (_server, provider) = setup().await;
    let hook = HookSpec::builder("pr")
        .on("task.completed")
        .action(action(provider, json!({"title": "t", "head": "main"})))
        .build()
        .unwrap();
    let engine = Engine::builder().hook(hook).build().await.unwrap();
    let report = engine
        .emit(Event::builder("task.completed").build().unwrap())
        .await
        .unwrap();
    assert_eq!(report.hooks[0].status, HookStatus::Failed);
    assert!(
        report.hooks[0]
            .message
            .as_deref()
            .unwrap()
            .contains("cannot be merged into `main`"),
        "{:?}",
        report.hooks[0].message
    );
}
