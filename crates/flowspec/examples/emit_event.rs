//! Emit one event into the project around the current directory and print what ran.
//!
//! ```text
//! cargo run -p flowspec --example emit_event -- deploy.completed environment=staging
//! ```

use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let event_type = args.next().unwrap_or_else(|| "implement.completed".into());
    let mut event = flowspec::Event::builder(event_type).source("emit-example");
    for pair in args {
        if let Some((key, value)) = pair.split_once('=') {
            event = event.field(key, value);
        }
    }
    let project = flowspec::Project::discover(&std::env::current_dir()?)?;
    if !project.has_hooks() {
        println!("no hooks in {}", project.root().display());
        return Ok(());
    }
    let engine = project.engine(Arc::new(flowspec::SilentReporter)).await?;
    let report = engine.emit(event.build()?).await?;
    for hook in &report.hooks {
        println!("{}: {} in {} ms", hook.hook, hook.status, hook.duration_ms);
    }
    if report.is_blocked() {
        std::process::exit(4);
    }
    Ok(())
}
