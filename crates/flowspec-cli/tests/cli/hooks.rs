use crate::{TestProject, run, shown};

const MANY_MISTAKES: &str = "\
hooks:
  - name: gate
    events:
      - type: validate.completed
    command: make check
    fail_mod: stop
  - name: gate
    events: [x.y]
    script: missing.sh
  - name: deploy
    events: [deploy..completed]
    command: deploy
    env:
      TOKEN: ${UNSET_FOR_TEST}
";

#[test]
fn should_validate_and_report_every_problem_at_once() {
    let p = TestProject::new(MANY_MISTAKES);
    let (code, out, err) = run(p
        .cmd()
        .args(["hooks", "validate"])
        .env_remove("UNSET_FOR_TEST"));
    assert_eq!(code, 3, "{}", shown(&out, &err));
    insta::with_settings!({filters => vec![(r"/tmp/[^/ ]+/", "[PROJECT]/")]}, {
        insta::assert_snapshot!("validate_many_mistakes", err);
    });
}

#[test]
fn should_validate_as_json_for_scripts() {
    let p = TestProject::new(MANY_MISTAKES);
    let (code, out, _) = run(p
        .cmd()
        .args(["hooks", "validate", "--json"])
        .env_remove("UNSET_FOR_TEST"));
    assert_eq!(code, 3);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], false);
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 5);
    assert_eq!(errors[0]["line"], 6);
    assert_eq!(errors[0]["column"], 5);
    assert_eq!(errors[0]["path"], "hooks[0].fail_mod");
    assert_eq!(errors[0]["hint"], "did you mean `fail_mode`?");
    assert_eq!(errors[0]["file"], ".flowspec/hooks/hooks.yaml");
}

#[test]
fn should_refuse_unknown_flowspec_yaml_sections() {
    let p = TestProject::new("hooks: []\n");
    p.write(
        ".flowspec/flowspec.yaml",
        "audit:\n  enabled: true\naudti: {}\n",
    );
    let (code, _, err) = run(p.cmd().args(["hooks", "validate"]));
    assert_eq!(code, 3);
    assert!(
        err.contains("unknown section `audti`") && err.contains("did you mean `audit`?"),
        "{err}"
    );
}

#[test]
fn should_list_hooks_as_table_and_json() {
    let p = TestProject::new(
        "hooks:\n  - name: deploy-note\n    events:\n      - type: deploy.completed\n        filter: {environment: [staging, qa]}\n    command: echo hi\n    parallel: true\n  - name: off\n    enabled: false\n    events: [a.b]\n    command: 'true'\n",
    );
    let (code, out, _) = run(p.cmd().args(["hooks", "list"]));
    assert_eq!(code, 0);
    insta::assert_snapshot!("list_table", out);
    let (_, out, _) = run(p
        .cmd()
        .args(["hooks", "list", "--event", "deploy.completed", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["name"], "deploy-note");
    assert_eq!(
        v[0]["events"][0]["filter"]["environment"],
        serde_json::json!(["staging", "qa"])
    );
}

#[test]
fn should_test_one_hook_with_a_sample_event() {
    let p = TestProject::new(
        "hooks:\n  - name: greet\n    events: [implement.completed]\n    command: 'echo \"testing $FLOWSPEC_EVENT_TYPE $FLOWSPEC_FEATURE\"'\n  - name: broken\n    events: [\"*.failed\"]\n    command: exit 2\n",
    );
    let (code, out, err) = run(p
        .cmd()
        .args(["hooks", "test", "greet", "--feature", "auth"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(
        out.contains("[greet] testing implement.completed auth"),
        "{out}"
    );
    assert_eq!(p.audit()[0]["test"], true);

    let (code, _, err) = run(p.cmd().args(["hooks", "test", "broken"]));
    assert_eq!(code, 2);
    assert!(err.contains("--event"), "{err}");
    let (code, ..) = run(p
        .cmd()
        .args(["hooks", "test", "broken", "--event", "build.failed"]));
    assert_eq!(code, 5);
    let (code, _, err) = run(p.cmd().args(["hooks", "test", "gret"]));
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `greet`?"), "{err}");
}

#[test]
fn should_validate_the_server_section_too() {
    let p = TestProject::new("hooks: []\n");
    p.write(
        ".flowspec/flowspec.yaml",
        "server:\n  bnd: 0.0.0.0:80\n  workers: 2\n",
    );
    let (code, _, err) = run(p.cmd().args(["hooks", "validate"]));
    assert_eq!(code, 3);
    assert!(
        err.contains("unknown field `bnd`") && err.contains("did you mean `bind`?"),
        "{err}"
    );
    assert!(err.contains(".flowspec/flowspec.yaml:2:3"), "{err}");
}
