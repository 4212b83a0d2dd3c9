//! Embedding flowspec-core in another tool: hooks built in Rust next to a shell hook,
//! an in-process handler, a reporter, and the structured report.
//!
//! Run it: `cargo run -p flowspec-core --example embed_engine`

use std::sync::Arc;
use std::time::Duration;

use flowspec_core::action::handler::action_fn;
use flowspec_core::output::Stream;
use flowspec_core::{Engine, Event, FailMode, Filter, HookReport, HookSpec, Reporter};

/// Prints hook output as it arrives.
struct PrintReporter;

impl Reporter for PrintReporter {
    fn hook_output(&self, hook: &str, _stream: Stream, line: &str) {
        println!("  [{hook}] {line}");
    }

    fn hook_finished(&self, _event: &Event, report: &HookReport) {
        println!(
            "  {} -> {} ({} ms)",
            report.hook, report.status, report.duration_ms
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // An in-process handler: any async Rust code, called with the event.
    let record = action_fn("record-metrics", |event: Event| async move {
        println!(
            "  (rust) recording {} for {}",
            event.event_type(),
            event.feature().unwrap_or("-")
        );
        Ok(())
    });

    let engine = Engine::builder()
        .hook(
            HookSpec::builder("unit-tests")
                .on("implement.completed")
                .command("echo \"testing $FLOWSPEC_FEATURE\"")
                .timeout(Duration::from_secs(60))
                .fail_mode(FailMode::Stop)
                .build()?,
        )
        .hook(
            HookSpec::builder("metrics")
                .on("*.completed")
                .action(record)
                .build()?,
        )
        .hook(
            HookSpec::builder("staging-only")
                .on_filtered(
                    "deploy.completed",
                    Filter::new().equals("environment", "staging".into()),
                )
                .command("echo deployed to staging")
                .build()?,
        )
        .reporter(Arc::new(PrintReporter))
        .build()
        .await?;

    for event in [
        Event::builder("implement.completed")
            .feature("auth")
            .build()?,
        Event::builder("deploy.completed")
            .field("environment", "production")
            .build()?,
    ] {
        println!("emit {}", event.event_type());
        let report = engine.emit(event).await?;
        println!(
            "  blocked: {}, failures: {}",
            report.is_blocked(),
            report.failures().len()
        );
    }
    Ok(())
}
