//! In-process Rust handlers: `action: <name>` in hooks.yaml calls a handler that the
//! embedding program registered with
//! [`EngineBuilder::handler`](crate::EngineBuilder::handler).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;

use super::{Action, ActionContext, ActionFactory, ActionOutcome, BuildContext};
use crate::config::{ConfigError, ConfigErrorKind, ConfigErrors, Node, suggest};
use crate::event::Event;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// An [`Action`] made from an async closure that takes the event.
///
/// ```
/// use flowspec_core::action::handler::action_fn;
///
/// let greet = action_fn("greet", |event| async move {
///     println!("got {}", event.event_type());
///     Ok(())
/// });
/// # let _ = greet;
/// ```
pub fn action_fn<F, Fut>(name: &str, f: F) -> Arc<dyn Action>
where
    F: Fn(Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    Arc::new(FnAction {
        name: name.to_owned(),
        f: Box::new(move |event| Box::pin(f(event))),
    })
}

struct FnAction {
    name: String,
    f: Box<dyn Fn(Event) -> BoxFuture<Result<(), String>> + Send + Sync>,
}

impl fmt::Debug for FnAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FnAction({})", self.name)
    }
}

#[async_trait]
impl Action for FnAction {
    fn summary(&self) -> String {
        format!("action: {}", self.name)
    }

    async fn run(&self, cx: &ActionContext<'_>) -> ActionOutcome {
        match (self.f)(cx.event.clone()).await {
            Ok(()) => ActionOutcome::success(),
            Err(message) => ActionOutcome::failed(message),
        }
    }
}

/// `action: <name>` — a handler registered in Rust.
pub struct HandlerFactory;

impl ActionFactory for HandlerFactory {
    fn key(&self) -> &'static str {
        "action"
    }

    fn describe(&self) -> &'static str {
        "call an in-process handler registered by the program embedding flowspec"
    }

    fn example_yaml(&self) -> &'static str {
        "name: record-metrics\nevents:\n  - type: \"*.completed\"\naction: record-metrics\n"
    }

    fn build(&self, value: &Node, cx: &BuildContext<'_>) -> Result<Arc<dyn Action>, ConfigErrors> {
        let error = |msg: String| {
            cx.locate(
                ConfigError::new(ConfigErrorKind::InvalidValue, msg)
                    .at(value.loc)
                    .path(cx.key_path.clone()),
            )
        };
        let Some(name) = value.as_str() else {
            return Err(error(format!(
                "`action` must be the name of a registered handler, found {}",
                value.value.kind()
            ))
            .into());
        };
        if let Some(action) = cx.handlers.get(name) {
            return Ok(action.clone());
        }
        let known = cx.handlers.keys().map(String::as_str);
        let hint = match suggest(name, known) {
            Some(close) => format!("did you mean `{close}`?"),
            None if cx.handlers.is_empty() => {
                "no handlers are registered: `action:` is for programs that embed flowspec-core \
                 and register one with EngineBuilder::handler; use `command:` or `script:` otherwise"
                    .to_owned()
            }
            None => {
                let mut names: Vec<&str> = cx.handlers.keys().map(String::as_str).collect();
                names.sort_unstable();
                format!("registered handlers: {}", crate::config::de::backticked(&names))
            }
        };
        Err(error(format!("no handler named `{name}` is registered"))
            .hint(hint)
            .into())
    }
}
