//! A chat-bot-style program: reads commands from stdin, one a line, and answers
//! through the library.
//!
//! ```text
//! /deploy staging [k=v]  emit `deploy.requested` with environment=staging (runs the hooks)
//! /ci status <run>       the run's status and jobs
//! /ci retry <run>        run its failed jobs again
//! /check                 the latest stored test results against the quarantine
//! /notify <text>         send `chat.message` to the integrations routed for it
//! /help
//! ```
//!
//! ```text
//! echo '/ci status 22222222222' | cargo run -p flowspec --example chat_bot
//! ```

use std::sync::Arc;

use flowspec::ci_steer::{self, Retry};
use flowspec::event_input::EventInput;
use flowspec::text::{Keep, escape_controls};
use flowspec::{Engine, Project, RunId, notify, test_results};
use tokio::io::{AsyncBufReadExt, BufReader};

const HELP: &str = "commands: /deploy <environment> [key=value...], /ci status <run>, /ci retry <run>, /check, /notify <text>, /help";

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
        ["/deploy", environment, fields @ ..] => {
            let mut input = EventInput::new()
                .event_type("deploy.requested")
                .default_source("chat-bot")
                .field("environment", *environment);
            for field in fields {
                input = input.data(field)?;
            }
            let report = engine.emit(input.build()?).await?;
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
            let state = ci_steer::status(ci.as_ref(), &RunId::new(*run)).await?;
            let jobs: Vec<String> = state
                .jobs
                .iter()
                .map(|j| format!("{} {}", j.name, j.status))
                .collect();
            // Job names come from the CI's API: escape them before they reach a terminal.
            let text = format!(
                "run {}: {} ({})",
                state.run.id,
                state.run.status,
                jobs.join(", ")
            );
            Ok(escape_controls(&text, Keep::Nothing).into_owned())
        }
        ["/ci", "retry", run] => {
            let ci = project.ci(None)?;
            let (retried, _) =
                ci_steer::retry(ci.as_ref(), &RunId::new(*run), Retry::Failed).await?;
            Ok(format!(
                "re-running the failed jobs; watch run {}",
                retried.id
            ))
        }
        ["/check"] => {
            let check = test_results::check(project, test_results::CheckRequest::default()).await?;
            let excused = check.outcome.quarantined.len();
            Ok(match (check.outcome.passed, check.outcome.blocking.len()) {
                (true, _) => format!("check passed ({excused} quarantined failure(s) excused)"),
                (false, n) => format!("check failed: {n} failure(s) not excused"),
            })
        }
        ["/notify", ..] => {
            let text = line.trim_start_matches("/notify").trim();
            let event = EventInput::new()
                .event_type("chat.message")
                .source("chat-bot")
                .field("message", text)
                .build()?;
            let hub = project.notifications()?;
            let report = notify::prepare(&hub, event, &[], "chat-bot")?
                .send(&hub)
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
