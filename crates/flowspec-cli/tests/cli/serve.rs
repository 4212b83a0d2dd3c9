use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{TestProject, run, wait_until};

const TOKEN: &str = "serve-test-token";

/// `flowspec serve` on a free port; returns the child and the address it printed.
// The caller kills or signals the returned child and waits for it.
#[allow(clippy::zombie_processes)]
pub fn start_server(p: &TestProject, workers: usize) -> (Child, SocketAddr) {
    start_server_with(p, workers, &[])
}

/// [`start_server`] with more environment variables.
#[allow(clippy::zombie_processes)]
pub fn start_server_with(
    p: &TestProject,
    workers: usize,
    env: &[(&str, &str)],
) -> (Child, SocketAddr) {
    start_server_in(p.path(), workers, env)
}

/// [`start_server_with`] in a project directory given by path.
#[allow(clippy::zombie_processes)]
pub fn start_server_in(
    dir: &std::path::Path,
    workers: usize,
    env: &[(&str, &str)],
) -> (Child, SocketAddr) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("flowspec"))
        .envs(env.iter().copied())
        .current_dir(dir)
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--workers",
            &workers.to_string(),
            "-q",
        ])
        .env("FLOWSPEC_EVENTS_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start flowspec serve");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        line.clear();
        let ended = stderr.read_line(&mut line).map_or(true, |n| n == 0);
        if ended || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("flowspec serve did not start: {line}");
        }
        if let Some(rest) = line.split("listening on http://").nth(1) {
            let addr = rest.split_whitespace().next().unwrap().parse().unwrap();
            // Keep draining stderr so the server never blocks on a full pipe.
            std::thread::spawn(move || {
                let mut sink = String::new();
                let _ = stderr.read_to_string(&mut sink);
            });
            return (child, addr);
        }
    }
}

