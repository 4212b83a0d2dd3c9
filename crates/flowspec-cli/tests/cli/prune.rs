//! `flowspec results prune` and `flowspec events prune`: what an operator runs to keep
//! the store small.

use crate::{TestProject, run, shown};

fn project() -> TestProject {
    let p = TestProject::new("version: 1\nhooks: []\n");
    p.write(
        "r.xml",
        "<testsuite name=\"app\"><testcase classname=\"app.T\" name=\"ok\" time=\"0.1\"/></testsuite>",
    );
    p
}

#[test]
fn should_keep_only_the_newest_results_runs_and_say_how_many_went() {
    let p = project();
    for id in ["101", "102", "103"] {
        let (code, out, err) = run(p.cmd().args(["results", "ingest", "r.xml", "--run", id]));
        assert_eq!(code, 0, "{}", shown(&out, &err));
    }
    let (code, out, err) = run(p.cmd().args(["results", "prune", "--keep", "1", "--json"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let pruned: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(pruned["results_runs"], 2, "{out}");

    let (code, out, err) = run(p.cmd().args(["results", "show", "--run", "101"]));
    assert_ne!(code, 0, "run 101 is gone: {}", shown(&out, &err));
    let (code, out, err) = run(p.cmd().args(["results", "show", "--run", "103"]));
    assert_eq!(code, 0, "the newest run stays: {}", shown(&out, &err));
}

#[test]
fn should_prune_nothing_recent_with_the_default_limits() {
    let p = project();
    let (code, out, err) = run(p.cmd().args(["results", "ingest", "r.xml", "--run", "7"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let (code, out, err) = run(p.cmd().args(["results", "prune"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(out.contains("removed 0 stored run(s)"), "{out}");
    let (code, out, err) = run(p.cmd().args(["events", "prune", "--dead"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(out.contains("removed 0 finished event(s)"), "{out}");
}

#[test]
fn should_refuse_a_limit_that_is_not_a_duration() {
    let p = project();
    let (code, _out, err) = run(p.cmd().args(["events", "prune", "--older-than", "soon"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("soon"), "{err}");
}
