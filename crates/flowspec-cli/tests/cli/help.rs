//! The help of every command, read through the binary: clap's own consistency checks
//! (a debug build runs them when it builds a command), examples and published docs in
//! every footer, the receiver's sources from its table, durations on flags.

use crate::docs::subcommands;
use crate::{TestProject, run, shown};

/// `flowspec <path> --help`, which must succeed.
fn help(path: &[String]) -> String {
    let p = TestProject::empty();
    let (code, out, err) = run(p.cmd().args(path).arg("--help"));
    assert_eq!(
        code,
        0,
        "flowspec {} --help: {}",
        path.join(" "),
        shown(&out, &err)
    );
    out
}

/// Every command path below `path` (itself included), with its help.
fn walk(path: Vec<String>, found: &mut Vec<(String, String)>) {
    let text = help(&path);
    for sub in subcommands(&text) {
        if sub != "help" {
            let mut next = path.clone();
            next.push(sub);
            walk(next, found);
        }
    }
    found.push((path.join(" "), text));
}

#[test]
fn should_have_a_consistent_command_line() {
    let mut found = Vec::new();
    walk(Vec::new(), &mut found);
    assert!(
        found.len() > 30,
        "every command was reached: {}",
        found.len()
    );
    // A command line clap finds inconsistent panics when built: `help` walks them all.
    let p = TestProject::empty();
    let (code, out, err) = run(p.cmd().args(["help", "ci", "report-status"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
}

/// Every command and subcommand shows examples, and links the published docs
/// rather than a path in the repository.
#[test]
fn should_show_examples_and_published_docs_in_every_help() {
    let mut found = Vec::new();
    walk(Vec::new(), &mut found);
    let mut missing = Vec::new();
    for (name, text) in &found {
        let footer = text.split_once("Options:").map_or("", |(_, rest)| rest);
        if !footer.contains("Examples:") {
            missing.push(format!("flowspec {name}: no Examples:"));
        }
        let bare = footer
            .match_indices("docs/")
            .any(|(i, _)| !footer[..i].ends_with("flowspec/blob/main/"));
        if bare {
            missing.push(format!("flowspec {name}: a bare docs/ path"));
        }
        for word in ["seed", "story", "contracts"] {
            if text.to_lowercase().contains(word) {
                missing.push(format!("flowspec {name}: says {word}"));
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn should_list_every_source_of_the_receiver_in_serve_help() {
    let text = help(&["serve".into()]);
    for source in flowspec_server::sources::SOURCES {
        for shown in [source.name, source.path, source.scheme] {
            assert!(
                text.contains(shown),
                "`{shown}` of {} missing:\n{text}",
                source.name
            );
        }
        for credential in source.credentials {
            let shown = match credential.variable {
                Some(variable) => format!("{}: {variable}", credential.key),
                None => credential.key.to_owned(),
            };
            assert!(
                text.contains(&shown),
                "`{shown}` of {} missing:\n{text}",
                source.name
            );
        }
    }
}

#[test]
fn should_read_a_bare_number_as_seconds_and_accept_units_on_flags() {
    let p = TestProject::empty();
    // Accepted durations get past the command line: the missing project stops them (3).
    for timeout in ["150", "10m", "1.5", "1h30m"] {
        let (code, out, err) =
            run(p
                .cmd()
                .args(["ci", "wait", "--run", "7", "--timeout", timeout]));
        assert_eq!(code, 3, "--timeout {timeout}: {}", shown(&out, &err));
    }
    let (code, _, err) = run(p
        .cmd()
        .args(["ci", "wait", "--run", "7", "--timeout", "soon"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--timeout"), "{err}");
    let (code, _, err) = run(p.cmd().args(["watch", "triggers", "--poll-interval", "0"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("must be more than zero"), "{err}");
}

#[test]
fn should_accept_every_listed_status_and_state_name() {
    let p = TestProject::empty();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["audit", "--status"],
            &["success", "failed", "timeout", "skipped"],
        ),
        (
            &["events", "list", "--status"],
            &["pending", "running", "done", "dead"],
        ),
        (
            &["ci", "report-status", "--sha", "abc", "--state"],
            &[
                "pending",
                "running",
                "success",
                "failed",
                "error",
                "cancelled",
                "skipped",
            ],
        ),
    ];
    for (args, names) in cases {
        for name in *names {
            // Past the command line, the missing project stops them (3), not clap (2).
            let (code, out, err) = run(p.cmd().args(*args).arg(name));
            assert_eq!(code, 3, "{args:?} {name}: {}", shown(&out, &err));
        }
        let (code, _, err) = run(p.cmd().args(*args).arg("nope"));
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains(&names.join(", ")),
            "the names are listed: {err}"
        );
    }
}
