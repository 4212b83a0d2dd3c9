//! `flowspec results`: parse, ingest, show, flaky, check, quarantine.

use std::path::PathBuf;

use crate::{TestProject, run, shown};

fn fixture(relative: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../flowspec-results/tests/fixtures")
        .join(relative)
        .display()
        .to_string()
}

fn project() -> TestProject {
    TestProject::new("hooks: []\n")
}

/// A JUnit file with one suite: (name, "pass" | "fail").
fn junit(p: &TestProject, file: &str, cases: &[(&str, &str)]) {
    let mut xml = String::from("<testsuite name=\"app\">");
    for (name, outcome) in cases {
        xml.push_str(&format!(
            "<testcase classname=\"app.T\" name=\"{name}\" time=\"0.25\">"
        ));
        if *outcome == "fail" {
            xml.push_str(&format!(
                "<failure message=\"{name} broke\">at {name}</failure>"
            ));
        }
        xml.push_str("</testcase>");
    }
    xml.push_str("</testsuite>");
    p.write(file, &xml);
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

#[test]
fn should_print_the_normalized_result_as_json_without_a_project() {
    let p = TestProject::empty();
    let (code, out, err) = run(p.cmd().args([
        "results",
        "parse",
        "--json",
        &fixture("junit/failsafe-reruns.xml"),
        &fixture("coverage/lcov.info"),
    ]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let v = json(&out);
    assert_eq!(v["totals"]["tests"], 3);
    assert_eq!(v["totals"]["failed"], 1);
    assert_eq!(v["totals"]["flaky"], 1);
    assert_eq!(v["partial"], false);
    let failure = &v["failures"][0];
    for field in [
        "suite",
        "classname",
        "name",
        "kind",
        "message",
        "file",
        "line",
    ] {
        assert!(failure.get(field).is_some(), "missing {field} in {failure}");
    }
    assert_eq!(failure["name"], "paysWithCard");
    assert_eq!(failure["kind"], "failure");
    assert_eq!(v["coverage"]["totals"]["lines_valid"], 25);
}

#[test]
fn should_keep_what_was_read_of_a_truncated_report_and_exit_11() {
    let p = TestProject::empty();
    let (code, out, err) = run(p.cmd().args([
        "results",
        "parse",
        "--json",
        &fixture("junit/truncated.xml"),
    ]));
    assert_eq!(code, 11, "{}", shown(&out, &err));
    let v = json(&out);
    assert_eq!(v["partial"], true);
    assert_eq!(v["totals"]["tests"], 3);
    assert_eq!(v["errors"][0]["line"], 9);
    assert_eq!(v["errors"][0]["column"], 5);
    assert!(
        err.contains("truncated.xml: line 9, column 5: the file ends inside this tag"),
        "{err}"
    );
}

#[test]
fn should_ingest_and_show_a_run() {
    let p = project();
    junit(&p, "junit.xml", &[("adds", "pass"), ("divides", "fail")]);
    let (code, out, err) = run(p.cmd().args([
        "results",
        "ingest",
        "junit.xml",
        "--run",
        "42",
        "--commit",
        "abc",
        "--branch",
        "main",
    ]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(
        out.contains("stored run 42 (attempt 1): 2 tests, 1 passed, 1 failed"),
        "{out}"
    );

    let (code, out, err) = run(p.cmd().args(["results", "show", "--json"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let v = json(&out);
    assert_eq!(v["run"]["run_id"], "42");
    assert_eq!(v["run"]["commit"], "abc");
    assert_eq!(v["totals"]["failed"], 1);
    assert_eq!(v["failures"][0]["message"], "divides broke");

    let (code, out, _) = run(p.cmd().args(["results", "show", "--run", "42"]));
    assert_eq!(code, 0);
    let out = out
        .lines()
        .map(|l| {
            if l.starts_with("run 42") {
                "run 42 (attempt 1) · commit abc · branch main · cli · [TIME]"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("results_show", out);

    let (code, _, err) = run(p.cmd().args(["results", "show", "--run", "nope"]));
    assert_eq!(code, 1);
    assert!(err.contains("no stored results for run `nope`"), "{err}");
}

#[test]
fn should_refuse_files_that_hold_no_report() {
    let p = project();
    p.write("notes.txt", "hello");
    let (code, out, err) = run(p.cmd().args(["results", "ingest", "notes.txt"]));
    assert_eq!(code, 11, "{}", shown(&out, &err));
    assert!(
        err.contains("not a report of a known format (JUnit XML, NUnit XML"),
        "{err}"
    );
}

#[test]
fn should_pass_a_check_when_only_quarantined_tests_failed() {
    let p = project();
    p.write(
        ".flowspec/flowspec.yaml",
        "results:\n  quarantine:\n    - test: \"app.T::net_*\"\n      reason: DNS flakes (JIRA-9)\n",
    );
    junit(&p, "flaky.xml", &[("ok", "pass"), ("net_dns", "fail")]);
    junit(
        &p,
        "real.xml",
        &[("ok", "pass"), ("net_dns", "fail"), ("logic", "fail")],
    );
    let (code, out, err) = run(p.cmd().args(["results", "check", "flaky.xml"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(
        out.contains("quarantined: DNS flakes (JIRA-9)") && out.contains("check passed"),
        "{out}"
    );

    let (code, out, err) = run(p.cmd().args(["results", "check", "real.xml", "--json"]));
    assert_eq!(code, 10, "{}", shown(&out, &err));
    let v = json(&out);
    assert_eq!(v["passed"], false);
    assert_eq!(v["blocking"][0]["id"], "app.T::logic");
    assert_eq!(v["quarantined"][0]["test"]["id"], "app.T::net_dns");

    let (code, _, _) = run(p
        .cmd()
        .args(["results", "check", "flaky.xml", "--no-quarantine"]));
    assert_eq!(code, 10);
}

#[test]
fn should_not_excuse_a_quarantined_test_that_is_broken() {
    let p = project();
    p.write(
        ".flowspec/flowspec.yaml",
        "results:\n  quarantine: [\"app.T::always\"]\n",
    );
    let cases = [
        ("always", "fail"),
        ("a", "pass"),
        ("b", "pass"),
        ("c", "pass"),
        ("d", "pass"),
    ];
    for run_id in ["1", "2"] {
        junit(&p, "r.xml", &cases);
        let (code, out, err) = run(p
            .cmd()
            .args(["results", "ingest", "r.xml", "--run", run_id]));
        assert_eq!(code, 0, "{}", shown(&out, &err));
    }
    let (code, out, err) = run(p.cmd().args(["results", "check"]));
    assert_eq!(code, 10, "{}", shown(&out, &err));
    assert!(out.contains("quarantined, but broken"), "{out}");
}

#[test]
fn should_rank_flaky_tests_and_show_broken_ones_apart() {
    let p = project();
    let runs: &[StoredRun] = &[
        (
            "1",
            "c1",
            &[
                ("net", "fail"),
                ("dead", "fail"),
                ("a", "pass"),
                ("b", "pass"),
                ("c", "pass"),
            ],
        ),
        (
            "2",
            "c1",
            &[
                ("net", "pass"),
                ("dead", "fail"),
                ("a", "pass"),
                ("b", "pass"),
                ("c", "pass"),
            ],
        ),
        (
            "3",
            "c2",
            &[
                ("net", "fail"),
                ("dead", "fail"),
                ("a", "fail"),
                ("b", "fail"),
                ("c", "fail"),
            ],
        ),
    ];
    for (id, commit, cases) in runs {
        junit(&p, "r.xml", cases);
        let (code, out, err) = run(p.cmd().args([
            "results", "ingest", "r.xml", "--run", id, "--commit", commit,
        ]));
        assert_eq!(code, 0, "{}", shown(&out, &err));
    }
    let (code, out, err) = run(p.cmd().args(["results", "flaky", "--json"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let v = json(&out);
    assert_eq!(v["outages"], serde_json::json!(["3"]));
    assert_eq!(v["flaky"][0]["test"], "app.T::net");
    assert_eq!(v["broken"][0]["test"], "app.T::dead");
    let (_, out, _) = run(p.cmd().args(["results", "flaky", "--last", "3"]));
    assert!(
        out.contains("2 runs considered (last 3); 1 outage run(s) ignored: 3"),
        "{out}"
    );
    assert!(out.contains("broken tests"), "{out}");
}

#[test]
fn should_add_list_and_remove_quarantined_tests() {
    let p = project();
    p.write(
        ".flowspec/flowspec.yaml",
        "results:\n  quarantine: [\"cfg::x\"]\n",
    );
    let (code, out, _) = run(p.cmd().args([
        "results",
        "quarantine",
        "add",
        "app.T::net",
        "--reason",
        "JIRA-1",
    ]));
    assert_eq!(code, 0);
    assert!(out.contains("quarantined app.T::net"));
    let (_, out, _) = run(p.cmd().args(["results", "quarantine", "list", "--json"]));
    let v = json(&out);
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[1]["source"], "store");
    let (code, _, err) = run(p.cmd().args(["results", "quarantine", "remove", "cfg::x"]));
    assert_eq!(code, 2);
    assert!(err.contains("remove it there"), "{err}");
    let (code, _, _) = run(p
        .cmd()
        .args(["results", "quarantine", "remove", "app.T::net"]));
    assert_eq!(code, 0);
}

#[test]
fn should_locate_a_mistake_in_the_results_section() {
    let p = project();
    p.write(
        ".flowspec/flowspec.yaml",
        "results:\n  flaky:\n    windw: 5\n",
    );
    let (code, out, err) = run(p.cmd().args(["results", "flaky"]));
    assert_eq!(code, 3, "{}", shown(&out, &err));
    assert!(
        err.contains("flowspec.yaml:3:5") && err.contains("did you mean `window`?"),
        "{err}"
    );
}

/// A run to store: id, commit, (test name, outcome).
type StoredRun<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

#[test]
fn should_shorten_a_commit_to_twelve_characters_without_splitting_one() {
    let p = project();
    junit(&p, "junit.xml", &[("adds", "pass")]);
    for (commit, shown_as) in [
        ("3f2a9c1d4e5f6a7b8c9d", "3f2a9c1d4e5f"),
        ("abc", "abc"),
        ("ééééééééééééééé", "éééééééééééé"),
    ] {
        let (code, out, err) = run(p.cmd().args([
            "results",
            "ingest",
            "junit.xml",
            "--run",
            commit,
            "--commit",
            commit,
        ]));
        assert_eq!(code, 0, "{}", shown(&out, &err));
        let (code, out, err) = run(p.cmd().args(["results", "show", "--run", commit]));
        assert_eq!(code, 0, "{}", shown(&out, &err));
        assert!(
            out.contains(&format!(" · commit {shown_as} · ")),
            "{commit}: {out}"
        );
    }
}
