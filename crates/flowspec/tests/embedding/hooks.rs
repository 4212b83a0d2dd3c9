//! `flowspec::hooks` and `flowspec::event_input` on a project's engine.

use std::sync::Arc;

use flowspec::hooks::{self, HookSummary};
use flowspec::{ErrorKind, Project, SilentReporter};

const HOOKS: &str = "hooks:
  - name: deploy-staging
    events:
      - type: deploy.completed
        filter: {environment: [staging, qa]}
    command: \"true\"
  - name: everything
    events: [\"*\"]
    command: \"true\"
    parallel: true
";

#[tokio::test]
async fn should_select_summarise_and_sample_hooks() {
    let dir = crate::dir_with(&[(".flowspec/hooks/hooks.yaml", HOOKS)]);
    let project = Project::discover(dir.path()).unwrap();
    let engine = project
        .engine_without_state(Arc::new(SilentReporter))
        .await
        .unwrap();
    let names = |t: Option<&str>| -> Vec<String> {
        hooks::selected(&engine, t)
            .unwrap()
            .iter()
            .map(|h| h.name().to_owned())
            .collect()
    };
    assert_eq!(
        names(Some("deploy.completed")),
        ["deploy-staging", "everything"]
    );
    assert_eq!(names(Some("task.completed")), ["everything"]);
    assert_eq!(
        hooks::selected(&engine, Some("Not A Type"))
            .unwrap_err()
            .kind(),
        ErrorKind::Usage
    );

    let summary = HookSummary::of(hooks::find(&engine, "deploy-staging").unwrap());
    assert_eq!(
        summary.events[0].to_string(),
        "deploy.completed [environment=staging|qa]"
    );
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["events"][0]["type"], "deploy.completed");
    assert_eq!(json["fail_mode"], "continue");

    let err = hooks::find(&engine, "deploy-stagign").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(
        err.to_string().contains("deploy-staging"),
        "a suggestion: {err}"
    );
    let deploy = engine.hook("deploy-staging").unwrap();
    assert_eq!(
        hooks::sample_event_type(deploy).unwrap(),
        "deploy.completed"
    );
    let err = hooks::sample_event_type(engine.hook("everything").unwrap()).unwrap_err();
    assert!(err.to_string().contains("--event"), "{err}");
}

#[tokio::test]
async fn should_list_every_problem_of_an_invalid_configuration_as_records() {
    let dir = crate::dir_with(&[(
        ".flowspec/hooks/hooks.yaml",
        "hooks:\n  - name: a\n    events: [x.y]\n    command: \"true\"\n    timeout: soon\n  - name: b\n    events: [x.y]\n",
    )]);
    let project = Project::discover(dir.path()).unwrap();
    let flowspec::Error::Config(errors) = project.validate().await.unwrap_err() else {
        panic!("a config error")
    };
    let problems = hooks::problems(&errors);
    assert!(problems.len() >= 2, "{problems:#?}");
    assert!(
        problems
            .iter()
            .all(|p| p.file.as_deref().is_some_and(|f| f.ends_with("hooks.yaml")))
    );
    assert!(
        problems.iter().any(|p| p.path.contains("timeout")),
        "{problems:#?}"
    );
}
