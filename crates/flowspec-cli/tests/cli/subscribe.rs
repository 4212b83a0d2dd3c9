//! `flowspec subscribe`, `emit --publish` and `serve` publishing, against a real
//! `redis-server` started by each test.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use flowspec_core::testing::TempRedis;

use super::serve::{post_event, start_server_with};
use super::{TestProject, run, send_signal, shown, wait_until};

/// A project whose one hook appends `start <id>` and, after `sleep`, `end <id>` to
/// ran.txt, with `transport:` on `redis`.
fn project(redis: &TempRedis, group: &str, sleep: &str) -> TestProject {
    let p = TestProject::new(&format!(
        "hooks:\n  - name: record\n    events: [{{type: build.completed}}]\n    command: echo \"start $FLOWSPEC_EVENT_ID\" >> ran.txt; sleep {sleep}; echo \"end $FLOWSPEC_EVENT_ID\" >> ran.txt\n"
    ));
    p.write(
        ".flowspec/flowspec.yaml",
        &format!(
            "transport:\n  url: {}\n  group: {group}\n  claim_idle: 1\n",
            redis.url()
        ),
    );
    p
}

fn lines(p: &TestProject, prefix: &str) -> Vec<String> {
    p.read("ran.txt")
        .lines()
        .filter_map(|l| l.strip_prefix(prefix).map(str::to_owned))
        .collect()
}

fn publish(p: &TestProject, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let id = format!("build-{i}");
            let (code, out, err) = run(p.cmd().args([
                "emit",
                "build.completed",
                "--event-id",
                &id,
                "--data",
                &format!("n:={i}"),
                "--publish",
                "--json",
            ]));
            assert_eq!(code, 0, "{}", shown(&out, &err));
            let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert!(answer["published"]["entry"].as_str().unwrap().contains('-'));
            id
        })
        .collect()
}

