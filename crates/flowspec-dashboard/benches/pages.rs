//! How long each dashboard page takes to answer, measured over HTTP on loopback, with
//! 1,000 runs on the CI platform (a local server that answers like the GitHub REST
//! API, 100 runs per page), a finished job whose log is 50 MB, 1,000 events in the
//! receiver's queue and 30 stored test runs of 500 tests each.
//!
//! `cargo bench -p flowspec-dashboard --bench pages [-- REQUESTS]` prints one Markdown
//! row per page: p50, p95 and the slowest of REQUESTS requests (default 200), after
//! one warm-up request (the first log request fetches the 50 MB log; later ones page
//! the kept copy).

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowspec::core::Event;
use flowspec::results::ParseOptions;
use flowspec::results::store::RunMeta;
use flowspec::server::queue::{DispatchOutcome, Incoming};
use flowspec_dashboard::Dashboard;
use flowspec_server::config::DashboardSettings;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "bench-token";
const RUNS: u64 = 1000;
const LOG_BYTES: usize = 50 * 1024 * 1024;
const EVENTS: usize = 1000;
const TEST_RUNS: usize = 30;
const TESTS: usize = 500;

fn run_json(id: u64) -> Value {
    let (status, conclusion) = match id % 10 {
        0 => ("in_progress", None),
        3 => ("completed", Some("failure")),
        _ => ("completed", Some("success")),
    };
    json!({
        "id": id, "name": if id.is_multiple_of(2) { "CI" } else { "Deploy" },
        "display_title": format!("Change number {id}"), "run_number": id, "run_attempt": 1,
        "event": "push", "status": status, "conclusion": conclusion,
        "head_branch": if id.is_multiple_of(3) { "main".to_owned() } else { format!("feature/{}", id % 40) },
        "head_sha": format!("{id:040x}"),
        "html_url": format!("https://github.com/octo/app/actions/runs/{id}"),
        "created_at": "2026-03-20T10:00:00Z", "updated_at": "2026-03-20T10:02:11Z",
        "run_started_at": "2026-03-20T10:00:05Z"
    })
}

/// The run list, paged by `page` and `per_page` as GitHub pages it, newest first.
struct RunPages;

impl Respond for RunPages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query = |name: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse::<u64>().ok())
        };
        let per_page = query("per_page").unwrap_or(30).min(100);
        let page = query("page").unwrap_or(1).max(1);
        let first = (page - 1) * per_page;
        let runs: Vec<Value> = (first..(first + per_page).min(RUNS))
            .map(|i| run_json(RUNS - i))
            .collect();
        let response = ResponseTemplate::new(200)
            .set_body_json(json!({"total_count": RUNS, "workflow_runs": runs}));
        if first + per_page >= RUNS {
            return response;
        }
        // The next page, linked as GitHub links it.
        let mut next = request.url.clone();
        let kept: Vec<(String, String)> = request
            .url
            .query_pairs()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        next.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair("page", &(page + 1).to_string());
        response.insert_header("link", format!("<{next}>; rel=\"next\"").as_str())
    }
}

fn big_log() -> Vec<u8> {
    let mut log = Vec::with_capacity(LOG_BYTES + 200);
    let mut n = 0u64;
    while log.len() < LOG_BYTES {
        n += 1;
        if n.is_multiple_of(1000) {
            writeln!(
                log,
                "test module_{n}::case ... \u{1b}[31mFAILED\u{1b}[0m see https://ci.example/t/{n}"
            )
            .unwrap();
        } else if n.is_multiple_of(7) {
            writeln!(log, "\u{1b}[32m   Compiling\u{1b}[0m crate-{n} v0.1.{n} (/home/runner/work/app/crates/crate-{n})").unwrap();
        } else {
            writeln!(
                log,
                "test module_{n}::case_with_a_longer_name_{n} ... ok <{n}> & done in 0.{n:03}s"
            )
            .unwrap();
        }
    }
    log
}

