//! Terminal output: colors, the live hook reporter, tables.

use std::ffi::OsStr;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use anstyle::{AnsiColor, Style};
use comfy_table::{ContentArrangement, Row, Table};
use flowspec_core::output::Stream;
use flowspec_core::{Event, HookReport, HookStatus, Reporter};

use crate::cli::{ColorChoice, Global};

/// What the environment says about colors: `NO_COLOR` and `CLICOLOR_FORCE`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ColorEnv {
    /// `NO_COLOR` has a non-empty value: no colors unless `--color always`.
    pub no_color: bool,
    /// `CLICOLOR_FORCE` has a value other than empty or `0`: colors even when the
    /// stream is not a terminal.
    pub force: bool,
}

impl ColorEnv {
    /// Reads `NO_COLOR` and `CLICOLOR_FORCE` from the process environment.
    pub fn from_env() -> Self {
        ColorEnv::from_values(
            std::env::var_os("NO_COLOR").as_deref(),
            std::env::var_os("CLICOLOR_FORCE").as_deref(),
        )
    }

    /// From the values of `NO_COLOR` and `CLICOLOR_FORCE` (`None` when unset).
    pub fn from_values(no_color: Option<&OsStr>, clicolor_force: Option<&OsStr>) -> Self {
        ColorEnv {
            no_color: no_color.is_some_and(|v| !v.is_empty()),
            force: clicolor_force.is_some_and(|v| !v.is_empty() && v != "0"),
        }
    }
}

/// Whether to color a stream: `never` and `always` decide alone; `auto` colors a
/// terminal, or any stream under `CLICOLOR_FORCE`, and nothing under `NO_COLOR`.
pub fn should_color(choice: ColorChoice, env: ColorEnv, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Never => false,
        ColorChoice::Always => true,
        ColorChoice::Auto => !env.no_color && (env.force || is_terminal),
    }
}

/// Whether to color a stream, from the command line and the process environment.
pub fn color_enabled(global: &Global, is_terminal: bool) -> bool {
    should_color(global.color_choice(), ColorEnv::from_env(), is_terminal)
}

/// Paints text when colors are on.
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

    /// The status name, padded to `width` before painting so columns stay aligned.
    pub fn status_word(&self, status: HookStatus, width: usize) -> String {
        let (_, color) = status_symbol(status);
        self.paint(
            Style::new().fg_color(Some(color.into())),
            &format!("{:<width$}", status.as_str()),
        )
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

/// Formats a duration in milliseconds for people: `212ms`, `3.4s`, `2m05s`.
pub fn human_ms(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// Shows hooks' output live, prefixed with the hook's name, and a line per result.
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
            .map(|f| format!(" feature={f}"))
            .unwrap_or_default();
        let count = match hooks.len() {
            1 => "1 hook".to_owned(),
            n => format!("{n} hooks"),
        };
        self.write_line(&format!(
            "{} {}{} {} {}",
            p.bold("▶"),
            p.bold(event.event_type().as_str()),
            feature,
            p.dim(event.id().as_str()),
            p.dim(&format!("({count})")),
        ));
    }

    fn hook_output(&self, hook: &str, stream: Stream, line: &str) {
        if self.quiet {
            return;
        }
        let prefix = format!("[{hook}]");
        let prefix = match stream {
            Stream::Stdout => self
                .painter
                .paint(Style::new().fg_color(Some(AnsiColor::Cyan.into())), &prefix),
            Stream::Stderr => self.painter.paint(
                Style::new().fg_color(Some(AnsiColor::Magenta.into())),
                &prefix,
            ),
        };
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
        let duration = if report.status == HookStatus::Skipped {
            String::new()
        } else {
            human_ms(report.duration_ms)
        };
        let attempt = if report.attempt > 1 {
            format!(" (attempt {})", report.attempt)
        } else {
            String::new()
        };
        self.write_line(
            format!(
                "{} {:width$}  {}  {:>6}  {}{}",
                p.status(report.status),
                report.hook,
                p.status_word(report.status, 7),
                duration,
                p.dim(&detail),
                attempt,
            )
            .trim_end(),
        );
    }
}

