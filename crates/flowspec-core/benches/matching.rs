//! Matching throughput: events against 1,000 hooks with selectors and filters.
//!
//! `cargo bench -p flowspec-core --bench matching`
//! Goal: ≥ 1,000,000 hook-matches per second (one hook checked against one event).

use std::hint::black_box;
use std::time::{Duration, Instant};

use flowspec_core::{Event, Filter, HookSpec};
use serde_json::json;

const HOOKS: usize = 1_000;

fn hooks() -> Vec<HookSpec> {
    let areas = [
        "implement",
        "validate",
        "deploy",
        "task",
        "ci",
        "review",
        "spec",
        "release",
    ];
    let states = ["completed", "started", "failed"];
    (0..HOOKS)
        .map(|i| {
            let area = areas[i % areas.len()];
            let state = states[i % states.len()];
            let selector = match i % 4 {
                0 => format!("{area}.{state}"),
                1 => format!("{area}.*"),
                2 => format!("*.{state}"),
                _ => format!("{area}.*.{state}"),
            };
            let filter = match i % 3 {
                0 => Filter::new(),
                1 => Filter::new().any_of("environment", [json!("staging"), json!("qa")]),
                _ => Filter::new()
                    .equals("repository.name", json!("flowspec"))
                    .equals("branch", json!("release/*")),
            };
            HookSpec::builder(format!("hook-{i}"))
                .on_filtered(&selector, filter)
                .command("true")
                .build()
                .expect("valid hook")
        })
        .collect()
}

fn events() -> Vec<Event> {
    let types = [
        "implement.completed",
        "deploy.completed",
        "deploy.staging.completed",
        "ci.github.failed",
        "task.started",
    ];
    (0..50)
        .map(|i| {
            let environment = ["staging", "production", "qa"][i % 3];
            let branch = ["main", "release/1.2", "feature/x"][i % 3];
            Event::from_json(json!({
                "event_type": types[i % types.len()],
                "environment": environment,
                "branch": branch,
                "repository": {"name": "flowspec", "owner": "org"},
                "commit": "9f1c2e7",
            }))
            .expect("valid event")
        })
        .collect()
}

fn main() {
    let hooks = hooks();
    let events = events();
    // Warm up, then run for about two seconds.
    let mut matched = 0usize;
    let mut checks = 0usize;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        for event in &events {
            for hook in &hooks {
                matched += black_box(hook).matches(black_box(event)) as usize;
            }
            checks += hooks.len();
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "matching: {HOOKS} hooks × {} events: {:.1} M hook-matches/s ({} checks in {secs:.2}s, {:.1}% matched)",
        events.len(),
        checks as f64 / secs / 1e6,
        checks,
        matched as f64 * 100.0 / checks as f64
    );
}
