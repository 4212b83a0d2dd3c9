//! JUnit XML: the streaming [`JunitReader`] and a writer, [`write()`].
//!
//! Dialects read (see docs/results.md for what each looks like): Maven Surefire and
//! Failsafe (with `flakyFailure`/`flakyError`/`rerunFailure`/`rerunError`), Gradle,
//! pytest (xunit1 and xunit2), Jest (jest-junit), Mocha (mocha-junit-reporter), Go
//! (go-junit-report, gotestsum), cargo-nextest, PHPUnit (nested suites, `class`),
//! and the .NET JUnit logger. A `<testsuites>` root or a bare `<testsuite>`; suites
//! nest; unknown elements and attributes are skipped.

mod reader;
mod writer;

pub(crate) use reader::location_from_stack;
pub use reader::{JunitEvent, JunitReader};
pub use writer::{WriteSuite, write};

/// How many [`Rerun`](crate::model::Rerun)s of one test are kept (all are counted).
pub const MAX_RERUNS_KEPT: usize = 10;

/// Bounds that keep parsing in constant memory whatever the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// A failure message is cut after this many bytes. Default 4 KiB.
    pub max_message_bytes: usize,
    /// A stack-trace excerpt keeps this many bytes... Default 8 KiB.
    pub max_stack_bytes: usize,
    /// ...and at most this many lines. Default 80.
    pub max_stack_lines: usize,
    /// Captured output keeps its first bytes... Default 2 KiB.
    pub max_output_head: usize,
    /// ...and its last bytes. Default 6 KiB.
    pub max_output_tail: usize,
    /// Properties kept per suite or test case. Default 64.
    pub max_properties: usize,
    /// A property's name or value is cut after this many bytes. Default 1 KiB.
    pub max_property_bytes: usize,
    /// Deeper nesting is refused. Default 64.
    pub max_depth: usize,
    /// A longer tag (its attributes) is refused. Default 4 MiB.
    pub max_tag_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 4096,
            max_stack_bytes: 8192,
            max_stack_lines: 80,
            max_output_head: 2048,
            max_output_tail: 6144,
            max_properties: 64,
            max_property_bytes: 1024,
            max_depth: 64,
            max_tag_bytes: 4 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// Sets [`max_tag_bytes`](Self::max_tag_bytes).
    pub fn with_max_tag_bytes(mut self, bytes: u64) -> Self {
        self.max_tag_bytes = bytes;
        self
    }

    /// Sets [`max_depth`](Self::max_depth).
    pub fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }
}
