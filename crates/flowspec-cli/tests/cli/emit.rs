use std::time::Duration;

use crate::{TestProject, run, shown};

#[test]
fn should_pass_the_event_on_stdin_and_in_the_environment() {
    let p = TestProject::new(
        r#"
hooks:
  - name: capture
    events: [implement.completed]
    command: |
      cat > stdin.json
      env | grep -E '^(FLOWSPEC_|EVENT_TYPE=|GREETING=)' | sort > env.txt
      pwd > cwd.txt
    env:
      GREETING: hello ${WHO:-world}
"#,
    );
    let (code, out, err) = run(p.cmd().args([
        "emit",
        "implement.completed",
        "--feature",
        "auth",
        "--data",
        "branch=feature/auth",
        "--data",
        "count:=3",
        "--event-id",
        "evt-42",
    ]));
    assert_eq!(code, 0, "{}", shown(&out, &err));

    let stdin: serde_json::Value = serde_json::from_str(&p.read("stdin.json")).unwrap();
    assert_eq!(stdin["event_id"], "evt-42");
    assert_eq!(stdin["event_type"], "implement.completed");
    assert_eq!(stdin["feature"], "auth");
    assert_eq!(stdin["source"], "cli");
    assert_eq!(stdin["branch"], "feature/auth");
    assert_eq!(stdin["count"], 3);
    assert!(stdin["timestamp"].as_str().unwrap().ends_with('Z'));

    let env = p.read("env.txt");
    for expected in [
        "EVENT_TYPE=implement.completed",
        "FLOWSPEC_EVENT_ID=evt-42",
        "FLOWSPEC_EVENT_TYPE=implement.completed",
        "FLOWSPEC_FEATURE=auth",
        "FLOWSPEC_HOOK_NAME=capture",
        "FLOWSPEC_ATTEMPT=1",
        "GREETING=hello world",
    ] {
        assert!(
            env.lines().any(|l| l == expected),
            "missing {expected} in\n{env}"
        );
    }
    let root = p.path().canonicalize().unwrap();
    assert!(
        env.contains(&format!("FLOWSPEC_PROJECT_ROOT={}", root.display())),
        "{env}"
    );
    assert_eq!(p.read("cwd.txt").trim(), root.display().to_string());
}

