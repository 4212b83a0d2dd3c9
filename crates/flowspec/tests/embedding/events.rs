//! `flowspec::events`: the queue from outside the server.

use std::sync::Arc;

use flowspec::events::{self, Replayed, Selection};
use flowspec::{ErrorKind, Project, SilentReporter};
use flowspec_server::queue::{Incoming, QueueStatus};

#[tokio::test]
async fn should_show_replay_and_dispatch_a_queued_event() {
    let dir = crate::dir_with(&[(
        ".flowspec/hooks/hooks.yaml",
        "hooks:\n  - name: ok\n    events: [job.done]\n    command: \"true\"\n",
    )]);
    let project = Project::discover(dir.path()).unwrap();
    let err = events::show(&project, "nope").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);

    let event = flowspec::Event::builder("job.done")
        .id("job-1")
        .build()
        .unwrap();
    let incoming = Incoming {
        source: "events".into(),
        delivery_id: None,
        events: vec![event],
    };
    project
        .queue()
        .await
        .unwrap()
        .enqueue(&[incoming])
        .await
        .unwrap();
    let listed = events::list(&project, Some(QueueStatus::Pending), 10)
        .await
        .unwrap();
    assert_eq!(listed[0].event_id, "job-1");

    let engine = project.engine(Arc::new(SilentReporter)).await.unwrap();
    let Replayed::Dispatched { status, report } =
        events::dispatch(&project, &engine, "job-1").await.unwrap()
    else {
        panic!("nobody else holds it")
    };
    assert_eq!(status, QueueStatus::Done);
    assert_eq!(report.hooks.len(), 1);
    let detail = events::show(&project, "job-1").await.unwrap();
    assert_eq!(detail.hook_runs[0].hook, "ok");
    assert_eq!(detail.queue.unwrap().status, QueueStatus::Done);

    // Replayed with --force: pending again, and its succeeded hook runs again.
    let ids = events::mark_for_replay(&project, Selection::One("job-1".into()), true)
        .await
        .unwrap();
    assert_eq!(ids, ["job-1"]);
    let Replayed::Dispatched { report, .. } =
        events::dispatch(&project, &engine, "job-1").await.unwrap()
    else {
        panic!("nobody else holds it")
    };
    assert_eq!(report.hooks[0].status, flowspec::HookStatus::Success);
    assert!(
        events::mark_for_replay(&project, Selection::Dead, false)
            .await
            .unwrap()
            .is_empty()
    );
    let err = events::mark_for_replay(&project, Selection::One("nope".into()), false)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
}
