//! Text from outside (test reports, webhook payloads, CI logs and API answers) reaches
//! the terminal with its control characters escaped: a pull request's JUnit file
//! cannot retitle or clear the terminal of whoever reads the results.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::ci::{RUN, ci, output, project as ci_project, run_json};
use crate::serve::{events_with_status, post_event, start_server};
use crate::{TestProject, run, shown};

/// A terminal title sequence (OSC 0) as a JUnit attribute writes it.
const TITLE: &str = "&#x1b;]0;TITLE&#x7;";
/// How the output shows it.
const SHOWN: &str = r"\u{1b}]0;TITLE\u{7}";

/// Fails when `text` holds an ESC or BEL byte.
fn assert_inert(what: &str, text: &str) {
    assert!(
        !text.contains('\x1b') && !text.contains('\x07'),
        "{what} prints control characters raw:\n{text:?}"
    );
}

/// A report whose failed test's name, message and file hold the title sequence.
fn hostile_junit(p: &TestProject, file: &str) {
    p.write(
        file,
        &format!(
            "<testsuite name=\"app\"><testcase classname=\"app.T\" name=\"{TITLE}\" file=\"src/{TITLE}.rs\" time=\"0.1\">\
             <failure message=\"boom {TITLE}\">&#x1b;[2Jcleared</failure></testcase>\
             <testcase classname=\"app.T\" name=\"fine\" time=\"0.1\"/></testsuite>"
        ),
    );
}

#[test]
fn should_escape_control_characters_from_a_junit_file_in_every_results_command() {
    let p = TestProject::new("hooks: []\n");
    hostile_junit(&p, "junit.xml");
    let commands: &[&[&str]] = &[
        &["results", "parse", "junit.xml"],
        &["results", "parse", "junit.xml", "--json"],
        &[
            "results",
            "ingest",
            "junit.xml",
            "--run",
            "1",
            "--commit",
            "c1",
        ],
        &[
            "results",
            "ingest",
            "junit.xml",
            "--run",
            "1",
            "--attempt",
            "2",
            "--commit",
            "c1",
        ],
        &["results", "show", "--run", "1"],
        &["results", "check", "junit.xml"],
        &["results", "check", "--run", "1"],
        &["results", "flaky", "--last", "5"],
    ];
    for args in commands {
        let (code, out, err) = run(p.cmd().args(*args));
        assert!(code == 0 || code == 10, "{args:?}: {}", shown(&out, &err));
        assert_inert(&format!("{args:?}"), &format!("{out}{err}"));
        if !args.contains(&"--json") && !args.contains(&"flaky") && args[1] != "ingest" {
            assert!(
                out.contains(SHOWN),
                "{args:?} shows the name escaped: {out}"
            );
        }
    }
    // Failed in one run and passed in none: broken, listed with its escaped name.
    let (_, out, _) = run(p.cmd().args(["results", "flaky", "--last", "5"]));
    assert!(out.contains(SHOWN), "{out}");
}

#[test]
fn should_escape_a_webhook_payload_in_events_list_and_show() {
    let p =
        TestProject::new("hooks:\n  - name: ok\n    events: [job.done]\n    command: \"true\"\n");
    let (mut server, addr) = start_server(&p, 1);
    // Ids and types refuse control characters; the source and the feature take any text.
    let body = json!({"event_type": "job.done", "event_id": "e-1", "source": "bot\u{1b}]0;TITLE\u{7}", "feature": "\u{1b}[2J"});
    assert_eq!(post_event(addr, &body.to_string()), 202);
    crate::wait_until("the event is done", || {
        events_with_status(&p, "done").len() == 1
    });
    crate::send_signal(server.id(), libc::SIGTERM);
    assert!(server.wait().unwrap().success());

    let (code, out, err) = run(p.cmd().args(["events", "list"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert_inert("events list", &out);
    let (code, out, err) = run(p.cmd().args(["events", "show", "e-1"]));
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert_inert("events show", &out);
    assert!(
        out.contains(r"bot\u001b]0;TITLE\u0007"),
        "the payload, escaped as JSON: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_escape_a_ci_log_unless_raw_is_asked_for() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{RUN}/jobs")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 1,
            "jobs": [{"id": 55, "name": "build\u{1b}]0;TITLE\u{7}", "status": "completed", "conclusion": "failure"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(RUN))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(run_json("completed", Some("failure"))),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/jobs/55"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 55, "run_id": 7, "name": "build", "status": "completed", "conclusion": "failure"
        })))
        .mount(&server)
        .await;
    let log = "step 1\n\tok\r\n\u{1b}]0;TITLE\u{7}\u{1b}[2Jdone\n";
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/jobs/55/logs"))
        .respond_with(ResponseTemplate::new(200).set_body_string(log))
        .mount(&server)
        .await;
    let p = ci_project(&server, "hooks: []\n");

    let mut cmd = ci(&p);
    cmd.args(["logs", "--run", "7"]);
    let (code, out, err) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert_inert("ci logs", &out);
    assert_eq!(
        out, "step 1\n\tok\r\n\\u{1b}]0;TITLE\\u{7}\\u{1b}[2Jdone\n",
        "newlines and tabs kept"
    );

    let mut cmd = ci(&p);
    cmd.args(["logs", "--run", "7", "--raw"]);
    let (code, out, err) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert_eq!(out, log, "--raw prints the bytes as the CI sent them");

    // Job names from the CI API are escaped too.
    let mut cmd = ci(&p);
    cmd.args(["status", "--run", "7"]);
    let (code, out, err) = output(cmd).await;
    assert_eq!(code, 0, "{}", shown(&out, &err));
    assert_inert("ci status", &out);
    assert!(out.contains(SHOWN), "{out}");
}
