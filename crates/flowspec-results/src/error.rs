//! Errors: [`ParseError`] for a report that cannot be (fully) read, [`ResultsError`]
//! for everything else (files, the store).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What went wrong while reading a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Not well-formed XML (or a malformed LCOV record).
    Syntax,
    /// The input ends in the middle of the document: a truncated report.
    Truncated,
    /// The document declares DTD entities; expansion is refused.
    EntityRefused,
    /// Elements nested deeper than the limit.
    TooDeep,
    /// One tag (its attributes) larger than the limit.
    TagTooLarge,
    /// A tag is not valid UTF-8.
    Encoding,
    /// The file could not be read.
    Io,
    /// Not a report of a known format.
    UnknownFormat,
    /// A warning, not a stop: a suite's `tests=`/`failures=`/`errors=`/`skipped=`
    /// attributes disagree with the test cases it holds. Everything was read.
    CountMismatch,
}

/// A report that could not be read to its end, with where it stopped. What was
/// read before the error is kept (the report is marked `partial`). Kind
/// [`CountMismatch`](ParseErrorKind::CountMismatch) is a warning about a file read
/// to its end (the report is not marked `partial`).
#[derive(Clone, Debug, Error, PartialEq, Eq, Serialize, Deserialize)]
#[error("{}line {line}, column {column}: {message}", file.as_deref().map(|f| format!("{f}: ")).unwrap_or_default())]
#[non_exhaustive]
pub struct ParseError {
    /// The file, when known.
    pub file: Option<String>,
    /// What kind of problem.
    pub kind: ParseErrorKind,
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in bytes.
    pub column: u64,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, line: u64, column: u64, message: String) -> Self {
        ParseError {
            file: None,
            kind,
            line,
            column,
            message,
        }
    }

    /// The same error, naming `file`.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }
}

/// An error of the results library outside parsing.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ResultsError {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A query on the results store failed.
    #[cfg(feature = "store")]
    #[cfg_attr(docsrs, doc(cfg(feature = "store")))]
    #[error("results store query failed: {0}")]
    Store(#[from] sqlx::Error),
    /// The results tables could not be brought up to date.
    #[cfg(feature = "store")]
    #[cfg_attr(docsrs, doc(cfg(feature = "store")))]
    #[error(transparent)]
    Schema(#[from] flowspec_core::store::migrate::MigrateError),
    /// The requested run is not in the store.
    #[error(
        "no stored results for run `{0}`\n  hint: `flowspec results ingest --run {0} FILES...` stores them"
    )]
    UnknownRun(String),
    /// The store holds no run at all.
    #[error("no results stored yet\n  hint: run `flowspec results ingest FILES...` first")]
    NoRuns,
    /// None of the given files held a report.
    #[error("{0}")]
    NoReports(String),
}
