use crate::{TestProject, run, shown};

#[test]
fn should_write_one_audit_line_per_hook_with_the_documented_fields() {
    let p = TestProject::new("hooks:\n  - name: ok\n    events: [a.b]\n    command: echo done\n");
    let (code, out, err) =
        run(p
            .cmd()
            .args(["emit", "a.b", "--feature", "auth", "--event-id", "e1"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let audit = p.audit();
    assert_eq!(audit.len(), 1);
    let r = &audit[0];
    for field in [
        "timestamp",
        "event_id",
        "event_type",
        "hook_name",
        "status",
        "exit_code",
        "duration_ms",
        "output",
    ] {
        assert!(r.get(field).is_some(), "missing {field} in {r}");
    }
    assert_eq!(r["event_id"], "e1");
    assert_eq!(r["status"], "success");
    assert_eq!(r["exit_code"], 0);
    assert_eq!(r["output"], "done\n");
    assert_eq!(r["feature"], "auth");
}

#[test]
fn should_filter_the_audit_log() {
    let p = TestProject::new(
        "hooks:\n  - name: good\n    events: [a.b]\n    command: 'true'\n  - name: bad\n    events: [a.b]\n    command: exit 1\n",
    );
    run(p.cmd().args(["emit", "a.b", "--event-id", "first"]));
    run(p.cmd().args(["emit", "a.b", "--event-id", "second"]));
    // A damaged line must not hide the others.
    let mut log = p.read(".flowspec/audit.log");
    log.push_str("{not json\n");
    p.write(".flowspec/audit.log", &log);

    let json = |args: &[&str]| -> Vec<serde_json::Value> {
        let (code, out, err) = run(p.cmd().arg("audit").args(args).arg("--json"));
        assert_eq!(code, 0, "{}", shown(&out, &err));
        serde_json::from_str(&out).unwrap()
    };
    assert_eq!(json(&[]).len(), 4);
    assert_eq!(json(&["--status", "failed"]).len(), 2);
    assert_eq!(json(&["--hook", "good", "--event-id", "second"]).len(), 1);
    assert_eq!(json(&["--since", "1h"]).len(), 4);
    assert_eq!(json(&["--since", "2099-01-01T00:00:00Z"]).len(), 0);
    assert_eq!(json(&["--limit", "1"])[0]["event_id"], "second");

    let (code, out, err) = run(p.cmd().args(["audit", "--status", "failed"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("HOOK") && out.contains("bad") && !out.contains("good"),
        "{out}"
    );
    assert!(err.contains("1 damaged line"), "{err}");
    let (code, _, err) = run(p.cmd().args(["audit", "--since", "yesterday-ish"]));
    assert_eq!(code, 2);
    assert!(err.contains("30m"), "{err}");
}

#[test]
fn should_read_the_audit_log_even_when_hooks_yaml_is_broken() {
    let p = TestProject::new("hooks:\n  - name: ok\n    events: [a.b]\n    command: 'true'\n");
    run(p.cmd().args(["emit", "a.b"]));
    p.write(".flowspec/hooks/hooks.yaml", "hooks: [");
    let (code, out, _) = run(p.cmd().args(["audit", "--json"]));
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Vec<serde_json::Value>>(&out)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn should_honour_a_configured_audit_path() {
    let p = TestProject::new("hooks:\n  - name: ok\n    events: [a.b]\n    command: 'true'\n");
    p.write(
        ".flowspec/flowspec.yaml",
        "audit:\n  path: logs/flowspec-audit.jsonl\n",
    );
    run(p.cmd().args(["emit", "a.b"]));
    assert!(
        p.read("logs/flowspec-audit.jsonl")
            .contains("\"hook_name\":\"ok\"")
    );
    let (_, out, _) = run(p.cmd().args(["audit", "--json"]));
    assert_eq!(
        serde_json::from_str::<Vec<serde_json::Value>>(&out)
            .unwrap()
            .len(),
        1
    );
}
