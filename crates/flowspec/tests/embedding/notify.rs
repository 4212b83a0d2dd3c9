//! `flowspec::notify`: names, samples, routing, dead letters, statuses.

use flowspec::notify::{self, ReplaySelection};
use flowspec::{ErrorKind, Project};

fn project() -> (tempfile::TempDir, Project) {
    // A webhook endpoint whose secret variable is not set, and a Slack without its URL.
    let dir = crate::dir_with(&[(
        ".flowspec/flowspec.yaml",
        "integrations:\n  slack:\n    enabled: true\n    notify_on: [implementation_failed]\n    max_per_hour: 5\n",
    )]);
    let project = Project::discover(dir.path()).unwrap();
    (dir, project)
}

#[tokio::test]
async fn should_name_a_close_integration_and_report_missing_secrets() {
    // SAFETY: no other test of this binary reads SLACK_WEBHOOK_URL.
    unsafe { std::env::remove_var("SLACK_WEBHOOK_URL") };
    let (_dir, project) = project();
    let hub = project.notifications().unwrap();
    notify::require_integration(&hub, "slack").unwrap();
    let err = notify::require_integration(&hub, "slak").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(err.to_string().contains("did you mean `slack`?"), "{err}");
    assert!(notify::sample(&hub, "teams", None).is_err());
    let sample = notify::sample(&hub, "slack", Some("implementation_failed")).unwrap();
    assert_eq!(
        sample.event.event_type().as_str(),
        "implement.failed",
        "notify_on names work"
    );

    let statuses = notify::statuses(&project, &hub).await;
    assert_eq!(statuses[0].status, "missing secrets");
    assert_eq!(statuses[0].missing_secrets, ["SLACK_WEBHOOK_URL"]);
    assert_eq!(statuses[0].rate_limit.max_per_hour, Some(5));
    assert!(
        statuses[0]
            .default_secrets
            .iter()
            .any(|s| s.env == "SLACK_WEBHOOK_URL" && !s.set)
    );
}

#[tokio::test]
async fn should_route_by_event_or_to_named_integrations_only() {
    let (_dir, project) = project();
    let hub = project.notifications().unwrap();
    let event = |t: &str| flowspec::Event::builder(t).build().unwrap();
    let err =
        notify::prepare(&hub, event("implement.failed"), &["nope".into()], "bot").unwrap_err();
    assert!(err.to_string().contains("integrations list"), "{err}");
    let routed = notify::prepare(&hub, event("deploy.completed"), &[], "bot").unwrap();
    assert_eq!(routed.targets, 0, "slack's notify_on does not list it");
    assert_eq!(
        notify::event_type_of("implementation_failed"),
        "implement.failed"
    );
    assert_eq!(
        notify::event_type_of("deploy.completed"),
        "deploy.completed"
    );
}

#[tokio::test]
async fn should_need_ids_or_all_to_replay_and_refuse_unknown_ones() {
    let (_dir, project) = project();
    let hub = project.notifications().unwrap();
    let err = notify::replay(&hub, ReplaySelection::Ids(Vec::new()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--all"), "{err}");
    assert!(
        notify::replay(&hub, ReplaySelection::AllPending)
            .await
            .unwrap()
            .is_empty()
    );
    let err = notify::replay(&hub, ReplaySelection::Ids(vec!["msg_nope".into()]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(notify::dead_letters(&hub, true).await.unwrap().is_empty());
    assert!(
        !notify::enable(&hub, "slack").await.unwrap(),
        "it was not disabled"
    );
    assert_eq!(
        notify::enable(&hub, "teams").await.unwrap_err().kind(),
        ErrorKind::Usage
    );
}
