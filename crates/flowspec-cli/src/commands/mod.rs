//! One module per subcommand; this one holds what they share: the project, the
//! engine composition, and turning errors into messages and exit codes.

mod audit;
pub mod ci;
mod emit;
mod event_input;
pub mod events;
mod hooks;
mod init;
pub mod notify;
pub mod results;
pub mod serve;
pub mod watch;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use flowspec_core::config::ConfigErrors;
use flowspec_core::{BuildError, Engine, EngineBuilder, EngineError, Project, Reporter};

use crate::cli::{Cli, Command, Global};
use crate::exit_code;
use crate::logging::{self, LogMasker};
use crate::terminal::{Painter, color_enabled, stderr_is_terminal, stdout_is_terminal};

/// Sections of flowspec.yaml that the composed program understands, besides the
/// core's own `audit` and `state`.
const KNOWN_SECTIONS: &[&str] = &[
    "server",
    "integrations",
    "notifications",
    flowspec_results::config::SECTION,
    "ci",
];

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

    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(exit_code::USAGE, message)
    }

    fn config(errors: ConfigErrors, painter: Painter, base: &Path) -> Self {
        let errors =
            errors.relative_to(&base.canonicalize().unwrap_or_else(|_| base.to_path_buf()));
        Failure {
            rendered: true,
            ..Failure::new(exit_code::CONFIG_INVALID, errors.render(painter.color))
        }
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
    /// The project: `--config`, `FLOWSPEC_CONFIG`, or found walking up.
    pub fn project(&self) -> Result<Project, Failure> {
        match &self.global.config {
            Some(path) if !path.is_file() => Err(Failure::new(
                exit_code::CONFIG_INVALID,
                format!(
                    "hooks file {} does not exist\n  hint: check --config / FLOWSPEC_CONFIG, or run `flowspec init`",
                    path.display()
                ),
            )),
            Some(path) => Ok(Project::from_hooks_file(path)),
            None => {
                let cwd = std::env::current_dir().map_err(|e| {
                    Failure::error(format!("cannot read the current directory: {e}"))
                })?;
                Project::discover(&cwd)
                    .map_err(|e| Failure::new(exit_code::CONFIG_INVALID, e.to_string()))
            }
        }
    }

    /// The engine for `project`, with every action kind this program knows.
    /// Without `with_state`, no store or audit log is opened (listing, validating).
    pub async fn engine(
        &self,
        project: Project,
        reporter: Arc<dyn Reporter>,
        with_state: bool,
    ) -> Result<Engine, Failure> {
        let notify = notify::action_factory(self, &project)?;
        let ci = ci::action_factory(&project).map_err(|e| self.config_failure(e))?;
        let retry_flaky = ci::retry_flaky_factory(&project).map_err(|e| self.config_failure(e))?;
        let mut builder = EngineBuilder::from_project(project)
            .reporter(reporter)
            .action_factory(notify)
            .action_factory(ci)
            .action_factory(retry_flaky);
        if !with_state {
            builder = builder.no_state().no_audit();
        }
        let engine = builder.build().await.map_err(|e| self.build_failure(e))?;
        engine
            .settings()
            .check_sections(KNOWN_SECTIONS)
            .map_err(|e| self.config_failure(e))?;
        self.log_masker.set(engine.masker().clone());
        Ok(engine)
    }

    fn build_failure(&self, error: BuildError) -> Failure {
        match error {
            BuildError::Config(errors) => self.config_failure(errors),
            BuildError::Discover(e) => Failure::new(exit_code::CONFIG_INVALID, e.to_string()),
            BuildError::Dotenv(e) => Failure::new(exit_code::CONFIG_INVALID, e.to_string()),
            other => Failure::error(other.to_string()),
        }
    }

    /// Invalid configuration: every error rendered, paths relative to where the user is.
    pub fn config_failure(&self, errors: ConfigErrors) -> Failure {
        Failure::config(errors, self.err, &self.invoked_in)
    }

    /// A path relative to the current directory when it is below it, for messages.
    pub fn show_path(&self, path: &Path) -> String {
        let base = self
            .invoked_in
            .canonicalize()
            .unwrap_or_else(|_| self.invoked_in.clone());
        path.strip_prefix(&base)
            .or_else(|_| path.strip_prefix(&self.invoked_in))
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

impl From<EngineError> for Failure {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::UnknownHook { .. } => Failure::usage(error.to_string()),
            other => Failure::error(other.to_string()),
        }
    }
}

/// Runs the command and returns the exit code.
pub fn run(cli: Cli) -> u8 {
    let err_painter = Painter {
        color: color_enabled(&cli.global, stderr_is_terminal()),
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
            color: color_enabled(&cli.global, stdout_is_terminal()),
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
        Command::Events(command) => block_on(events::run(&cx, command)),
        Command::Watch(args) => block_on(watch::run(&cx, args)),
        Command::Init(args) => init::run(&cx, args),
        Command::Results(command) => block_on(results::run(&cx, command)),
        Command::Ci(args) => block_on(ci::run(&cx, args)),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "flowspec", &mut std::io::stdout());
            Ok(exit_code::OK)
        }
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            let prefix = if failure.rendered {
                String::new()
            } else {
                cx.err.paint(
                    anstyle::Style::new()
                        .fg_color(Some(anstyle::AnsiColor::Red.into()))
                        .bold(),
                    "error: ",
                )
            };
            eprintln!("{prefix}{}", failure.message);
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
pub async fn interrupted() -> Failure {
    let _ = tokio::signal::ctrl_c().await;
    Failure::new(
        exit_code::INTERRUPTED,
        "interrupted: running hooks were stopped",
    )
}

/// Prints JSON to stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::error(format!("cannot write JSON: {e}")))?;
    println!("{text}");
    Ok(())
}
