//! The dashboard in headless Chromium (Debian's `chromium` and `chromium-driver`, driven
//! over WebDriver), against a wiremock server that plays the GitHub REST API: log in,
//! see the runs, open a run, follow a log that grows, press Retry failed and see the
//! API called, trigger a run from the form, and be refused without a session or with a
//! cross-site or tokenless form.
//!
//! With `FLOWSPEC_SCREENSHOTS=DIR` it saves a PNG of every page there (what
//! docs/dashboard.md shows).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use fantoccini::{Client, ClientBuilder, Locator};
use flowspec::server::queue::{DispatchOutcome, Incoming, QueueStatus};
use flowspec_dashboard::Dashboard;
use flowspec_server::config::DashboardSettings;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "dashboard-test-token";
const RUN: &str = "/repos/octo/app/actions/runs/7";
/// The dead event in the queue.
const DEAD: &str = "deploy-42";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver on a free port, stopped (kill(2) on the child) when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

async fn browser() -> (Driver, Client) {
    let driver = find(&["chromedriver"]).expect(
        "chromedriver is not installed: the dashboard's browser tests need it \
         (Debian: `sudo apt-get install chromium chromium-driver`)",
    );
    let chromium = find(&["chromium", "chromium-browser", "google-chrome"])
        .expect("Chromium is not installed: `sudo apt-get install chromium chromium-driver`");
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"]
        }),
    );
    let mut last = None;
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&driver.url)
            .await
        {
            Ok(client) => return (driver, client),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not take a session: {last:?}");
}

/// Answers each template in turn; the last repeats.
struct Steps(Mutex<Vec<ResponseTemplate>>);

impl Respond for Steps {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut steps = self.0.lock().unwrap();
        if steps.len() > 1 {
            steps.remove(0)
        } else {
            steps[0].clone()
        }
    }
}

fn run_json(id: u64, status: &str, conclusion: Option<&str>, branch: &str) -> Value {
    json!({
        "id": id, "name": "CI", "display_title": format!("Build {branch}"), "run_number": id, "run_attempt": 1,
        "event": "push", "status": status, "conclusion": conclusion,
        "head_branch": branch, "head_sha": "a1b2c3d4e5f6",
        "html_url": format!("https://github.com/octo/app/actions/runs/{id}"),
        "created_at": "2026-03-20T10:00:00Z", "updated_at": "2026-03-20T10:02:11Z",
        "run_started_at": "2026-03-20T10:00:05Z"
    })
}

