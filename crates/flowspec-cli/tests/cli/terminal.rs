//! Colors (`--color`, NO_COLOR, CLICOLOR_FORCE), tables fitted to the width, and a
//! project whose path needs escaping in a URL.

use crate::{TestProject, run, shown};

const BOLD: &str = "\x1b[1m";

fn project() -> TestProject {
    TestProject::new(
        "hooks:\n  - name: announce-the-deployment-to-everyone\n    events: [deploy.completed]\n    command: echo a rather long command line that needs room to be shown in full\n",
    )
}

#[test]
fn should_color_piped_output_only_when_asked() {
    let p = project();
    // The harness sets NO_COLOR=1; stdout is a pipe.
    let (code, out, err) = run(p.cmd().args(["hooks", "list"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(!out.contains('\x1b'), "no colors by default: {out:?}");

    let (_, out, _) = run(p.cmd().args(["hooks", "list", "--color", "always"]));
    assert!(
        out.starts_with(BOLD),
        "--color always beats NO_COLOR: {out:?}"
    );

    let (_, out, _) = run(p
        .cmd()
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .args(["hooks", "list"]));
    assert!(
        out.starts_with(BOLD),
        "CLICOLOR_FORCE colors a pipe: {out:?}"
    );

    let (_, out, _) = run(p.cmd().env("CLICOLOR_FORCE", "1").args(["hooks", "list"]));
    assert!(
        !out.contains('\x1b'),
        "NO_COLOR beats CLICOLOR_FORCE: {out:?}"
    );

    for never in [&["--color", "never"][..], &["--no-color"]] {
        let (_, out, _) = run(p
            .cmd()
            .env_remove("NO_COLOR")
            .env("CLICOLOR_FORCE", "1")
            .args(["hooks", "list"])
            .args(never));
        assert!(!out.contains('\x1b'), "{never:?}: {out:?}");
    }

    let (code, _, err) = run(p.cmd().args(["hooks", "list", "--color", "sometimes"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("auto, always, never"), "{err}");
}

#[test]
fn should_fit_tables_to_columns_when_piped() {
    let p = project();
    let (code, out, err) = run(p.cmd().args(["hooks", "list"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(
        out.lines().any(|l| l.chars().count() > 60),
        "without COLUMNS a pipe gets whole lines: {out}"
    );
    let (code, out, err) = run(p.cmd().env("COLUMNS", "60").args(["hooks", "list"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(
        out.lines().all(|l| l.chars().count() <= 60),
        "COLUMNS=60 fits the table in 60 columns: {out}"
    );
    assert!(out.starts_with("NAME"), "{out}");
    assert!(out.contains("announce"), "{out}");
}

#[test]
fn should_keep_state_under_a_directory_named_with_non_ascii_letters_and_url_characters() {
    let root = TestProject::empty();
    let dir = root.join("prüf a#b?c%41");
    std::fs::create_dir_all(dir.join(".flowspec/hooks")).unwrap();
    std::fs::write(
        dir.join(".flowspec/hooks/hooks.yaml"),
        "hooks:\n  - name: hello\n    events: [deploy.completed]\n    command: echo hello\n",
    )
    .unwrap();
    let emit = |root: &TestProject| {
        let mut cmd = root.cmd();
        cmd.current_dir(&dir)
            .args(["emit", "deploy.completed", "--event-id", "e-1"]);
        run(&mut cmd)
    };
    let (code, out, err) = emit(&root);
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(
        dir.join(".flowspec/state/flowspec.db").is_file(),
        "the store is where the project is: {}",
        shown(&out, &err)
    );
    let names: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["prüf a#b?c%41"], "no second, misspelt directory");
    // The same store again: the hook already succeeded for this event id.
    let (code, out, err) = emit(&root);
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(
        out.contains("already succeeded for this event id"),
        "{}",
        shown(&out, &err)
    );
}
