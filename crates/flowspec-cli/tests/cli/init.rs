use crate::{TestProject, run, shown};

#[test]
fn should_create_a_valid_starter_that_runs() {
    let p = TestProject::empty();
    let (code, out, err) = run(p.cmd().arg("init"));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(
        out.contains("created ./.flowspec/hooks/hooks.yaml"),
        "{out}"
    );

    let (code, out, err) = run(p.cmd().args(["hooks", "validate"]));
    assert_eq!(code, 0, "the starter must validate: {}", shown(&out, &err));

    for event in [
        "implement.completed",
        "validate.completed",
        "task.completed",
    ] {
        let (code, out, err) = run(p.cmd().args(["emit", event, "--feature", "auth"]));
        assert_eq!(code, 0, "{event}: {}", shown(&out, &err));
        assert!(!out.contains("failed"), "{event}: {out}");
    }
    let (_, out, _) =
        run(p
            .cmd()
            .args(["emit", "deploy.completed", "--data", "environment=staging"]));
    assert!(
        out.contains("Deployment complete: staging updated"),
        "{out}"
    );
}

#[test]
fn should_keep_existing_files() {
    let p = TestProject::new("hooks: []  # mine\n");
    let (code, out, _) = run(p.cmd().arg("init"));
    assert_eq!(code, 0);
    assert!(
        out.contains("kept    ./.flowspec/hooks/hooks.yaml (already exists)"),
        "{out}"
    );
    assert_eq!(p.read(".flowspec/hooks/hooks.yaml"), "hooks: []  # mine\n");
}

#[test]
fn should_print_completions_and_version() {
    let p = TestProject::empty();
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, _) = run(p.cmd().args(["completions", shell]));
        assert_eq!(code, 0);
        assert!(out.contains("emit"), "{shell}");
    }
    let (code, out, _) = run(p.cmd().arg("--version"));
    assert_eq!(code, 0);
    assert!(out.starts_with("flowspec "), "{out}");
}
