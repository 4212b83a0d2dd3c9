//! `flowspec emit` refuses an event whose fields cannot reach a hook's environment (a
//! NUL byte anywhere, `=` in a field name) with a clear error naming the field, and no
//! hook runs for it.

use crate::{TestProject, run, shown};

const HOOKS: &str = r#"
hooks:
  - name: capture
    events: [deploy.completed]
    command: cat > ran.json
"#;

#[test]
fn should_refuse_to_emit_fields_that_cannot_reach_a_hooks_environment() {
    let p = TestProject::new(HOOKS);
    p.write(
        "nested.json",
        r#"{"event_type":"deploy.completed","env":{"tags":["ok","n\u0000"]}}"#,
    );
    p.write(
        "equals.json",
        r#"{"event_type":"deploy.completed","LD_PRELOAD=/tmp/x.so":"1"}"#,
    );
    let cases: [(&[&str], Option<&str>, &str); 4] = [
        (
            &["emit", "deploy.completed", "--data", r#"note:="a\u0000b""#],
            None,
            "`note`: it contains a NUL byte",
        ),
        (
            &["emit", "--payload", "-"],
            Some(r#"{"event_type":"deploy.completed","feature":"auth\u0000"}"#),
            "`feature`: it contains a NUL byte",
        ),
        (
            &["emit", "--payload", "nested.json"],
            None,
            "`env.tags.1`: it contains a NUL byte",
        ),
        (
            &["emit", "--payload", "equals.json"],
            None,
            "`LD_PRELOAD=/tmp/x.so`: its name contains `=`",
        ),
    ];
    for (args, stdin, expected) in cases {
        let mut cmd = p.cmd();
        cmd.args(args);
        if let Some(stdin) = stdin {
            cmd.write_stdin(stdin);
        }
        let (code, out, err) = run(&mut cmd);
        assert_eq!(code, 2, "{args:?}\n{}", shown(&out, &err));
        assert!(
            err.contains(expected) && err.contains("environment variable"),
            "{args:?}: expected `{expected}` in\n{}",
            shown(&out, &err)
        );
    }
    assert!(
        !p.join("ran.json").exists(),
        "a hook ran for a refused event"
    );
    assert!(p.audit().is_empty(), "{:?}", p.audit());

    // The same event without the bad byte goes through.
    let (code, out, err) =
        run(p
            .cmd()
            .args(["emit", "deploy.completed", "--data", r#"note:="a b""#]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(p.join("ran.json").exists());
}