#[test]
fn should_read_the_payload_from_stdin() {
    let p = TestProject::new(
        "hooks:\n  - name: c\n    events: [deploy.completed]\n    command: cat > got.json\n",
    );
    let (code, out, err) = run(p
        .cmd()
        .args(["emit", "--payload", "-"])
        .write_stdin(r#"{"event_type":"deploy.completed","environment":"staging","commit":"abc123","feature":"auto-extracted"}"#));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let got: serde_json::Value = serde_json::from_str(&p.read("got.json")).unwrap();
    assert_eq!(got["environment"], "staging");
    assert_eq!(got["commit"], "abc123");
    assert_eq!(got["feature"], "auto-extracted");
}

#[test]
fn should_refuse_invalid_payloads_with_a_usage_error() {
    let p = TestProject::new("hooks: []\n");
    let (code, _, err) = run(p
        .cmd()
        .args(["emit", "--payload", "-"])
        .write_stdin("[1, 2]"));
    assert_eq!(code, 2);
    assert!(
        err.contains("must be a JSON object, found an array"),
        "{err}"
    );
    let (code, _, err) = run(p
        .cmd()
        .args(["emit", "--payload", "-"])
        .write_stdin("{\"event_type\": "));
    assert_eq!(code, 2);
    assert!(err.contains("not valid JSON"), "{err}");
    let (code, _, err) = run(p.cmd().args(["emit", "bad..type"]));
    assert_eq!(code, 2);
    assert!(err.contains("invalid event type"), "{err}");
}

#[test]
fn should_run_hooks_in_file_order_and_apply_filters() {
    let p = TestProject::new(
        r#"
hooks:
  - name: first
    events: [deploy.completed]
    command: echo first >> order.txt
  - name: staging-only
    events:
      - type: deploy.completed
        filter:
          environment: [staging, qa]
    command: echo staging-only >> order.txt
  - name: wildcard
    events: ["*.completed"]
    command: echo wildcard >> order.txt
  - name: disabled
    enabled: false
    events: ["*"]
    command: echo disabled >> order.txt
  - name: other-type
    events: [deploy.started]
    command: echo other >> order.txt
"#,
    );
    let (code, out, err) = run(p.cmd().args([
        "emit",
        "deploy.completed",
        "--data",
        "environment=production",
    ]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert_eq!(p.read("order.txt"), "first\nwildcard\n");
    let (code, ..) = run(p
        .cmd()
        .args(["emit", "deploy.completed", "--data", "environment=qa"]));
    assert_eq!(code, 0);
    assert_eq!(
        p.read("order.txt"),
        "first\nwildcard\nfirst\nstaging-only\nwildcard\n"
    );
}

#[test]
fn should_run_consecutive_parallel_hooks_at_the_same_time() {
    let p = TestProject::new(
        r#"
hooks:
  - name: a
    events: [t.x]
    parallel: true
    command: date +%s%N > a.start; sleep 0.5; date +%s%N > a.end
  - name: b
    events: [t.x]
    parallel: true
    command: date +%s%N > b.start; sleep 0.5; date +%s%N > b.end
  - name: after
    events: [t.x]
    command: date +%s%N > after.start
"#,
    );
    let (code, out, err) = run(p.cmd().args(["emit", "t.x"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let t = |f: &str| p.read(f).trim().parse::<u128>().unwrap();
    assert!(
        t("a.start") < t("b.end") && t("b.start") < t("a.end"),
        "a and b must overlap"
    );
    assert!(
        t("after.start") >= t("a.end") && t("after.start") >= t("b.end"),
        "the next group waits for the parallel group"
    );
}

#[test]
fn should_stop_the_rest_after_a_failing_stop_hook_and_exit_4() {
    let p = TestProject::new(
        r#"
hooks:
  - name: soft-failure
    events: [validate.completed]
    command: echo soft; exit 1
  - name: quality-gate
    events: [validate.completed]
    fail_mode: stop
    command: echo gate failed >&2; exit 7
  - name: deploy
    events: [validate.completed]
    command: touch deployed
"#,
    );
    let (code, out, err) = run(p.cmd().args(["emit", "validate.completed"]));
    assert_eq!(code, 4, "{}", shown(&out, &err));
    assert!(
        !p.join("deployed").exists(),
        "a hook after a failed stop hook must not run"
    );
    assert!(out.contains("[quality-gate] gate failed"), "{out}");
    assert!(out.contains("blocked: `quality-gate` failed"), "{out}");
    let audit = p.audit();
    let status: Vec<(&str, &str)> = audit
        .iter()
        .map(|r| {
            (
                r["hook_name"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            ("soft-failure", "failed"),
            ("quality-gate", "failed"),
            ("deploy", "skipped")
        ]
    );
    assert_eq!(audit[1]["exit_code"], 7);
}

#[test]
fn should_continue_after_a_failing_continue_hook_and_exit_0() {
    let p = TestProject::new(
        "hooks:\n  - name: flaky\n    events: [a.b]\n    command: exit 3\n  - name: next\n    events: [a.b]\n    command: touch ran\n",
    );
    let (code, out, err) = run(p.cmd().args(["emit", "a.b", "--json"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(p.join("ran").exists());
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["hooks"][0]["status"], "failed");
    assert_eq!(report["hooks"][0]["exit_code"], 3);
    assert_eq!(report["hooks"][0]["message"], "exit code 3");
    assert_eq!(report["hooks"][1]["status"], "success");
}

#[test]
fn should_kill_the_whole_process_group_on_timeout() {
    let p = TestProject::new(
        r#"
hooks:
  - name: slow
    events: [t.x]
    timeout: 1
    fail_mode: stop
    command: |
      sh -c 'echo $$ > grandchild.pid; exec sleep 60' &
      echo started
      sleep 60
"#,
    );
    let (code, out, err) = run(p.cmd().args(["emit", "t.x"]));
    assert_eq!(
        code,
        4,
        "a timed-out stop hook blocks: {}",
        shown(&out, &err)
    );
    assert!(out.contains("timed out after 1s"), "{out}");
    let pid = p.read("grandchild.pid").trim().to_owned();
    assert!(!pid.is_empty());
    // The grandchild was killed with its group; init reaps it soon after.
    crate::wait_until(
        &format!("grandchild {pid} is gone after the timeout"),
        || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map_or(true, |s| s.contains(") Z "))
        },
    );
    assert_eq!(p.audit()[0]["status"], "timeout");
}

#[test]
fn should_not_run_a_hook_twice_for_the_same_event_id() {
    let p = TestProject::new(
        "hooks:\n  - name: once\n    events: [a.b]\n    command: echo x >> runs.txt\n  - name: fails-first\n    events: [a.b]\n    command: test -f second || { touch second; exit 1; }\n",
    );
    let emit = |extra: &[&str]| {
        let mut cmd = p.cmd();
        cmd.args(["emit", "a.b", "--event-id", "same-id"])
            .args(extra);
        run(&mut cmd)
    };
    let (code, out, err) = emit(&[]);
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let (code, out, _) = emit(&[]);
    assert_eq!(code, 0);
    assert!(out.contains("already succeeded for this event id"), "{out}");
    assert!(
        out.contains("(attempt 2)"),
        "the failed hook is retried: {out}"
    );
    assert_eq!(
        p.read("runs.txt"),
        "x\n",
        "a succeeded hook must not run again"
    );
    let (code, ..) = emit(&["--force"]);
    assert_eq!(code, 0);
    assert_eq!(p.read("runs.txt"), "x\nx\n", "--force runs it again");
}

#[test]
fn should_run_each_hook_once_when_two_processes_emit_the_same_id() {
    let p = TestProject::new(
        "hooks:\n  - name: once\n    events: [a.b]\n    command: echo $$ >> runs.txt; sleep 0.5\n  - name: also-once\n    events: [a.b]\n    command: echo $$ >> runs2.txt\n",
    );
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("flowspec"))
                .current_dir(p.path())
                .args(["emit", "a.b", "--event-id", "race-1", "--json"])
                .env("NO_COLOR", "1")
                .output_async()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outputs {
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert_eq!(
        p.read("runs.txt").lines().count(),
        1,
        "hook `once` ran {} times",
        p.read("runs.txt").lines().count()
    );
    assert_eq!(p.read("runs2.txt").lines().count(), 1);
    let skipped = outputs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .filter(|s| s.contains("ran_elsewhere") || s.contains("already_succeeded"))
        .count();
    assert_eq!(skipped, 1, "exactly one process reports the other's run");
}

trait OutputAsync {
    fn output_async(&mut self) -> std::process::Child;
}

impl OutputAsync for std::process::Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn flowspec")
    }
}

#[test]
fn should_show_the_plan_without_running_on_dry_run() {
    let p = TestProject::new(
        "hooks:\n  - name: a\n    events: [x.y]\n    command: touch a\n  - name: b\n    events: [x.y]\n    parallel: true\n    command: touch b\n  - name: c\n    events: [x.y]\n    parallel: true\n    command: touch c\n",
    );
    let (code, out, err) = run(p.cmd().args(["emit", "x.y", "--dry-run", "--json"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["groups"], serde_json::json!([["a"], ["b", "c"]]));
    assert!(!p.join("a").exists() && !p.join("b").exists());
    assert!(
        !p.join(".flowspec/state").exists(),
        "a dry run records nothing"
    );
    assert!(!p.join(".flowspec/audit.log").exists());
}

#[test]
fn should_print_a_json_report_and_keep_hook_output_off_stdout() {
    let p = TestProject::new(
        "hooks:\n  - name: talk\n    events: [a.b]\n    command: echo hello; echo oops >&2\n",
    );
    let (code, out, err) = run(p
        .cmd()
        .args(["emit", "a.b", "--event-id", "e-json", "--json"]));
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&out).expect("stdout is only JSON");
    assert_eq!(report["event_id"], "e-json");
    let output = report["hooks"][0]["output"].as_str().unwrap();
    assert!(
        output.contains("hello\n") && output.contains("oops\n"),
        "{output}"
    );
    assert_eq!(report["hooks"][0]["attempt"], 1);
    assert!(err.contains("[talk] hello"), "{err}");
}

#[test]
fn should_say_when_no_hook_matches() {
    let p = TestProject::new("hooks:\n  - name: a\n    events: [x.y]\n    command: 'true'\n");
    let (code, out, _) = run(p.cmd().args(["emit", "other.event"]));
    assert_eq!(code, 0);
    assert!(out.contains("no hooks match `other.event`"), "{out}");
}

#[test]
fn should_find_the_project_from_a_subdirectory_and_honour_config_and_c() {
    let p =
        TestProject::new("hooks:\n  - name: a\n    events: [x.y]\n    command: pwd > where.txt\n");
    std::fs::create_dir_all(p.join("src/deep")).unwrap();
    let (code, ..) = run(p
        .cmd()
        .current_dir(p.join("src/deep"))
        .args(["emit", "x.y"]));
    assert_eq!(code, 0);
    assert!(
        p.join("where.txt").exists(),
        "hooks run at the project root"
    );

    let other = TestProject::empty();
    let (code, _, err) = run(other.cmd().args(["emit", "x.y"]));
    assert_eq!(code, 3);
    assert!(err.contains("flowspec init"), "{err}");
    let config = p.join(".flowspec/hooks/hooks.yaml");
    let (code, ..) = run(other
        .cmd()
        .env("FLOWSPEC_CONFIG", &config)
        .args(["emit", "x.y", "--force"]));
    assert_eq!(code, 0);
    let (code, ..) = run(other.cmd().arg("-C").arg(p.path()).args(["emit", "x.y"]));
    assert_eq!(code, 0);
}

#[test]
fn should_run_a_hook_again_after_flowspec_was_killed_mid_run() {
    let p = TestProject::new(
        "hooks:\n  - name: long\n    events: [a.b]\n    timeout: 60\n    command: |\n      echo $FLOWSPEC_ATTEMPT >> attempts.txt\n      echo $$ > hook.pid\n      test $FLOWSPEC_ATTEMPT -gt 1 || sleep 30\n",
    );
    let mut first = std::process::Command::new(assert_cmd::cargo::cargo_bin("flowspec"))
        .current_dir(p.path())
        .args(["emit", "a.b", "--event-id", "crash-1", "-q"])
        .spawn()
        .unwrap();
    // Wait until the hook is running, then kill flowspec without a chance to clean up.
    crate::wait_until("the hook is running", || {
        p.read("attempts.txt") == "1\n" && !p.read("hook.pid").trim().is_empty()
    });
    first.kill().unwrap();
    first.wait().unwrap();
    let orphan = p.read("hook.pid").trim().to_owned();

    let (code, out, err) = run(p
        .cmd()
        .args(["emit", "a.b", "--event-id", "crash-1", "--json"]));
    // Stop the orphaned first run.
    if let Ok(orphan) = orphan.parse() {
        crate::kill_group(orphan);
    }
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert_eq!(
        p.read("attempts.txt"),
        "1\n2\n",
        "the interrupted hook runs again, as attempt 2"
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["hooks"][0]["attempt"], 2);
    assert_eq!(report["hooks"][0]["status"], "success");
}

#[test]
fn should_log_json_lines_on_stderr_when_asked() {
    let p = TestProject::new("hooks:\n  - name: a\n    events: [x.y]\n    command: 'true'\n");
    let (code, out, err) = run(p.cmd().args([
        "emit",
        "x.y",
        "-v",
        "--log-format",
        "json",
        "--event-id",
        "log-1",
    ]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let lines: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON log line"))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "Dispatching event."
                && l["fields"]["event_id"] == "log-1"),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "Hook finished."
                && l["fields"]["status"] == "success"),
        "{err}"
    );
    let (_, _, quiet_err) = run(p.cmd().args(["emit", "x.y"]));
    assert!(
        !quiet_err.contains("Dispatching"),
        "info logs only with -v: {quiet_err}"
    );
}

#[test]
fn should_exit_130_and_stop_the_running_hook_on_ctrl_c() {
    let p = TestProject::new(
        "hooks:\n  - name: long\n    events: [a.b]\n    timeout: 300\n    command: |\n      echo $$ > hook.pid\n      exec sleep 300\n",
    );
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("flowspec"))
        .current_dir(p.path())
        .env_remove("FLOWSPEC_CONFIG")
        .env("NO_COLOR", "1")
        .args(["emit", "a.b", "--event-id", "ctrl-c-1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::wait_until("the hook is running", || {
        !p.read("hook.pid").trim().is_empty()
    });
    let hook: u32 = p.read("hook.pid").trim().parse().unwrap();
    crate::send_signal(child.id(), libc::SIGINT);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Killed with its group before flowspec exits; init reaps it soon after.
    let gone = || {
        std::fs::read_to_string(format!("/proc/{hook}/stat")).map_or(true, |s| s.contains(") Z "))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !gone() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stopped = gone();
    if !stopped {
        crate::kill_group(hook);
    }
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stopped, "the hook {hook} kept running after Ctrl-C");
}
