//! Terminal output: colours, the live hook reporter, tables, and the escaping of text
//! that came from outside (reports, webhooks, CI APIs).

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use anstyle::{AnsiColor, Style};
use comfy_table::{ContentArrangement, Row, Table};
use flowspec::text::{Keep, escape_controls};
use flowspec_core::output::Stream;
use flowspec_core::{Event, HookReport, HookStatus, Reporter};

use crate::cli::{ColorChoice, Global};

/// Whether to colour a stream: `never` and `always` decide alone; `auto` colours a
/// terminal, or any stream when `CLICOLOR_FORCE` is set (not `0`), and nothing when
/// `NO_COLOR` is set. An empty variable counts as unset.
pub fn color_enabled(global: &Global, is_terminal: bool) -> bool {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    match global.color_choice() {
        ColorChoice::Never => false,
        ColorChoice::Always => true,
        ColorChoice::Auto => {
            var("NO_COLOR").is_none()
                && (is_terminal || var("CLICOLOR_FORCE").is_some_and(|v| v != "0"))
        }
    }
}

/// Paints text when colours are on.
#[derive(Clone, Copy, Debug)]
pub struct Painter {
    pub color: bool,
}

impl Painter {
    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint(Style::new().dimmed(), text)
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    pub fn status(&self, status: HookStatus) -> String {
        let (symbol, color) = status_symbol(status);
        self.paint(Style::new().fg_color(Some(color.into())).bold(), symbol)
    }
}

fn status_symbol(status: HookStatus) -> (&'static str, AnsiColor) {
    match status {
        HookStatus::Success => ("✓", AnsiColor::Green),
        HookStatus::Failed => ("✗", AnsiColor::Red),
        HookStatus::Timeout => ("⏱", AnsiColor::Red),
        HookStatus::Skipped => ("↷", AnsiColor::Yellow),
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

/// A duration in milliseconds for people: `212ms`, `3.4s`, `2m05s`.
pub fn human_ms(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// A time in epoch milliseconds as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn utc_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

/// A test's time in seconds for people: `250ms`, `1.50s`, `2m05s`.
pub fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0}ms", s * 1000.0)
    } else if s < 60.0 {
        format!("{s:.2}s")
    } else {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

/// A commit shortened to twelve characters (not bytes: a custom CI's commit id need
/// not be ASCII).
pub fn short(commit: &str) -> &str {
    commit
        .char_indices()
        .nth(12)
        .map_or(commit, |(end, _)| &commit[..end])
}

/// Shows hooks' output live, prefixed with the hook's name, and a line per result.
/// Hook output is the project's own programs' and is shown as they wrote it; the
/// event's type and feature, which a webhook may set, are escaped.
pub struct TerminalReporter {
    painter: Painter,
    quiet: bool,
    to_stderr: bool,
    width: AtomicUsize,
}

impl TerminalReporter {
    /// `to_stderr` when stdout carries JSON.
    pub fn new(painter: Painter, quiet: bool, to_stderr: bool) -> Self {
        TerminalReporter {
            painter,
            quiet,
            to_stderr,
            width: AtomicUsize::new(8),
        }
    }

    fn write_line(&self, line: &str) {
        // One locked write per line: lines of parallel hooks never mix.
        if self.to_stderr {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        } else {
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }
    }
}

impl Reporter for TerminalReporter {
    fn event_started(&self, event: &Event, hooks: &[&str]) {
        let width = hooks.iter().map(|h| h.chars().count()).max().unwrap_or(8);
        self.width.store(width, Ordering::Relaxed);
        if self.quiet || hooks.is_empty() {
            return;
        }
        let p = &self.painter;
        let feature = event
            .feature()
            .map(|f| format!(" feature={}", safe(f)))
            .unwrap_or_default();
        let count = match hooks.len() {
            1 => "1 hook".to_owned(),
            n => format!("{n} hooks"),
        };
        self.write_line(&format!(
            "{} {}{feature} {} {}",
            p.bold("▶"),
            p.bold(&safe(event.event_type().as_str())),
            p.dim(&safe(event.id().as_str())),
            p.dim(&format!("({count})")),
        ));
    }

    fn hook_output(&self, hook: &str, stream: Stream, line: &str) {
        if self.quiet {
            return;
        }
        let color = match stream {
            Stream::Stdout => AnsiColor::Cyan,
            Stream::Stderr => AnsiColor::Magenta,
        };
        let prefix = self.painter.paint(
            Style::new().fg_color(Some(color.into())),
            &format!("[{hook}]"),
        );
        self.write_line(&format!("{prefix} {line}"));
    }

    fn hook_finished(&self, _event: &Event, report: &HookReport) {
        if self.quiet {
            return;
        }
        let p = &self.painter;
        let width = self.width.load(Ordering::Relaxed);
        let detail = match (&report.skip_reason, &report.message) {
            (Some(reason), _) => reason.to_string(),
            (None, Some(message)) => message.clone(),
            (None, None) => String::new(),
        };
        let duration = match report.status {
            HookStatus::Skipped => String::new(),
            _ => human_ms(report.duration_ms),
        };
        let attempt = match report.attempt {
            0 | 1 => String::new(),
            n => format!(" (attempt {n})"),
        };
        let (_, color) = status_symbol(report.status);
        let word = p.paint(
            Style::new().fg_color(Some(color.into())),
            &format!("{:<7}", report.status.as_str()),
        );
        let line = format!(
            "{} {:width$}  {word}  {duration:>6}  {}{attempt}",
            p.status(report.status),
            report.hook,
            p.dim(&safe_lines(&detail)),
        );
        self.write_line(line.trim_end());
    }
}

/// Rows as aligned columns two spaces apart under a bold one-line header, fitted to
/// the width of stdout ([`stdout_width`]): cells too long wrap within their column.
/// Cells are escaped ([`safe_lines`]): tables show what reports and webhooks hold.
pub fn table(
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
    painter: Painter,
) -> String {
    let mut t = Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    match stdout_width() {
        Some(width) => t
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width),
        None => t.set_content_arrangement(ContentArrangement::Disabled),
    };
    // The header keeps to its one (bold) line: cut with `…` where a column is narrower.
    let mut header_row = Row::from(header.iter().copied());
    header_row.max_height(1);
    t.set_header(header_row).set_truncation_indicator("…");
    for row in rows {
        t.add_row(row.iter().map(|cell| safe_lines(cell)));
    }
    let last = header.len().saturating_sub(1);
    for (i, column) in t.column_iter_mut().enumerate() {
        column.set_padding((0, if i < last { 2 } else { 0 }));
    }
    let mut lines = t.lines().map(|line| line.trim_end().to_owned());
    let first = lines.next().map(|h| painter.bold(&h)).unwrap_or_default();
    std::iter::once(first)
        .chain(lines)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The width tables on stdout fit: the terminal's; when stdout is not a terminal,
/// `COLUMNS` if it holds a positive number; else `None` (no wrapping).
pub fn stdout_width() -> Option<u16> {
    terminal_size::terminal_size_of(std::io::stdout())
        .map(|(width, _)| width.0)
        .or_else(|| {
            std::env::var("COLUMNS")
                .ok()?
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|&w| w > 0)
        })
}

/// Whether stdout is a terminal.
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Whether stderr is a terminal.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}
