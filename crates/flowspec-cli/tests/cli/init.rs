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
fn should_print_the_version() {
    let p = TestProject::empty();
    let (code, out, _) = run(p.cmd().arg("--version"));
    assert_eq!(code, 0);
    assert!(out.starts_with("flowspec "), "{out}");
}

#[test]
fn should_write_a_man_page_for_every_command_that_man_can_render() {
    let p = TestProject::empty();
    let (code, out, err) = run(p.cmd().args(["man", "--output", "man", "--json"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let written: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let pages: Vec<&str> = written["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .map(|page| page.as_str().expect("a name"))
        .collect();
    for page in [
        "flowspec.1",
        "flowspec-emit.1",
        "flowspec-ci-trigger.1",
        "flowspec-pr-merge.1",
    ] {
        assert!(pages.contains(&page), "{page} missing from {pages:?}");
    }
    assert!(
        !pages.iter().any(|page| page.contains("-help")),
        "no pages for clap's help pseudo-command: {pages:?}"
    );

    // The page says what --help says, in roff that groff renders without warnings.
    let page = p.read("man/flowspec-ci-trigger.1");
    assert!(
        page.contains(".TH flowspec-ci-trigger 1"),
        "not a roff man page: {page}"
    );
    assert!(page.contains("workflow"), "{page}");
    let rendered = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(p.path().join("man/flowspec-ci-trigger.1"))
        .output()
        .expect("groff runs (Debian: apt-get install groff-base)");
    assert!(rendered.status.success(), "groff failed");
    assert!(
        rendered.stderr.is_empty(),
        "groff warned: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
}
