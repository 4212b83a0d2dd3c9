use crate::{TestProject, run, shown};

#[test]
fn should_never_execute_event_values() {
    let p = TestProject::new(
        r#"
hooks:
  - name: echo-fields
    events: [a.b]
    command: |
      echo "feature: $FLOWSPEC_FEATURE"
      cat
"#,
    );
    let (code, out, err) = run(p.cmd().args([
        "emit",
        "a.b",
        "--feature",
        "$(touch pwned-feature)",
        "--data",
        "title=`touch pwned-backtick`; touch pwned-semicolon",
        "--event-id",
        "$(touch pwned-id)",
    ]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    for file in [
        "pwned-feature",
        "pwned-backtick",
        "pwned-semicolon",
        "pwned-id",
    ] {
        assert!(
            !p.join(file).exists(),
            "{file} was created: an event value was executed"
        );
    }
    assert!(out.contains("feature: $(touch pwned-feature)"), "{out}");
}

#[test]
fn should_mask_secrets_on_the_terminal_in_the_audit_and_in_json() {
    let p = TestProject::new(
        r#"
secrets: [DEPLOY_TARGET]
hooks:
  - name: leaky
    events: [a.b]
    command: |
      echo "token=$API_TOKEN"
      echo "hook=$SLACK_WEBHOOK_URL" >&2
      echo "target=$TARGET"
      echo "db=$DB_PASSWORD"
      exit 1
    env:
      TARGET: ${DEPLOY_TARGET}
      DB_PASSWORD: ${FROM_DOTENV_PASSWORD}
"#,
    );
    p.write(
        ".flowspec/hooks/.env",
        "FROM_DOTENV_PASSWORD=dotenv-pa55word\n",
    );
    let (code, out, err) = run(p
        .cmd()
        .env("API_TOKEN", "ghp_verysecret123")
        .env(
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T0/B0/xyz",
        )
        .env("DEPLOY_TARGET", "https://deploy.internal/abc")
        .args(["emit", "a.b", "-v"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let audit = p.read(".flowspec/audit.log");
    for secret in [
        "ghp_verysecret123",
        "hooks.slack.com/services",
        "deploy.internal",
        "dotenv-pa55word",
    ] {
        assert!(!out.contains(secret), "secret {secret} on stdout:\n{out}");
        assert!(!err.contains(secret), "secret {secret} on stderr:\n{err}");
        assert!(
            !audit.contains(secret),
            "secret {secret} in the audit log:\n{audit}"
        );
    }
    assert!(out.contains("[leaky] token=***"), "{out}");
    assert!(out.contains("[leaky] hook=***"), "{out}");
    assert!(out.contains("[leaky] target=***"), "{out}");
    assert!(out.contains("[leaky] db=***"), "{out}");
    assert!(audit.contains("token=***"), "{audit}");

    let (_, json, _) = run(p
        .cmd()
        .env("API_TOKEN", "ghp_verysecret123")
        .env("DEPLOY_TARGET", "https://deploy.internal/abc")
        .args(["emit", "a.b", "--json"]));
    assert!(
        !json.contains("ghp_verysecret123") && json.contains("token=***"),
        "{json}"
    );
}

#[test]
fn should_report_broken_yaml_without_panicking() {
    let p = TestProject::new("hooks:\n  - name: a\n    events: [x.y\n    command: 'true'\n");
    let (code, out, err) = run(p.cmd().args(["emit", "x.y"]));
    assert_eq!(code, 3, "{}", shown(&out, &err));
    assert!(err.contains("invalid YAML"), "{err}");
    assert!(err.contains(".flowspec/hooks/hooks.yaml:4:12"), "{err}");

    for garbage in [
        "\u{0}\u{1}\u{2}",
        "hooks: [",
        ": : :",
        "hooks:\n\t- name: tab",
        "- just\n- a list\n",
        "hooks: 5",
    ] {
        p.write(".flowspec/hooks/hooks.yaml", garbage);
        let (code, out, err) = run(p.cmd().args(["emit", "x.y"]));
        assert_eq!(code, 3, "input {garbage:?}: {}", shown(&out, &err));
        assert!(err.contains("hooks.yaml"), "input {garbage:?}: {err}");
    }
}
