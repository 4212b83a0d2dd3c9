//! `flowspec::init`.

#[tokio::test]
async fn should_write_a_starter_that_opens_and_keep_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    crate::write(dir.path(), ".flowspec/hooks/env.example", "MINE=1\n");
    let done = flowspec::init::create(dir.path()).unwrap();
    assert_eq!(
        done.created.len() + done.kept.len(),
        flowspec::init::STARTER_FILES.len()
    );
    assert_eq!(done.kept, [dir.path().join(".flowspec/hooks/env.example")]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".flowspec/hooks/env.example")).unwrap(),
        "MINE=1\n",
        "never overwritten"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join(".flowspec/hooks/quality-gate.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "scripts are executable");
    let project = flowspec::Project::discover(dir.path()).unwrap();
    let engine = project.validate().await.unwrap();
    assert!(!engine.hooks().is_empty());
    let again = flowspec::init::create(dir.path()).unwrap();
    assert!(again.created.is_empty(), "a second run writes nothing");
}
