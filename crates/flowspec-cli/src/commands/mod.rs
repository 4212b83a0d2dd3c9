//! One module per subcommand; this one holds what they share: the opened project,
//! and turning errors into messages and exit codes.

mod audit;
mod ci;
mod emit;
mod events;
mod hooks;
mod init;
mod man;
mod notify;
mod pr;
mod results;
mod serve;
mod subscribe;
mod watch;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flowspec::event_input::EventInput;
use flowspec::{Engine, ErrorKind, Event, Project, Reporter};
use flowspec_core::config::ConfigErrors;

use crate::cli::{Cli, Command, EventArgs, Global};
use crate::exit_code;
use crate::logging::{self, LogMasker};
use crate::output::outln;
use flowspec::render::{
    Painter, color_enabled, safe_lines, stderr_is_terminal, stdout_is_terminal,
};

/// A command's failure: what to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
    // Rendered diagnostics carry their own `error:` headers.
    rendered: bool,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            rendered: false,
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Failure::new(exit_code::ERROR, message)
    }
}

/// What every command gets.
pub struct Context<'a> {
    pub global: &'a Global,
    /// Colors for stdout.
    pub out: Painter,
    /// Colors for stderr.
    pub err: Painter,
    log_masker: LogMasker,
    /// Where the user ran the command (before `-C`): paths are shown relative to it.
    invoked_in: std::path::PathBuf,
}

