//! The results on a pull request: the `pr_comment:` hook action (one sticky comment,
//! edited in place) on GitHub and GitLab, and GitHub check runs with annotations
//! (`pr comment --check-run`), against wiremock servers that follow the GitHub REST
//! API (issue comments, check runs) and the GitLab v4 API (merge request notes).

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::ci::{output, project};
use crate::{TestProject, shown};

const REPO: &str = "/repos/octo/app";
const MR: &str = "/api/v4/projects/group%2Fapp/merge_requests/12";

const HOOK: &str = "\
hooks:
  - name: results-comment
    events: [ci.completed]
    pr_comment:
      results: [\"reports/*.xml\"]
";

fn report(failing: &str) -> String {
    format!(
        r#"<testsuite name="auth" tests="3" failures="1"><testcase classname="auth" name="logs_in" file="src/auth.rs" line="10"/><testcase classname="auth" name="{failing}" file="src/auth.rs" line="42"><failure message="expected 200, got 401"/></testcase><testcase classname="auth" name="logs_out"/></testsuite>"#
    )
}

/// The comments of one pull request (or notes of one merge request): listed, added
/// to by a POST, edited by a PATCH/PUT; every body sent is kept.
#[derive(Clone, Default)]
struct Thread {
    comments: Arc<Mutex<Vec<Value>>>,
}

impl Respond for Thread {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut comments = self.comments.lock().unwrap();
        let body = || -> String {
            let sent: Value = serde_json::from_slice(&request.body).expect("a JSON body");
            sent["body"].as_str().expect("a body").to_owned()
        };
        match request.method.as_str() {
            "GET" => ResponseTemplate::new(200).set_body_json(Value::Array(comments.clone())),
            "POST" => {
                let comment = json!({"id": 5, "body": body(), "html_url": null, "system": false});
                comments.push(comment.clone());
                ResponseTemplate::new(201).set_body_json(comment)
            }
            _ => {
                let id: u64 = request
                    .url
                    .path()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                let text = body();
                let comment = comments
                    .iter_mut()
                    .find(|c| c["id"] == id)
                    .expect("an edit of a comment that is there");
                comment["body"] = text.into();
                ResponseTemplate::new(200).set_body_json(comment.clone())
            }
        }
    }
}

