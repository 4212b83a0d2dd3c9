//! `flowspec ci wait` ends on the `ci.completed` webhook a receiver on the same store
//! stored, while the platform's API still says the run is in progress.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use flowspec_core::testing::TempPostgres;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::ci::{ci, output};
use crate::serve::{post_event, start_server_with};
use crate::{TestProject, shown};

const SECRET: &str = "push-test-webhook-secret";
/// The run of GitHub's documented `workflow_run` completed example.
const RUN_ID: &str = "289782451";

/// A GitHub project whose API says run 289782451 is in progress, forever.
async fn github_stuck_in_progress(server: &MockServer) {
    let run = json!({
        "id": 289782451u64, "name": "CI", "run_number": 3, "run_attempt": 1,
        "event": "push", "status": "in_progress", "conclusion": null,
        "head_branch": "main", "head_sha": "a1b2c3",
        "html_url": "https://github.com/octo/app/actions/runs/289782451",
        "created_at": "2026-03-20T10:00:00Z", "updated_at": "2026-03-20T10:02:11Z"
    });
    Mock::given(method("GET"))
        .and(path(format!("/repos/octo/app/actions/runs/{RUN_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(run))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/octo/app/actions/runs/{RUN_ID}/jobs")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"total_count": 0, "jobs": []})),
        )
        .mount(server)
        .await;
}

fn project(server: &MockServer, state: &str) -> TestProject {
    let p = TestProject::new("hooks: []\n");
    p.write(
        ".flowspec/flowspec.yaml",
        &format!(
            "{state}ci:\n  provider: github\n  config:\n    repo: octo/app\n    api_url: {}\n",
            server.uri()
        ),
    );
    p
}

/// POSTs a signed GitHub webhook; returns the status code.
fn post_github(addr: SocketAddr, kind: &str, body: &[u8]) -> u16 {
    let signature = flowspec_http::signature::sha256_header(SECRET.as_bytes(), body);
    let mut stream = TcpStream::connect(addr).expect("connect to the receiver");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST /webhooks/github HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nX-GitHub-Event: {kind}\r\nX-GitHub-Delivery: push-test-1\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Waits until `ci wait` has asked the API about the run at least once.
async fn until_polled(server: &MockServer) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let asked = server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .any(|r| r.url.path() == format!("/repos/octo/app/actions/runs/{RUN_ID}"));
        if asked {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ci wait never asked the API"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn run_polls(requests: &[wiremock::Request]) -> usize {
    requests
        .iter()
        .filter(|r| r.url.path() == format!("/repos/octo/app/actions/runs/{RUN_ID}"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_end_ci_wait_on_the_stored_github_webhook_while_the_api_says_in_progress() {
    let server = MockServer::start().await;
    github_stuck_in_progress(&server).await;
    let p = project(&server, "");
    let (mut receiver, addr) = start_server_with(&p, 1, &[("GITHUB_WEBHOOK_SECRET", SECRET)]);

    let mut cmd = ci(&p);
    // Polling every 20 ms would end a wait at once anyway; the fallback is 10× slower.
    cmd.args(["wait", "--run", RUN_ID, "--timeout", "60s", "--json"]);
    let waiting = tokio::spawn(output(cmd));
    until_polled(&server).await;
    let body = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../flowspec-server/tests/fixtures/github/workflow_run.completed.json"),
    )
    .unwrap();
    assert_eq!(post_github(addr, "workflow_run", &body), 202);

    let (code, stdout, stderr) = waiting.await.unwrap();
    assert_eq!(
        code,
        12,
        "the webhook says failure: {}",
        shown(&stdout, &stderr)
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["verdict"], "failed");
    assert_eq!(v["run"]["raw_status"], "failure (webhook)", "{v}");
    assert_eq!(v["pushed"]["conclusion"], "failure", "{v}");
    let polls = run_polls(&server.received_requests().await.unwrap());
    assert!(polls <= 4, "the API is only a fallback: {polls} polls");
    receiver.kill().unwrap();
    receiver.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_end_ci_wait_when_a_custom_ci_posts_its_completion_to_a_shared_postgres() {
    let db = TempPostgres::start();
    let server = MockServer::start().await;
    github_stuck_in_progress(&server).await;
    let p = project(&server, "state:\n  url: ${FLOWSPEC_STATE_URL}\n");
    let url = db.url();
    let (mut receiver, addr) = start_server_with(&p, 1, &[("FLOWSPEC_STATE_URL", &url)]);

    let mut cmd = ci(&p);
    cmd.env("FLOWSPEC_STATE_URL", &url).args([
        "wait",
        "--run",
        RUN_ID,
        "--timeout",
        "60s",
        "--json",
    ]);
    let waiting = tokio::spawn(output(cmd));
    until_polled(&server).await;
    // What a pipeline's last step POSTs (no provider named: any provider's run).
    let body =
        format!(r#"{{"event_type":"ci.completed","run_id":{RUN_ID},"conclusion":"success"}}"#);
    assert_eq!(
        tokio::task::spawn_blocking(move || post_event(addr, &body))
            .await
            .unwrap(),
        202
    );

    let (code, stdout, stderr) = waiting.await.unwrap();
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["run"]["status"], "success", "{v}");
    assert_eq!(v["pushed"]["conclusion"], "success", "{v}");
    receiver.kill().unwrap();
    receiver.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_not_end_ci_wait_on_another_runs_or_another_providers_completion() {
    let server = MockServer::start().await;
    github_stuck_in_progress(&server).await;
    let p = project(&server, "");
    let (mut receiver, addr) = start_server_with(&p, 1, &[]);

    let mut cmd = ci(&p);
    cmd.args(["wait", "--run", RUN_ID, "--timeout", "3s", "--json"]);
    let waiting = tokio::spawn(output(cmd));
    until_polled(&server).await;
    for body in [
        format!(r#"{{"event_type":"ci.completed","run_id":"1{RUN_ID}","conclusion":"success"}}"#),
        format!(
            r#"{{"event_type":"ci.completed","run_id":{RUN_ID},"provider":"gitlab","conclusion":"success"}}"#
        ),
        format!(r#"{{"event_type":"ci.started","run_id":{RUN_ID}}}"#),
    ] {
        assert_eq!(
            tokio::task::spawn_blocking(move || post_event(addr, &body))
                .await
                .unwrap(),
            202
        );
    }
    let (code, stdout, stderr) = waiting.await.unwrap();
    assert_eq!(
        code,
        14,
        "still waiting at the timeout: {}",
        shown(&stdout, &stderr)
    );
    receiver.kill().unwrap();
    receiver.wait().unwrap();
}