impl Context<'_> {
    /// The project: `--config`, `FLOWSPEC_CONFIG`, or the nearest `.flowspec/` upwards.
    pub fn project(&self) -> Result<Project, Failure> {
        let cwd = std::env::current_dir()
            .map_err(|e| Failure::error(format!("cannot read the current directory: {e}")))?;
        let project =
            Project::open(&cwd, self.global.config.as_deref()).map_err(|e| self.fail(e))?;
        self.mask_logs(&project);
        Ok(project)
    }

    /// The project's engine, with every action kind. Without `with_state`, no store or
    /// audit log is opened (listing, planning).
    pub async fn engine(
        &self,
        project: &Project,
        reporter: Arc<dyn Reporter>,
        with_state: bool,
    ) -> Result<Engine, Failure> {
        let engine = if with_state {
            project.engine(reporter).await
        } else {
            project.engine_without_state(reporter).await
        }
        .map_err(|e| self.fail(e))?;
        self.mask_logs(project);
        Ok(engine)
    }

    /// From here on, no log line shows a secret the project knows (call it again once
    /// an engine was built: the hooks' secrets are known then).
    pub fn mask_logs(&self, project: &Project) {
        self.log_masker.set(project.masker());
    }

    /// A library error as a failure with its exit code.
    pub fn fail(&self, error: flowspec::Error) -> Failure {
        let code = match error.kind() {
            ErrorKind::Config => exit_code::CONFIG_INVALID,
            ErrorKind::Usage => exit_code::USAGE,
            ErrorKind::CiRequest => exit_code::CI_REQUEST_FAILED,
            ErrorKind::ReportUnreadable => exit_code::REPORT_INVALID,
            ErrorKind::Transport => exit_code::TRANSPORT_FAILED,
            _ => exit_code::ERROR,
        };
        match error {
            flowspec::Error::Config(errors) => self.config_failure(errors),
            other => Failure::new(code, other.to_string()),
        }
    }

    /// Invalid configuration: every error rendered, paths relative to where the user is.
    pub fn config_failure(&self, errors: ConfigErrors) -> Failure {
        let errors = errors.relative_to(&self.invoked_in());
        Failure {
            rendered: true,
            ..Failure::new(exit_code::CONFIG_INVALID, errors.render(self.err.color))
        }
    }

    /// Where the user ran the command, canonical when it can be.
    pub fn invoked_in(&self) -> PathBuf {
        self.invoked_in
            .canonicalize()
            .unwrap_or_else(|_| self.invoked_in.clone())
    }

    /// A path relative to the current directory when it is below it, for messages.
    pub fn show_path(&self, path: &Path) -> String {
        path.strip_prefix(self.invoked_in())
            .or_else(|_| path.strip_prefix(&self.invoked_in))
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// The event of the command line: a type, then `--payload` (`-` is stdin), `--data`,
/// `--feature`, `--event-id` and `--source`; the source is `cli` unless given.
pub fn build_event(
    cx: &Context<'_>,
    event_type: Option<&str>,
    args: &EventArgs,
) -> Result<Event, Failure> {
    let mut input = EventInput::new().default_source("cli");
    if let Some(t) = event_type {
        input = input.event_type(t);
    }
    input = match args.payload.as_deref() {
        Some("-") => input.payload_reader("stdin", std::io::stdin().lock()),
        Some(path) => input.payload_file(Path::new(path)),
        None => Ok(input),
    }
    .or_fail(cx)?;
    for item in &args.data {
        input = input.data(item).or_fail(cx)?;
    }
    if let Some(feature) = &args.feature {
        input = input.feature(feature);
    }
    if let Some(id) = &args.event_id {
        input = input.event_id(id);
    }
    if let Some(source) = &args.source {
        input = input.source(source);
    }
    input.build().or_fail(cx)
}

/// `?` on a library result inside a command: `.or_fail(cx)?`.
pub trait OrFail<T> {
    fn or_fail(self, cx: &Context<'_>) -> Result<T, Failure>;
}

impl<T, E: Into<flowspec::Error>> OrFail<T> for Result<T, E> {
    fn or_fail(self, cx: &Context<'_>) -> Result<T, Failure> {
        self.map_err(|e| cx.fail(e.into()))
    }
}

/// Runs the command and returns the exit code.
pub fn run(cli: Cli) -> u8 {
    let err_painter = Painter {
        color: color_enabled(cli.global.color_choice(), stderr_is_terminal()),
    };
    let log_masker = logging::init(&cli.global, err_painter.color);
    let invoked_in = std::env::current_dir().unwrap_or_default();
    if let Some(dir) = &cli.global.directory
        && let Err(e) = std::env::set_current_dir(dir)
    {
        eprintln!("error: cannot change to directory {}: {e}", dir.display());
        return exit_code::USAGE;
    }
    let cx = Context {
        global: &cli.global,
        out: Painter {
            color: color_enabled(cli.global.color_choice(), stdout_is_terminal()),
        },
        err: err_painter,
        log_masker,
        invoked_in,
    };
    let result = match cli.command {
        Command::Emit(args) => block_on(emit::run(&cx, args)),
        Command::Hooks(command) => block_on(hooks::run(&cx, command)),
        Command::Audit(args) => audit::run(&cx, args),
        Command::Notify(command) => block_on(notify::run(&cx, command)),
        Command::Integrations(command) => block_on(notify::run_integrations(&cx, command)),
        Command::Serve(args) => block_on_threads(serve::run(&cx, args)),
        Command::Dashboard(args) => block_on_threads(serve::dashboard(&cx, args)),
        Command::Events(command) => block_on(events::run(&cx, command)),
        Command::Watch(args) => block_on(watch::run(&cx, args)),
        Command::Subscribe(args) => block_on_threads(subscribe::run(&cx, args)),
        Command::Init(args) => init::run(&cx, args),
        Command::Results(command) => block_on(results::run(&cx, command)),
        Command::Ci(args) => block_on(ci::run(&cx, args)),
        Command::Pr(args) => block_on(pr::run(&cx, args)),
        Command::Man { output, json } => man::run(&cx, &output, json),
        Command::Completions { shell, program } => {
            match crate::complete::write_registration(shell, program.as_deref()) {
                Ok(script) => {
                    crate::output::write_bytes(&script);
                    Ok(exit_code::OK)
                }
                Err(e) => Err(Failure::error(format!(
                    "cannot write the {shell} completion script: {e}"
                ))),
            }
        }
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            let prefix = if failure.rendered {
                String::new()
            } else {
                cx.err.red("error: ")
            };
            // A failure may quote a CI platform's or a report's text: escape it, except
            // the rendered configuration errors, which carry their own colours.
            let message = if failure.rendered {
                failure.message.as_str().into()
            } else {
                safe_lines(&failure.message)
            };
            eprintln!("{prefix}{message}");
            failure.code
        }
    }
}

/// Runs a future on a single-threaded runtime (hooks are processes: one thread
/// drives them all).
fn block_on<F: Future<Output = Result<u8, Failure>>>(future: F) -> Result<u8, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::error(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(future)
}

/// Runs a future on a runtime with two worker threads (the server answers requests
/// while hooks run).
fn block_on_threads<F: Future<Output = Result<u8, Failure>>>(future: F) -> Result<u8, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::error(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(future)
}

/// Waits for Ctrl-C; used to stop a dispatch (running hooks' process groups are killed).
/// The handler is in place when this returns, before the future is first polled: a
/// dispatch can start a hook without ever yielding, and a Ctrl-C then must not find
/// the default action (which kills flowspec and leaves the hook running).
pub fn interrupted() -> impl Future<Output = Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    async move {
        match interrupt.as_mut() {
            Some(interrupt) => {
                interrupt.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
        Failure::new(
            exit_code::INTERRUPTED,
            "interrupted: running hooks were stopped",
        )
    }
}

/// Prints JSON to stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::error(format!("cannot write JSON: {e}")))?;
    outln!("{text}");
    Ok(())
}
