//! Secrets a hook prints, whatever their variable is called and wherever flowspec.yaml
//! got them from, are masked in the hook's output and in the audit log.

use std::sync::Arc;

use flowspec::{Event, Project, SilentReporter};

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const LITERAL: &str = "gh-literal-secret-123";
const CI_KEY: &str = "ci-header-key-5678";
const ORG_HEADER: &str = "org-header-value-42";

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const SETTINGS: &str = r#"audit:
  enabled: true
server:
  sources:
    events:
      signing_keys:
        - ${EVENTS_WHSEC_NEW}
    github:
      secret: "gh-literal-secret-123"
ci:
  provider: custom
  config:
    trigger_url: https://ci.example.com/trigger
    status_url: https://ci.example.com/runs/{run_id}
    auth: {type: header, name: X-Api-Key, value: "${CI_ACCESS}"}
    headers:
      X-Org: "${ORG_CRED}"
"#;

/// A hook that prints secrets it was handed under harmless names, and the settings
/// file with its literal secret.
const HOOKS: &str = r#"hooks:
  - name: leak
    events: [{type: x.y}]
    env:
      SIGNING: "${EVENTS_WHSEC_NEW}"
      CI: "${CI_ACCESS}"
      ORG: "${ORG_CRED}"
    command: 'echo "key=$SIGNING ci=$CI org=$ORG"; cat .flowspec/flowspec.yaml'
"#;

#[tokio::test]
async fn should_mask_signing_keys_and_literal_secrets_in_hook_output_and_the_audit_log() {
    let dir = dir_with(&[
        (".flowspec/flowspec.yaml", SETTINGS),
        (".flowspec/hooks/hooks.yaml", HOOKS),
        (
            ".flowspec/hooks/.env",
            &format!("EVENTS_WHSEC_NEW={WHSEC}\nCI_ACCESS={CI_KEY}\nORG_CRED={ORG_HEADER}\n"),
        ),
    ]);
    let project = Project::discover(dir.path()).unwrap();
    let engine = project.engine(Arc::new(SilentReporter)).await.unwrap();

    let report = engine
        .emit(Event::builder("x.y").id("e-1").build().unwrap())
        .await
        .unwrap();

    let output = report.hooks[0].output.clone();
    assert!(output.contains("key=*** ci=*** org=***"), "{output}");
    let audit = std::fs::read_to_string(project.audit_path()).unwrap();
    assert!(audit.contains("key=***"), "{audit}");
    for secret in [WHSEC, LITERAL, CI_KEY, ORG_HEADER] {
        assert!(
            !output.contains(secret),
            "hook output shows {secret}: {output}"
        );
        assert!(
            !audit.contains(secret),
            "the audit log shows {secret}: {audit}"
        );
        assert_eq!(project.masker().mask(secret), "***");
    }
}
