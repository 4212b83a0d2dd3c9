//! The GitHub Action's scripts (`scripts/action/`), run as the runner runs them: with
//! bash, the runner's files (`GITHUB_PATH`, `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`) and
//! environment, this build's `flowspec` on the `PATH`, and wiremock servers for GitHub's
//! release downloads, the GitHub API and a receiver.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::ci::{mock_run, project, run_json};
use crate::{TestProject, shown};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn flowspec_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("flowspec")
}

/// `bash scripts/action/<script> args…` in `dir`, with `flowspec` (this build) first on
/// the PATH and the variables of a GitHub runner on Linux.
fn action(script: &str, dir: &Path) -> Command {
    let bin_dir = flowspec_bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("scripts/action").join(script))
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("FLOWSPEC_CONFIG")
        .env_remove("RUST_LOG")
        .env("RUNNER_OS_NAME", "Linux")
        .env(
            "RUNNER_ARCH_NAME",
            if cfg!(target_arch = "aarch64") {
                "ARM64"
            } else {
                "X64"
            },
        );
    cmd
}

/// Runs `cmd` off the async runtime (the mock servers keep serving).
async fn output(mut cmd: Command) -> (i32, String, String) {
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run bash"))
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn host_target() -> String {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host")
}

/// The release archive of this build's `flowspec` (stripped, to keep the test quick),
/// made by `scripts/release-archive.sh`: (archive bytes, checksum file text, name).
fn release_archive(scratch: &Path) -> (Vec<u8>, String, String) {
    let binary = scratch.join("flowspec");
    std::fs::copy(flowspec_bin(), &binary).unwrap();
    let stripped = Command::new("strip").arg(&binary).status();
    assert!(
        stripped.is_ok_and(|s| s.success()),
        "`strip` (binutils) is needed: apt-get install binutils"
    );
    let out_dir = scratch.join("dist");
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/release-archive.sh"))
        .arg("--binary")
        .arg(&binary)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "release-archive.sh failed:\n{}",
        shown(
            &String::from_utf8_lossy(&out.stdout),
            &String::from_utf8_lossy(&out.stderr)
        )
    );
    let name = format!(
        "flowspec-{}-{}.tar.gz",
        env!("CARGO_PKG_VERSION"),
        host_target()
    );
    let archive =
        std::fs::read(out_dir.join(&name)).expect("the archive is named by version and target");
    let sums = std::fs::read_to_string(out_dir.join(format!("{name}.sha256"))).unwrap();
    (archive, sums, name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_install_the_release_archive_and_refuse_one_whose_checksum_differs() {
    let scratch = tempfile::tempdir().unwrap();
    let (archive, sums, name) = release_archive(scratch.path());
    let (good_sum, _) = sums.split_once("  ").expect("sha256sum format");
    assert_eq!(sums.trim_end().rsplit("  ").next(), Some(name.as_str()));

    let version = env!("CARGO_PKG_VERSION");
    let server = MockServer::start().await;
    let archive_path = format!("/v{version}/{name}");
    Mock::given(method("GET"))
        .and(path(archive_path.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(archive))
        .mount(&server)
        .await;
    let sums_mock = Mock::given(method("GET"))
        .and(path(format!("{archive_path}.sha256")))
        .respond_with(ResponseTemplate::new(200).set_body_string(sums.clone()))
        .mount_as_scoped(&server)
        .await;

    let runner = tempfile::tempdir().unwrap();
    let install = |runner: &Path| {
        let mut cmd = action("install.sh", runner);
        cmd.env("FLOWSPEC_VERSION", version)
            .env("FLOWSPEC_RELEASES_URL", server.uri())
            .env("RUNNER_TOOL_CACHE", runner.join("tool-cache"))
            .env("GITHUB_PATH", runner.join("github-path"))
            .env("GITHUB_OUTPUT", runner.join("github-output"));
        cmd
    };
    let (code, stdout, stderr) = output(install(runner.path())).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let bin_dir = std::fs::read_to_string(runner.path().join("github-path")).unwrap();
    let installed = Path::new(bin_dir.trim()).join("flowspec");
    assert!(
        installed.starts_with(runner.path().join("tool-cache")),
        "installed into the tool cache: {}",
        installed.display()
    );
    let ran = Command::new(&installed).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout).trim(),
        format!("flowspec {version}")
    );
    let outputs = std::fs::read_to_string(runner.path().join("github-output")).unwrap();
    assert!(
        outputs.contains(&format!("version={version}\n")),
        "{outputs}"
    );
    assert!(
        stdout.contains(&format!("flowspec {version} from ")),
        "{}",
        shown(&stdout, &stderr)
    );

    // The same archive with another checksum published beside it: nothing is installed.
    drop(sums_mock);
    let bad = sums.replacen(good_sum, &"0".repeat(64), 1);
    Mock::given(method("GET"))
        .and(path(format!("{archive_path}.sha256")))
        .respond_with(ResponseTemplate::new(200).set_body_string(bad))
        .mount(&server)
        .await;
    let runner = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = output(install(runner.path())).await;
    assert_eq!(code, 1, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains(&format!(
            "::error::{name}: checksum {good_sum} does not match"
        )),
        "{}",
        shown(&stdout, &stderr)
    );
    assert!(!runner.path().join("github-path").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_fall_back_to_cargo_install_when_the_release_has_no_archive() {
    let server = MockServer::start().await; // answers 404 to everything
    let runner = tempfile::tempdir().unwrap();
    // A `cargo` that records its arguments and installs a `flowspec` where --root says.
    let fake = runner.path().join("fake-bin");
    std::fs::create_dir_all(&fake).unwrap();
    let cargo = fake.join("cargo");
    std::fs::write(
        &cargo,
        format!(
            "#!/bin/sh\necho \"$@\" > {args}\nwhile [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\n\
             mkdir -p \"$root/bin\" && ln -s {bin} \"$root/bin/flowspec\"\n",
            args = runner.path().join("cargo-args").display(),
            bin = flowspec_bin().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &cargo,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
    )
    .unwrap();

    let mut cmd = action("install.sh", runner.path());
    let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap());
    cmd.env("PATH", path)
        .env("FLOWSPEC_VERSION", "v0.1.0")
        .env("FLOWSPEC_RELEASES_URL", server.uri())
        .env("RUNNER_TOOL_CACHE", runner.path().join("tool-cache"))
        .env("GITHUB_PATH", runner.path().join("github-path"))
        .env("GITHUB_OUTPUT", runner.path().join("github-output"));
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains("building with cargo install"),
        "{}",
        shown(&stdout, &stderr)
    );
    let args = std::fs::read_to_string(runner.path().join("cargo-args")).unwrap();
    let root = runner.path().join("tool-cache/flowspec/cargo");
    assert_eq!(
        args.trim(),
        format!(
            "install flowspec-cli --locked --root {} --version 0.1.0",
            root.display()
        )
    );
    let bin_dir = std::fs::read_to_string(runner.path().join("github-path")).unwrap();
    assert_eq!(bin_dir.trim(), root.join("bin").display().to_string());
}

/// A project with one failing JUnit report under `reports/`.
fn project_with_a_failing_report() -> TestProject {
    let p = TestProject::new("hooks: []\n");
    p.write(
        "reports/unit/junit.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="cart" tests="2" failures="1">
  <testcase classname="cart" name="adds items" file="src/cart.rs" time="0.01"/>
  <testcase classname="cart" name="applies tax" file="src/cart.rs" time="0.02">
    <failure message="total = 10.69, want 10.70">at src/cart.rs:41</failure>
  </testcase>
</testsuite>
"#,
    );
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_write_the_job_summary_and_print_annotations_for_the_runner() {
    let p = project_with_a_failing_report();
    let summary = p.join("step-summary.md");
    let mut cmd = action("results.sh", p.path());
    cmd.arg("summary")
        .env("REPORT_FILES", "reports/**/*.xml\nmissing/*.trx")
        .env("GITHUB_STEP_SUMMARY", &summary);
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(markdown.contains("Tests failed"), "{markdown}");
    assert!(markdown.contains("applies tax"), "{markdown}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("::error file=src/cart.rs")),
        "an annotation on the failing test, where the runner reads it:\n{}",
        shown(&stdout, &stderr)
    );
    assert!(
        stdout.contains("::warning::no report file matches missing/*.trx"),
        "{}",
        shown(&stdout, &stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_fail_the_step_on_failures_and_when_no_report_matches() {
    let p = project_with_a_failing_report();
    let mut cmd = action("results.sh", p.path());
    cmd.arg("check").env("REPORT_FILES", "reports/**/*.xml");
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 10, "RESULTS_FAILED: {}", shown(&stdout, &stderr));

    let mut cmd = action("results.sh", p.path());
    cmd.arg("check").env("REPORT_FILES", "build/*.xml");
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 1, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains("::error::no report files found for: build/*.xml"),
        "{}",
        shown(&stdout, &stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_post_the_event_to_the_receiver_with_its_token_and_typed_fields() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/events"))
        .and(header("authorization", "Bearer tok-0123456789abcdef"))
        .and(header(
            "idempotency-key",
            "github-99-2-deploy-deploy.completed",
        ))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"id": "e1"})))
        .expect(1)
        .mount(&server)
        .await;
    let p = TestProject::new("hooks: []\n");
    let mut cmd = action("emit.sh", p.path());
    cmd.env("EVENT_TYPE", "deploy.completed")
        .env("EVENT_DATA", "environment=prod\nreplicas:=3\n\nok:=true")
        .env("RECEIVER_URL", format!("{}/events", server.uri()))
        .env("RECEIVER_TOKEN", "tok-0123456789abcdef")
        .env("GITHUB_RUN_ID", "99")
        .env("GITHUB_RUN_ATTEMPT", "2")
        .env("GITHUB_JOB", "deploy");
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains("::add-mask::tok-0123456789abcdef"),
        "the token is masked in the log before anything else prints"
    );
    let requests = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(
        body,
        json!({"event_type": "deploy.completed", "environment": "prod", "replicas": 3, "ok": true})
    );

    let mut cmd = action("emit.sh", p.path());
    cmd.env("EVENT_TYPE", "deploy.completed")
        .env("RECEIVER_URL", format!("{}/events", server.uri()))
        .env("RECEIVER_TOKEN", "");
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 1, "{}", shown(&stdout, &stderr));
    assert!(
        stdout.contains("emit-token is empty"),
        "{}",
        shown(&stdout, &stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_run_the_projects_hooks_when_no_receiver_is_given() {
    let p = TestProject::new(
        "hooks:\n  - name: record\n    events: [deploy.completed]\n    command: cat > got.json\n",
    );
    let mut cmd = action("emit.sh", p.path());
    cmd.env("EVENT_TYPE", "deploy.completed")
        .env("EVENT_DATA", "environment=prod");
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
    let event: Value = serde_json::from_str(&p.read("got.json")).expect("the hook got the event");
    assert_eq!(event["event_type"], "deploy.completed");
    assert_eq!(event["environment"], "prod");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_end_the_step_with_the_runs_result() {
    let server = MockServer::start().await;
    mock_run(
        &server,
        vec![
            run_json("in_progress", None),
            run_json("completed", Some("failure")),
        ],
    )
    .await;
    let p = project(&server, "hooks: []\n");
    let mut cmd = action("ci-wait.sh", p.path());
    cmd.env("RUN_ID", "7")
        .env("TIMEOUT", "2m")
        .env("QUARANTINE", "false")
        .env("GITHUB_TOKEN", "ghp_action_test_token")
        .env("FLOWSPEC_CI_POLL_MS", "20");
    let (code, stdout, stderr) = output(cmd).await;
    assert_eq!(code, 12, "CI_RUN_FAILED: {}", shown(&stdout, &stderr));
    assert!(stderr.contains("run 7"), "{}", shown(&stdout, &stderr));
}
