//! Shell completion: the script `flowspec completions SHELL` prints, sourced in a real
//! bash, completes commands and the names of the project the line would open.

use std::process::Command as Process;

use super::{TestProject, run, shown};

const HOOKS: &str = "\
hooks:
  - name: unit-tests
    description: Fast local checks
    events: [{type: implement.completed}]
    command: \"true\"
  - name: deploy-staging
    events: [{type: deploy.requested}]
    command: \"true\"
";

const SETTINGS: &str = "\
ci:
  default: tests
  profiles:
    tests:
      provider: github
      config: { repo: octo/app, workflow: integration-tests.yml }
    deploy:
      provider: gitlab
      config: { project: ops/deploy }
integrations:
  slack:
    enabled: true
  webhooks:
    enabled: true
    endpoints:
      - name: analytics
        url: https://analytics.example.com/events
      - name: internal
        url: https://internal.example.com/hook
";

fn project() -> TestProject {
    let p = TestProject::new(HOOKS);
    p.write(".flowspec/flowspec.yaml", SETTINGS);
    p
}

/// What bash offers for `line` (the last word being completed), in the directory `dir`,
/// after sourcing `flowspec completions bash`.
fn bash_offers(p: &TestProject, dir: &std::path::Path, line: &str) -> Vec<String> {
    let (code, script, err) = run(p.cmd().args(["completions", "bash"]));
    assert_eq!(code, 0, "{}", shown(&script, &err));
    let script_file = p.join("flowspec.bash");
    std::fs::write(&script_file, script).unwrap();
    let words: Vec<&str> = line.split(' ').collect();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let current = words.last().unwrap();
    let previous = words[words.len().saturating_sub(2)];
    // What bash does on TAB: COMP_WORDS/COMP_CWORD set, then the registered function.
    let driver = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\n_clap_complete_flowspec flowspec '{current}' '{previous}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script_file.display(),
        quoted.join(" "),
        words.len() - 1,
    );
    let output = Process::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(driver)
        .current_dir(dir)
        .env_remove("FLOWSPEC_CONFIG")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        shown(&stdout, &String::from_utf8_lossy(&output.stderr))
    );
    stdout
        .lines()
        .map(|l| l.trim_end().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn should_complete_commands_and_the_hooks_of_the_project() {
    let p = project();
    let offers = bash_offers(&p, p.path(), "flowspec hoo");
    assert_eq!(offers, ["hooks"]);
    let offers = bash_offers(&p, p.path(), "flowspec hooks test ");
    assert!(
        offers.contains(&"unit-tests".to_owned()) && offers.contains(&"deploy-staging".to_owned()),
        "{offers:?}"
    );
    assert_eq!(
        bash_offers(&p, p.path(), "flowspec hooks test dep"),
        ["deploy-staging"]
    );
    assert_eq!(
        bash_offers(&p, p.path(), "flowspec audit --hook un"),
        ["unit-tests"]
    );
}

#[test]
fn should_complete_integrations_with_the_kind_of_several_endpoints() {
    let p = project();
    let offers = bash_offers(&p, p.path(), "flowspec notify test ");
    for name in [
        "slack",
        "webhooks",
        "webhooks.analytics",
        "webhooks.internal",
    ] {
        assert!(
            offers.contains(&name.to_owned()),
            "{name} not in {offers:?}"
        );
    }
    assert_eq!(
        bash_offers(&p, p.path(), "flowspec notify send --to webhooks.a"),
        ["webhooks.analytics"]
    );
    assert_eq!(
        bash_offers(&p, p.path(), "flowspec notify enable sl"),
        ["slack"]
    );
}

#[test]
fn should_complete_ci_profiles_for_ci_and_pr() {
    let p = project();
    let offers = bash_offers(&p, p.path(), "flowspec ci --profile ");
    assert_eq!(offers, ["tests", "deploy"]);
    assert_eq!(
        bash_offers(&p, p.path(), "flowspec pr --profile de"),
        ["deploy"]
    );
}

#[test]
fn should_complete_the_names_of_the_project_that_directory_or_config_names() {
    let p = project();
    let elsewhere = TestProject::empty();
    // From a directory with no project, nothing; -C or --config point at one.
    assert!(
        bash_offers(&p, elsewhere.path(), "flowspec hooks test ")
            .iter()
            .all(|o| o.starts_with('-'))
    );
    let dir = p.path().display().to_string();
    assert_eq!(
        bash_offers(
            &p,
            elsewhere.path(),
            &format!("flowspec -C {dir} hooks test un")
        ),
        ["unit-tests"]
    );
    let config = p.join(".flowspec/hooks/hooks.yaml").display().to_string();
    assert_eq!(
        bash_offers(
            &p,
            elsewhere.path(),
            &format!("flowspec --config {config} hooks test dep")
        ),
        ["deploy-staging"]
    );
}

#[test]
fn should_still_complete_hook_names_when_the_project_has_errors() {
    let p = TestProject::new(
        "hooks:\n  - name: broken-hook\n    events: [{type: x.y}]\n    no_such_field: 1\n",
    );
    p.write(
        ".flowspec/flowspec.yaml",
        "integrations:\n  slack:\n    no_such_option: 1\n",
    );
    assert_eq!(
        bash_offers(&p, p.path(), "flowspec hooks test b"),
        ["broken-hook"]
    );
    assert_eq!(
        bash_offers(&p, p.path(), "flowspec notify test s"),
        ["slack"]
    );
}

#[test]
fn should_print_a_script_for_every_shell_that_calls_the_program_named() {
    let p = TestProject::empty();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, out, err) = run(p
            .cmd()
            .args(["completions", shell, "--program", "flowspec"]));
        assert_eq!(code, 0, "{shell}: {}", shown(&out, &err));
        assert!(out.contains("COMPLETE"), "{shell}: {out}");
        assert!(out.contains("flowspec"), "{shell}: {out}");
        assert!(
            !out.contains("target/debug"),
            "{shell} names the test binary: {out}"
        );
    }
}