fn sent(requests: &[Request], verb: &str) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.method.as_str() == verb)
        .map(|r| {
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            v["body"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

fn emit(p: &TestProject) -> assert_cmd::Command {
    let mut cmd = p.cmd();
    let event = json!({
        "event_type": "ci.completed", "conclusion": "failure", "branch": "feat/auth",
        "run_url": "https://ci.example.com/runs/42"
    });
    cmd.env("GITHUB_TOKEN", "ghp_comment_test_token")
        .env_remove("GH_TOKEN")
        .env("GITLAB_TOKEN", "glpat-comment-test")
        .args(["emit", "--payload", "-"])
        .write_stdin(event.to_string());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_post_the_results_comment_once_then_edit_it_in_place_on_github() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/pulls")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "number": 7, "node_id": "PR_7", "html_url": "https://github.com/octo/app/pull/7",
            "title": "feat: auth", "state": "open", "draft": false,
            "head": {"ref": "feat/auth", "sha": "abc123"}, "base": {"ref": "main", "sha": "0"}
        }])))
        .mount(&server)
        .await;
    let thread = Thread::default();
    for (verb, at) in [
        ("GET", format!("{REPO}/issues/7/comments")),
        ("POST", format!("{REPO}/issues/7/comments")),
        ("PATCH", format!("{REPO}/issues/comments/5")),
    ] {
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(thread.clone())
            .mount(&server)
            .await;
    }
    let p = project(&server, HOOK);
    p.write("reports/junit.xml", &report("rejects_bad_password"));
    let (code, stdout, stderr) = output(emit(&p)).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains("posted the results comment on pull request #7 (github)"),
        "{}",
        shown(&stdout, &stderr)
    );

    p.write("reports/junit.xml", &report("locks_after_three_tries"));
    let (code, stdout, stderr) = output(emit(&p)).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains("updated the results comment on pull request #7 (github)"),
        "{}",
        shown(&stdout, &stderr)
    );

    let requests = server.received_requests().await.unwrap();
    let posts = sent(&requests, "POST");
    let patches = sent(&requests, "PATCH");
    assert_eq!(
        (posts.len(), patches.len()),
        (1, 1),
        "one comment, edited once"
    );
    assert!(posts[0].starts_with("<!-- flowspec:results -->\n"));
    assert!(
        posts[0].contains("auth::rejects_bad_password"),
        "{}",
        posts[0]
    );
    let edited = &patches[0];
    assert!(edited.contains("3 tests, 2 passed, 1 failed"), "{edited}");
    assert!(edited.contains("auth::locks_after_three_tries"), "{edited}");
    assert!(
        edited.contains("[The CI run](https://ci.example.com/runs/42)"),
        "{edited}"
    );
    insta::assert_snapshot!("pr_comment_github_body", edited);
    let audit = p.audit();
    let last = audit
        .iter()
        .rfind(|l| l["hook_name"] == "results-comment")
        .expect("an audit line");
    assert_eq!(
        last["response"]["said"], "updated the results comment on pull request #7 (github)",
        "{last}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_keep_one_results_note_on_a_gitlab_merge_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/group%2Fapp/merge_requests"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "iid": 12, "web_url": "https://gitlab.example.com/group/app/-/merge_requests/12",
            "title": "feat: auth", "state": "opened", "source_branch": "feat/auth",
            "target_branch": "main", "sha": "abc123"
        }])))
        .mount(&server)
        .await;
    let thread = Thread::default();
    for (verb, at) in [
        ("GET", format!("{MR}/notes")),
        ("POST", format!("{MR}/notes")),
        ("PUT", format!("{MR}/notes/5")),
    ] {
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(thread.clone())
            .mount(&server)
            .await;
    }
    let p = TestProject::new(HOOK);
    p.write(
        ".flowspec/flowspec.yaml",
        &format!(
            "ci:\n  provider: gitlab\n  config:\n    project: group/app\n    api_url: {}\n",
            server.uri()
        ),
    );
    p.write("reports/junit.xml", &report("rejects_bad_password"));
    let (code, stdout, stderr) = output(emit(&p)).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains("posted the results comment on merge request !12 (gitlab)"),
        "{}",
        shown(&stdout, &stderr)
    );
    p.write("reports/junit.xml", &report("locks_after_three_tries"));
    let (code, stdout, stderr) = output(emit(&p)).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains("updated the results comment on merge request !12 (gitlab)"),
        "{}",
        shown(&stdout, &stderr)
    );
    let requests = server.received_requests().await.unwrap();
    let posts = sent(&requests, "POST");
    let puts = sent(&requests, "PUT");
    assert_eq!((posts.len(), puts.len()), (1, 1), "one note, edited once");
    assert!(
        puts[0].contains("3 tests, 2 passed, 1 failed"),
        "{}",
        puts[0]
    );
    assert!(
        puts[0].contains("auth::locks_after_three_tries"),
        "{}",
        puts[0]
    );
}

/// Answers a check-run request with its id, keeping what was sent.
struct CheckRuns(Arc<Mutex<Vec<(String, Value)>>>);

