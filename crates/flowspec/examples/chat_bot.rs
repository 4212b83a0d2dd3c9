//! A chat-bot-style program: reads commands from stdin, one a line, and answers
//! through the library.
//!
//! ```text
//! /deploy staging        emit `deploy.requested` with environment=staging (runs the hooks)
//! /ci status <run>       the run's status and jobs
//! /notify <text>         send `chat.message` to the integrations routed for it
//! /help
//! ```
//!
//! ```text
//! echo '/ci status 22222222222' | cargo run -p flowspec --example chat_bot
//! ```

use std::sync::Arc;

use flowspec::notify::DeliveryRequest;
use flowspec::{Engine, Event, Project, RunId};
use tokio::io::{AsyncBufReadExt, BufReader};

const HELP: &str = "commands: /deploy <environment>, /ci status <run>, /notify <text>, /help";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let project = Project::discover(&std::env::current_dir()?)?;
    let engine = project.engine(Arc::new(flowspec::SilentReporter)).await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let answer = match answer(&project, &engine, line.trim()).await {
            Ok(text) => text,
            // Library errors never hold a secret; mask anyway, as a bot echoes to a chat.
            Err(e) => format!("error: {}", project.masker().mask(&e.to_string())),
        };
        println!("{answer}");
    }
    Ok(())
}

async fn answer(
    project: &Project,
    engine: &Engine,
    line: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["/deploy", environment] => {
            let event = Event::builder("deploy.requested")
                .source("chat-bot")
                .field("environment", *environment)
                .build()?;
            let report = engine.emit(event).await?;
            let hooks: Vec<String> = report
                .hooks
                .iter()
                .map(|h| format!("{} {}", h.hook, h.status))
                .collect();
            Ok(if hooks.is_empty() {
                "no hook handles deploy.requested".into()
            } else {
                format!("deploy to {environment}: {}", hooks.join(", "))
            })
        }
        ["/ci", "status", run] => {
            let ci = project.ci(None)?;
            let run = ci.get_run(&RunId::new(*run)).await?;
            let jobs = ci.list_jobs(&run.id).await?;
            let jobs: Vec<String> = jobs
                .iter()
                .map(|j| format!("{} {}", j.name, j.status))
                .collect();
            Ok(format!(
                "run {}: {} ({})",
                run.id,
                run.status,
                jobs.join(", ")
            ))
        }
        ["/notify", ..] => {
            let text = line.trim_start_matches("/notify").trim();
            let event = Event::builder("chat.message")
                .source("chat-bot")
                .field("message", text)
                .build()?;
            let hub = project.notifications()?;
            let report = hub
                .dispatch(&event, &DeliveryRequest::by_event("chat-bot"))
                .await;
            Ok(format!(
                "{} delivery(ies){}",
                report.deliveries.len(),
                if report.has_failures() {
                    ", some failed"
                } else {
                    ""
                }
            ))
        }
        ["/help"] | [] => Ok(HELP.into()),
        _ => Ok(format!("unknown command `{line}`; {HELP}")),
    }
}
