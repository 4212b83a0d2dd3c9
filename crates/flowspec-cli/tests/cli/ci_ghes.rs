//! `flowspec ci trigger` against a GitHub Enterprise Server that predates
//! `return_run_details`: it refuses the field, answers the dispatch without it with
//! `204`, and flowspec finds the run it created by its correlation input.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::ci::{ci, output};
use crate::{TestProject, shown};

const DISPATCH: &str = "/repos/octo/app/actions/workflows/ci.yml/dispatches";
const RUNS: &str = "/repos/octo/app/actions/workflows/ci.yml/runs";

/// An older GHES: refuses `return_run_details` with `422`, accepts the dispatch
/// without it with `204`, and remembers the correlation input it was given.
struct OldGhes(Arc<Mutex<Option<String>>>);

impl Respond for OldGhes {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        if body.get("return_run_details").is_some() {
            return ResponseTemplate::new(422).set_body_json(json!({
                "message": "Invalid request.\n\n\"return_run_details\" is not a permitted key.",
                "documentation_url": "https://docs.github.com/enterprise-server@3.12/rest"
            }));
        }
        *self.0.lock().unwrap() = body["inputs"]["flowspec_run_id"]
            .as_str()
            .map(str::to_owned);
        ResponseTemplate::new(204)
    }
}

/// The workflow's runs: someone else's dispatch started at the same time, and ours,
/// whose run name holds the correlation id.
struct Runs(Arc<Mutex<Option<String>>>);

impl Respond for Runs {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let ours = self.0.lock().unwrap().clone().unwrap_or_default();
        let run = |id: u64, title: String| {
            json!({
                "id": id, "name": "CI", "display_title": title, "run_number": id,
                "event": "workflow_dispatch", "status": "queued", "conclusion": null,
                "head_branch": "main", "head_sha": "a1b2c3",
                "html_url": format!("https://ghe.example.com/octo/app/actions/runs/{id}"),
                "created_at": "2026-03-20T10:00:00Z", "updated_at": "2026-03-20T10:00:00Z"
            })
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 2,
            "workflow_runs": [run(901, "CI fs-someone-else".into()), run(902, format!("CI {ours}"))]
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_dispatch_again_without_return_run_details_and_find_its_own_run() {
    let server = MockServer::start().await;
    let correlation = Arc::new(Mutex::new(None));
    Mock::given(method("POST"))
        .and(path(DISPATCH))
        .respond_with(OldGhes(correlation.clone()))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUNS))
        .respond_with(Runs(correlation.clone()))
        .mount(&server)
        .await;
    let p = TestProject::new("hooks: []\n");
    p.write(
        ".flowspec/flowspec.yaml",
        &format!(
            "ci:\n  provider: github\n  config:\n    repo: octo/app\n    api_url: {}\n    ref: main\n    correlation_input: flowspec_run_id\n",
            server.uri()
        ),
    );
    let mut cmd = ci(&p);
    cmd.args([
        "trigger",
        "--workflow",
        "ci.yml",
        "--input",
        "feature=auth",
        "--json",
    ]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let run: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(run["run_id"], "902", "the run named with our id: {run}");

    let dispatches: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == DISPATCH)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(dispatches.len(), 2);
    assert_eq!(dispatches[0]["return_run_details"], true);
    assert!(
        dispatches[1].get("return_run_details").is_none(),
        "the second dispatch leaves the refused field out: {}",
        dispatches[1]
    );
    let id = correlation
        .lock()
        .unwrap()
        .clone()
        .expect("a correlation id");
    assert!(id.starts_with("fs-"), "{id}");
    assert_eq!(
        dispatches[1]["inputs"],
        json!({"feature": "auth", "flowspec_run_id": id})
    );
}
