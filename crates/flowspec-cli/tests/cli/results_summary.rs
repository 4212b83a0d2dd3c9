//! `flowspec results summary` and `flowspec results convert`.

use std::path::PathBuf;

use crate::{TestProject, run, shown};

/// A report whose names and messages try to break Markdown and workflow commands,
/// with a flaky test (failed, then passed on its retry).
const HOSTILE: &str = r#"<?xml version="1.0"?>
<testsuites>
  <testsuite name="shop|checkout" tests="4" failures="2" skipped="1">
    <testcase classname="shop.Checkout" name="pays with `card` | <script>alert(1)</script>" time="0.5" file="/ws/src/checkout.rs" line="41">
      <failure message="expected 100%, got 90%&#10;diff: ```rust&#10;let x = 1;&#10;```">at checkout.rs:41</failure>
    </testcase>
    <testcase classname="shop.Checkout" name="ships: fast, cheap" time="0.25">
      <error message="connection refused"/>
    </testcase>
    <testcase classname="shop.Checkout" name="skips abroad" time="0"><skipped/></testcase>
    <testcase classname="shop.Cart" name="retries" time="0.1"><failure message="flaked"/></testcase>
    <testcase classname="shop.Cart" name="retries" time="0.1"/>
  </testsuite>
</testsuites>"#;

const LCOV: &str =
    "SF:src/checkout.rs\nDA:1,1\nDA:2,0\nBRDA:1,0,0,1\nBRDA:1,0,1,0\nend_of_record\n";

fn project() -> TestProject {
    let p = TestProject::new("hooks: []\n");
    p.write("reports/junit.xml", HOSTILE);
    p.write("reports/lcov.info", LCOV);
    p
}

/// `flowspec results ARGS`, outside GitHub Actions.
fn results(p: &TestProject, args: &[&str]) -> (i32, String, String) {
    let mut cmd = p.cmd();
    cmd.env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_WORKSPACE")
        .arg("results")
        .args(args);
    run(&mut cmd)
}

fn fixture(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../flowspec-results/tests/fixtures")
        .join(relative);
    std::fs::read_to_string(path).expect("fixture")
}

#[test]
fn should_render_an_escaped_markdown_job_summary() {
    let p = project();
    let (code, out, err) = results(&p, &["summary", "reports/junit.xml", "reports/lcov.info"]);
    assert_eq!(code, 0, "{}", shown(&out, &err));
    // Names are code spans (no HTML inside one); a fence the message cannot close.
    assert!(
        out.contains("**``shop.Checkout::pays with `card` | <script>alert(1)</script>``**"),
        "{out}"
    );
    assert!(out.contains("| ❌ `shop\\|checkout` |"), "{out}");
    assert!(out.contains("````text\n"), "{out}");
    insta::assert_snapshot!("results_summary_markdown", out);
}

