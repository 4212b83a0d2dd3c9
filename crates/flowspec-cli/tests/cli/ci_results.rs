//! Test results through the CI provider: `ci results`, `ci wait --quarantine
//! --retry-flaky`, `ci fix` and the `retry_flaky:` hook action, against a wiremock
//! server playing GitHub, with artifacts that are real zips of the
//! flowspec-results fixtures.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::{TestProject, run, shown};

const RUN: &str = "/repos/octo/app/actions/runs/7";
pub(crate) const SUREFIRE: &[u8] =
    include_bytes!("../../../flowspec-results/tests/fixtures/junit/surefire.xml");
const TRUNCATED: &[u8] =
    include_bytes!("../../../flowspec-results/tests/fixtures/junit/truncated.xml");
const DIVIDES: &str = "com.example.calc.CalculatorTest::dividesByZero";
const PARSES: &str = "com.example.calc.CalculatorTest::parsesInput";

/// A project on `server` (GitHub) with `results` as its `results:` section.
pub(crate) fn project(server: &MockServer, hooks: &str, results: &str) -> TestProject {
    let p = TestProject::new(hooks);
    p.write(
        ".flowspec/flowspec.yaml",
        &format!(
            "ci:\n  provider: github\n  config:\n    repo: octo/app\n    api_url: {}\n    ref: main\n{results}",
            server.uri()
        ),
    );
    p
}

pub(crate) fn flowspec(p: &TestProject) -> assert_cmd::Command {
    let mut cmd = p.cmd();
    cmd.env("GITHUB_TOKEN", "ghp_cli_test_token")
        .env_remove("GH_TOKEN")
        .env("FLOWSPEC_CI_POLL_MS", "20");
    cmd
}

async fn output(mut cmd: assert_cmd::Command) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .unwrap()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut cursor);
        for (name, data) in entries {
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap();
    }
    cursor.into_inner()
}

fn run_json(attempt: u32, status: &str, conclusion: Option<&str>) -> Value {
    json!({
        "id": 7, "name": "CI", "display_title": "CI", "run_number": 3, "run_attempt": attempt,
        "event": "push", "status": status, "conclusion": conclusion,
        "head_branch": "feature/auth", "head_sha": "3f2a9c1d",
        "html_url": "https://github.com/octo/app/actions/runs/7",
        "created_at": "2026-03-20T10:00:00Z", "updated_at": "2026-03-20T10:02:11Z",
        "run_started_at": "2026-03-20T10:00:05Z"
    })
}

/// Names every request no mock expected.
struct Unexpected;

impl Respond for Unexpected {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        ResponseTemplate::new(418).set_body_json(json!({
            "message": format!("no mock for {} {} (the test expected another request)", request.method, request.url.path())
        }))
    }
}

/// Run 7: failed at attempt 1; once the failed jobs are re-run, in progress at
/// attempt 2, then `after_retry`.
struct RunStates {
    retried: Arc<AtomicBool>,
    polls_after: AtomicU32,
    after_retry: &'static str,
}

