//! Prometheus metrics, served as text on `GET /metrics`.
//!
//! | metric | labels | |
//! |---|---|---|
//! | `flowspec_events_received_total` | `source` | requests that reached a source |
//! | `flowspec_events_accepted_total` | `source` | events stored (before the 202) |
//! | `flowspec_events_rejected_total` | `source`, `reason` | refused requests (`bad_signature`, `replayed`, `rate_limited`...) |
//! | `flowspec_events_dispatched_total` | `status` | dispatches ending `done`, `retry` or `dead` |
//! | `flowspec_hook_runs_total` | `hook`, `status` | hook runs by outcome |
//! | `flowspec_hook_duration_seconds` | `hook` | hook run time |
//! | `hooks_cicd_triggers_total` | `status` | runs of `ci` hooks (the names dashboards query) |
//! | `hooks_cicd_trigger_duration_seconds` | | time of `ci` hook runs |
//! | `flowspec_pipeline_duration_seconds` | `provider` | CI run durations reported by `ci.completed` webhooks |
//! | `flowspec_queue_depth` | `status` | queued events by status |
//! | `flowspec_accept_duration_seconds` | | request received → 202 (durably stored) |
//! | `flowspec_published_total` | | events the publisher acknowledged (`ServerConfig::publish_to`) |
//! | `flowspec_publish_failures_total` | | batches the publisher refused or could not take (retried) |
//! | `flowspec_outbox_depth` | | accepted events waiting to be published |
//!
//! Every label value comes from the server's own names (sources, refusal codes,
//! statuses, configured hooks) except `provider`, which events carry: it is one of
//! [`KNOWN_PROVIDERS`], or one of the first [`MAX_OTHER_PROVIDERS`] other short names
//! seen (letters, digits, `_`, `-`), and `other` beyond, so senders cannot grow
//! `/metrics` without limit.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use flowspec_core::{Event, HookReport, HookStatus, Reporter};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectLabels {
    source: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HookLabels {
    hook: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HookLabel {
    hook: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabel {
    provider: String,
}

/// `provider` label values always used as they are: the CI platforms flowspec knows.
pub const KNOWN_PROVIDERS: &[&str] = &["github", "gitlab", "circleci", "jenkins", "custom"];

/// How many other `provider` values get a label of their own; later ones are `other`.
pub const MAX_OTHER_PROVIDERS: usize = 16;

/// The longest `provider` value given a label of its own.
const MAX_PROVIDER_LEN: usize = 32;

/// The label for `provider`: known, or admitted while there is room, else `other`.
fn provider_label(admitted: &Mutex<HashSet<String>>, provider: &str) -> String {
    if KNOWN_PROVIDERS.contains(&provider) {
        return provider.to_owned();
    }
    let well_formed = !provider.is_empty()
        && provider.len() <= MAX_PROVIDER_LEN
        && provider
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !well_formed || provider == "other" {
        return "other".to_owned();
    }
    let mut admitted = admitted.lock().unwrap_or_else(|e| e.into_inner());
    if admitted.contains(provider) || admitted.len() < MAX_OTHER_PROVIDERS {
        admitted.insert(provider.to_owned());
        provider.to_owned()
    } else {
        "other".to_owned()
    }
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn seconds_histogram() -> Histogram {
    // 1 ms to ~2.3 h.
    Histogram::new(exponential_buckets(0.001, 2.5, 16))
}

/// The server's metrics; share one `Arc<Metrics>`.
pub struct Metrics {
    registry: Registry,
    received: Family<SourceLabel, Counter>,
    accepted: Family<SourceLabel, Counter>,
    rejected: Family<RejectLabels, Counter>,
    dispatched: Family<StatusLabel, Counter>,
    hook_runs: Family<HookLabels, Counter>,
    hook_duration: HistogramFamily<HookLabel>,
    cicd_triggers: Family<StatusLabel, Counter>,
    cicd_duration: Histogram,
    pipeline_duration: HistogramFamily<ProviderLabel>,
    other_providers: Mutex<HashSet<String>>,
    queue_depth: Family<StatusLabel, Gauge>,
    accept_duration: Histogram,
    published: Counter,
    publish_failures: Counter,
    outbox_depth: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let metrics = Metrics {
            received: Family::default(),
            accepted: Family::default(),
            rejected: Family::default(),
            dispatched: Family::default(),
            hook_runs: Family::default(),
            hook_duration: Family::new_with_constructor(seconds_histogram),
            cicd_triggers: Family::default(),
            cicd_duration: seconds_histogram(),
            pipeline_duration: Family::new_with_constructor(seconds_histogram),
            other_providers: Mutex::default(),
            queue_depth: Family::default(),
            accept_duration: seconds_histogram(),
            published: Counter::default(),
            publish_failures: Counter::default(),
            outbox_depth: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "flowspec_events_received",
            "Requests that reached a source",
            metrics.received.clone(),
        );
        registry.register(
            "flowspec_events_accepted",
            "Events durably stored",
            metrics.accepted.clone(),
        );
        registry.register(
            "flowspec_events_rejected",
            "Refused requests by reason",
            metrics.rejected.clone(),
        );
        registry.register(
            "flowspec_events_dispatched",
            "Dispatches by outcome",
            metrics.dispatched.clone(),
        );
        registry.register(
            "flowspec_hook_runs",
            "Hook runs by outcome",
            metrics.hook_runs.clone(),
        );
        registry.register(
            "flowspec_hook_duration_seconds",
            "Hook run time",
            metrics.hook_duration.clone(),
        );
        registry.register(
            "hooks_cicd_triggers",
            "Runs of ci hooks by outcome",
            metrics.cicd_triggers.clone(),
        );
        registry.register(
            "hooks_cicd_trigger_duration_seconds",
            "Time of ci hook runs",
            metrics.cicd_duration.clone(),
        );
        registry.register(
            "flowspec_pipeline_duration_seconds",
            "CI run durations reported by ci.completed webhooks",
            metrics.pipeline_duration.clone(),
        );
        registry.register(
            "flowspec_queue_depth",
            "Queued events by status",
            metrics.queue_depth.clone(),
        );
        registry.register(
            "flowspec_accept_duration_seconds",
            "Request received to 202 (stored)",
            metrics.accept_duration.clone(),
        );
        registry.register(
            "flowspec_published",
            "Events the publisher acknowledged",
            metrics.published.clone(),
        );
        registry.register(
            "flowspec_publish_failures",
            "Batches the publisher did not take (retried)",
            metrics.publish_failures.clone(),
        );
        registry.register(
            "flowspec_outbox_depth",
            "Accepted events waiting to be published",
            metrics.outbox_depth.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// A [`Reporter`] that counts hook runs (give it to the engine).
    pub fn reporter(self: &Arc<Self>) -> Arc<dyn Reporter> {
        Arc::new(MetricsReporter {
            metrics: self.clone(),
        })
    }

    pub(crate) fn received(&self, source: &str) {
        self.received
            .get_or_create(&SourceLabel {
                source: source.into(),
            })
            .inc();
    }

    pub(crate) fn accepted(&self, source: &str, n: u64, seconds: f64, events: &[Event]) {
        self.accepted
            .get_or_create(&SourceLabel {
                source: source.into(),
            })
            .inc_by(n);
        self.accept_duration.observe(seconds);
        for event in events
            .iter()
            .filter(|e| e.event_type().as_str() == "ci.completed")
        {
            if let Some(secs) = event.data().get("duration_secs").and_then(|d| d.as_f64()) {
                let provider = event
                    .data()
                    .get("provider")
                    .and_then(|p| p.as_str())
                    .unwrap_or(source);
                self.pipeline_duration
                    .get_or_create(&ProviderLabel {
                        provider: provider_label(&self.other_providers, provider),
                    })
                    .observe(secs);
            }
        }
    }

    pub(crate) fn rejected(&self, source: &str, reason: &str) {
        self.rejected
            .get_or_create(&RejectLabels {
                source: source.into(),
                reason: reason.into(),
            })
            .inc();
    }

    pub(crate) fn dispatched(&self, status: &str) {
        self.dispatched
            .get_or_create(&StatusLabel {
                status: status.into(),
            })
            .inc();
    }

    pub(crate) fn queue_depth(&self, status: &str, depth: u64) {
        self.queue_depth
            .get_or_create(&StatusLabel {
                status: status.into(),
            })
            .set(depth as i64);
    }

    pub(crate) fn published(&self, n: u64) {
        self.published.inc_by(n);
    }

    pub(crate) fn publish_failed(&self) {
        self.publish_failures.inc();
    }

    pub(crate) fn outbox_depth(&self, depth: u64) {
        self.outbox_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }
}

struct MetricsReporter {
    metrics: Arc<Metrics>,
}

impl Reporter for MetricsReporter {
    fn hook_finished(&self, _event: &Event, report: &HookReport) {
        let m = &self.metrics;
        m.hook_runs
            .get_or_create(&HookLabels {
                hook: report.hook.clone(),
                status: report.status.to_string(),
            })
            .inc();
        if report.status == HookStatus::Skipped {
            return;
        }
        let seconds = report.duration_ms as f64 / 1000.0;
        m.hook_duration
            .get_or_create(&HookLabel {
                hook: report.hook.clone(),
            })
            .observe(seconds);
        if report.action == "ci" {
            m.cicd_triggers
                .get_or_create(&StatusLabel {
                    status: report.status.to_string(),
                })
                .inc();
            m.cicd_duration.observe(seconds);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completed(provider: &str) -> Event {
        Event::builder("ci.completed")
            .field("provider", provider)
            .field("duration_secs", 42)
            .build()
            .unwrap()
    }

    #[test]
    fn should_cap_provider_labels_from_event_data() {
        let metrics = Metrics::new();
        metrics.accepted("events", 1, 0.01, &[completed("github")]);
        let small = metrics.render().len();
        let events: Vec<Event> = (0..500)
            .map(|i| completed(&format!("provider-{i}-{}", "x".repeat(i % 50))))
            .chain([completed("a\"b{c}"), completed(&"y".repeat(5000))])
            .collect();
        metrics.accepted("events", events.len() as u64, 0.01, &events);
        let text = metrics.render();
        let labels: HashSet<&str> = text
            .lines()
            .filter(|l| l.starts_with("flowspec_pipeline_duration_seconds_count"))
            .collect();
        // github, 16 others, `other`.
        assert_eq!(labels.len(), 1 + MAX_OTHER_PROVIDERS + 1, "{text}");
        assert!(
            text.contains(r#"flowspec_pipeline_duration_seconds_count{provider="other"} 486"#),
            "{text}"
        );
        assert!(text.len() < small + 40_000, "{} bytes", text.len());
        metrics.accepted("events", 1, 0.01, &[completed("provider-0-")]);
        assert!(
            metrics
                .render()
                .contains(r#"flowspec_pipeline_duration_seconds_count{provider="provider-0-"} 2"#),
            "an admitted name keeps its label"
        );
    }
}
