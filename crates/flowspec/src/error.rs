//! The one error type of the facade, with a [`ErrorKind`] a program maps to its
//! exit codes.

use std::path::PathBuf;

use flowspec_core::config::{ConfigErrors, DotenvError};
use flowspec_core::provider::{ProviderError, ProviderErrorKind};
use flowspec_providers::download::UnzipError;
use flowspec_results::ResultsError;
use flowspec_results::ci::{FetchError, RetryError};
use thiserror::Error;

/// What went wrong, in the terms a program reacts to (the CLI maps each to an exit code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration is invalid or missing (hooks.yaml, flowspec.yaml, `.env`).
    Config,
    /// The request itself is wrong (an unknown job, a run still going, an unsupported call).
    Usage,
    /// The CI platform refused or failed a request.
    CiRequest,
    /// A test report could not be read, or no report was found.
    ReportUnreadable,
    /// The transport (Redis) cannot be reached or refused a command.
    Transport,
    /// Anything else: I/O, the state store, the audit log.
    Other,
}

/// An error of the facade.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// hooks.yaml or flowspec.yaml has problems (every one is listed).
    #[error("{0}")]
    Config(ConfigErrors),
    /// No `.flowspec/` with hooks.yaml or flowspec.yaml around the start directory.
    #[error(
        "no .flowspec/flowspec.yaml or .flowspec/hooks/hooks.yaml in {} or any parent directory\n  hint: run `flowspec init` to create one, or pass --config PATH",
        start.display()
    )]
    NoProject {
        /// Where the search started.
        start: PathBuf,
    },
    /// An explicitly given hooks file does not exist.
    #[error(
        "hooks file {} does not exist\n  hint: check --config / FLOWSPEC_CONFIG, or run `flowspec init`",
        path.display()
    )]
    NoHooksFile {
        /// The path given.
        path: PathBuf,
    },
    /// The command needs hooks and the project has none.
    #[error(
        "this project has no hooks: {} does not exist\n  hint: run `flowspec init` to create a starter hooks.yaml",
        path.display()
    )]
    NoHooks {
        /// Where hooks.yaml would be.
        path: PathBuf,
    },
    /// The `.env` file is malformed.
    #[error(transparent)]
    Dotenv(#[from] DotenvError),
    /// The engine could not be built (store, audit log).
    #[error(transparent)]
    Build(flowspec_core::BuildError),
    /// A dispatch failed as a whole.
    #[error(transparent)]
    Engine(#[from] flowspec_core::EngineError),
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] flowspec_core::store::StoreError),
    /// The server's event queue failed.
    #[error(transparent)]
    Queue(#[from] flowspec_server::queue::QueueError),
    /// The CI platform refused or failed a request.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The results store or a report failed.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// Test reports could not be fetched from a run.
    #[error(transparent)]
    Fetch(FetchError),
    /// An artifact could not be unpacked.
    #[error("{0}{hint}", hint = unzip_hint(.0))]
    Unzip(#[from] UnzipError),
    /// A run has no artifact of the names asked for.
    #[error("{}", if available.is_empty() { format!("run {run} has no artifacts") } else { format!("no artifact named {} in run {run}; it has: {}", wanted.join(", "), available.join(", ")) })]
    NoArtifacts {
        /// The run id.
        run: String,
        /// The names asked for (empty: any).
        wanted: Vec<String>,
        /// The run's artifacts.
        available: Vec<String>,
    },
    /// An artifact has expired on the platform.
    #[error("artifact `{0}` has expired")]
    ArtifactExpired(String),
    /// A run was retried but the platform does not show the retry.
    #[error(
        "run {run} was retried but does not show the retry after {minutes} minutes; look at it on the platform, then `flowspec ci wait --run {run}`"
    )]
    RetryNotVisible {
        /// The retried run.
        run: String,
        /// How long flowspec waited.
        minutes: u64,
    },
    /// The request is wrong (an unknown job, a run still going).
    #[error("{0}")]
    Usage(String),
    /// The command needs `transport:` and flowspec.yaml has none.
    #[error(
        "no `transport:` section in {}\n  hint: add `transport: {{url: ${{FLOWSPEC_REDIS_URL}}, group: <name>}}` (https://github.com/flowspec/flowspec/blob/main/docs/transport.md)",
        settings.display()
    )]
    NoTransport {
        /// flowspec.yaml.
        settings: PathBuf,
    },
    /// The transport failed.
    #[error(transparent)]
    Transport(flowspec_transport::TransportError),
    /// A file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl Error {
    /// How a program should treat the error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(_)
            | Error::NoProject { .. }
            | Error::NoHooksFile { .. }
            | Error::NoHooks { .. }
            | Error::Dotenv(_)
            | Error::NoTransport { .. } => ErrorKind::Config,
            Error::Transport(_) => ErrorKind::Transport,
            Error::Build(
                flowspec_core::BuildError::Config(_)
                | flowspec_core::BuildError::Discover(_)
                | flowspec_core::BuildError::Dotenv(_),
            ) => ErrorKind::Config,
            Error::Engine(flowspec_core::EngineError::UnknownHook { .. }) => ErrorKind::Usage,
            Error::Provider(e) => provider_kind(e),
            Error::Results(e) => results_kind(e),
            Error::Fetch(e) => match e {
                FetchError::Provider(p) => provider_kind(p),
                FetchError::Unzip(_) => ErrorKind::CiRequest,
                FetchError::Results(r) => results_kind(r),
                FetchError::NoReportArtifacts { .. } | FetchError::NoReports { .. } => {
                    ErrorKind::ReportUnreadable
                }
                _ => ErrorKind::Other,
            },
            Error::Unzip(_)
            | Error::NoArtifacts { .. }
            | Error::ArtifactExpired(_)
            | Error::RetryNotVisible { .. } => ErrorKind::CiRequest,
            Error::Usage(_) => ErrorKind::Usage,
            _ => ErrorKind::Other,
        }
    }

    /// The configuration errors, when that is what this is (to render them with snippets).
    pub fn config_errors(&self) -> Option<&ConfigErrors> {
        match self {
            Error::Config(e) | Error::Build(flowspec_core::BuildError::Config(e)) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

fn unzip_hint(error: &UnzipError) -> &'static str {
    match error {
        UnzipError::TooLarge { .. } => {
            "\n  hint: if the artifact is really that large, raise the unzip limit (--unzip-max-mib)"
        }
        _ => "",
    }
}

fn provider_kind(error: &ProviderError) -> ErrorKind {
    match error.kind() {
        ProviderErrorKind::Unsupported => ErrorKind::Usage,
        _ => ErrorKind::CiRequest,
    }
}

fn results_kind(error: &ResultsError) -> ErrorKind {
    match error {
        ResultsError::NoReports(_) => ErrorKind::ReportUnreadable,
        _ => ErrorKind::Other,
    }
}

impl From<ConfigErrors> for Error {
    fn from(errors: ConfigErrors) -> Self {
        Error::Config(errors)
    }
}

impl From<flowspec_core::BuildError> for Error {
    fn from(error: flowspec_core::BuildError) -> Self {
        match error {
            flowspec_core::BuildError::Config(errors) => Error::Config(errors),
            other => Error::Build(other),
        }
    }
}

impl From<flowspec_transport::TransportError> for Error {
    fn from(error: flowspec_transport::TransportError) -> Self {
        match error {
            flowspec_transport::TransportError::Config(errors) => Error::Config(errors),
            other => Error::Transport(other),
        }
    }
}

impl From<FetchError> for Error {
    fn from(error: FetchError) -> Self {
        Error::Fetch(error)
    }
}

impl From<RetryError> for Error {
    fn from(error: RetryError) -> Self {
        match error {
            RetryError::Provider(e) => Error::Provider(e),
            RetryError::Results(e) => Error::Results(e),
            other => Error::Usage(other.to_string()),
        }
    }
}

/// The facade's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