impl Respond for RunStates {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let body = if !self.retried.load(Ordering::SeqCst) {
            run_json(1, "completed", Some("failure"))
        } else if self.polls_after.fetch_add(1, Ordering::SeqCst) == 0 {
            run_json(2, "in_progress", None)
        } else {
            run_json(2, "completed", Some(self.after_retry))
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// Sets the flag and answers `201 {}`, as GitHub answers `rerun-failed-jobs`.
struct Rerun(Arc<AtomicBool>);

impl Respond for Rerun {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0.store(true, Ordering::SeqCst);
        ResponseTemplate::new(201).set_body_json(json!({}))
    }
}

/// GitHub with run 7 (failed; after a retry: `after_retry`), one failed job with a
/// log, and a `test-results` artifact holding `report`. Returns the re-run flag.
pub(crate) async fn github(
    server: &MockServer,
    report: &[u8],
    after_retry: &'static str,
) -> Arc<AtomicBool> {
    let retried = Arc::new(AtomicBool::new(false));
    Mock::given(wiremock::matchers::any())
        .respond_with(Unexpected)
        .with_priority(u8::MAX)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(RunStates {
            retried: retried.clone(),
            polls_after: AtomicU32::new(0),
            after_retry,
        })
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{RUN}/jobs")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 2,
            "jobs": [
                {"id": 55, "name": "test", "status": "completed", "conclusion": "failure",
                 "started_at": "2026-03-20T10:00:05Z", "completed_at": "2026-03-20T10:01:05Z"},
                {"id": 56, "name": "lint", "status": "completed", "conclusion": "success",
                 "started_at": "2026-03-20T10:00:05Z", "completed_at": "2026-03-20T10:00:35Z"}
            ]
        })))
        .mount(server)
        .await;
    let zip = zip_of(&[("surefire-reports/TEST-CalculatorTest.xml", report)]);
    Mock::given(method("GET"))
        .and(path(format!("{RUN}/artifacts")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 2, "artifacts": [
                {"id": 11, "name": "test-results", "size_in_bytes": zip.len(), "expired": false},
                {"id": 12, "name": "website", "size_in_bytes": 10, "expired": false}
            ]
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/artifacts/11/zip"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("{}/storage/11.zip", server.uri()).as_str(),
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/storage/11.zip"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(zip))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{RUN}/rerun-failed-jobs")))
        .respond_with(Rerun(retried.clone()))
        .mount(server)
        .await;
    retried
}

