//! `flowspec events replay ID`, `--force` and `--enqueue-only` against the queue a real
//! `flowspec serve` filled.

use crate::serve::{events_with_status, post_event, start_server};
use crate::{TestProject, run, shown, wait_until};

/// A hook that fails until the file `fixed` exists, and records which flowspec process
/// ran it (`serve` or `events replay`) in `runs.txt`.
const HOOKS: &str = r#"
hooks:
  - name: deploy
    events: [job.done]
    command: |
      test -f fixed || exit 1
      echo "$(tr '\0' ' ' < /proc/$PPID/cmdline)" >> runs.txt
"#;

/// A project whose server gives an event one attempt, and the event `job-1` dead in its
/// queue (its hook failed once, through `flowspec serve`).
fn project_with_a_dead_event() -> TestProject {
    let p = TestProject::new(HOOKS);
    p.write(
        ".flowspec/flowspec.yaml",
        "server:\n  queue: {max_attempts: 1}\n",
    );
    let (mut server, addr) = start_server(&p, 1);
    assert_eq!(
        post_event(addr, r#"{"event_type":"job.done","event_id":"job-1"}"#),
        202
    );
    wait_until("the event is dead", || {
        events_with_status(&p, "dead") == ["job-1"]
    });
    crate::send_signal(server.id(), libc::SIGTERM);
    assert!(server.wait().unwrap().success());
    p
}

/// The processes that ran the hook, one line per run.
fn runs(p: &TestProject) -> Vec<String> {
    p.read("runs.txt").lines().map(str::to_owned).collect()
}

#[test]
fn should_replay_one_dead_event_then_skip_its_succeeded_hook_unless_forced() {
    let p = project_with_a_dead_event();
    p.write("fixed", "");

    let (code, out, err) = run(p.cmd().args(["events", "replay", "job-1"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(out.contains("job-1: done"), "{}", shown(&out, &err));
    assert_eq!(runs(&p).len(), 1, "the hook ran once: {:?}", runs(&p));
    assert!(runs(&p)[0].contains("events replay"), "{:?}", runs(&p));
    assert_eq!(events_with_status(&p, "done"), ["job-1"]);

    // Again: the hook already succeeded for this event id, so it is skipped.
    let (code, out, err) = run(p.cmd().args(["events", "replay", "job-1"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(out.contains("job-1: done"), "{}", shown(&out, &err));
    assert_eq!(runs(&p).len(), 1, "a succeeded hook is not run again");

    // --force runs it even so.
    let (code, out, err) = run(p.cmd().args(["events", "replay", "job-1", "--force"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert_eq!(
        runs(&p).len(),
        2,
        "--force runs the hook again: {:?}",
        runs(&p)
    );
}

#[test]
fn should_refuse_to_replay_an_unknown_event_id() {
    let p = project_with_a_dead_event();
    let (code, out, err) = run(p.cmd().args(["events", "replay", "no-such-event"]));
    assert_eq!(code, 2, "{}", shown(&out, &err));
    assert!(err.contains("no-such-event"), "{}", shown(&out, &err));
    assert!(runs(&p).is_empty());
}

#[test]
fn should_only_mark_the_event_pending_with_enqueue_only_for_a_running_server() {
    let p = project_with_a_dead_event();
    p.write("fixed", "");
    let (mut server, _) = start_server(&p, 1);

    let (code, out, err) =
        run(p
            .cmd()
            .args(["events", "replay", "job-1", "--enqueue-only", "--json"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["enqueued"], serde_json::json!(["job-1"]));

    wait_until("the event is done", || {
        events_with_status(&p, "done") == ["job-1"]
    });
    crate::send_signal(server.id(), libc::SIGTERM);
    assert!(server.wait().unwrap().success());
    let runs = runs(&p);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(
        runs[0].contains("serve") && !runs[0].contains("events replay"),
        "the running server ran the hook, not the command: {runs:?}"
    );
}
