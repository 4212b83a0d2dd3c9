//! Text for people: what the `flowspec` command prints, as functions a program that
//! embeds flowspec can call too (a chat bot posting a run's jobs, a tool printing a
//! test report the way `flowspec results show` does).
//!
//! Renderers return `String`s of whole lines (each ends with `\n`; an empty string
//! means nothing to show) and never write; the live views ([`TerminalReporter`],
//! [`progress`], [`watch::WatchLines`]) write as things happen, stdout lines through a
//! [`Console`]. Text that came from outside (reports, webhooks, CI APIs) is escaped
//! with [`safe`] / [`safe_lines`] before it reaches a terminal.
//!
//! ```
//! use flowspec::render::{Painter, table};
//!
//! let rows = vec![vec!["build".to_owned(), "success".to_owned()]];
//! let text = table(&["JOB", "STATUS"], rows, Painter::plain());
//! assert_eq!(text, "JOB    STATUS\nbuild  success");
//! ```

pub mod ci;
pub mod events;
pub mod hooks;
pub mod notify;
pub mod progress;
mod reporter;
pub mod results;
mod style;
mod table;
mod units;
pub mod watch;

use std::borrow::Cow;

use crate::text::{Keep, escape_controls};

pub use reporter::TerminalReporter;
pub use style::{ColorChoice, Painter, color_enabled};
pub use table::{stderr_is_terminal, stdout_is_terminal, stdout_width, table};
pub use units::{human_ms, seconds, short, utc_time};

/// Where live views write their stdout lines. The `flowspec` command's console ends
/// the program quietly when stdout is closed; [`StdConsole`] ignores write errors.
pub trait Console: Send + Sync {
    /// Writes `line` and a newline to stdout.
    fn line(&self, line: &str);
}

/// Stdout as it is, write errors ignored.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdConsole;

impl Console for StdConsole {
    fn line(&self, line: &str) {
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

/// Text from outside on one line: control characters shown escaped (`\u{1b}`).
pub fn safe(text: &str) -> Cow<'_, str> {
    escape_controls(text, Keep::Nothing)
}

/// Text from outside that may span lines (messages): newlines and tabs kept.
pub fn safe_lines(text: &str) -> Cow<'_, str> {
    escape_controls(text, Keep::Lines)
}

/// Appends `args` and a newline to `out` (what renderers build their text with).
pub(crate) fn push_line(out: &mut String, args: std::fmt::Arguments<'_>) {
    use std::fmt::Write;
    let _ = out.write_fmt(args);
    out.push('\n');
}

/// `line!(out, "…", …)`: one line into a renderer's `String`.
macro_rules! line {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {
        $crate::render::push_line(&mut $out, format_args!($($arg)*))
    };
}
pub(crate) use line;
