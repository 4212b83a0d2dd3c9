//! Tables that fit the terminal.

use std::io::IsTerminal;

use comfy_table::{ContentArrangement, Row, Table};

use super::{Painter, safe_lines};

/// Rows as aligned columns two spaces apart under a bold one-line header, fitted to
/// the width of stdout ([`stdout_width`]): cells too long wrap within their column.
/// Cells are escaped ([`safe_lines`]): tables show what reports and webhooks hold.
/// No trailing newline.
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