impl Respond for CheckRuns {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).expect("a JSON check run");
        self.0
            .lock()
            .unwrap()
            .push((request.method.to_string(), body));
        ResponseTemplate::new(if request.method.as_str() == "POST" {
            201
        } else {
            200
        })
        .set_body_json(json!({"id": 4, "html_url": "https://github.com/octo/app/runs/4"}))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_create_a_check_run_and_send_annotations_beyond_50_in_a_second_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/pulls/7")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": 7, "node_id": "PR_7", "html_url": "https://github.com/octo/app/pull/7",
            "title": "feat: auth", "state": "open", "draft": false,
            "head": {"ref": "feat/auth", "sha": "abc123"}, "base": {"ref": "main", "sha": "0"}
        })))
        .mount(&server)
        .await;
    let thread = Thread::default();
    for verb in ["GET", "POST"] {
        Mock::given(method(verb))
            .and(path(format!("{REPO}/issues/7/comments")))
            .respond_with(thread.clone())
            .mount(&server)
            .await;
    }
    let runs = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/check-runs")))
        .respond_with(CheckRuns(runs.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{REPO}/check-runs/4")))
        .respond_with(CheckRuns(runs.clone()))
        .expect(1)
        .mount(&server)
        .await;
    let p = project(&server, "hooks: []\n");
    let cases: String = (1..=60)
        .map(|i| {
            format!(r#"<testcase classname="calc" name="case_{i}" file="{root}/src/calc.rs" line="{i}"><failure message="case {i} is off"/></testcase>"#,
                root = p.path().display())
        })
        .collect();
    p.write(
        "junit.xml",
        &format!(r#"<testsuite name="calc" tests="61" failures="60">{cases}<testcase classname="calc" name="adds"/></testsuite>"#),
    );
    let mut cmd = p.cmd();
    cmd.env("GITHUB_TOKEN", "ghp_comment_test_token")
        .env_remove("GH_TOKEN")
        .args([
            "pr",
            "comment",
            "--pr",
            "7",
            "--results",
            "junit.xml",
            "--check-run",
            "tests",
        ]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains("created check run `tests` with 60 annotations"),
        "{}",
        shown(&stdout, &stderr)
    );
    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let (verb, created) = &runs[0];
    assert_eq!(verb, "POST");
    assert_eq!(created["name"], "tests");
    assert_eq!(created["head_sha"], "abc123");
    assert_eq!(created["status"], "completed");
    assert_eq!(created["conclusion"], "failure");
    assert_eq!(
        created["output"]["title"],
        "61 tests, 1 passed, 60 failed, 0 errors, 0 skipped, 0 flaky, 0ms"
    );
    assert!(
        created["output"]["summary"]
            .as_str()
            .unwrap()
            .contains("Tests failed")
    );
    let first = created["output"]["annotations"].as_array().unwrap();
    assert_eq!(first.len(), 50);
    assert_eq!(
        first[0],
        json!({
            "path": "src/calc.rs", "start_line": 1, "end_line": 1,
            "annotation_level": "failure", "message": "case 1 is off",
            "title": "calc::case_1 failed"
        }),
        "paths are relative to the repository"
    );
    let (verb, appended) = &runs[1];
    assert_eq!(verb, "PATCH");
    let rest = appended["output"]["annotations"].as_array().unwrap();
    assert_eq!(rest.len(), 10);
    assert_eq!(rest[9]["start_line"], 60);
    assert!(appended["output"]["title"].is_string() && appended["output"]["summary"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_refuse_a_check_run_on_gitlab_and_say_why() {
    let server = MockServer::start().await;
    let p = TestProject::new(
        "hooks:\n  - name: results-comment\n    events: [ci.completed]\n    pr_comment:\n      results: [junit.xml]\n      check_run: tests\n",
    );
    p.write(
        ".flowspec/flowspec.yaml",
        &format!(
            "ci:\n  provider: gitlab\n  config:\n    project: group/app\n    api_url: {}\n",
            server.uri()
        ),
    );
    let mut cmd = p.cmd();
    cmd.env("GITLAB_TOKEN", "glpat-comment-test")
        .args(["hooks", "validate"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_ne!(code, 0, "{}", shown(&stdout, &stderr));
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("GitLab has no check runs (commit statuses only)"),
        "{all}"
    );
    assert!(all.contains("results-comment"), "names the hook: {all}");

    let mut cmd = p.cmd();
    cmd.env("GITLAB_TOKEN", "glpat-comment-test").args([
        "pr",
        "comment",
        "--pr",
        "12",
        "--results",
        "junit.xml",
        "--check-run",
        "tests",
    ]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 2, "{}", shown(&stdout, &stderr));
    assert!(
        stderr.contains("GitLab has no check runs (commit statuses only)"),
        "{stderr}"
    );
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "refused before any request"
    );
}

#[test]
fn should_name_the_hook_and_field_of_a_wrong_pr_comment() {
    let p = TestProject::new(
        "hooks:\n  - name: results-comment\n    events: [ci.completed]\n    pr_comment:\n      results: []\n      check: tests\n  - name: no-results\n    events: [ci.completed]\n    pr_comment: {pr: \"{event.pr}\"}\n",
    );
    p.write(
        ".flowspec/flowspec.yaml",
        "ci:\n  provider: github\n  config:\n    repo: octo/app\n",
    );
    let (code, stdout, stderr) = crate::run(p.cmd().args(["hooks", "validate"]));
    assert_eq!(code, 3, "{}", shown(&stdout, &stderr));
    let all = format!("{stdout}{stderr}");
    for expected in [
        "unknown field `check` (at `hooks[0].pr_comment`)",
        "hooks.yaml:6:7",
        "did you mean `check_run`?",
        "missing field `results` (at `hooks[1].pr_comment`)",
    ] {
        assert!(all.contains(expected), "missing {expected:?}: {all}");
    }
}

#[test]
fn should_refuse_an_empty_results_list() {
    let p = TestProject::new(
        "hooks:\n  - name: results-comment\n    events: [ci.completed]\n    pr_comment: {results: []}\n",
    );
    p.write(
        ".flowspec/flowspec.yaml",
        "ci:\n  provider: github\n  config:\n    repo: octo/app\n",
    );
    let (code, stdout, stderr) = crate::run(p.cmd().args(["hooks", "validate"]));
    assert_eq!(code, 3, "{}", shown(&stdout, &stderr));
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("hook `results-comment`: `results` names no report file"),
        "{all}"
    );
}