pub fn post_event(addr: SocketAddr, body: &str) -> u16 {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return 0;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "POST /events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// The ids of the queued events with `status` (`flowspec events list --status`).
pub fn events_with_status(p: &TestProject, status: &str) -> Vec<String> {
    events_with_status_env(p, status, &[])
}

/// [`events_with_status`] with more environment variables (a shared store's URL).
pub fn events_with_status_env(p: &TestProject, status: &str, env: &[(&str, &str)]) -> Vec<String> {
    let (code, out, err) = run(p.cmd().envs(env.iter().copied()).args([
        "events", "list", "--status", status, "--limit", "100000", "--json",
    ]));
    assert_eq!(code, 0, "events list: {err}");
    let listed: serde_json::Value = serde_json::from_str(&out).expect("events list --json");
    listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect()
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn should_refuse_to_start_without_a_secret_and_say_how_to_fix_it() {
    let p = TestProject::new("hooks: []\n");
    let (code, _, err) = run(p
        .cmd()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env_remove("FLOWSPEC_EVENTS_TOKEN")
        .env_remove("GITHUB_WEBHOOK_SECRET")
        .env_remove("GITLAB_WEBHOOK_TOKEN"));
    assert_eq!(code, 6, "{err}");
    assert!(
        err.contains("no source is enabled") && err.contains("FLOWSPEC_EVENTS_TOKEN"),
        "{err}"
    );
    p.write(
        ".flowspec/flowspec.yaml",
        "server:\n  sources:\n    github: {}\n",
    );
    let (code, _, err) = run(p.cmd().args(["serve"]));
    assert_eq!(code, 3);
    assert!(
        err.contains("source `github` has no secret") && err.contains("GITHUB_WEBHOOK_SECRET"),
        "{err}"
    );
}

#[test]
fn should_lose_no_accepted_event_and_rerun_only_in_flight_hooks_after_kill_9() {
    let p = TestProject::new(
        r#"
hooks:
  - name: slow
    events: [load.test]
    timeout: 30
    command: |
      echo "start $FLOWSPEC_EVENT_ID $FLOWSPEC_ATTEMPT $(date +%s%N)" >> runs.txt
      sleep 0.3
      echo "end $FLOWSPEC_EVENT_ID $FLOWSPEC_ATTEMPT $(date +%s%N)" >> runs.txt
"#,
    );
    let workers = 4;
    let (mut server, addr) = start_server(&p, workers);

    // Four senders; the server is killed while they are still sending.
    let accepted_so_far = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let senders: Vec<_> = (0..4)
        .map(|t| {
            let accepted_so_far = accepted_so_far.clone();
            std::thread::spawn(move || {
                let mut accepted = Vec::new();
                for i in 0..25 {
                    let id = format!("load-{t}-{i}");
                    if post_event(
                        addr,
                        &format!(r#"{{"event_type":"load.test","event_id":"{id}"}}"#),
                    ) == 202
                    {
                        accepted.push(id);
                        accepted_so_far.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    std::thread::sleep(Duration::from_millis(20)); // the senders' pace
                }
                accepted
            })
        })
        .collect();
    // Kill once part of the load is accepted and a hook has finished while others run.
    wait_until("events are accepted and hooks have run", || {
        accepted_so_far.load(std::sync::atomic::Ordering::SeqCst) >= 8
            && p.read("runs.txt").lines().any(|l| l.starts_with("end "))
    });
    let killed_at = now_ns();
    server.kill().expect("kill -9"); // SIGKILL: no cleanup at all
    server.wait().unwrap();
    let accepted: HashSet<String> = senders
        .into_iter()
        .flat_map(|s| s.join().unwrap())
        .collect();
    assert!(
        accepted.len() >= 5,
        "the load should have been accepted in part before the kill ({})",
        accepted.len()
    );

    let (mut restarted, _) = start_server(&p, workers);
    let deadline = Instant::now() + Duration::from_secs(90);
    let ended = |text: &str| -> HashSet<String> {
        text.lines()
            .filter(|l| l.starts_with("end "))
            .filter_map(|l| l.split(' ').nth(1))
            .map(str::to_owned)
            .collect()
    };
    while !accepted
        .iter()
        .all(|id| ended(&p.read("runs.txt")).contains(id))
    {
        assert!(
            Instant::now() < deadline,
            "not every accepted event ran its hook after the restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Reruns of events that had ended but were not recorded may still be queued.
    wait_until("the queue has nothing pending or running", || {
        events_with_status(&p, "pending").is_empty() && events_with_status(&p, "running").is_empty()
    });
    crate::send_signal(restarted.id(), libc::SIGTERM);
    restarted.wait().unwrap();

    // (event, attempt) -> (start, end) times.
    let mut runs: HashMap<(String, u32), (Option<u128>, Option<u128>)> = HashMap::new();
    for line in p.read("runs.txt").lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        let key = (parts[1].to_owned(), parts[2].parse().unwrap());
        let at: u128 = parts[3].parse().unwrap();
        let entry = runs.entry(key).or_default();
        if parts[0] == "start" {
            entry.0 = Some(at);
        } else {
            entry.1 = Some(at);
        }
    }
    // "Finished" means recorded by flowspec: the audit line is written only after the
    // run's result is committed to the store.
    let finished_before_kill: HashSet<String> = p
        .audit()
        .iter()
        .filter(|r| r["status"] == "success" && r["attempt"] == 1)
        .filter(|r| {
            let at =
                chrono::DateTime::parse_from_rfc3339(r["timestamp"].as_str().unwrap()).unwrap();
            (at.timestamp_nanos_opt().unwrap() as u128) < killed_at
        })
        .map(|r| r["event_id"].as_str().unwrap().to_owned())
        .collect();
    // A hook whose process had not ended when the server died cannot have been
    // recorded: it must run again. (One that had ended may or may not have been
    // recorded by then, so either outcome is right for it.)
    let in_flight_at_kill: HashSet<&String> = runs
        .iter()
        .filter(|((id, attempt), (start, end))| {
            *attempt == 1
                && start.is_some_and(|s| s < killed_at)
                && !end.is_some_and(|e| e < killed_at)
                && !finished_before_kill.contains(id.as_str())
        })
        .map(|((id, _), _)| id)
        .collect();
    let ran_again: HashSet<&String> = runs
        .keys()
        .filter(|(_, attempt)| *attempt > 1)
        .map(|(id, _)| id)
        .collect();

    for id in &accepted {
        assert!(
            runs.keys().any(|(run_id, _)| run_id == id),
            "accepted event {id} never ran"
        );
    }
    for id in &finished_before_kill {
        assert!(
            !ran_again.iter().any(|r| *r == id),
            "{id} had finished (and was recorded) before the kill but ran again"
        );
    }
    // Only what was in flight can run twice: at most one hook per worker. (A run counts
    // as in flight from its claim in the store until its result is recorded, which is
    // wider than its process's lifetime.)
    assert!(
        ran_again.len() <= workers,
        "{} events ran twice with {workers} workers: {ran_again:?}",
        ran_again.len()
    );
    for id in &in_flight_at_kill {
        let reran = runs
            .get(&((*id).clone(), 2))
            .is_some_and(|(_, end)| end.is_some());
        assert!(
            reran,
            "{id} was interrupted by the kill and must run again as attempt 2"
        );
    }
}

#[test]
fn should_drain_running_hooks_on_sigterm_and_list_show_replay_events() {
    let p = TestProject::new(
        "hooks:\n  - name: flaky\n    events: [job.done]\n    command: |\n      touch started\n      until test -f go; do sleep 0.02; done\n      test -f fixed && echo fixed >> done.txt\n",
    );
    p.write(
        ".flowspec/flowspec.yaml",
        "server:\n  queue: {max_attempts: 1}\n",
    );
    let (mut server, addr) = start_server(&p, 2);
    assert_eq!(
        post_event(addr, r#"{"event_type":"job.done","event_id":"job-1"}"#),
        202
    );
    wait_until("the hook is running", || p.join("started").exists());
    crate::send_signal(server.id(), libc::SIGTERM);
    // Draining: the listener is closed while the hook still runs; then let it end.
    wait_until("the server stops accepting", || {
        TcpStream::connect(addr).is_err()
    });
    p.write("go", "");
    let status = server.wait().unwrap();
    assert!(status.success(), "SIGTERM is a clean stop");
    assert_eq!(
        events_with_status(&p, "dead"),
        ["job-1"],
        "the running hook was let finish (and failed) before the exit"
    );

    // The hook failed (no `fixed` file), with one attempt allowed: dead letter.
    let (code, out, _) = run(p.cmd().args(["events", "list", "--json"]));
    assert_eq!(code, 0);
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed[0]["event_id"], "job-1");
    assert_eq!(listed[0]["status"], "dead", "{listed}");
    assert!(
        listed[0]["last_error"].as_str().unwrap().contains("flaky"),
        "{listed}"
    );

    let (code, out, _) = run(p.cmd().args(["events", "show", "job-1", "--json"]));
    assert_eq!(code, 0);
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["event"]["event_type"], "job.done");
    assert_eq!(shown["hook_runs"][0]["status"], "failed");

    p.write("fixed", "");
    let (code, out, err) = run(p.cmd().args(["events", "replay", "--failed"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("job-1: done"), "{out}");
    assert_eq!(p.read("done.txt"), "fixed\n");
}

#[test]
fn should_exit_6_and_name_the_address_when_it_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let p = TestProject::new("hooks: []\n");
    let (code, out, err) = run(p
        .cmd()
        .args(["serve", "--bind", &addr])
        .env("FLOWSPEC_EVENTS_TOKEN", TOKEN));
    assert_eq!(code, 6, "{}", crate::shown(&out, &err));
    assert!(err.contains(&addr), "the error names the address: {err}");
    drop(taken);
}

#[test]
fn should_stop_cleanly_on_ctrl_c_once_it_answers() {
    let p = TestProject::new(
        "hooks:\n  - name: record\n    events: [job.done]\n    command: echo ran >> ran.txt\n",
    );
    let (mut server, addr) = start_server(&p, 1);
    // Ready: it answers, and an accepted event runs its hook.
    assert_eq!(
        post_event(
            addr,
            r#"{"event_type":"job.done","event_id":"before-ctrl-c"}"#
        ),
        202
    );
    wait_until("the hook ran", || p.read("ran.txt") == "ran\n");
    crate::send_signal(server.id(), libc::SIGINT);
    let status = server.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "Ctrl-C stops serve like SIGTERM: a clean stop ({status})"
    );
    assert_eq!(events_with_status(&p, "done"), ["before-ctrl-c"]);
}
