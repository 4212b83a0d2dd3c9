use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::action::builtin_factories;
use crate::config::ConfigErrorKind;
use crate::event::Event;
use crate::spec::FailMode;

struct Fixture {
    dir: tempfile::TempDir,
    vars: Vars,
    handlers: HashMap<String, Arc<dyn Action>>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let hooks = dir.path().join(".flowspec/hooks");
        std::fs::create_dir_all(&hooks).unwrap();
        for script in [
            "trigger-ci.sh",
            "quality-gate.sh",
            "run-local-tests.sh",
            "deploy-staging.sh",
        ] {
            let path = hooks.join(script);
            std::fs::write(&path, "#!/bin/sh\ncat >/dev/null\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Fixture {
            dir,
            vars: Vars::from_pairs([
                ("GITHUB_FLOWSPEC", "ghp_secretvalue"),
                ("DEPLOY_WEBHOOK_URL", "https://deploy.example.com/h"),
            ]),
            handlers: HashMap::new(),
        }
    }

    fn load(&self, yaml: &str) -> Result<HooksFile, ConfigErrors> {
        let factories = builtin_factories();
        let options = LoadOptions {
            project_root: self.dir.path(),
            vars: &self.vars,
            factories: &factories,
            handlers: &self.handlers,
        };
        load_str(Path::new(".flowspec/hooks/hooks.yaml"), yaml, &options)
    }

    fn errors(&self, yaml: &str) -> String {
        self.load(yaml).unwrap_err().render(false)
    }
}

#[test]
fn should_load_every_documented_example_as_written() {
    let fx = Fixture::new();
    let yaml = r#"
hooks:
  - name: "trigger-ci-tests"
    description: "Trigger GitHub Actions integration tests after implementation"
    events:
      - type: "implement.completed"
    script: ".flowspec/hooks/trigger-ci.sh"
    timeout: 30
    env:
      GITHUB_TOKEN: "${GITHUB_FLOWSPEC}"
      WORKFLOW_FILE: "integration-tests.yml"

  - name: "deployment-notification"
    description: "Notify when staging deployment completes"
    events:
      - type: "deploy.completed"
        filter:
          environment: "staging"
    command: |
      notify-send "Deployment Complete" "Staging environment updated"

  - name: "quality-gate"
    description: "Enforce quality gates before PR creation"
    events:
      - type: "validate.completed"
    script: ".flowspec/hooks/quality-gate.sh"
    timeout: 600  # 10 minutes for full quality suite
    fail_mode: "stop"  # Block workflow if quality gate fails

  - name: "trigger-deployment"
    description: "Trigger deployment pipeline after validation"
    events:
      - type: "validate.completed"
    script: ".flowspec/hooks/deploy-staging.sh"
    timeout: 30
    env:
      DEPLOY_WEBHOOK_URL: "${DEPLOY_WEBHOOK_URL}"
      ENVIRONMENT: "staging"

  - name: "trigger-tests"
    events:
      - type: "implement.completed"
    script: ".flowspec/hooks/run-local-tests.sh"
    parallel: true  # v2 feature
"#;
    let file = fx.load(yaml).unwrap();
    let names: Vec<&str> = file.hooks.iter().map(HookSpec::name).collect();
    assert_eq!(
        names,
        [
            "trigger-ci-tests",
            "deployment-notification",
            "quality-gate",
            "trigger-deployment",
            "trigger-tests"
        ]
    );
    let ci = &file.hooks[0];
    assert_eq!(ci.timeout(), Duration::from_secs(30));
    assert!(
        ci.env()[0].1.is_secret(),
        "GITHUB_TOKEN must be held as a secret"
    );
    assert_eq!(ci.env()[0].1.expose(), "ghp_secretvalue");
    assert!(!ci.env()[1].1.is_secret());
    assert!(
        !format!("{ci:?}").contains("ghp_secretvalue"),
        "Debug must not show secrets"
    );
    assert_eq!(file.hooks[2].fail_mode(), FailMode::Stop);
    assert!(
        file.hooks[3].env()[0].1.is_secret(),
        "*WEBHOOK_URL* is secret"
    );

    let staging =
        Event::from_json(json!({"event_type": "deploy.completed", "environment": "staging"}))
            .unwrap();
    let prod =
        Event::from_json(json!({"event_type": "deploy.completed", "environment": "production"}))
            .unwrap();
    assert!(file.hooks[1].matches(&staging));
    assert!(!file.hooks[1].matches(&prod));
}