fn rerun_requests(requests: &[Request]) -> usize {
    requests
        .iter()
        .filter(|r| r.url.path().ends_with("/rerun-failed-jobs"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_download_the_report_artifacts_store_them_and_print_the_failures() {
    let server = MockServer::start().await;
    github(&server, SUREFIRE, "success").await;
    let p = project(&server, "hooks: []\n", "");
    let mut cmd = flowspec(&p);
    cmd.args(["ci", "results", "--run", "7"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    for expected in [
        "run 7 (attempt 1) · commit 3f2a9c1d · branch feature/auth · github-actions",
        "downloaded test-results (1 file(s)",
        "skipped (names not in results.artifacts): website",
        "5 tests, 2 passed, 1 failed, 1 errors, 1 skipped, 1 flaky",
        DIVIDES,
        "expected: <Infinity> but was: <NaN>",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?}\n{}",
            shown(&stdout, &stderr)
        );
    }

    // Stored as the run: `results show` reads it back.
    let mut show = p.cmd();
    show.args(["results", "show", "--run", "7", "--json"]);
    let (code, stdout, stderr) = output(show).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (
            &v["run"]["commit"],
            &v["run"]["branch"],
            &v["run"]["source"],
            &v["totals"]["failed"]
        ),
        (
            &json!("3f2a9c1d"),
            &json!("feature/auth"),
            &json!("github"),
            &json!(1)
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_print_the_stored_run_as_json() {
    let server = MockServer::start().await;
    github(&server, SUREFIRE, "success").await;
    let p = project(&server, "hooks: []\n", "");
    let mut cmd = flowspec(&p);
    cmd.args(["ci", "results", "--run", "7", "--json"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["run"]["run_id"], "7");
    assert_eq!(v["provider"], "github");
    assert_eq!(v["artifacts"][0]["name"], "test-results");
    assert_eq!(v["skipped_artifacts"], json!(["website"]));
    assert_eq!(
        v["reports"],
        json!(["test-results/surefire-reports/TEST-CalculatorTest.xml"])
    );
    assert_eq!(v["totals"]["tests"], 5);
    let failed: Vec<&str> = v["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, [DIVIDES, PARSES]);
    assert_eq!(v["partial"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_exit_11_and_say_how_to_name_artifacts_when_none_holds_reports() {
    let server = MockServer::start().await;
    github(&server, SUREFIRE, "success").await;
    // No artifact of the run has a name these patterns match.
    let p = project(
        &server,
        "hooks: []\n",
        "results:\n  artifacts: [\"docs-*\"]\n",
    );
    let mut cmd = flowspec(&p);
    cmd.args(["ci", "results", "--run", "7"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 11, "{}", shown(&stdout, &stderr));
    insta::assert_snapshot!("ci_results_no_report_artifacts", stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_exit_0_with_quarantine_when_every_failure_is_quarantined() {
    let server = MockServer::start().await;
    github(&server, SUREFIRE, "success").await;
    let p = project(
        &server,
        "hooks: []\n",
        "results:\n  quarantine:\n    - test: \"com.example.calc.CalculatorTest::*\"\n      reason: calculator flakes (JIRA-7)\n",
    );
    let mut cmd = flowspec(&p);
    cmd.args(["ci", "wait", "--run", "7", "--quarantine"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains(
            "run 7 failed, but every failure is quarantined (2 test(s)): exit 0 (--quarantine)"
        ),
        "{}",
        shown(&stdout, &stderr)
    );

    // Without --quarantine the run's failure stands.
    let mut plain = flowspec(&p);
    plain.args(["ci", "wait", "--run", "7"]);
    let (code, stdout, stderr) = output(plain).await;
    assert_eq!(code, 12, "{}", shown(&stdout, &stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_exit_12_with_quarantine_when_a_quarantined_test_is_broken() {
    let server = MockServer::start().await;
    github(&server, SUREFIRE, "success").await;
    let p = project(
        &server,
        "hooks: []\n",
        "results:\n  quarantine: [\"com.example.calc.CalculatorTest::*\"]\n",
    );
    // The same tests failed in an earlier run: failing in every run, they are broken.
    p.write("old.xml", std::str::from_utf8(SUREFIRE).unwrap());
    let mut ingest = p.cmd();
    ingest.args(["results", "ingest", "old.xml", "--run", "6"]);
    let (code, stdout, stderr) = output(ingest).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));

    let mut cmd = flowspec(&p);
    cmd.args(["ci", "wait", "--run", "7", "--quarantine", "--json"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 12, "{}", shown(&stdout, &stderr));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["exit_code"], 12);
    assert_eq!(v["quarantine"]["excused"], false);
    assert_eq!(
        v["quarantine"]["broken_in_quarantine"],
        json!([DIVIDES, PARSES])
    );
    assert!(
        v["quarantine"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("quarantined but broken"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_exit_12_with_quarantine_when_the_report_was_cut_short() {
    let server = MockServer::start().await;
    github(&server, TRUNCATED, "success").await;
    let p = project(&server, "hooks: []\n", "results:\n  quarantine: [\"*\"]\n");
    let mut cmd = flowspec(&p);
    cmd.args(["ci", "wait", "--run", "7", "--quarantine"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 12, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains("--quarantine does not excuse the failure: a report was cut short"),
        "{}",
        shown(&stdout, &stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_retry_flaky_failures_and_exit_0_when_the_retry_passes() {
    let server = MockServer::start().await;
    github(&server, SUREFIRE, "success").await;
    let p = project(
        &server,
        "hooks: []\n",
        "results:\n  quarantine: [\"com.example.calc.CalculatorTest::*\"]\n  auto_retry:\n    enabled: true\n    max_retries: 1\n",
    );
    let mut cmd = flowspec(&p);
    cmd.args(["ci", "wait", "--run", "7", "--retry-flaky", "--json"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["verdict"], "success");
    assert_eq!(v["run"]["attempt"], 2);
    let retries = v["retries"].as_array().unwrap();
    assert_eq!(retries.len(), 1, "{v}");
    assert_eq!(
        (
            &retries[0]["decision"],
            &retries[0]["retry"],
            &retries[0]["tests"]
        ),
        (&json!("retry"), &json!(1), &json!([DIVIDES, PARSES]))
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(rerun_requests(&requests), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_retry_once_then_stop_at_the_maximum_and_exit_12() {
    let server = MockServer::start().await;
    github(&server, SUREFIRE, "failure").await;
    let p = project(
        &server,
        "hooks: []\n",
        "results:\n  quarantine: [\"com.example.calc.CalculatorTest::*\"]\n  auto_retry:\n    enabled: true\n",
    );
    let mut cmd = flowspec(&p);
    cmd.args(["ci", "wait", "--run", "7", "--retry-flaky"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 12, "{}", shown(&stdout, &stderr));
    for expected in [
        "run 7 failed — retry 1: every failure is a known flaky test",
        "re-running the failed jobs of run 7; waiting for run 7 again",
        "run 7 failed — not retrying: the run was already retried 1 time(s) (results.auto_retry.max_retries: 1)",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?}\n{}",
            shown(&stdout, &stderr)
        );
    }
    let requests = server.received_requests().await.unwrap();
    assert_eq!(rerun_requests(&requests), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_not_retry_failures_that_are_not_known_flaky() {
    let server = MockServer::start().await;
    github(&server, SUREFIRE, "success").await;
    let p = project(
        &server,
        "hooks: []\n",
        &format!("results:\n  quarantine: [\"{DIVIDES}\"]\n  auto_retry:\n    enabled: true\n"),
    );
    let mut cmd = flowspec(&p);
    cmd.args(["ci", "wait", "--run", "7", "--retry-flaky", "--quarantine"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 12, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains(&format!(
            "run 7 failed — not retrying: 1 failure(s) not known to be flaky: {PARSES}"
        )),
        "{}",
        shown(&stdout, &stderr)
    );
    assert!(
        stdout.contains(&format!(
            "--quarantine does not excuse the failure: 1 failure(s) not quarantined: {PARSES}"
        )),
        "{}",
        shown(&stdout, &stderr)
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(rerun_requests(&requests), 0);
}

const FIXER: &str = r#"#!/usr/bin/env python3
# A fixer: reads ci.fix.requested on stdin and checks the bundle it points at.
import json, pathlib, sys
event = json.load(sys.stdin)
markdown = pathlib.Path(event["markdown_path"]).read_text()
bundle = json.loads(pathlib.Path(event["json_path"]).read_text())
checks = {
    "event_type": event["event_type"],
    "run_id": event["run_id"],
    "provider": event["provider"],
    "commit": event.get("commit"),
    "branch": event.get("branch"),
    "summary_failed": [f["id"] for f in event["summary"]["failures"]],
    "markdown_names_the_failure": "dividesByZero" in markdown,
    "markdown_has_the_log_line": "<<< FAILURE!" in markdown,
    "bundle_run": bundle["run"]["run_id"],
    "bundle_failures": [f["id"] for f in bundle["failures"]],
    "secret_leaked": "tok-s3cr3t-123456" in markdown + json.dumps(bundle) + json.dumps(event),
}
pathlib.Path("fixer-saw.json").write_text(json.dumps(checks))
sys.exit(0 if checks["markdown_names_the_failure"] else 1)
"#;

pub(crate) async fn mock_log(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/jobs/55"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": 55, "name": "test", "status": "completed", "conclusion": "failure"}),
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/jobs/55/logs"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("{}/storage/log-55.txt", server.uri()).as_str(),
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/storage/log-55.txt"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            "2026-03-20T10:00:01Z Run mvn test\n\
             Using token tok-s3cr3t-123456 for the registry\n\
             [INFO] Running com.example.calc.CalculatorTest\n\
             [ERROR] dividesByZero  Time elapsed: 0.012 s  <<< FAILURE!\n\
             org.opentest4j.AssertionFailedError: expected: <Infinity> but was: <NaN>\n\
             ##[error]Process completed with exit code 1.\n",
        ))
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_hand_the_fix_bundle_to_a_fixer_hook_on_stdin() {
    let server = MockServer::start().await;
    github(&server, SUREFIRE, "success").await;
    mock_log(&server).await;
    let p = project(
        &server,
        "hooks:\n  - name: fixer\n    events:\n      - type: ci.fix.requested\n    script: fixer.py\n",
        "",
    );
    p.write_script("fixer.py", FIXER);
    let mut cmd = flowspec(&p);
    cmd.env("REGISTRY_TOKEN", "tok-s3cr3t-123456")
        .args(["ci", "fix", "--run", "7"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    for expected in [
        "fix context for run 7: 2 failed test(s)",
        ".flowspec/fix/7/fix-context.md",
        ".flowspec/fix/7/fix-context.json",
        "ci.fix.requested → fixer success",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?}\n{}",
            shown(&stdout, &stderr)
        );
    }
    let saw: Value = serde_json::from_str(&p.read("fixer-saw.json")).expect("the fixer ran");
    assert_eq!(
        saw,
        json!({
            "event_type": "ci.fix.requested",
            "run_id": "7",
            "provider": "github",
            "commit": "3f2a9c1d",
            "branch": "feature/auth",
            "summary_failed": [DIVIDES, PARSES],
            "markdown_names_the_failure": true,
            "markdown_has_the_log_line": true,
            "bundle_run": "7",
            "bundle_failures": [DIVIDES, PARSES],
            "secret_leaked": false,
        })
    );
    let audit = p.audit();
    assert!(
        audit.iter().any(|l| l["event_type"] == "ci.fix.requested"
            && l["hook_name"] == "fixer"
            && l["status"] == "success"),
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_say_there_is_nothing_to_fix_when_the_run_succeeded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ResponseTemplate::new(200).set_body_json(run_json(
            1,
            "completed",
            Some("success"),
        )))
        .mount(&server)
        .await;
    let p = project(&server, "hooks: []\n", "");
    let mut cmd = flowspec(&p);
    cmd.args(["ci", "fix", "--run", "7"]);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains("run 7 ended success: nothing to fix"),
        "{}",
        shown(&stdout, &stderr)
    );
    assert!(!p.join(".flowspec/fix").exists());
}

const RETRY_HOOK: &str = "hooks:\n  - name: retry-flaky-tests\n    events:\n      - type: ci.completed\n        filter: {conclusion: failure}\n    retry_flaky: {}\n";
const RETRY_POLICY: &str = "results:\n  quarantine: [\"com.example.calc.CalculatorTest::*\"]\n  auto_retry:\n    enabled: true\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_retry_from_a_retry_flaky_hook_on_a_failed_ci_completed_and_audit_it() {
    let server = MockServer::start().await;
    github(&server, SUREFIRE, "success").await;
    let p = project(&server, RETRY_HOOK, RETRY_POLICY);
    let emit = |data: &[&str]| {
        let mut cmd = flowspec(&p);
        cmd.args(["emit", "ci.completed"]);
        for d in data {
            cmd.args(["--data", d]);
        }
        cmd
    };
    // Another CI's event: skipped, never retried.
    let (code, stdout, stderr) =
        output(emit(&["provider=gitlab", "conclusion=failure", "run_id=7"])).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let (code, stdout, stderr) =
        output(emit(&["provider=github", "conclusion=failure", "run_id=7"])).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(rerun_requests(&requests), 1);

    let decisions: Vec<Value> = p
        .audit()
        .into_iter()
        .filter(|l| l["hook_name"] == "retry-flaky-tests")
        .map(|l| l["auto_retry"].clone())
        .collect();
    assert_eq!(decisions.len(), 2, "{decisions:?}");
    assert_eq!(
        (&decisions[0]["decision"], &decisions[0]["reason"]),
        (&json!("skip"), &json!("provider_mismatch"))
    );
    assert_eq!(
        (
            &decisions[1]["decision"],
            &decisions[1]["retry"],
            &decisions[1]["tests"]
        ),
        (&json!("retry"), &json!(1), &json!([DIVIDES, PARSES]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_retry_flaky_failures_when_serve_accepts_a_failed_ci_completed() {
    let server = MockServer::start().await;
    github(&server, SUREFIRE, "success").await;
    let p = project(&server, RETRY_HOOK, RETRY_POLICY);
    let (mut child, addr) =
        crate::serve::start_server_with(&p, 1, &[("GITHUB_TOKEN", "ghp_cli_test_token")]);
    let body = json!({
        "event_type": "ci.completed", "event_id": "gh-delivery-1", "provider": "github",
        "conclusion": "failure", "run_id": "7", "branch": "feature/auth", "commit": "3f2a9c1d"
    })
    .to_string();
    let status = tokio::task::spawn_blocking(move || crate::serve::post_event(addr, &body))
        .await
        .unwrap();
    assert_eq!(status, 202);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let decision = loop {
        let line = p
            .audit()
            .into_iter()
            .find(|l| l["hook_name"] == "retry-flaky-tests");
        if let Some(line) = line {
            break line;
        }
        assert!(std::time::Instant::now() < deadline, "the hook never ran");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(decision["status"], "success", "{decision}");
    assert_eq!(decision["auto_retry"]["decision"], "retry", "{decision}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(rerun_requests(&requests), 1);
}