fn status(p: &TestProject) -> serde_json::Value {
    let (code, out, err) = run(p.cmd().args(["subscribe", "--status", "--json"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    serde_json::from_str(&out).unwrap()
}

#[test]
fn should_run_published_events_on_a_subscriber_and_show_the_group() {
    let redis = TempRedis::start();
    let p = project(&redis, "laptops", "0");
    let ids = publish(&p, 3);
    assert!(
        lines(&p, "start ").is_empty(),
        "--publish runs no local hook"
    );
    let (code, out, err) = run(p.cmd().args([
        "subscribe",
        "--once",
        "--from",
        "start",
        "--workers",
        "1",
        "--json",
    ]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert_eq!(lines(&p, "end "), ids, "every event ran once, in order");
    let done = out
        .lines()
        .filter(|l| l.contains("\"outcome\":\"done\""))
        .count();
    assert_eq!(done, 3, "{out}");
    let status = status(&p);
    assert_eq!(status["length"], 3);
    let group = &status["groups"][0];
    assert_eq!(group["name"], "laptops");
    assert_eq!(
        (group["lag"].as_u64(), group["pending"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(group["consumers"].as_array().unwrap().len(), 1);
    // The audit log has the hook runs like any emit.
    assert_eq!(
        p.audit()
            .iter()
            .filter(|r| r["hook_name"] == "record")
            .count(),
        3
    );
}

/// Starts `flowspec subscribe` in the background.
fn subscriber(p: &TestProject, args: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("flowspec"))
        .current_dir(p.path())
        .args(["subscribe", "--from", "start", "-q"])
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start flowspec subscribe")
}

#[test]
fn should_take_over_the_entries_of_a_consumer_killed_mid_stream() {
    let redis = TempRedis::start();
    let p = project(&redis, "workers", "0.3");
    let ids = publish(&p, 12);
    let mut first = subscriber(&p, &["--workers", "2"]);
    wait_until("the first consumer is running hooks", || {
        lines(&p, "start ").len() >= 3
    });
    send_signal(first.id(), libc::SIGKILL);
    let _ = first.wait();
    let pending = status(&p)["groups"][0]["pending"].as_u64().unwrap();
    assert!(pending > 0, "the killed consumer left entries pending");
    // After claim_idle (1 s) another consumer takes them, and runs the rest.
    std::thread::sleep(Duration::from_millis(1200));
    let (code, out, err) = run(p.cmd().args(["subscribe", "--once", "--workers", "4"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(err.contains("another consumer left idle"), "{err}");
    let ended = lines(&p, "end ");
    for id in &ids {
        assert!(ended.contains(id), "{id} ran to its end: {ended:?}");
    }
    // Only what was running at the kill ran again; no finished hook did.
    let again = ended.len() - ids.len();
    assert!(again <= 2, "{again} hooks ran twice: {ended:?}");
    assert_eq!(status(&p)["groups"][0]["pending"], 0);
}

#[test]
fn should_drain_running_hooks_on_sigterm() {
    let redis = TempRedis::start();
    let p = project(&redis, "g", "0.5");
    publish(&p, 1);
    let mut child = subscriber(&p, &[]);
    wait_until("the hook started", || !lines(&p, "start ").is_empty());
    send_signal(child.id(), libc::SIGTERM);
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0));
    assert_eq!(
        lines(&p, "end "),
        vec!["build-0".to_owned()],
        "the running hook finished"
    );
    assert_eq!(
        status(&p)["groups"][0]["pending"],
        0,
        "and its entry was acknowledged"
    );
}

#[test]
fn should_explain_a_missing_transport_a_missing_group_and_an_unreachable_redis() {
    let p = TestProject::new("hooks: []\n");
    let (code, _, err) = run(p.cmd().args(["emit", "build.completed", "--publish"]));
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("no `transport:` section") && err.contains("docs/transport.md"),
        "{err}"
    );

    p.write(
        ".flowspec/flowspec.yaml",
        "transport:\n  url: redis://127.0.0.1:1/0\n",
    );
    let (code, _, err) = run(p.cmd().args(["subscribe", "--once"]));
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("transport.group") && err.contains("--group"),
        "{err}"
    );

    let redis = TempRedis::start();
    let port = redis.port();
    drop(redis);
    p.write(
        ".flowspec/flowspec.yaml",
        &format!("transport:\n  url: redis://:very-secret-pw@127.0.0.1:{port}/0\n  group: g\n"),
    );
    for args in [
        &["subscribe", "--once"][..],
        &["subscribe", "--status"],
        &["emit", "a.b", "--publish"],
    ] {
        let (code, out, err) = run(p.cmd().args(args));
        assert_eq!(code, 16, "{args:?}: {}", shown(&out, &err));
        assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
        assert!(
            !err.contains("very-secret-pw") && !out.contains("very-secret-pw"),
            "{err}"
        );
    }
}

#[test]
fn should_give_every_event_served_to_each_subscribed_group() {
    let redis = TempRedis::start();
    // The receiver: no hooks of its own, publishes what it accepts.
    let cloud = TestProject::empty();
    cloud.write(
        ".flowspec/flowspec.yaml",
        &format!("transport:\n  url: {}\n", redis.url()),
    );
    let laptop = project(&redis, "laptops", "0");
    let deployer = project(&redis, "deployer", "0");
    // Both groups exist before anything is published (`--from now`, the default).
    for p in [&laptop, &deployer] {
        let (code, out, err) = run(p.cmd().args(["subscribe", "--once"]));
        assert_eq!(code, 0, "{}", shown(&out, &err));
    }
    let (mut server, addr) = start_server_with(&cloud, 2, &[]);
    for i in 0..5 {
        let body = format!(r#"{{"event_type":"build.completed","event_id":"served-{i}"}}"#);
        assert_eq!(post_event(addr, &body), 202);
    }
    wait_until("the receiver published all five", || {
        status(&laptop)["length"].as_u64() == Some(5)
    });
    send_signal(server.id(), libc::SIGTERM);
    let _ = server.wait();
    for p in [&laptop, &deployer] {
        let (code, out, err) = run(p.cmd().args(["subscribe", "--once", "--workers", "1"]));
        assert_eq!(code, 0, "{}", shown(&out, &err));
        let want: Vec<String> = (0..5).map(|i| format!("served-{i}")).collect();
        assert_eq!(lines(p, "end "), want);
    }
}

#[test]
fn should_publish_dropped_files_with_watch_publish_and_run_them_on_a_subscriber() {
    let redis = TempRedis::start();
    let p = project(&redis, "laptops", "0");
    std::fs::create_dir_all(p.join("triggers")).unwrap();
    p.write(
        "triggers/a.json",
        r#"{"event_type":"build.completed","event_id":"dropped-1"}"#,
    );
    p.write("triggers/build.completed.trigger", "");
    let (code, out, err) =
        run(p
            .cmd()
            .args(["watch", "triggers", "--once", "--publish", "--json"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(lines(&p, "start ").is_empty(), "no local hook ran");
    let published = out.lines().filter(|l| l.contains("\"published\"")).count();
    assert_eq!(published, 2, "{out}");
    assert!(p.join("triggers/processed/a.json").is_file());
    assert_eq!(status(&p)["length"], 2);
    let (code, out, err) = run(p.cmd().args(["subscribe", "--once", "--from", "start"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert_eq!(lines(&p, "end ").len(), 2);
    assert!(lines(&p, "end ").contains(&"dropped-1".to_owned()));
}
