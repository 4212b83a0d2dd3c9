//! A log line with ANSI colours as HTML: colours and bold become classes, every other
//! escape sequence and control character is dropped, the text is escaped by maud, and
//! `http(s)://` addresses become links. A log never puts its own markup on the page.

use maud::{Markup, html};

/// Longer lines are cut on the page (the raw download has them whole).
pub(crate) const MAX_LINE_CHARS: usize = 16 * 1024;

#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Style {
    fg: Option<u8>,
    bold: bool,
}

impl Style {
    fn class(self) -> Option<String> {
        let mut classes = Vec::new();
        if let Some(fg) = self.fg {
            classes.push(format!("a-f{fg}"));
        }
        if self.bold {
            classes.push("a-b".to_owned());
        }
        (!classes.is_empty()).then(|| classes.join(" "))
    }

    fn apply(&mut self, params: &str) {
        let codes: Vec<u16> = params.split(';').map(|p| p.parse().unwrap_or(0)).collect();
        let mut i = 0;
        while i < codes.len() {
            match codes[i] {
                0 => *self = Style::default(),
                1 => self.bold = true,
                22 => self.bold = false,
                c @ 30..=37 => self.fg = Some((c - 30) as u8),
                c @ 90..=97 => self.fg = Some((c - 90 + 8) as u8),
                39 => self.fg = None,
                38 => {
                    // 38;5;n (256 colours: the first 16 kept) or 38;2;r;g;b (dropped).
                    match codes.get(i + 1) {
                        Some(5) => {
                            if let Some(&n) = codes.get(i + 2) {
                                self.fg = (n < 16).then_some(n as u8);
                            }
                            i += 2;
                        }
                        Some(2) => i += 4,
                        _ => {}
                    }
                }
                48 => match codes.get(i + 1) {
                    Some(5) => i += 2,
                    Some(2) => i += 4,
                    _ => {}
                },
                _ => {}
            }
            i += 1;
        }
    }
}

/// The styled pieces of `line`, escape sequences removed.
fn segments(line: &str) -> Vec<(Style, String)> {
    let mut out: Vec<(Style, String)> = Vec::new();
    let mut style = Style::default();
    let mut text = String::new();
    let mut chars = line.chars().peekable();
    let mut shown = 0usize;
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            match chars.next() {
                Some('[') => {
                    let mut params = String::new();
                    let mut fin = None;
                    for p in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&p) {
                            fin = Some(p);
                            break;
                        }
                        if params.len() < 64 {
                            params.push(p);
                        }
                    }
                    if fin == Some('m') {
                        let mut next = style;
                        next.apply(&params);
                        if next != style {
                            if !text.is_empty() {
                                out.push((style, std::mem::take(&mut text)));
                            }
                            style = next;
                        }
                    }
                }
                Some(']') => {
                    // An operating system command (title, hyperlink): up to BEL or ESC \.
                    while let Some(p) = chars.next() {
                        if p == '\u{7}' || (p == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
        if c.is_control() && c != '\t' {
            continue;
        }
        if shown == MAX_LINE_CHARS {
            text.push_str(" … (line cut)");
            break;
        }
        text.push(c);
        shown += 1;
    }
    if !text.is_empty() {
        out.push((style, text));
    }
    out
}

/// Where the addresses in `text` are: byte ranges.
fn links(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..]
        .find("http://")
        .into_iter()
        .chain(text[from..].find("https://"))
        .min()
    {
        let start = from + at;
        let len = text[start..]
            .find(|c: char| c.is_whitespace() || "<>\"'`".contains(c))
            .unwrap_or(text.len() - start);
        let url = text[start..start + len].trim_end_matches(['.', ',', ';', ':', ')', ']']);
        let end = start + url.len();
        if url.len() > "https://".len() {
            found.push((start, end));
        }
        from = end.max(start + 1);
    }
    found
}

fn text_with_links(text: &str) -> Markup {
    let mut pieces: Vec<(&str, bool)> = Vec::new();
    let mut at = 0;
    for (start, end) in links(text) {
        pieces.push((&text[at..start], false));
        pieces.push((&text[start..end], true));
        at = end;
    }
    pieces.push((&text[at..], false));
    html! {
        @for (piece, link) in pieces {
            @if link {
                a href=(piece) rel="nofollow noopener noreferrer" { (piece) }
            } @else {
                (piece)
            }
        }
    }
}

/// `line` as HTML.
pub(crate) fn line_html(line: &str) -> Markup {
    html! {
        @for (style, text) in segments(line) {
            @match style.class() {
                Some(class) => span class=(class) { (text_with_links(&text)) },
                None => (text_with_links(&text)),
            }
        }
    }
}

/// `line` without escape sequences, for searching.
pub(crate) fn plain(line: &str) -> String {
    segments(line).into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_turn_colours_into_classes_and_escape_the_text() {
        let html = line_html("\u{1b}[31;1merror:\u{1b}[0m <script>alert(1)</script>").into_string();
        assert_eq!(
            html,
            "<span class=\"a-f1 a-b\">error:</span> &lt;script&gt;alert(1)&lt;/script&gt;"
        );
    }

    #[test]
    fn should_drop_other_escapes_and_control_characters() {
        let html =
            line_html("a\u{1b}[2Kb\u{1b}]0;title\u{7}c\u{8}d\u{1b}[38;2;1;2;3me").into_string();
        assert_eq!(html, "abcde");
        assert_eq!(plain("\u{1b}[32mok\u{1b}[0m"), "ok");
    }

    #[test]
    fn should_link_addresses_but_not_trailing_punctuation() {
        let html =
            line_html("see https://ci.example/run/1. or http://x.example/a?b=\"c").into_string();
        assert!(
            html.contains("<a href=\"https://ci.example/run/1\" rel=\"nofollow noopener noreferrer\">https://ci.example/run/1</a>."),
            "{html}"
        );
        assert!(html.contains("href=\"http://x.example/a?b=\""), "{html}");
        let html = line_html("javascript:alert(1) https://").into_string();
        assert!(!html.contains("<a"), "{html}");
    }

    #[test]
    fn should_cut_very_long_lines() {
        let html = line_html(&"x".repeat(MAX_LINE_CHARS + 10)).into_string();
        assert!(html.ends_with("(line cut)"));
    }
}