#[test]
fn should_accept_shorthand_events_wildcards_and_any_of_filters() {
    let fx = Fixture::new();
    let file = fx
        .load(
            "hooks:\n  - name: all-done\n    events: [\"*.completed\", \"deploy.*\"]\n    command: 'true'\n  - name: envs\n    events:\n      - type: deploy.completed\n        filter:\n          environment: [staging, qa]\n          repo.name: flowspec\n    command: 'true'\n",
        )
        .unwrap();
    let hook = &file.hooks[1];
    let qa = Event::from_json(json!({"event_type": "deploy.completed", "environment": "qa", "repo": {"name": "flowspec"}})).unwrap();
    assert!(hook.matches(&qa));
    assert!(file.hooks[0].matches(&qa));
}

#[test]
fn should_report_every_error_at_once_with_locations() {
    let fx = Fixture::new();
    let yaml = "\
hooks:
  - name: quality-gate
    events:
      - type: validate.completed
    script: .flowspec/hooks/quality-gate.sh
    fail_mod: stop
    timout: 10
  - name: quality-gate
    events:
      - type: validate.completed
    command: make lint
  - name: both
    events: [a.b]
    script: .flowspec/hooks/quality-gate.sh
    command: make
  - name: neither
    events: [a.b]
  - name: missing-script
    events: [a.b]
    script: .flowspec/hooks/nope.sh
  - name: unset-var
    events: [a.b]
    command: deploy
    env:
      API_TOKEN: ${NOT_SET_ANYWHERE}
  - name: bad-values
    events:
      - type: deploy..completed
    command: x
    timeout: -5
    fail_mode: halt
    parallel: maybe
";
    let errors = fx.load(yaml).unwrap_err();
    let kinds: Vec<ConfigErrorKind> = errors.iter().map(|e| e.kind()).collect();
    assert_eq!(errors.len(), 11, "{}", errors.render(false));
    assert!(kinds.contains(&ConfigErrorKind::Duplicate));
    assert!(kinds.contains(&ConfigErrorKind::MissingFile));
    assert!(kinds.contains(&ConfigErrorKind::UnsetVariable));
    insta::with_settings!({filters => vec![(r"/tmp/[^/]+/", "[PROJECT]/")]}, {
        insta::assert_snapshot!("every_error_at_once", errors.render(false));
    });
}

#[test]
fn should_suggest_the_field_for_a_typo() {
    let fx = Fixture::new();
    let errors = fx
        .load("hooks:\n  - name: a\n    events: [x.y]\n    command: 'true'\n    fail_mod: stop\n")
        .unwrap_err();
    let e = errors.iter().next().unwrap();
    assert_eq!(e.kind(), ConfigErrorKind::UnknownField);
    assert_eq!(e.line_column(), Some((5, 5)));
    assert_eq!(e.key_path(), "hooks[0].fail_mod");
    assert_eq!(e.hint_text(), Some("did you mean `fail_mode`?"));
    insta::assert_snapshot!("typo_suggestion", errors.render(false));
}

#[test]
fn should_render_broken_yaml_as_an_error_with_its_line() {
    let fx = Fixture::new();
    let rendered = fx.errors("hooks:\n  - name: a\n    events: [x.y\n    command: 'true'\n");
    assert!(rendered.contains("invalid YAML"), "{rendered}");
    insta::assert_snapshot!("broken_yaml", rendered);
}

#[test]
fn should_refuse_duplicate_keys_on_their_line() {
    let fx = Fixture::new();
    let errors = fx
        .load("hooks:\n  - name: a\n    events: [x.y]\n    command: 'true'\n    command: 'false'\n")
        .unwrap_err();
    assert_eq!(
        errors.iter().next().unwrap().line_column().map(|(l, _)| l),
        Some(5)
    );
}

#[test]
fn should_refuse_non_executable_scripts_with_a_chmod_hint() {
    let fx = Fixture::new();
    let path = fx.dir.path().join(".flowspec/hooks/plain.sh");
    std::fs::write(&path, "#!/bin/sh\n").unwrap();
    let errors = fx
        .load("hooks:\n  - name: a\n    events: [x.y]\n    script: .flowspec/hooks/plain.sh\n")
        .unwrap_err();
    assert_eq!(
        errors.iter().next().unwrap().hint_text(),
        Some("run `chmod +x .flowspec/hooks/plain.sh`")
    );
}