async fn github() -> MockServer {
    let server = MockServer::start().await;
    let ok = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/runs"))
        .respond_with(RunPages)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/runs/7"))
        .respond_with(ok(run_json(7)))
        .mount(&server)
        .await;
    let jobs: Vec<Value> = (50..70)
        .map(|id| {
            json!({"id": id, "run_id": 7, "name": format!("test ({id})"), "status": "completed",
                   "conclusion": if id == 55 { "failure" } else { "success" },
                   "started_at": "2026-03-20T10:00:05Z", "completed_at": "2026-03-20T10:04:45Z"})
        })
        .collect();
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/runs/7/jobs"))
        .respond_with(ok(json!({"total_count": jobs.len(), "jobs": jobs})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/runs/7/artifacts"))
        .respond_with(ok(json!({"total_count": 1, "artifacts": [
            {"id": 9, "name": "junit-report", "size_in_bytes": 2048, "expired": false,
             "archive_download_url": format!("{}/repos/octo/app/actions/artifacts/9/zip", server.uri())}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/jobs/55"))
        .respond_with(ok(
            json!({"id": 55, "run_id": 7, "name": "test (55)", "status": "completed",
            "conclusion": "failure", "started_at": "2026-03-20T10:00:05Z",
            "completed_at": "2026-03-20T10:04:45Z"}),
        ))
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
    Mock::given(method("GET"))
        .and(path("/blob/55.log"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(big_log(), "text/plain"))
        .mount(&server)
        .await;
    server
}

fn project(dir: &Path, github: &MockServer) -> flowspec::Project {
    std::fs::create_dir_all(dir.join(".flowspec/hooks")).unwrap();
    std::fs::write(dir.join(".flowspec/hooks/hooks.yaml"), "hooks: []\n").unwrap();
    std::fs::write(
        dir.join(".flowspec/hooks/.env"),
        "BENCH_GH_TOKEN=ghp_bench\n",
    )
    .unwrap();
    std::fs::write(
        dir.join(".flowspec/flowspec.yaml"),
        format!(
            "ci:\n  provider: github\n  config:\n    repo: octo/app\n    api_url: {}\n    token: ${{BENCH_GH_TOKEN}}\n\
             server:\n  queue: {{max_attempts: 1}}\n",
            github.uri()
        ),
    )
    .unwrap();
    flowspec::Project::discover(dir).unwrap()
}

/// 1,000 events in the queue: most done, some dead, a few pending.
async fn fill_queue(project: &flowspec::Project) -> String {
    let queue = project.queue().await.unwrap();
    let events: Vec<Event> = (0..EVENTS)
        .map(|i| {
            Event::builder("ci.completed")
                .id(format!("evt-{i:05}"))
                .source("github")
                .field(
                    "conclusion",
                    if i % 10 == 3 { "failure" } else { "success" },
                )
                .field("branch", format!("feature/{}", i % 40))
                .build()
                .unwrap()
        })
        .collect();
    queue
        .enqueue(&[Incoming {
            source: "github".into(),
            delivery_id: None,
            events,
        }])
        .await
        .unwrap();
    for i in 0..EVENTS - 20 {
        let id = format!("evt-{i:05}");
        let lease = queue.take(Some(&id), 60_000).await.unwrap().unwrap();
        let outcome = if i % 50 == 7 {
            DispatchOutcome::Failed {
                error: "hook deploy exited 1".into(),
            }
        } else {
            DispatchOutcome::Done
        };
        queue.complete(&lease, &outcome).await.unwrap();
    }
    "evt-00007".to_owned()
}

/// 30 runs of 500 tests; a few tests flip between runs (flaky), one fails each run.
async fn fill_results(project: &flowspec::Project, dir: &Path) {
    let results = project.results().await.unwrap();
    for run in 0..TEST_RUNS {
        let mut xml =
            String::from("<?xml version=\"1.0\"?>\n<testsuites>\n<testsuite name=\"app\">\n");
        for t in 0..TESTS {
            let fails = t == run % TESTS || (t % 97 == 0 && (run + t) % 3 == 0);
            xml.push_str(&format!(
                "<testcase classname=\"app.module{}\" name=\"case_{t}\" time=\"0.0{}\">",
                t % 20,
                t % 9
            ));
            if fails {
                xml.push_str("<failure message=\"assertion failed\">expected 1, got 2</failure>");
            }
            xml.push_str("</testcase>\n");
        }
        xml.push_str("</testsuite>\n</testsuites>\n");
        let file = dir.join(format!("junit-{run}.xml"));
        std::fs::write(&file, xml).unwrap();
        let mut meta = RunMeta::new(format!("{}", 5000 + run));
        meta.branch = Some(if run % 2 == 0 { "main" } else { "feature/x" }.to_owned());
        results
            .store
            .ingest(meta, vec![file], ParseOptions::default())
            .await
            .unwrap();
    }
}

async fn login(client: &reqwest::Client, site: &str) -> String {
    let response = client
        .post(format!("{site}/ui/login"))
        .form(&[("token", TOKEN), ("next", "/ui/runs")])
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .expect("the login sets a session cookie")
        .to_str()
        .unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let requests: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let github = github().await;
    let dir = tempfile::tempdir().unwrap();
    let project = project(dir.path(), &github);
    let event = fill_queue(&project).await;
    fill_results(&project, dir.path()).await;

    let dashboard = Dashboard::new(
        Arc::new(project),
        DashboardSettings::new(TOKEN.to_owned().into()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, dashboard.router()).await });

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = login(&client, &site).await;
    let log = "/ui/runs/default/7/jobs/55/log";
    let pages = [
        ("runs, first page (25 of 1,000)", "/ui/runs".to_owned()),
        (
            "runs, last page (all 1,000 listed)",
            "/ui/runs?page=40".to_owned(),
        ),
        (
            "runs, filtered by status",
            "/ui/runs?status=failed".to_owned(),
        ),
        ("run detail (20 jobs)", "/ui/runs/default/7".to_owned()),
        ("log, last 2,000 lines of 50 MB", log.to_owned()),
        ("log, lines 250,001–252,000", format!("{log}?from=250001")),
        ("log, search in 50 MB", format!("{log}?q=failed")),
        ("events (1,000 queued)", "/ui/events".to_owned()),
        ("one event", format!("/ui/events/{event}")),
        ("tests (30 runs × 500 tests)", "/ui/tests".to_owned()),
    ];
    println!("| page | p50 ms | p95 ms | slowest ms |");
    println!("|---|---:|---:|---:|");
    for (name, page) in pages {
        let url = format!("{site}{page}");
        let get = || async {
            let started = Instant::now();
            let response = client
                .get(&url)
                .header(reqwest::header::COOKIE, &cookie)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body = response.bytes().await.unwrap();
            assert_eq!(status, 200, "{page}: {}", String::from_utf8_lossy(&body));
            assert!(body.len() > 1000, "{page} answered a page");
            (started.elapsed(), body.len())
        };
        let (first, _) = get().await;
        let mut times = Vec::with_capacity(requests);
        let mut size = 0;
        for _ in 0..requests {
            let (took, bytes) = get().await;
            times.push(took);
            size = bytes;
        }
        times.sort();
        println!(
            "| {name} ({} kB; first request {} ms) | {} | {} | {} |",
            size / 1024,
            ms(first),
            ms(percentile(&times, 0.50)),
            ms(percentile(&times, 0.95)),
            ms(*times.last().unwrap()),
        );
    }
}