async fn github() -> MockServer {
    let server = MockServer::start().await;
    let ok = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/runs"))
        .respond_with(ok(json!({"total_count": 2, "workflow_runs": [
            run_json(7, "in_progress", None, "feature/login"),
            run_json(6, "completed", Some("success"), "main"),
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(ok(run_json(7, "in_progress", None, "feature/login")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{RUN}/jobs")))
        .respond_with(ok(json!({"total_count": 2, "jobs": [
            {"id": 55, "run_id": 7, "name": "test", "status": "in_progress", "conclusion": null,
             "started_at": "2026-03-20T10:00:05Z"},
            {"id": 56, "run_id": 7, "name": "lint", "status": "completed", "conclusion": "failure",
             "started_at": "2026-03-20T10:00:05Z", "completed_at": "2026-03-20T10:00:45Z"}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{RUN}/artifacts")))
        .respond_with(ok(json!({"total_count": 1, "artifacts": [
            {"id": 9, "name": "junit-report", "size_in_bytes": 2048, "expired": false,
             "archive_download_url": format!("{}/repos/octo/app/actions/artifacts/9/zip", server.uri())}
        ]})))
        .mount(&server)
        .await;
    // Job 55 runs for a few polls, then completes; its log grows meanwhile.
    let job = |status: &str| {
        ok(
            json!({"id": 55, "run_id": 7, "name": "test", "status": status,
                  "conclusion": if status == "completed" { Some("success") } else { None },
                  "started_at": "2026-03-20T10:00:05Z"}),
        )
    };
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/jobs/55"))
        .respond_with(Steps(Mutex::new(vec![
            job("in_progress"),
            job("in_progress"),
            job("in_progress"),
            job("completed"),
        ])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/jobs/55/logs"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/blob/55.log", server.uri()).as_str()),
        )
        .mount(&server)
        .await;
    let log = |text: &str| ResponseTemplate::new(200).set_body_string(text);
    let first = "compiling <app>\n\u{1b}[32mrunning 3 tests\u{1b}[0m\n";
    Mock::given(method("GET"))
        .and(path("/blob/55.log"))
        .respond_with(Steps(Mutex::new(vec![
            log(first),
            log(&format!(
                "{first}test login ... \u{1b}[31mFAILED\u{1b}[0m\n"
            )),
            log(&format!(
                "{first}test login ... \u{1b}[31mFAILED\u{1b}[0m\nsee https://ci.example/run/7\n"
            )),
        ])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{RUN}/rerun-failed-jobs")))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/workflows"))
        .respond_with(ok(json!({"total_count": 1, "workflows": [
            {"id": 161335, "name": "Deploy", "path": ".github/workflows/deploy.yml", "state": "active"}
        ]})))
        .mount(&server)
        .await;
    // The workflow file, base64 in JSON as the contents API sends it.
    let deploy = "name: Deploy\non:\n  workflow_dispatch:\n    inputs:\n\
                  \x20     environment:\n        description: Where to deploy\n        type: choice\n\
                  \x20       options: [staging, production]\n        default: staging\n        required: true\n\
                  \x20     dry_run:\n        type: boolean\n        default: false\n\
                  jobs: {}\n";
    Mock::given(method("GET"))
        .and(path(
            "/repos/octo/app/contents/.github/workflows/deploy.yml",
        ))
        .respond_with(ok(json!({
            "type": "file", "encoding": "base64", "path": ".github/workflows/deploy.yml",
            "content": base64::engine::general_purpose::STANDARD.encode(deploy),
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(
            r"^/repos/octo/app/actions/workflows/[^/]+/dispatches$",
        ))
        .respond_with(ok(json!({
            "workflow_run_id": 7, "html_url": "https://github.com/octo/app/actions/runs/7"
        })))
        .mount(&server)
        .await;
    server
}

/// Puts `id` in the project's queue as a receiver leaves an event whose hook failed
/// on its last attempt: dead.
async fn dead_event(project: &flowspec::Project, id: &str) {
    let queue = project.queue().await.unwrap();
    let event = flowspec::core::Event::builder("deploy.requested")
        .id(id)
        .source("github")
        .build()
        .unwrap();
    queue
        .enqueue(&[Incoming {
            source: "github".into(),
            delivery_id: None,
            events: vec![event],
        }])
        .await
        .unwrap();
    let lease = queue.take(Some(id), 60_000).await.unwrap().unwrap();
    let error = "hook deploy exited 1".to_owned();
    let status = queue
        .complete(&lease, &DispatchOutcome::Failed { error })
        .await
        .unwrap();
    assert_eq!(status, QueueStatus::Dead);
}

/// A project whose `ci:` is the mock GitHub and whose queue holds one dead event, and
/// the dashboard serving it.
async fn dashboard(github: &MockServer, dir: &Path) -> String {
    std::fs::create_dir_all(dir.join(".flowspec/hooks")).unwrap();
    std::fs::write(dir.join(".flowspec/hooks/hooks.yaml"), "hooks: []\n").unwrap();
    std::fs::write(
        dir.join(".flowspec/hooks/.env"),
        "DASHBOARD_TEST_GH=ghp_dashboard_test\n",
    )
    .unwrap();
    std::fs::write(
        dir.join(".flowspec/flowspec.yaml"),
        format!(
            "ci:\n  provider: github\n  config:\n    repo: octo/app\n    api_url: {}\n    token: ${{DASHBOARD_TEST_GH}}\n\
             server:\n  queue: {{max_attempts: 1}}\n",
            github.uri()
        ),
    )
    .unwrap();
    let project = Arc::new(flowspec::Project::discover(dir).unwrap());
    dead_event(&project, DEAD).await;
    let dashboard = Dashboard::new(project, DashboardSettings::new(TOKEN.to_owned().into()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, dashboard.router()).await });
    format!("http://{addr}")
}

async fn screenshot(client: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("FLOWSPEC_SCREENSHOTS") {
        let png = client.screenshot().await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }
}

/// The text of the first element matching `css`, waiting up to 15 s for it to appear
/// (a click that submits a form returns before the answer page has loaded).
async fn text(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element matches {css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Waits until the browser's address ends with `suffix`.
async fn landed(client: &Client, suffix: &str) {
    eventually(&format!("the browser to land on …{suffix}"), || async {
        client.current_url().await.unwrap().path().ends_with(suffix)
    })
    .await;
}

async fn posts(server: &MockServer, suffix: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method == wiremock::http::Method::POST && r.url.path().ends_with(suffix))
        .count()
}

/// Waits until `check` holds, up to 15 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..150 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_show_runs_follow_a_log_and_retry_in_a_real_browser() {
    let github = github().await;
    let dir = tempfile::tempdir().unwrap();
    let site = dashboard(&github, dir.path()).await;
    let (_driver, client) = browser().await;

    // Without a session every page leads to the login page.
    client
        .goto(&format!("{site}/ui/runs/default/7"))
        .await
        .unwrap();
    landed(&client, "/ui/login").await;
    screenshot(&client, "login").await;
    client
        .find(Locator::Css("#token"))
        .await
        .unwrap()
        .send_keys("wrong")
        .await
        .unwrap();
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        text(&client, "p.error").await,
        "That is not the dashboard token."
    );
    client
        .find(Locator::Css("#token"))
        .await
        .unwrap()
        .send_keys(TOKEN)
        .await
        .unwrap();
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Back where it was going: the run, with its jobs.
    landed(&client, "/ui/runs/default/7").await;
    let jobs = text(&client, "table.jobs").await;
    assert!(jobs.contains("test") && jobs.contains("lint"), "{jobs}");
    assert!(jobs.contains("failed"), "lint's failure shows: {jobs}");
    assert!(text(&client, "ul.artifacts").await.contains("junit-report"));
    screenshot(&client, "run").await;

    // The runs list.
    client.goto(&format!("{site}/ui/runs")).await.unwrap();
    let rows = text(&client, "#runs").await;
    assert!(
        rows.contains("feature/login") && rows.contains("main"),
        "{rows}"
    );
    assert!(
        rows.contains("running") && rows.contains("success"),
        "{rows}"
    );
    screenshot(&client, "runs").await;

    // The log of the running job grows on the page without a reload.
    client
        .goto(&format!("{site}/ui/runs/default/7/jobs/55/log"))
        .await
        .unwrap();
    assert!(
        text(&client, "#log").await.contains("compiling <app>"),
        "escaped text, not markup"
    );
    eventually("the log's new lines to arrive", || async {
        text(&client, "#log")
            .await
            .contains("see https://ci.example/run/7")
    })
    .await;
    let failed = client.find(Locator::Css("#L3 .a-f1")).await.unwrap();
    assert_eq!(failed.text().await.unwrap(), "FAILED", "red stays red");
    let link = client
        .find(Locator::Css("#L4 a[href='https://ci.example/run/7']"))
        .await;
    assert!(link.is_ok(), "addresses in the log are links");
    screenshot(&client, "log").await;

    // Retry failed calls the API once, and says so.
    client
        .goto(&format!("{site}/ui/runs/default/7"))
        .await
        .unwrap();
    let retry = "form[action$='/retry'] input[name=scope][value=failed]";
    client
        .find(Locator::Css(retry))
        .await
        .unwrap()
        .find(Locator::XPath(".."))
        .await
        .unwrap()
        .find(Locator::Css("button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(text(&client, "p.flash").await, "Retried failed jobs.");
    assert_eq!(posts(&github, "/rerun-failed-jobs").await, 1);

    // A form whose CSRF token was tampered with changes nothing.
    client
        .goto(&format!("{site}/ui/runs/default/7"))
        .await
        .unwrap();
    client
        .execute(
            "document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'forged');",
            vec![],
        )
        .await
        .unwrap();
    let button = client
        .find(Locator::Css(retry))
        .await
        .unwrap()
        .find(Locator::XPath(".."))
        .await
        .unwrap()
        .find(Locator::Css("button"))
        .await
        .unwrap();
    button.click().await.unwrap();
    assert!(text(&client, "p.error").await.contains("CSRF token"));
    assert_eq!(
        posts(&github, "/rerun-failed-jobs").await,
        1,
        "no second rerun"
    );

    // Trigger from the form, then land on the new run.
    client.goto(&format!("{site}/ui/trigger")).await.unwrap();
    screenshot(&client, "trigger").await;
    client
        .find(Locator::Css("input[name=git_ref]"))
        .await
        .unwrap()
        .send_keys("main")
        .await
        .unwrap();
    // The form has a field per input the workflow declares.
    assert!(
        text(&client, "form.stack")
            .await
            .contains("Where to deploy")
    );
    client
        .find(Locator::Css(
            "select[name='input.environment'] option[value=production]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("form.stack button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    landed(&client, "/ui/runs/default/7").await;
    assert_eq!(text(&client, "p.flash").await, "Triggered deploy.yml.");
    let dispatched: Vec<Value> = github
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/dispatches"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(dispatched.len(), 1);
    assert_eq!(dispatched[0]["ref"], "main");
    assert_eq!(dispatched[0]["inputs"]["environment"], "production");
    assert_eq!(
        dispatched[0]["inputs"]["dry_run"], "false",
        "the default stays"
    );

    // The dead event, replayed from its page: back to pending for the receiver.
    client
        .goto(&format!("{site}/ui/events?status=dead"))
        .await
        .unwrap();
    let dead = text(&client, "#events").await;
    assert!(
        dead.contains(DEAD) && dead.contains("hook deploy exited 1"),
        "{dead}"
    );
    screenshot(&client, "events").await;
    client
        .find(Locator::LinkText(DEAD))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    landed(&client, &format!("/ui/events/{DEAD}")).await;
    assert_eq!(text(&client, "main p .badge").await, "dead");
    screenshot(&client, "event").await;
    client
        .find(Locator::Css("form[action$='/replay'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        text(&client, "p.flash").await,
        "1 event(s) queued for replay; a running receiver dispatches them."
    );
    assert_eq!(text(&client, "main p .badge").await, "pending");
    let queue = flowspec::Project::discover(dir.path())
        .unwrap()
        .queue()
        .await
        .unwrap();
    let replayed = queue.get(DEAD).await.unwrap().unwrap();
    assert_eq!(replayed.status, QueueStatus::Pending);
    client.goto(&format!("{site}/ui/tests")).await.unwrap();
    assert!(
        text(&client, "main")
            .await
            .contains("No results stored yet.")
    );
    screenshot(&client, "tests").await;

    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_refuse_a_cross_site_form_even_with_a_session() {
    let github = github().await;
    let dir = tempfile::tempdir().unwrap();
    let site = dashboard(&github, dir.path()).await;
    let (_driver, client) = browser().await;
    client.goto(&format!("{site}/ui/login")).await.unwrap();
    client
        .find(Locator::Css("#token"))
        .await
        .unwrap()
        .send_keys(TOKEN)
        .await
        .unwrap();
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    landed(&client, "/ui/runs").await;

    // Another site (the mock server's origin) posts a form at the dashboard.
    let attacker = MockServer::start().await;
    let page = format!(
        "<!DOCTYPE html><form id=f method=post action=\"{site}/ui/runs/default/7/retry\">\
         <input name=csrf value=guess><input name=scope value=failed></form>\
         <script>document.getElementById('f').submit()</script>"
    );
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page, "text/html"))
        .mount(&attacker)
        .await;
    client.goto(&attacker.uri()).await.unwrap();
    eventually("the forged form to be answered", || async {
        client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&site)
    })
    .await;
    let refused = client.source().await.unwrap();
    assert!(refused.contains("Refused"), "{refused}");
    assert_eq!(
        posts(&github, "/rerun-failed-jobs").await,
        0,
        "nothing was retried"
    );
    client.close().await.unwrap();
}