#[test]
fn should_print_escaped_annotations_for_failed_tests() {
    let p = project();
    let mut cmd = p.cmd();
    cmd.env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("GITHUB_WORKSPACE", "/ws")
        .args([
            "results",
            "summary",
            "reports/junit.xml",
            "--annotations",
            "--format",
            "json",
        ]);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let annotations: String = out
        .lines()
        .filter(|l| l.starts_with("::"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(annotations.lines().count(), 2, "{out}");
    insta::assert_snapshot!("results_summary_annotations", annotations);
}

#[test]
fn should_append_the_summary_to_the_step_summary_file() {
    let p = project();
    let file = p.join("step-summary.md");
    std::fs::write(&file, "# earlier step\n").unwrap();
    for _ in 0..2 {
        let mut cmd = p.cmd();
        cmd.env_remove("GITHUB_ACTIONS")
            .env("GITHUB_STEP_SUMMARY", &file)
            .args([
                "results",
                "summary",
                "reports/junit.xml",
                "--step-summary",
                "--format",
                "text",
            ]);
        let (code, out, err) = run(&mut cmd);
        assert_eq!(code, 0, "{}", shown(&out, &err));
        assert!(
            out.contains("4 tests"),
            "stdout keeps the chosen format: {out}"
        );
    }
    let written = p.read("step-summary.md");
    assert!(
        written.starts_with("# earlier step\n## ❌ Tests failed"),
        "{written}"
    );
    assert_eq!(
        written.matches("## ❌ Tests failed").count(),
        2,
        "{written}"
    );
}

#[test]
fn should_write_the_step_summary_on_github_actions_without_the_flag() {
    let p = project();
    let file = p.join("summary.md");
    let mut cmd = p.cmd();
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &file)
        .args(["results", "summary", "reports/lcov.info"]);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert!(
        p.read("summary.md")
            .contains("**Coverage**: lines 50.0% (1/2)")
    );
}

#[test]
fn should_say_how_to_get_a_step_summary_file_when_there_is_none() {
    let p = project();
    let (code, out, err) = results(&p, &["summary", "reports/junit.xml", "--step-summary"]);
    assert_eq!(code, 2, "{}", shown(&out, &err));
    assert!(err.contains("GITHUB_STEP_SUMMARY"), "{err}");
}

#[test]
fn should_name_flaky_tests_in_the_json_summary() {
    let p = project();
    let (code, out, err) = results(&p, &["summary", "reports/junit.xml", "--format", "json"]);
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["totals"]["tests"], 4);
    assert_eq!(v["flaky"][0]["id"], "shop.Cart::retries");
    assert_eq!(v["flaky"][0]["attempts"], 2);
}

#[test]
fn should_convert_nunit_to_junit_that_reads_back_the_same() {
    let p = project();
    p.write("TestResult.xml", &fixture("nunit/nunit3.xml"));
    let (code, out, err) = results(
        &p,
        &[
            "convert",
            "TestResult.xml",
            "--to",
            "junit",
            "--output",
            "out/junit.xml",
        ],
    );
    assert_eq!(
        code,
        1,
        "the output directory does not exist: {}",
        shown(&out, &err)
    );
    assert!(err.contains("cannot write out/junit.xml"), "{err}");
    let (code, out, err) = results(
        &p,
        &[
            "convert",
            "TestResult.xml",
            "--to",
            "junit",
            "--output",
            "junit.xml",
        ],
    );
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let (code, out, err) = results(&p, &["parse", "junit.xml", "--json"]);
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let t = &v["totals"];
    assert_eq!(
        (
            t["tests"].as_u64(),
            t["passed"].as_u64(),
            t["failed"].as_u64(),
            t["errors"].as_u64(),
            t["skipped"].as_u64()
        ),
        (Some(10), Some(3), Some(2), Some(2), Some(3))
    );
    assert_eq!(
        v["failures"][0]["id"],
        "Calc.Tests.CalculatorTests::Divides"
    );
}

#[test]
fn should_convert_tap_to_ctrf_on_stdout() {
    let p = project();
    p.write("run.tap", &fixture("tap/tap13.tap"));
    let (code, out, err) = results(&p, &["convert", "run.tap", "--to", "ctrf"]);
    assert_eq!(code, 0, "{}", shown(&out, &err));
    let v: serde_json::Value = serde_json::from_str(&out).expect("CTRF JSON");
    assert_eq!(v["reportFormat"], "CTRF");
    assert_eq!(v["results"]["summary"]["tests"], 6);
    assert_eq!(v["results"]["summary"]["failed"], 2);
    assert_eq!(v["results"]["tests"][1]["message"], "should be equal");
}

#[test]
fn should_refuse_to_convert_coverage_alone() {
    let p = project();
    let (code, out, err) = results(&p, &["convert", "reports/lcov.info", "--to", "junit"]);
    assert_eq!(code, 11, "{}", shown(&out, &err));
    assert!(err.contains("coverage reports hold no tests"), "{err}");
    assert!(out.is_empty(), "{out}");
}

#[test]
fn should_show_examples_in_the_help_of_summary_and_convert() {
    let p = project();
    for command in ["summary", "convert"] {
        let (code, out, _) = results(&p, &[command, "--help"]);
        assert_eq!(code, 0);
        assert!(
            out.contains("Examples:\n  flowspec results"),
            "{command}: {out}"
        );
    }
}
