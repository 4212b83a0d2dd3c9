//! Colours: when to use them, and painting text with them.

use anstyle::{AnsiColor, Style};

use crate::HookStatus;

/// The `--color` choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour a terminal, unless `NO_COLOR` is set; `CLICOLOR_FORCE` colours any stream.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Whether to colour a stream: `never` and `always` decide alone; `auto` colours a
/// terminal, or any stream when `CLICOLOR_FORCE` is set (not `0`), and nothing when
/// `NO_COLOR` is set. An empty variable counts as unset.
///
/// ```
/// use flowspec::render::{ColorChoice, color_enabled};
///
/// assert!(color_enabled(ColorChoice::Always, false));
/// assert!(!color_enabled(ColorChoice::Never, true));
/// ```
pub fn color_enabled(choice: ColorChoice, is_terminal: bool) -> bool {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    match choice {
        ColorChoice::Never => false,
        ColorChoice::Always => true,
        ColorChoice::Auto => {
            var("NO_COLOR").is_none()
                && (is_terminal || var("CLICOLOR_FORCE").is_some_and(|v| v != "0"))
        }
    }
}

/// Paints text when colours are on.
///
/// ```
/// use flowspec::render::Painter;
///
/// assert_eq!(Painter::plain().bold("x"), "x");
/// assert_eq!(Painter { color: true }.bold("x"), "\u{1b}[1mx\u{1b}[0m");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Painter {
    /// Whether to colour.
    pub color: bool,
}

impl Painter {
    /// A painter that never colours.
    pub fn plain() -> Self {
        Painter { color: false }
    }

    /// `text` in `style`.
    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }

    /// `text` dimmed.
    pub fn dim(&self, text: &str) -> String {
        self.paint(Style::new().dimmed(), text)
    }

    /// `text` in bold.
    pub fn bold(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    /// `text` in bold red (failures, errors).
    pub fn red(&self, text: &str) -> String {
        self.paint(
            Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
            text,
        )
    }

    /// `text` in bold green.
    pub fn green(&self, text: &str) -> String {
        self.paint(
            Style::new().fg_color(Some(AnsiColor::Green.into())).bold(),
            text,
        )
    }

    /// `text` in bold yellow (warnings).
    pub fn yellow(&self, text: &str) -> String {
        self.paint(
            Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold(),
            text,
        )
    }

    /// A hook status's symbol (`✓`, `✗`, `⏱`, `↷`) in its colour.
    pub fn status(&self, status: HookStatus) -> String {
        let (symbol, color) = status_symbol(status);
        self.paint(Style::new().fg_color(Some(color.into())).bold(), symbol)
    }
}

pub(super) fn status_symbol(status: HookStatus) -> (&'static str, AnsiColor) {
    match status {
        HookStatus::Success => ("✓", AnsiColor::Green),
        HookStatus::Failed => ("✗", AnsiColor::Red),
        HookStatus::Timeout => ("⏱", AnsiColor::Red),
        HookStatus::Skipped => ("↷", AnsiColor::Yellow),
    }
}
