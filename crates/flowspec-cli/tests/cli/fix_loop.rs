//! The fix-and-merge loop's limit: `flowspec ci fix --max-attempts N` against a
//! wiremock server playing GitHub (a failed run 7 on `feature/auth`, whose open pull
//! request is #12), with a fixer hook and a hook on `ci.fix.exhausted`.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::ci_results::{SUREFIRE, flowspec, github, mock_log, project};
use crate::{TestProject, run, shown};

const HOOKS: &str = "\
hooks:
  - name: fixer
    events: [ci.fix.requested]
    command: \"echo fix >> fixes.log\"
  - name: give-up
    events: [ci.fix.exhausted]
    command: \"cat > exhausted.json\"
";

fn fix(p: &TestProject, extra: &[&str]) -> (i32, String, String) {
    let mut cmd = flowspec(p);
    cmd.args(["ci", "fix", "--run", "7"]).args(extra);
    run(&mut cmd)
}

fn fixes(p: &TestProject) -> usize {
    std::fs::read_to_string(p.join("fixes.log"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_emit_fix_exhausted_instead_of_a_third_fix_request() {
    let server = MockServer::start().await;
    github(&server, SUREFIRE, "success").await;
    mock_log(&server).await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/pulls"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "number": 12, "node_id": "PR_12", "html_url": "https://github.com/octo/app/pull/12",
            "title": "feat: auth", "state": "open", "draft": false,
            "head": {"ref": "feature/auth", "sha": "3f2a9c1d"}, "base": {"ref": "main", "sha": "0"}
        }])))
        .mount(&server)
        .await;
    let p = project(&server, HOOKS, "");
    let p2 = tokio::task::spawn_blocking(move || {
        for round in 1..=2 {
            let (code, stdout, stderr) = fix(&p, &["--max-attempts", "2"]);
            assert_eq!(code, 0, "round {round}: {}", shown(&stdout, &stderr));
            assert!(
                stdout.contains("ci.fix.requested → fixer success"),
                "round {round}: {}",
                shown(&stdout, &stderr)
            );
            assert_eq!(fixes(&p), round, "the fixer ran once per round");
        }
        let (code, stdout, stderr) = fix(&p, &["--max-attempts", "2"]);
        assert_eq!(
            code,
            12,
            "the rounds ran out: exit 12: {}",
            shown(&stdout, &stderr)
        );
        assert!(
            stdout.contains("`feature/auth` had 2 fix round(s) already")
                && stdout.contains("emitted ci.fix.exhausted, no ci.fix.requested"),
            "{}",
            shown(&stdout, &stderr)
        );
        assert_eq!(fixes(&p), 2, "no third fix was asked for");
        let event: Value =
            serde_json::from_str(&p.read("exhausted.json")).expect("the give-up hook ran");
        assert_eq!(event["event_type"], "ci.fix.exhausted");
        assert_eq!(event["branch"], "feature/auth");
        assert_eq!(event["attempts"], 2);
        assert_eq!(event["max_attempts"], 2);
        assert_eq!(event["run_id"], "7");
        assert_eq!(event["pr"], 12, "the open pull request of the branch");
        let audit = p.audit();
        assert_eq!(
            audit
                .iter()
                .filter(|l| l["event_type"] == "ci.fix.requested")
                .count(),
            2,
            "{audit:?}"
        );

        // A reset (or a run that succeeded) starts the count again.
        let (code, stdout, stderr) = fix(&p, &["--reset"]);
        assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
        assert!(
            stdout.contains("forgot 2 fix round(s) of `feature/auth`"),
            "{}",
            shown(&stdout, &stderr)
        );
        let (code, stdout, stderr) = fix(&p, &["--max-attempts", "2"]);
        assert_eq!(code, 0, "{}", shown(&stdout, &stderr));
        assert_eq!(fixes(&p), 3, "a fix is asked for again after the reset");
        p
    })
    .await
    .unwrap();
    drop(p2);
}
