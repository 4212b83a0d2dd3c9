//! The facade opens a project the same way for every use.

use std::sync::Arc;

use flowspec::{Error, ErrorKind, Event, Project, SilentReporter};

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn should_find_a_project_with_only_flowspec_yaml_walking_up() {
    let dir = dir_with(&[(".flowspec/flowspec.yaml", "audit:\n  enabled: true\n")]);
    std::fs::create_dir_all(dir.path().join("src/deep")).unwrap();
    let project = Project::discover(&dir.path().join("src/deep")).unwrap();
    assert_eq!(project.root(), dir.path().canonicalize().unwrap());
    assert!(!project.has_hooks());
    let err = project.require_hooks().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("flowspec init"), "{err}");
}

#[test]
fn should_say_how_to_start_when_no_project_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let err = Project::discover(dir.path()).unwrap_err();
    assert!(matches!(err, Error::NoProject { .. }));
    assert_eq!(err.kind(), ErrorKind::Config);
    let missing = dir.path().join("nope.yaml");
    let err = Project::open(dir.path(), Some(&missing)).unwrap_err();
    assert!(err.to_string().contains("nope.yaml"), "{err}");
}

#[tokio::test]
async fn should_emit_nothing_and_open_no_audit_log_in_a_project_without_hooks() {
    let dir = dir_with(&[(".flowspec/flowspec.yaml", "audit:\n  enabled: true\n")]);
    let project = Project::discover(dir.path()).unwrap();
    let engine = project.engine(Arc::new(SilentReporter)).await.unwrap();
    assert!(engine.hooks().is_empty());
    let report = engine
        .emit(Event::builder("implement.completed").build().unwrap())
        .await
        .unwrap();
    assert!(report.hooks.is_empty());
}

#[tokio::test]
async fn should_run_hooks_and_share_one_store() {
    let dir = dir_with(&[(
        ".flowspec/hooks/hooks.yaml",
        "hooks:\n  - name: ok\n    events: [{type: x.y}]\n    command: \"true\"\n",
    )]);
    let project = Project::discover(dir.path()).unwrap();
    let engine = project.engine(Arc::new(SilentReporter)).await.unwrap();
    let event = Event::builder("x.y").id("e-1").build().unwrap();
    let first = engine.emit(event.clone()).await.unwrap();
    assert_eq!(first.hooks.len(), 1);
    // The queue, the results and the engine use the same store: one claim per event.
    let runs = project
        .store()
        .await
        .unwrap()
        .hook_runs("e-1")
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert!(project.results().await.is_ok());
}

#[test]
fn should_mask_the_variables_flowspec_yaml_reads_secrets_from() {
    // SAFETY: this test binary's tests do not read CHAT_PAT otherwise.
    unsafe { std::env::set_var("CHAT_PAT", "pat-value-1234567") };
    let dir = dir_with(&[(
        ".flowspec/flowspec.yaml",
        "ci:\n  provider: github\n  config:\n    repo: o/r\n    token: ${CHAT_PAT}\n",
    )]);
    let project = Project::discover(dir.path()).unwrap();
    assert_eq!(project.masker().mask("x pat-value-1234567 y"), "x *** y");
}

#[test]
fn should_explain_a_missing_ci_section() {
    let dir = dir_with(&[(".flowspec/flowspec.yaml", "audit:\n  enabled: true\n")]);
    let project = Project::discover(dir.path()).unwrap();
    let err = project.ci(None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("no `ci:` section"), "{err}");
}