#[test]
fn should_not_require_variables_of_disabled_hooks() {
    let fx = Fixture::new();
    let file = fx
        .load("hooks:\n  - name: a\n    enabled: false\n    events: [x.y]\n    command: deploy\n    env:\n      TOKEN: ${NOT_SET}\n")
        .unwrap();
    assert!(!file.hooks[0].enabled());
}

#[test]
fn should_mark_declared_secrets() {
    let fx = Fixture::new();
    let file = fx
        .load("secrets: [PLAIN_LOOKING]\nhooks:\n  - name: a\n    events: [x.y]\n    command: deploy\n    env:\n      TARGET: ${PLAIN_LOOKING:-https://example.com/hook}\n")
        .unwrap();
    assert!(file.hooks[0].env()[0].1.is_secret());
    assert_eq!(file.secret_vars, ["PLAIN_LOOKING"]);
}

#[test]
fn should_refuse_unknown_handlers_with_help() {
    let fx = Fixture::new();
    let errors = fx
        .load("hooks:\n  - name: a\n    events: [x.y]\n    action: record\n")
        .unwrap_err();
    assert!(
        errors
            .iter()
            .next()
            .unwrap()
            .hint_text()
            .unwrap()
            .contains("EngineBuilder::handler")
    );
}

#[test]
fn should_accept_an_empty_hooks_list_but_not_a_missing_one() {
    let fx = Fixture::new();
    assert!(fx.load("hooks: []\n").unwrap().hooks.is_empty());
    assert!(fx.load("hooks:\n").unwrap().hooks.is_empty());
    let errors = fx.load("hook: []\n").unwrap_err();
    let hints: Vec<_> = errors.iter().filter_map(|e| e.hint_text()).collect();
    assert!(hints.contains(&"did you mean `hooks`?"), "{hints:?}");
}

#[test]
fn should_read_concurrency_limits() {
    let fx = Fixture::new();
    let file = fx
        .load("hooks:\n  - name: deploy\n    events: [deploy.requested]\n    command: deploy\n    concurrency_key: environment\n  - name: lint\n    events: [a.b]\n    command: lint\n    max_concurrent: 2\n")
        .unwrap();
    assert_eq!(
        file.hooks[0].concurrency(),
        Some(&crate::spec::Concurrency {
            max: 1,
            key: Some("environment".into())
        })
    );
    assert_eq!(
        file.hooks[1].concurrency(),
        Some(&crate::spec::Concurrency { max: 2, key: None })
    );
    let errors = fx
        .load("hooks:\n  - name: a\n    events: [a.b]\n    command: x\n    max_concurrent: 0\n")
        .unwrap_err();
    assert_eq!(
        errors.iter().next().unwrap().key_path(),
        "hooks[0].max_concurrent"
    );
}

#[test]
fn should_read_a_timeout_in_seconds_or_with_units() {
    let fx = Fixture::new();
    for (written, secs) in [
        ("600", 600),
        ("10m", 600),
        ("1h30m", 5400),
        ("\"45\"", 45),
        ("1.5", 1),
    ] {
        let yaml = format!(
            "hooks:\n  - name: a\n    events: [x.y]\n    command: 'true'\n    timeout: {written}\n"
        );
        let file = fx
            .load(&yaml)
            .unwrap_or_else(|e| panic!("{written}: {}", e.render(false)));
        assert_eq!(file.hooks[0].timeout().as_secs(), secs, "{written}");
    }
}

#[test]
fn should_locate_a_timeout_that_is_not_a_duration() {
    let fx = Fixture::new();
    let errors = fx
        .load("hooks:\n  - name: a\n    events: [x.y]\n    command: 'true'\n    timeout: soon\n")
        .unwrap_err();
    let e = errors.iter().next().unwrap();
    assert_eq!(e.kind(), ConfigErrorKind::InvalidValue);
    assert_eq!(e.line_column().map(|(line, _)| line), Some(5));
    assert!(e.message().contains("`soon` is not a duration"), "{e}");
    assert!(e.message().contains("`10m`"), "{e}");
    let long = fx
        .load("hooks:\n  - name: a\n    events: [x.y]\n    command: 'true'\n    timeout: 8days\n")
        .unwrap_err();
    assert!(long.to_string().contains("one week"), "{long}");
}
