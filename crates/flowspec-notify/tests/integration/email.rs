//! Email through a real SMTP server process (aiosmtpd) on loopback.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use flowspec_core::notifier::NotifyErrorKind;
use flowspec_notify::testing::sample_event;
use flowspec_notify::{DeliveryRequest, DeliveryStatus};

use crate::hub;

/// An aiosmtpd process on a free loopback port; stopped on drop.
struct SmtpServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> SmtpServer {
        let python = std::env::var("FLOWSPEC_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let check = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .output();
        match check {
            Ok(out) if out.status.success() => {}
            _ => panic!(
                "the email tests need a real SMTP server: Python 3 with aiosmtpd.\n\
                 Install it with `python3 -m pip install aiosmtpd` (or `apt-get install -y python3-aiosmtpd`),\n\
                 or point FLOWSPEC_TEST_PYTHON at a Python that has it. (.ci/run installs it.)"
            ),
        }
        // The port is free when asked for but another test may take it before the
        // server binds it: then the server exits without "ready", and a new port is tried.
        for _ in 0..5 {
            if let Some(server) = SmtpServer::start_on_a_free_port(&python) {
                return server;
            }
        }
        panic!("the SMTP server did not start (see its error above)");
    }

    fn start_on_a_free_port(python: &str) -> Option<SmtpServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let script: PathBuf =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures/smtp_sink.py");
        let mut child = Command::new(python)
            .arg(&script)
            .arg(port.to_string())
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP server");
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        if line.trim() != "ready" {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        Some(SmtpServer { child, port, dir })
    }

    fn messages(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(port: u16, recipients: &str) -> String {
    format!(
        r#"integrations:
  email:
    enabled: true
    smtp:
      host: "127.0.0.1"
      port: {port}
      secure: false
    from: "Spec Bot <specs@example.com>"
    subject_prefix: "[specs] "
    recipients:
      implementation_failed:
{recipients}
      pr_created:
        - "reviewers@example.com"
"#
    )
}

#[tokio::test]
async fn should_deliver_a_text_and_html_email_to_the_event_recipients() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(
        &config(
            smtp.port,
            "        - \"oncall@example.com\"\n        - \"lead@example.com\"",
        ),
        &[],
        dir.path(),
    );
    let report = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    assert_eq!(report.deliveries.len(), 1, "{report:?}");
    assert_eq!(
        report.deliveries[0].status,
        DeliveryStatus::Delivered,
        "{report:?}"
    );
    assert_eq!(
        report.deliveries[0].receipt.as_ref().unwrap().status,
        Some(250)
    );
    // An event without recipients is not routed to email.
    let none = hub
        .dispatch(
            &sample_event("implement.completed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    assert!(none.deliveries.is_empty());

    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    let mut m = messages[0].clone();
    assert_eq!(
        m["rcpt_tos"],
        serde_json::json!(["oncall@example.com", "lead@example.com"])
    );
    assert_eq!(m["content_type"], "multipart/alternative");
    for volatile in ["Date", "Message-ID"] {
        assert!(m["headers"][volatile].is_string(), "{volatile} must be set");
        m["headers"][volatile] = "[volatile]".into();
    }
    let boundary_free = serde_json::to_string(&m["headers"]["Content-Type"]).unwrap();
    assert!(boundary_free.contains("boundary"), "{boundary_free}");
    m["headers"]["Content-Type"] = "[multipart/alternative with boundary]".into();
    insta::assert_json_snapshot!("email_failed_message", m);
}

#[tokio::test]
async fn should_classify_smtp_rejections_as_permanent_and_busy_as_transient() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let hub = hub(
        &config(smtp.port, "        - \"reject-me@example.com\""),
        &[],
        dir.path(),
    );
    let report = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    let d = &report.deliveries[0];
    assert_eq!(
        (d.status, d.attempts, d.error_kind),
        (DeliveryStatus::Failed, 1, Some(NotifyErrorKind::Rejected))
    );
    assert!(d.reason.as_deref().unwrap().contains("550"), "{d:?}");

    let dir = tempfile::tempdir().unwrap();
    let busy = hub_with_retries(
        &config(smtp.port, "        - \"busy@example.com\""),
        dir.path(),
    );
    let report = busy
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    let d = &report.deliveries[0];
    assert_eq!(
        (d.status, d.attempts, d.error_kind),
        (DeliveryStatus::Failed, 4, Some(NotifyErrorKind::Transient)),
        "451 is retried: {d:?}"
    );
    assert!(smtp.messages().is_empty());
}

fn hub_with_retries(yaml: &str, dir: &Path) -> flowspec_notify::Notifications {
    hub(yaml, &[], dir)
}

#[test]
fn should_refuse_plain_smtp_to_a_remote_host() {
    let yaml = "integrations:\n  email:\n    enabled: true\n    smtp: {host: smtp.example.com, secure: false}\n    from: a@example.com\n    to: [b@example.com]\n";
    let err = crate::load(yaml, &[]).unwrap_err().to_string();
    insta::assert_snapshot!("email_plain_remote_refused", err);
}

#[tokio::test]
async fn should_never_fall_back_to_plaintext_when_starttls_is_required() {
    // aiosmtpd here offers no STARTTLS: a client that requires it must abort, not
    // send the message (or a password) in clear.
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "integrations:\n  email:\n    enabled: true\n    smtp: {{host: \"127.0.0.1\", port: {}, tls: starttls}}\n    from: specs@example.com\n    to: [team@example.com]\n",
        smtp.port
    );
    let hub = hub(&yaml, &[], dir.path());
    let report = hub
        .dispatch(
            &sample_event("implement.failed"),
            &DeliveryRequest::by_event("test"),
        )
        .await;
    let d = &report.deliveries[0];
    assert_eq!(d.status, DeliveryStatus::Failed, "{d:?}");
    assert!(
        smtp.messages().is_empty(),
        "nothing may be sent without TLS"
    );
    assert_eq!(
        d.target,
        format!("smtp://127.0.0.1:{} (starttls)", smtp.port)
    );
}
