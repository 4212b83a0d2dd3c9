//! The engine through its public API, as an embedder uses it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use flowspec_core::testing::{RecordingAction, RecordingReporter, sample_event};
use flowspec_core::{
    Action, ActionContext, ActionOutcome, EmitOptions, Engine, EngineBuilder, Event, FailMode,
    HookSpec, HookStatus, SkipReason,
};
use proptest::prelude::*;

fn project(hooks_yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".flowspec/hooks")).unwrap();
    std::fs::write(dir.path().join(".flowspec/hooks/hooks.yaml"), hooks_yaml).unwrap();
    dir
}

#[tokio::test]
async fn should_call_a_registered_handler_named_in_hooks_yaml() {
    let dir =
        project("hooks:\n  - name: record\n    events: [\"*.completed\"]\n    action: recorder\n");
    let recorder = RecordingAction::new();
    let engine = EngineBuilder::discover(dir.path())
        .unwrap()
        .handler("recorder", recorder.clone())
        .build()
        .await
        .unwrap();
    let report = engine
        .emit(sample_event("implement.completed"))
        .await
        .unwrap();
    assert_eq!(report.hooks[0].status, HookStatus::Success);
    assert_eq!(recorder.events().len(), 1);
    assert_eq!(recorder.events()[0].feature(), Some("auth"));
}

#[tokio::test]
async fn should_block_later_groups_when_a_stop_hook_fails() {
    let later = RecordingAction::new();
    let engine = Engine::builder()
        .hook(
            HookSpec::builder("gate")
                .on("a.b")
                .action(RecordingAction::failing("red"))
                .fail_mode(FailMode::Stop)
                .build()
                .unwrap(),
        )
        .hook(
            HookSpec::builder("later")
                .on("a.b")
                .action(later.clone())
                .build()
                .unwrap(),
        )
        .build()
        .await
        .unwrap();
    let report = engine.emit(sample_event("a.b")).await.unwrap();
    assert!(report.is_blocked());
    assert_eq!(report.blocked_by.as_deref(), Some("gate"));
    assert_eq!(
        report.hooks[1].skip_reason,
        Some(SkipReason::Blocked { by: "gate".into() })
    );
    assert!(later.events().is_empty());
    assert_eq!(report.failures()[0].message.as_deref(), Some("red"));
}

/// Emits a follow-up event, like the `ci` action emits `ci.triggered`.
#[derive(Debug)]
struct Triggers;

#[async_trait]
impl Action for Triggers {
    fn summary(&self) -> String {
        "triggers".into()
    }

    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome {
        let next = Event::builder("ci.triggered")
            .feature(cx.event.feature().unwrap_or(""))
            .build()
            .unwrap();
        ActionOutcome::success()
            .with_detail("run_id", "42")
            .with_follow_up(next)
    }
}

#[tokio::test]
async fn should_dispatch_follow_up_events_after_the_event() {
    let on_triggered = RecordingAction::new();
    let reporter = RecordingReporter::new();
    let engine = Engine::builder()
        .hook(
            HookSpec::builder("trigger")
                .on("implement.completed")
                .action(Arc::new(Triggers))
                .build()
                .unwrap(),
        )
        .hook(
            HookSpec::builder("watch")
                .on("ci.triggered")
                .action(on_triggered.clone())
                .build()
                .unwrap(),
        )
        .reporter(reporter.clone())
        .build()
        .await
        .unwrap();
    let report = engine
        .emit(sample_event("implement.completed"))
        .await
        .unwrap();
    assert_eq!(report.hooks[0].details["run_id"], "42");
    assert_eq!(report.follow_ups.len(), 1);
    assert_eq!(report.follow_ups[0].event_type, "ci.triggered");
    assert_eq!(on_triggered.events()[0].source(), Some("flowspec"));
    assert_eq!(
        reporter.lines(),
        [
            "start trigger",
            "finish trigger success",
            "start watch",
            "finish watch success"
        ]
    );
}

#[tokio::test]
async fn should_cancel_in_process_actions_at_their_timeout() {
    #[derive(Debug)]
    struct Sleeps;
    #[async_trait]
    impl Action for Sleeps {
        fn summary(&self) -> String {
            "sleeps".into()
        }
        async fn run(&self, _: &ActionContext<'_>) -> ActionOutcome {
            tokio::time::sleep(Duration::from_secs(60)).await;
            ActionOutcome::success()
        }
    }
    let engine = Engine::builder()
        .hook(
            HookSpec::builder("slow")
                .on("a.b")
                .action(Arc::new(Sleeps))
                .timeout(Duration::from_millis(50))
                .build()
                .unwrap(),
        )
        .build()
        .await
        .unwrap();
    let report = engine.emit(sample_event("a.b")).await.unwrap();
    assert_eq!(report.hooks[0].status, HookStatus::Timeout);
    assert!(
        report.hooks[0]
            .message
            .as_deref()
            .unwrap()
            .starts_with("timed out after")
    );
}

#[tokio::test]
async fn should_remember_successes_across_engines_sharing_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let action = RecordingAction::new();
    let build = || {
        Engine::builder()
            .hook(
                HookSpec::builder("once")
                    .on("a.b")
                    .action(action.clone())
                    .build()
                    .unwrap(),
            )
            .state_path(&db)
            .build()
    };
    let event = Event::builder("a.b").id("fixed-id").build().unwrap();
    let first = build().await.unwrap().emit(event.clone()).await.unwrap();
    assert_eq!(first.hooks[0].status, HookStatus::Success);
    // A new engine (a restarted process) over the same file.
    let again = build().await.unwrap().emit(event.clone()).await.unwrap();
    assert_eq!(
        again.hooks[0].skip_reason,
        Some(SkipReason::AlreadySucceeded)
    );
    assert_eq!(action.events().len(), 1);
    let forced = build()
        .await
        .unwrap()
        .emit_with(event, EmitOptions::default().force(true))
        .await
        .unwrap();
    assert_eq!(
        (forced.hooks[0].status, forced.hooks[0].attempt),
        (HookStatus::Success, 2)
    );
}

