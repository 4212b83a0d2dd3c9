//! Delivery throughput of the webhook notifier (benches/notify.sh): N events, each
//! through the full delivery path — routing, default message, JSON payload, HMAC and
//! Standard Webhooks signatures, one HTTP POST, and one audit line — with at most C
//! events in flight, keeping delivery state (rate limits, dead letters) in an SQLite
//! store as a project does. Prints one JSON line: the rate of notifications really
//! delivered, peak RSS, audit line count.
//!
//!   cargo bench -p flowspec-notify --bench deliver -- http://127.0.0.1:8099 1000 64

use std::time::Instant;

use flowspec_core::Event;
use flowspec_core::config::{Node, Vars};
use flowspec_notify::{DeliveryRequest, Notifications, config};
use futures_util::StreamExt;

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU seconds of this process so far (from /proc, 10 ms ticks).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let sink = args
        .first()
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8099".into());
    let count: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let in_flight: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(64);
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");

    let yaml = format!(
        "integrations:\n  webhooks:\n    enabled: true\n    endpoints:\n      - name: sink\n        url: \"{sink}/hook\"\n        secret: \"${{BENCH_SECRET}}\"\n        signing_keys: [\"${{BENCH_WHSEC}}\"]\n        retry_count: 0\n"
    );
    let root = Node::parse(&yaml).unwrap();
    let vars = Vars::from_pairs([
        ("BENCH_SECRET", "bench-hmac-secret"),
        ("BENCH_WHSEC", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ]);
    let config = config::parse(
        root.get("integrations"),
        None,
        None,
        None,
        &vars,
        &flowspec_notify::registry(),
    )
    .unwrap();
    // The state a project keeps in `.flowspec/state/flowspec.db`.
    let hub = Notifications::builder(config)
        .audit_log(&audit)
        .state_path(dir.path().join("state/flowspec.db"))
        .build();
    let event = |i: usize| {
        Event::builder("implement.completed")
            .feature("auth")
            .field("spec_id", format!("FEAT-{i:04}"))
            .field("title", "User Authentication")
            .field("pr", 42)
            .field("pr_url", "https://github.com/org/repo/pull/42")
            .build()
            .unwrap()
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (delivered, seconds, cpu) = runtime.block_on(async {
        let request = DeliveryRequest::by_event("bench");
        // Warm-up: connections, allocator, audit file.
        for i in 0..50 {
            hub.dispatch(&event(i), &request).await;
        }
        let cpu_before = cpu_seconds();
        let started = Instant::now();
        let delivered = futures_util::stream::iter(0..count)
            .map(|i| {
                let hub = &hub;
                let request = &request;
                async move {
                    let report = hub.dispatch(&event(i), request).await;
                    report.count(flowspec_notify::DeliveryStatus::Delivered)
                }
            })
            .buffer_unordered(in_flight)
            .fold(0usize, |acc, n| async move { acc + n })
            .await;
        (
            delivered,
            started.elapsed().as_secs_f64(),
            cpu_seconds() - cpu_before,
        )
    });
    let audit_lines = std::fs::read_to_string(&audit)
        .unwrap_or_default()
        .lines()
        .count()
        - 50;
    println!(
        "{}",
        serde_json::json!({
            "tool": "flowspec",
            "count": count,
            "delivered": delivered,
            "audit_lines": audit_lines,
            "in_flight": in_flight,
            "seconds": seconds,
            // What was delivered, not what was asked for.
            "per_sec": delivered as f64 / seconds,
            "cpu_seconds": cpu,
            "cpu_us_per_notification": cpu * 1e6 / count as f64,
            "peak_rss_kb": peak_rss_kb(),
        })
    );
}
