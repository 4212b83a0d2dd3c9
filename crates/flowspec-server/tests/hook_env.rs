//! Hooks run by the server never see the server's own source secrets unless they ask
//! for one in their `env`, and a secret a hook does get is masked in its output and in
//! the audit log, whatever its variable is called.
//!
//! One test only: it sets variables of this test process.

use std::sync::Arc;
use std::time::Duration;

use flowspec_core::secret::SecretString;
use flowspec_core::{Engine, FailMode, HookSpec};
use flowspec_server::{Metrics, Server, ServerConfig};

const TOKEN: &str = "events-token-123";
const GITHUB_SECRET: &str = "github-webhook-secret-value";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn hook(name: &str, command: &str) -> flowspec_core::spec::HookSpecBuilder {
    HookSpec::builder(name)
        .on("*")
        .command(command)
        .fail_mode(FailMode::Continue)
        .timeout(Duration::from_secs(20))
}

#[tokio::test]
async fn should_withhold_source_secrets_from_hooks_and_mask_the_ones_they_name() {
    // SAFETY: the only test of this binary, before any thread reads the environment.
    unsafe {
        std::env::set_var("GITHUB_WEBHOOK_SECRET", GITHUB_SECRET);
        std::env::set_var("EVENTS_WHSEC_NEW", WHSEC);
    }
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let engine = Engine::builder()
        .project_root(dir.path())
        .hook(
            hook(
                "inherits",
                r#"echo "gh=${GITHUB_WEBHOOK_SECRET:-unset} whsec=${EVENTS_WHSEC_NEW:-unset}" > inherited.txt"#,
            )
            .build()
            .unwrap(),
        )
        .hook(
            hook("names", r#"echo "gh=$GITHUB_WEBHOOK_SECRET whsec=$SIGNING""#)
                .env("GITHUB_WEBHOOK_SECRET", GITHUB_SECRET)
                .env("SIGNING", WHSEC)
                .build()
                .unwrap(),
        )
        .state_path(dir.path().join("state.db"))
        .audit_log(&audit)
        .build()
        .await
        .unwrap();
    let mut config = ServerConfig::default();
    config.bind = "127.0.0.1:0".parse().unwrap();
    for (source, key, value) in [
        ("events", "token", TOKEN),
        ("events", "signing_keys", WHSEC),
        ("github", "secret", GITHUB_SECRET),
    ] {
        config
            .sources
            .set(source, key, SecretString::from(value.to_owned()))
            .unwrap();
    }
    let server = Server::bind(engine, config, Arc::new(Metrics::new()))
        .await
        .unwrap();
    let url = format!("http://{}/events", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"event_type": "deploy.completed", "event_id": "e-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let log = loop {
        let log = std::fs::read_to_string(&audit).unwrap_or_default();
        if log.lines().count() >= 2 {
            break log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for both hooks in the audit log: {log}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let _ = stop.send(());
    task.await.unwrap().unwrap();

    let inherited = std::fs::read_to_string(dir.path().join("inherited.txt")).unwrap();
    assert_eq!(inherited.trim(), "gh=unset whsec=unset");
    assert!(log.contains("gh=*** whsec=***"), "{log}");
    for secret in [GITHUB_SECRET, WHSEC] {
        assert!(!log.contains(secret), "the audit log shows {secret}: {log}");
    }
}
