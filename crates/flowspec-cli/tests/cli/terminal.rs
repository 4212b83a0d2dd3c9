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

/// `hooks list` in the test project, with `env` set and removed as given.
fn colored(set: &[(&str, &str)], args: &[&str]) -> bool {
    let p = project();
    let mut cmd = p.cmd();
    cmd.env_remove("NO_COLOR");
    for (name, value) in set {
        cmd.env(name, value);
    }
    let (code, out, err) = run(cmd.args(args).args(["hooks", "list"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    out.contains('\x1b')
}

#[test]
fn should_read_no_color_and_clicolor_force_as_documented() {
    // A pipe: colours only when forced.
    assert!(!colored(&[], &[]));
    assert!(colored(&[("CLICOLOR_FORCE", "1")], &[]));
    assert!(colored(&[("CLICOLOR_FORCE", "yes")], &[]));
    assert!(
        !colored(&[("CLICOLOR_FORCE", "0")], &[]),
        "`0` does not force"
    );
    assert!(
        !colored(&[("CLICOLOR_FORCE", "")], &[]),
        "an empty value is unset"
    );
    assert!(
        !colored(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "false")], &[]),
        "any non-empty NO_COLOR"
    );
    assert!(
        colored(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")], &[]),
        "an empty NO_COLOR is unset"
    );
    assert!(colored(&[("NO_COLOR", "1")], &["--color", "always"]));
}

#[test]
fn should_let_the_last_color_flag_win_wherever_it_is_given() {
    assert!(colored(&[], &["--no-color", "--color", "always"]));
    assert!(!colored(&[], &["--color", "always", "--no-color"]));
    assert!(!colored(&[("CLICOLOR_FORCE", "1")], &["--color=never"]));
    assert!(colored(&[("CLICOLOR_FORCE", "1")], &["--color", "auto"]));
    let p = project();
    let (_, out, _) = run(p.cmd().args(["hooks", "list", "--color", "always"]));
    assert!(out.contains('\x1b'), "after the subcommand too: {out:?}");
}

#[test]
fn should_keep_no_color_out_of_the_help() {
    let (code, out, _) = run(project().cmd().arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--color <WHEN>"), "{out}");
    assert!(!out.contains("--no-color"), "{out}");
}

/// A project whose quarantine (in flowspec.yaml) makes a table of known cells.
fn quarantine(entries: &[(&str, &str)]) -> TestProject {
    let p = TestProject::new("hooks: []\n");
    let mut yaml = String::from("results:\n  quarantine:\n");
    for (test, reason) in entries {
        yaml.push_str(&format!(
            "    - test: \"{test}\"\n      reason: \"{reason}\"\n"
        ));
    }
    p.write(".flowspec/flowspec.yaml", &yaml);
    p
}

fn quarantine_table(p: &TestProject, columns: Option<&str>, color: &str) -> String {
    let mut cmd = p.cmd();
    if let Some(columns) = columns {
        cmd.env("COLUMNS", columns);
    }
    let (code, out, err) = run(cmd.args(["results", "quarantine", "list", "--color", color]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    out
}

#[test]
fn should_align_columns_two_spaces_apart_without_a_width() {
    let p = quarantine(&[("deploy", "slow"), ("quality-gate::x", "JIRA-12")]);
    let out = quarantine_table(&p, None, "never");
    assert_eq!(
        out,
        "TEST             FROM    REASON\n\
         deploy           config  slow\n\
         quality-gate::x  config  JIRA-12\n"
    );
    // A wide terminal changes nothing; COLUMNS that is not a positive number is ignored.
    for columns in ["200", " 200 ", "0", "wide", ""] {
        assert_eq!(
            quarantine_table(&p, Some(columns), "never"),
            out,
            "COLUMNS={columns:?}"
        );
    }
}

#[test]
fn should_wrap_long_cells_to_fit_a_narrow_terminal() {
    let p = quarantine(&[
        (
            "slack",
            "post a message to a channel through an incoming webhook",
        ),
        (
            "email",
            "send a mail over SMTP to every address in the list",
        ),
    ]);
    let out = quarantine_table(&p, Some("40"), "never");
    assert!(
        out.lines().all(|l| l.chars().count() <= 40),
        "every line fits 40 columns:\n{out}"
    );
    insta::assert_snapshot!(out, @r"
    TEST   FROM    REASON
    slack  config  post a message to a
                   channel through an
                   incoming webhook
    email  config  send a mail over SMTP to
                   every address in the list
    ");
    // The header keeps to one line, cut where the terminal is too narrow for it.
    let narrow = quarantine_table(&p, Some("16"), "never");
    let header = narrow.lines().next().unwrap();
    assert!(
        header.contains('…') && header.starts_with("TEST"),
        "{narrow}"
    );
}

#[test]
fn should_bold_only_the_header_when_colors_are_on() {
    let p = quarantine(&[("a", "b")]);
    let out = quarantine_table(&p, None, "always");
    assert_eq!(
        out,
        format!("{BOLD}TEST  FROM    REASON\x1b[0m\na     config  b\n")
    );
}