/// Renders rows as aligned columns under a bold header, fitted to the width of
/// stdout ([`stdout_width`]): cells too long for it wrap within their column.
pub fn table(header: &[&str], rows: &[Vec<String>], painter: Painter) -> String {
    table_with_width(header, rows, painter, stdout_width())
}

/// [`table`] for a given width; `None` never wraps. Columns are two spaces apart, the
/// header stays on one line, lines carry no trailing blanks.
pub fn table_with_width(
    header: &[&str],
    rows: &[Vec<String>],
    painter: Painter,
    width: Option<u16>,
) -> String {
    let mut t = Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    match width {
        Some(width) => {
            t.set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(width);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    // The header keeps to its one (bold) line: cut with `…` where a column is narrower.
    let mut header_row = Row::from(header.iter().copied());
    header_row.max_height(1);
    t.set_header(header_row).set_truncation_indicator("…");
    for row in rows {
        t.add_row(row.iter().map(String::as_str));
    }
    let last = header.len().saturating_sub(1);
    for (i, column) in t.column_iter_mut().enumerate() {
        column.set_padding((0, if i < last { 2 } else { 0 }));
    }
    let mut out = String::new();
    for (i, line) in t.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let line = line.trim_end();
        if i == 0 {
            out.push_str(&painter.bold(line));
        } else {
            out.push_str(line);
        }
    }
    out
}

/// The width tables on stdout fit: the terminal's; when stdout is not a terminal,
/// `COLUMNS` if it holds a width; else `None` (no wrapping).
pub fn stdout_width() -> Option<u16> {
    terminal_size::terminal_size_of(std::io::stdout())
        .map(|(width, _)| width.0)
        .or_else(|| columns_width(std::env::var_os("COLUMNS").as_deref()))
}

/// A width from the value of `COLUMNS`: a positive number, else `None`.
fn columns_width(columns: Option<&OsStr>) -> Option<u16> {
    columns?
        .to_str()?
        .trim()
        .parse::<u16>()
        .ok()
        .filter(|&w| w > 0)
}

/// Whether stdout is a terminal.
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Whether stderr is a terminal.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn env(no_color: Option<&str>, clicolor_force: Option<&str>) -> ColorEnv {
        ColorEnv::from_values(no_color.map(OsStr::new), clicolor_force.map(OsStr::new))
    }

    #[test]
    fn should_read_no_color_and_clicolor_force_as_documented() {
        assert_eq!(env(None, None), ColorEnv::default());
        assert!(env(Some("1"), None).no_color);
        assert!(env(Some("false"), None).no_color, "any non-empty value");
        assert!(!env(Some(""), None).no_color, "an empty value is unset");
        assert!(env(None, Some("1")).force);
        assert!(env(None, Some("yes")).force);
        assert!(!env(None, Some("0")).force, "`0` does not force");
        assert!(!env(None, Some("")).force, "an empty value is unset");
    }

    #[test]
    fn should_decide_colors_from_the_flag_the_environment_and_the_terminal() {
        use ColorChoice::{Always, Auto, Never};
        let plain = env(None, None);
        let no_color = env(Some("1"), None);
        let forced = env(None, Some("1"));
        let both = env(Some("1"), Some("1"));
        // (choice, environment, is a terminal) -> colors
        let cases = [
            (Auto, plain, true, true),
            (Auto, plain, false, false),
            (Auto, no_color, true, false),
            (Auto, forced, false, true),
            (Auto, forced, true, true),
            (Auto, both, true, false),
            (Always, plain, false, true),
            (Always, no_color, false, true),
            (Always, both, true, true),
            (Never, plain, true, false),
            (Never, forced, true, false),
            (Never, forced, false, false),
        ];
        for (choice, env, terminal, expected) in cases {
            assert_eq!(
                should_color(choice, env, terminal),
                expected,
                "--color {choice:?}, {env:?}, terminal: {terminal}"
            );
        }
    }

    fn color_of(args: &[&str]) -> ColorChoice {
        let cli = Cli::try_parse_from(["flowspec"].iter().chain(args).chain(&["audit"]))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        cli.global.color_choice()
    }

    #[test]
    fn should_accept_color_when_and_no_color_as_never() {
        assert_eq!(color_of(&[]), ColorChoice::Auto);
        assert_eq!(color_of(&["--color", "always"]), ColorChoice::Always);
        assert_eq!(color_of(&["--color=never"]), ColorChoice::Never);
        assert_eq!(color_of(&["--color", "auto"]), ColorChoice::Auto);
        assert_eq!(color_of(&["--no-color"]), ColorChoice::Never);
        // The last one given wins.
        assert_eq!(
            color_of(&["--no-color", "--color", "always"]),
            ColorChoice::Always
        );
        assert_eq!(
            color_of(&["--color", "always", "--no-color"]),
            ColorChoice::Never
        );
        let err = Cli::try_parse_from(["flowspec", "--color", "sometimes", "audit"]).unwrap_err();
        assert!(err.to_string().contains("auto, always, never"), "{err}");
        // The flag works after the subcommand too.
        let cli = Cli::try_parse_from(["flowspec", "audit", "--color", "always"]).unwrap();
        assert_eq!(cli.global.color_choice(), ColorChoice::Always);
    }

    #[test]
    fn should_keep_no_color_out_of_the_help() {
        let mut command = <Cli as clap::CommandFactory>::command();
        let help = command.render_long_help().to_string();
        assert!(help.contains("--color <WHEN>"), "{help}");
        assert!(!help.contains("--no-color"), "{help}");
    }

    fn rows(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    const PLAIN: Painter = Painter { color: false };

    #[test]
    fn should_align_columns_two_spaces_apart_without_a_width() {
        let rows = rows(&[
            &["deploy", "success", "1"],
            &["quality-gate", "failed", "12"],
            &["notify", "", ""],
        ]);
        let out = table_with_width(&["HOOK", "STATUS", "ATTEMPTS"], &rows, PLAIN, None);
        assert_eq!(
            out,
            "HOOK          STATUS   ATTEMPTS\n\
             deploy        success  1\n\
             quality-gate  failed   12\n\
             notify"
        );
        // A wide terminal changes nothing.
        assert_eq!(
            table_with_width(&["HOOK", "STATUS", "ATTEMPTS"], &rows, PLAIN, Some(200)),
            out
        );
    }

    #[test]
    fn should_wrap_long_cells_to_fit_a_narrow_terminal() {
        let rows = rows(&[
            &[
                "slack",
                "post a message to a channel through an incoming webhook",
                "ok",
            ],
            &[
                "email",
                "send a mail over SMTP to every address in the list",
                "missing SMTP_PASSWORD",
            ],
        ]);
        let out = table_with_width(&["NAME", "DESCRIPTION", "STATUS"], &rows, PLAIN, Some(40));
        assert!(
            out.lines().all(|l| l.chars().count() <= 40),
            "every line fits 40 columns:\n{out}"
        );
        insta::assert_snapshot!(out, @r"
        NAME   DESCRIPTION       STATUS
        slack  post a message    ok
               to a channel
               through an
               incoming webhook
        email  send a mail over  missing
               SMTP to every     SMTP_PASSWORD
               address in the
               list
        ");
        // The header keeps to one line, cut where the terminal is too narrow for it.
        let two: Vec<Vec<String>> = rows.iter().map(|r| r[..2].to_vec()).collect();
        let narrow = table_with_width(&["NAME", "DESCRIPTION"], &two, PLAIN, Some(14));
        insta::assert_snapshot!(narrow, @r"
        NAME   DESCRI…
        slack  post a
               message
               to a
               channel
               through
               an inco
               ming
               webhook
        email  send a
               mail
               over
               SMTP to
               every
               address
               in the
               list
        ");
    }

    #[test]
    fn should_bold_only_the_header_when_colors_are_on() {
        let rows = rows(&[&["a", "b"]]);
        let out = table_with_width(&["X", "Y"], &rows, Painter { color: true }, None);
        let bold = Style::new().bold();
        assert_eq!(
            out,
            format!("{}X  Y{}\na  b", bold.render(), bold.render_reset())
        );
    }

    #[test]
    fn should_take_a_width_from_columns_only_when_it_is_a_positive_number() {
        let width = |v: &str| columns_width(Some(OsStr::new(v)));
        assert_eq!(width("80"), Some(80));
        assert_eq!(width(" 120 "), Some(120));
        assert_eq!(width("0"), None);
        assert_eq!(width("wide"), None);
        assert_eq!(width(""), None);
        assert_eq!(columns_width(None), None);
    }
}
