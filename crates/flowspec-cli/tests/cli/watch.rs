//! `flowspec watch`: one pass (`--once`), the long-running watcher, signals, crashes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::{TestProject, run, shown};

const HOOKS: &str = r#"
hooks:
  - name: record
    events: ["*"]
    command: echo "$FLOWSPEC_EVENT_TYPE $FLOWSPEC_EVENT_ID" >> runs.txt
  - name: gate
    events: [release.requested]
    command: echo 'tests failed' >&2; exit 2
    fail_mode: stop
"#;

/// Writes `name` into `triggers/` the atomic way.
fn drop_file(p: &TestProject, name: &str, content: &str) {
    p.write(&format!("triggers/.{name}.tmp"), content);
    std::fs::rename(
        p.join(&format!("triggers/.{name}.tmp")),
        p.join(&format!("triggers/{name}")),
    )
    .unwrap();
}

fn age(p: &TestProject, relative: &str, seconds: u64) {
    let file = std::fs::File::options()
        .write(true)
        .open(p.join(relative))
        .unwrap();
    file.set_modified(std::time::SystemTime::now() - Duration::from_secs(seconds))
        .unwrap();
}

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `flowspec watch ARGS` running in the background; stdout lines are collected.
struct Running {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(p: &TestProject, args: &[&str]) -> Running {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("flowspec"))
            .current_dir(p.path())
            .env_remove("FLOWSPEC_CONFIG")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .arg("watch")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn flowspec watch");
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a stdout line containing `text`.
    fn wait_line(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(line) = self.seen.iter().find(|l| l.contains(text)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "no line with {text:?} on stdout; seen:\n```\n{}\n```",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn signal(&self, signal: libc::c_int) {
        crate::send_signal(self.child.id(), signal);
    }

    /// Waits for the exit; returns the code, the rest of stdout and stderr.
    fn finish(mut self) -> (i32, String, String) {
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut self.child.stderr.take().unwrap(), &mut err).unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        assert!(!err.contains("panicked"), "flowspec panicked:\n{err}");
        (status.code().unwrap_or(-1), self.seen.join("\n"), err)
    }
}

#[test]
fn should_process_the_files_present_and_exit_with_once() {
    let p = TestProject::new(HOOKS);
    p.write(
        "triggers/a.json",
        r#"{"event_type":"deploy.completed","event_id":"deploy-1","environment":"staging"}"#,
    );
    p.write("triggers/deploy.completed@2.trigger", "");
    age(&p, "triggers/a.json", 20);
    age(&p, "triggers/deploy.completed@2.trigger", 10);
    let (code, out, err) = run(p.cmd().args(["watch", "triggers", "--once"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));

    let runs = p.read("runs.txt");
    let lines: Vec<&str> = runs.lines().collect();
    assert_eq!(lines.len(), 2, "{runs}");
    assert_eq!(lines[0], "deploy.completed deploy-1", "oldest first");
    assert!(lines[1].starts_with("deploy.completed watch-"), "{runs}");
    assert!(
        out.starts_with("▶ processing triggers (one pass, 2 files waiting)"),
        "{}",
        shown(&out, &err)
    );
    assert!(
        out.contains("✓ a.json  deploy.completed  1 hook: 1 ok  → processed/a.json"),
        "{}",
        shown(&out, &err)
    );
    assert!(
        out.ends_with("done: 2 processed, 0 failed\n"),
        "{}",
        shown(&out, &err)
    );
    assert!(p.join("triggers/processed/a.json").exists());
    assert!(
        p.join("triggers/processed/deploy.completed@2.trigger")
            .exists()
    );
    assert!(!p.join("triggers/a.json").exists());
}

#[test]
fn should_exit_8_and_explain_failed_files_with_once() {
    let p = TestProject::new(HOOKS);
    p.write("triggers/broken.json", "{\"event_type\": ");
    p.write(
        "triggers/release.json",
        r#"{"event_type":"release.requested","event_id":"rel-1"}"#,
    );
    age(&p, "triggers/broken.json", 20);
    age(&p, "triggers/release.json", 10);
    let (code, out, err) = run(p.cmd().args(["watch", "triggers", "--once"]));
    assert_eq!(code, 8, "{}", shown(&out, &err));
    assert!(
        out.contains("✗ broken.json  invalid_json: an event file is not valid JSON: EOF while parsing a value at line 1 column 15  → failed/broken.json (reason in failed/broken.json.error.json)"),
        "{}",
        shown(&out, &err)
    );
    assert!(
        out.contains(
            "✗ release.json  blocked: hook `gate` failed with fail_mode: stop (exit code 2)"
        ),
        "{}",
        shown(&out, &err)
    );
    // Durations are right-aligned in their column: the padding varies with them.
    insta::with_settings!({filters => vec![(r" +\d+(\.\d+)?(ms|s)\b", " [TIME]")]}, {
        insta::assert_snapshot!("watch_once_failed_files", out);
    });
    let reason: serde_json::Value =
        serde_json::from_str(&p.read("triggers/failed/release.json.error.json")).unwrap();
    assert_eq!(reason["error"]["kind"], "blocked");
    assert_eq!(reason["report"]["hooks"][1]["output"], "tests failed\n");
    assert_eq!(p.read("runs.txt"), "release.requested rel-1\n");
}

#[test]
fn should_print_json_lines_with_once_json() {
    let p = TestProject::new(HOOKS);
    p.write("triggers/x.trigger", r#"{"event_id": "x-1"}"#);
    age(&p, "triggers/x.trigger", 5);
    let (code, out, err) = run(p.cmd().args(["watch", "triggers", "--once", "--json"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["started", "file", "stopped"]);
    assert_eq!(lines[0]["info"]["mode"], "polling");
    assert_eq!(lines[0]["info"]["once"], true);
    let file = &lines[1]["file"];
    assert_eq!(file["file"], "x.trigger");
    assert_eq!(file["status"], "processed");
    assert_eq!(file["moved_to"], "processed/x.trigger");
    assert_eq!(file["event_id"], "x-1");
    assert_eq!(file["event_type"], "x");
    assert_eq!(file["report"]["hooks"][0]["status"], "success");
    assert_eq!(lines[2]["summary"]["processed"], 1);
    assert!(
        err.contains("[record]") || err.contains("record"),
        "hook progress goes to stderr: {err}"
    );
}

#[test]
fn should_explain_a_missing_directory() {
    let p = TestProject::new(HOOKS);
    let (code, out, err) = run(p.cmd().args(["watch", "nowhere", "--once"]));
    assert_eq!(code, 1, "{}", shown(&out, &err));
    assert!(
        err.contains("nowhere is not a directory (it does not exist; create it first)"),
        "{err}"
    );
}

#[test]
fn should_refuse_a_zero_poll_interval() {
    let p = TestProject::new(HOOKS);
    std::fs::create_dir_all(p.join("triggers")).unwrap();
    let (code, _, err) = run(p.cmd().args(["watch", "triggers", "--poll-interval", "0s"]));
    assert_eq!(code, 2);
    assert!(err.contains("must be more than zero"), "{err}");
}

fn watch_until_sigterm(poll: bool) {
    let p = TestProject::new(HOOKS);
    std::fs::create_dir_all(p.join("triggers")).unwrap();
    let mut args = vec![
        "triggers",
        "--heartbeat",
        "state/heartbeat.json",
        "--heartbeat-interval",
        "100ms",
    ];
    if poll {
        args.extend(["--poll", "--poll-interval", "200ms"]);
    }
    let mut watcher = Running::start(&p, &args);
    let started = watcher.wait_line("▶ watching triggers");
    if poll {
        assert!(started.contains("(polling every 200ms)"), "{started}");
    } else {
        assert!(started.contains("(inotify)"), "{started}");
    }

    drop_file(
        &p,
        "one.json",
        r#"{"event_type":"task.completed","event_id":"t-1"}"#,
    );
    watcher.wait_line("✓ one.json  task.completed");
    drop_file(&p, "task.completed@b.trigger", r#"{"feature": "auth"}"#);
    watcher.wait_line("✓ task.completed@b.trigger");
    wait_for("a heartbeat counting two files", || {
        let beat: serde_json::Value =
            serde_json::from_str(&p.read("state/heartbeat.json")).unwrap_or_default();
        beat["files_processed"] == 2
    });
    let beat: serde_json::Value = serde_json::from_str(&p.read("state/heartbeat.json")).unwrap();
    assert_eq!(beat["mode"], if poll { "polling" } else { "inotify" });
    assert_eq!(beat["status"], "running");
    assert_eq!(beat["pid"], watcher.child.id());

    watcher.signal(libc::SIGTERM);
    let (code, out, err) = watcher.finish();
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(
        out.ends_with("stopped: 2 processed, 0 failed"),
        "{}",
        shown(&out, &err)
    );
    let beat: serde_json::Value = serde_json::from_str(&p.read("state/heartbeat.json")).unwrap();
    assert_eq!(beat["status"], "stopped");
    assert_eq!(p.read("runs.txt").lines().count(), 2);
}

#[test]
fn should_watch_with_inotify_until_sigterm() {
    watch_until_sigterm(false);
}

#[test]
fn should_watch_by_polling_until_sigterm() {
    watch_until_sigterm(true);
}

#[test]
fn should_not_run_a_succeeded_hook_again_after_the_watcher_was_killed() {
    // `first` succeeds at once; `second` is still running when the watcher is killed.
    let p = TestProject::new(
        r#"
hooks:
  - name: first
    events: [crash.test]
    command: echo "first $FLOWSPEC_ATTEMPT" >> runs.txt
  - name: second
    events: [crash.test]
    timeout: 60
    command: |
      echo "second $FLOWSPEC_ATTEMPT" >> runs.txt
      echo $$ > second.pid
      test $FLOWSPEC_ATTEMPT -gt 1 || sleep 30
"#,
    );
    std::fs::create_dir_all(p.join("triggers")).unwrap();
    let mut watcher = Running::start(&p, &["triggers"]);
    watcher.wait_line("▶ watching");
    // No event_id: the watcher's stable id must make the restart idempotent too.
    drop_file(&p, "crash.test.trigger", "");
    wait_for("the second hook to run", || {
        p.read("second.pid").ends_with('\n')
    });
    let orphan: u32 = p.read("second.pid").trim().parse().expect("the hook's pid");
    watcher.signal(libc::SIGKILL);
    let _ = watcher.finish();
    assert!(
        p.join("triggers/crash.test.trigger").exists(),
        "the file was not moved"
    );

    let (code, out, err) = run(p.cmd().args(["watch", "triggers", "--once"]));
    // The interrupted hook's process group outlived the watcher: end it.
    crate::kill_group(orphan);
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert_eq!(
        p.read("runs.txt"),
        "first 1\nsecond 1\nsecond 2\n",
        "the succeeded hook did not run again; the interrupted one ran as attempt 2"
    );
    assert!(p.join("triggers/processed/crash.test.trigger").exists());
}
