//! Merge requests on GitLab against a wiremock server that answers as API v4 is
//! documented (merge requests, notes, users, approvals, commit statuses, merge,
//! `merge_when_pipeline_succeeds`, rebase).

use std::sync::Arc;
use std::time::Duration;

use flowspec_core::{Engine, Event, HookSpec, HookStatus};
use flowspec_providers::common::Token;
use flowspec_providers::forge::action::{PrAction, PrActionConfig};
use flowspec_providers::forge::{self, CheckState, Forge, GreenWait, MergeMethod, PrError};
use flowspec_providers::gitlab::{GitlabProvider, provider as gitlab_provider};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{Sequence, fallback, fast_retry};

const PROJECT: &str = "/api/v4/projects/group%2Fapp";

async fn setup() -> (MockServer, Arc<GitlabProvider>) {
    let server = MockServer::start().await;
    fallback(&server).await;
    let provider = gitlab_provider(
        "group/app",
        &server.uri(),
        Some(Token::new("glpat-test", "GITLAB_TOKEN")),
        fast_retry(),
    )
    .unwrap();
    (server, Arc::new(provider))
}

fn mr(iid: u64, sha: &str, status: &str) -> Value {
    json!({
        "id": 1000 + iid, "iid": iid, "project_id": 21,
        "title": "feat: auth", "description": "Implements auth.",
        "state": "opened", "draft": false,
        "source_branch": "feat/auth", "target_branch": "main",
        "sha": sha, "merge_commit_sha": null, "squash_commit_sha": null,
        "merge_status": "can_be_merged", "detailed_merge_status": status,
        "has_conflicts": false,
        "reviewers": [{"id": 5, "username": "alice", "name": "Alice"}],
        "head_pipeline": null,
        "web_url": format!("https://gitlab.example.com/group/app/-/merge_requests/{iid}")
    })
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn mount_mr(server: &MockServer, sha: &str) {
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/merge_requests/7")))
        .respond_with(ok(mr(7, sha, "mergeable")))
        .mount(server)
        .await;
}

async fn mount_approvals(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/merge_requests/7/approvals")))
        .respond_with(ok(json!({
            "approvals_required": 1, "approvals_left": 0,
            "approved_by": [{"user": {"id": 9, "username": "bob", "name": "Bob"}}]
        })))
        .mount(server)
        .await;
}

fn statuses(list: &[(&str, &str, bool)]) -> ResponseTemplate {
    let list: Vec<Value> = list
        .iter()
        .map(|(name, status, allow_failure)| {
            json!({"id": 1, "sha": "abc123", "ref": "feat/auth", "status": status,
                   "name": name, "allow_failure": allow_failure,
                   "target_url": format!("https://gitlab.example.com/group/app/-/jobs/{name}")})
        })
        .collect();
    ok(json!(list))
}

fn action(provider: Arc<GitlabProvider>, config: Value) -> Arc<PrAction> {
    let config: PrActionConfig = serde_json::from_value(config).unwrap();
    Arc::new(PrAction::new(config, provider, "/nonexistent"))
}

#[tokio::test]
async fn should_open_a_merge_request_then_update_it_on_the_next_event() {
    let (server, provider) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/merge_requests")))
        .and(query_param("state", "opened"))
        .and(query_param("source_branch", "feat/auth"))
        .and(header("PRIVATE-TOKEN", "glpat-test"))
        .respond_with(Sequence::new(vec![
            ok(json!([])),
            ok(json!([mr(7, "abc123", "mergeable")])),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{PROJECT}/merge_requests")))
        .and(body_partial_json(json!({
            "source_branch": "feat/auth", "target_branch": "main",
            "title": "feat: auth", "description": "Implements auth."
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(mr(7, "abc123", "checking")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{PROJECT}/merge_requests/7")))
        .and(body_partial_json(json!({
            "title": "feat: auth", "target_branch": "main", "description": "Implements auth."
        })))
        .respond_with(ok(mr(7, "abc123", "mergeable")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{PROJECT}/merge_requests/7")))
        .and(body_partial_json(
            json!({"add_labels": "automated,flowspec"}),
        ))
        .respond_with(ok(mr(7, "abc123", "mergeable")))
        .expect(2)
        .mount(&server)
        .await;
    // Reviewers: `bob` is looked up by username; `alice`, already asked, stays.
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/merge_requests/7")))
        .respond_with(ok(mr(7, "abc123", "mergeable")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/users"))
        .and(query_param("username", "bob"))
        .respond_with(ok(json!([{"id": 9, "username": "bob", "name": "Bob"}])))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{PROJECT}/merge_requests/7")))
        .and(body_partial_json(json!({"reviewer_ids": [5, 9]})))
        .respond_with(ok(mr(7, "abc123", "mergeable")))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{PROJECT}/merge_requests/7/merge")))
        .and(body_partial_json(json!({
            "merge_when_pipeline_succeeds": true, "auto_merge": true,
            "squash": true, "sha": "abc123"
        })))
        .respond_with(ok(mr(7, "abc123", "mergeable")))
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
                "labels": ["automated", "flowspec"], "reviewers": ["alice", "@bob"],
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
        json!({"number": 7, "url": "https://gitlab.example.com/group/app/-/merge_requests/7", "created": false})
    );
}

#[tokio::test]
async fn should_open_a_draft_with_the_draft_title_prefix() {
    let (server, provider) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!("{PROJECT}/merge_requests")))
        .and(body_partial_json(json!({"title": "Draft: feat: auth"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(mr(8, "abc123", "draft_status")))
        .expect(1)
        .mount(&server)
        .await;
    let request = forge::PrRequest::new("feat: auth", "main", "feat/auth").draft(true);
    let pr = provider.create(&request).await.unwrap();
    assert_eq!(pr.number, 8);
    assert_eq!(pr.state, "open");
    assert_eq!(pr.mergeable, Some(false));
}

#[tokio::test]
async fn should_refuse_team_reviewers_with_a_hint() {
    let (_server, provider) = setup().await;
    let err = provider
        .request_reviewers(7, &["group/reviewers".to_string()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("user reviewers only"), "{err}");
}

#[tokio::test]
async fn should_edit_the_sticky_note_in_place() {
    let (server, provider) = setup().await;
    let marker = "<!-- flowspec:results -->";
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/merge_requests/7/notes")))
        .and(query_param("sort", "asc"))
        .respond_with(Sequence::new(vec![
            ok(json!([
                {"id": 1, "body": "LGTM", "system": false},
                {"id": 2, "body": format!("changed the description {marker}"), "system": true}
            ])),
            ok(json!([
                {"id": 1, "body": "LGTM", "system": false},
                {"id": 99, "body": format!("{marker}\nold"), "system": false}
            ])),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{PROJECT}/merge_requests/7/notes")))
        .and(body_partial_json(
            json!({"body": format!("{marker}\n3 passed")}),
        ))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": 99, "body": "x", "system": false, "noteable_iid": 7})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{PROJECT}/merge_requests/7/notes/99")))
        .and(body_partial_json(
            json!({"body": format!("{marker}\n4 passed")}),
        ))
        .respond_with(ok(json!({"id": 99, "body": "x", "system": false})))
        .expect(1)
        .mount(&server)
        .await;

    let first = provider
        .upsert_comment(7, marker, "3 passed")
        .await
        .unwrap();
    assert!(first.created);
    assert_eq!(
        first.url.as_deref(),
        Some(&*format!(
            "{}/group/app/-/merge_requests/7#note_99",
            server.uri()
        ))
    );
    let second = provider
        .upsert_comment(7, marker, "4 passed")
        .await
        .unwrap();
    assert!(!second.created);
    assert_eq!(second.id, 99);
}

#[tokio::test]
async fn should_merge_only_after_the_last_status_turns_green() {
    let (server, provider) = setup().await;
    mount_mr(&server, "abc123").await;
    mount_approvals(&server).await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{PROJECT}/repository/commits/abc123/statuses"
        )))
        .respond_with(Sequence::new(vec![
            statuses(&[("build", "success", false), ("test", "pending", false)]),
            statuses(&[("build", "success", false), ("test", "running", false)]),
            // A failure that is allowed to fail does not hold the merge back.
            statuses(&[
                ("build", "success", false),
                ("test", "success", false),
                ("lint", "failed", true),
            ]),
        ]))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{PROJECT}/merge_requests/7/merge")))
        .and(body_partial_json(json!({"squash": true, "sha": "abc123"})))
        .respond_with(ok({
            let mut m = mr(7, "abc123", "not_open");
            m["state"] = "merged".into();
            m["squash_commit_sha"] = "5qu45h".into();
            m
        }))
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
    assert_eq!(merged.sha.as_deref(), Some("5qu45h"));
    assert_eq!(
        polls,
        [
            CheckState::Pending,
            CheckState::Pending,
            CheckState::Success
        ]
    );
    let requests = server.received_requests().await.unwrap();
    let last_checks = requests
        .iter()
        .rposition(|r| r.url.path().ends_with("/statuses"))
        .unwrap();
    let merge = requests
        .iter()
        .position(|r| r.url.path().ends_with("/merge"))
        .unwrap();
    assert!(merge > last_checks);
}

#[tokio::test]
async fn should_read_statuses_pipeline_approvals_and_mergeability() {
    let (server, provider) = setup().await;
    let mut with_pipeline = mr(7, "abc123", "mergeable");
    with_pipeline["head_pipeline"] = json!({
        "id": 287, "status": "failed",
        "web_url": "https://gitlab.example.com/group/app/-/pipelines/287"
    });
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/merge_requests/7")))
        .respond_with(ok(with_pipeline))
        .mount(&server)
        .await;
    mount_approvals(&server).await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{PROJECT}/repository/commits/abc123/statuses"
        )))
        .respond_with(statuses(&[
            ("build", "success", false),
            ("test", "failed", false),
        ]))
        .mount(&server)
        .await;
    let pr = provider.get(7).await.unwrap();
    let status = provider.status(&pr).await.unwrap();
    assert_eq!(status.checks_state(), CheckState::Failure);
    assert_eq!(status.failed_checks(), ["test", "pipeline"]);
    assert_eq!(status.reviews[0].author, "bob");
    assert_eq!(status.reviews[0].state, "approved");
    assert_eq!(status.pr.mergeable, Some(true));
    assert_eq!(status.pr.mergeable_state.as_deref(), Some("mergeable"));

    let err = forge::merge_when_green(
        provider.as_ref(),
        &pr,
        MergeMethod::Merge,
        Some(GreenWait::default()),
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, PrError::ChecksFailed { number: 7, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn should_report_a_refused_merge_with_gitlabs_reason() {
    let (server, provider) = setup().await;
    mount_mr(&server, "abc123").await;
    Mock::given(method("PUT"))
        .and(path(format!("{PROJECT}/merge_requests/7/merge")))
        .respond_with(
            ResponseTemplate::new(406).set_body_json(json!({"message": "Branch cannot be merged"})),
        )
        .mount(&server)
        .await;
    let pr = provider.get(7).await.unwrap();
    let err = forge::merge(provider.as_ref(), &pr, MergeMethod::Merge)
        .await
        .unwrap_err();
    match &err {
        PrError::Refused { number: 7, reason } => {
            assert!(reason.contains("Branch cannot be merged"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn should_rebase_then_merge_the_rebased_head() {
    let (server, provider) = setup().await;
    mount_mr(&server, "abc123").await;
    Mock::given(method("PUT"))
        .and(path(format!("{PROJECT}/merge_requests/7/rebase")))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"rebase_in_progress": true})))
        .expect(1)
        .mount(&server)
        .await;
    let rebasing = {
        let mut m = mr(7, "abc123", "checking");
        m["rebase_in_progress"] = true.into();
        m
    };
    let rebased = {
        let mut m = mr(7, "def456", "mergeable");
        m["rebase_in_progress"] = false.into();
        m["merge_error"] = Value::Null;
        m
    };
    Mock::given(method("GET"))
        .and(path(format!("{PROJECT}/merge_requests/7")))
        .and(query_param("include_rebase_in_progress", "true"))
        .respond_with(Sequence::new(vec![ok(rebasing), ok(rebased)]))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{PROJECT}/merge_requests/7/merge")))
        .and(body_partial_json(json!({"squash": false, "sha": "def456"})))
        .respond_with(ok({
            let mut m = mr(7, "def456", "not_open");
            m["merge_commit_sha"] = "m3rg3d".into();
            m
        }))
        .expect(1)
        .mount(&server)
        .await;
    let pr = provider.get(7).await.unwrap();
    let merged = forge::merge(provider.as_ref(), &pr, MergeMethod::Rebase)
        .await
        .unwrap();
    assert_eq!(merged.sha.as_deref(), Some("m3rg3d"));
}

#[tokio::test]
async fn should_delete_the_source_branch() {
    let (server, provider) = setup().await;
    Mock::given(method("DELETE"))
        .and(path(format!("{PROJECT}/repository/branches/feat%2Fauth")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    provider.delete_branch("feat/auth").await.unwrap();
}