#[tokio::test]
async fn should_keep_secrets_out_of_debug_and_reports() {
    let engine = Engine::builder()
        .hook(
            HookSpec::builder("leak")
                .on("a.b")
                .command("echo $DEPLOY_KEY")
                .secret_env("DEPLOY_KEY", "k-123456789")
                .build()
                .unwrap(),
        )
        .build()
        .await
        .unwrap();
    assert!(!format!("{:?}", engine.hooks()).contains("k-123456789"));
    let report = engine.emit(sample_event("a.b")).await.unwrap();
    assert_eq!(report.hooks[0].output, "***\n");
}

fn field_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-zA-Z0-9 $()`;]{0,20}".prop_map(serde_json::Value::from),
        prop::collection::vec("[a-z]{0,5}", 0..3).prop_map(|v| serde_json::json!(v)),
    ]
}

proptest! {
    #[test]
    fn should_round_trip_any_event_through_json(
        event_type in "[a-z]{1,8}(\\.[a-z_-]{1,8}){0,3}",
        feature in proptest::option::of("[ -~]{0,16}"),
        fields in prop::collection::btree_map("[a-z][a-z0-9_]{0,10}", field_value(), 0..6),
    ) {
        let mut builder = Event::builder(event_type);
        if let Some(f) = feature {
            builder = builder.feature(f);
        }
        for (k, v) in fields {
            if !flowspec_core::event::RESERVED_FIELDS.contains(&k.as_str()) {
                builder = builder.field(k, v);
            }
        }
        let event = builder.build().unwrap();
        let back = Event::from_slice(&event.to_vec()).unwrap();
        prop_assert_eq!(back.to_json(), event.to_json());
    }
}

/// Records start and end of each run, with a pause in between.
#[derive(Debug, Default)]
struct Timeline {
    log: std::sync::Mutex<Vec<String>>,
}

#[async_trait]
impl Action for Timeline {
    fn summary(&self) -> String {
        "timeline".into()
    }

    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome {
        let label = format!(
            "{}:{}",
            cx.event.data()["environment"].as_str().unwrap(),
            cx.event.id()
        );
        self.log.lock().unwrap().push(format!("start {label}"));
        tokio::time::sleep(Duration::from_millis(30)).await;
        self.log.lock().unwrap().push(format!("end {label}"));
        ActionOutcome::success()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_run_one_deploy_per_environment_at_a_time_in_arrival_order() {
    let timeline = Arc::new(Timeline::default());
    let engine = Engine::builder()
        .hook(
            HookSpec::builder("deploy")
                .on("deploy.requested")
                .action(timeline.clone())
                .concurrency(1, Some("environment"))
                .build()
                .unwrap(),
        )
        .build()
        .await
        .unwrap();
    let event = |id: &str, env: &str| {
        Event::builder("deploy.requested")
            .id(id)
            .field("environment", env)
            .build()
            .unwrap()
    };
    // Prepared in arrival order...
    let prepared = vec![
        engine.prepare(event("s1", "staging")),
        engine.prepare(event("p1", "production")),
        engine.prepare(event("s2", "staging")),
    ];
    // ...dispatched by workers in the opposite order.
    let mut tasks = Vec::new();
    for p in prepared.into_iter().rev() {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            engine
                .dispatch_prepared(p, EmitOptions::default())
                .await
                .unwrap()
        }));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().hooks[0].status, HookStatus::Success);
    }
    let log = timeline.log.lock().unwrap().clone();
    let at = |entry: &str| {
        log.iter()
            .position(|l| l == entry)
            .unwrap_or_else(|| panic!("{entry} missing in {log:?}"))
    };
    assert!(
        at("end staging:s1") < at("start staging:s2"),
        "staging runs one at a time, in order: {log:?}"
    );
    assert!(
        at("start production:p1") < at("end staging:s1"),
        "production does not wait for staging: {log:?}"
    );
}

#[tokio::test]
async fn should_run_a_hook_only_when_its_when_command_exits_zero() {
    let dir = project(
        "hooks:\n  - name: gated\n    events: [a.b]\n    when: \"test -f ready\"\n    action: recorder\n",
    );
    let recorder = RecordingAction::new();
    let engine = EngineBuilder::discover(dir.path())
        .unwrap()
        .handler("recorder", recorder.clone())
        .build()
        .await
        .unwrap();
    assert_eq!(engine.hooks()[0].when(), Some("test -f ready"));

    let report = engine.emit(sample_event("a.b")).await.unwrap();
    assert_eq!(report.hooks[0].status, HookStatus::Skipped);
    assert_eq!(
        report.hooks[0].skip_reason,
        Some(SkipReason::Condition {
            reason: "`test -f ready` exited 1".into()
        })
    );
    assert!(recorder.events().is_empty());

    // The skip is not remembered: once the gate opens, the next event runs the hook.
    std::fs::write(dir.path().join("ready"), "").unwrap();
    let report = engine.emit(sample_event("a.b")).await.unwrap();
    assert_eq!(report.hooks[0].status, HookStatus::Success);
    assert_eq!(recorder.events().len(), 1);
}

#[tokio::test]
async fn should_refuse_an_empty_when() {
    let dir = project(
        "hooks:\n  - name: gated\n    events: [a.b]\n    when: \"  \"\n    action: recorder\n",
    );
    let err = EngineBuilder::discover(dir.path())
        .unwrap()
        .handler("recorder", RecordingAction::new())
        .build()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`when` is empty"), "{err}");
}
