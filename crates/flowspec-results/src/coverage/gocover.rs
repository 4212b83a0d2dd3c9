//! Go cover profiles (`go test -coverprofile`, `go tool covdata textfmt`).

use std::collections::HashMap;
use std::io::Read;

use super::{Coverage, FileCoverage, ParsedCoverage};
use crate::error::{ParseError, ParseErrorKind};
use crate::lines::LineReader;
use crate::xml::text::truncate;

/// Reads a Go cover profile: `mode: set|count|atomic`, then one block a line,
/// `file:startLine.startCol,endLine.endCol statements count`.
///
/// Go measures statements, and so does this: a file's "lines" are its blocks'
/// statements, covered when the block ran, so the line rate is the percentage `go
/// tool cover` prints. A block listed more than once (profiles of several packages
/// concatenated, `-coverpkg`) counts once, covered if any listing ran it. Go
/// profiles have no branches.
///
/// ```
/// use flowspec_results::coverage::read_go_cover;
///
/// let profile = "mode: set\nexample.com/cart/cart.go:5.30,7.2 2 1\nexample.com/cart/cart.go:9.30,11.2 1 0\n";
/// let parsed = read_go_cover(profile.as_bytes());
/// let file = &parsed.coverage.files[0];
/// assert_eq!((file.path.as_str(), file.lines_covered, file.lines_valid), ("example.com/cart/cart.go", 2, 3));
/// ```
pub fn read_go_cover<R: Read>(input: R) -> ParsedCoverage {
    let mut lines = LineReader::new(input);
    let mut files: Vec<FileCoverage> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    // (file, block) → (statements, ran).
    let mut blocks: HashMap<(usize, String), (u64, bool)> = HashMap::new();
    let mut seen_mode = false;
    let error = loop {
        match lines.read_line() {
            Ok(true) => {}
            Ok(false) => {
                break (!seen_mode).then(|| {
                    ParseError::new(
                        ParseErrorKind::Truncated,
                        1,
                        1,
                        "the file holds no `mode:` line (empty profile?)".to_owned(),
                    )
                });
            }
            Err(e) => break Some(e),
        }
        let text = lines.text();
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if let Some(mode) = text.strip_prefix("mode:") {
            // Concatenated profiles repeat the mode line.
            if !matches!(mode.trim(), "set" | "count" | "atomic") {
                break Some(ParseError::new(
                    ParseErrorKind::Syntax,
                    lines.line,
                    1,
                    format!(
                        "unknown cover mode `{}` (expected set, count or atomic)",
                        truncate(mode.trim().to_owned(), 40)
                    ),
                ));
            }
            seen_mode = true;
            continue;
        }
        let Some((file, block, statements, count)) = parse_block(text) else {
            break Some(ParseError::new(
                ParseErrorKind::Syntax,
                lines.line,
                1,
                format!(
                    "`{}` is not a cover profile block (expected FILE:LINE.COL,LINE.COL STATEMENTS COUNT)",
                    truncate(text.to_owned(), 80)
                ),
            ));
        };
        let i = match index.get(file) {
            Some(&i) => i,
            None => {
                files.push(FileCoverage::new(file));
                index.insert(file.to_owned(), files.len() - 1);
                files.len() - 1
            }
        };
        let entry = blocks
            .entry((i, block.to_owned()))
            .or_insert((statements, false));
        entry.1 |= count > 0;
    };
    for ((i, _), (statements, ran)) in blocks {
        files[i].lines_valid = files[i].lines_valid.saturating_add(statements);
        if ran {
            files[i].lines_covered = files[i].lines_covered.saturating_add(statements);
        }
    }
    let mut coverage = Coverage::default();
    coverage.add_files(files);
    ParsedCoverage { coverage, error }
}

/// `file.go:5.30,7.2 2 1` → (`file.go`, `5.30,7.2`, 2, 1).
fn parse_block(text: &str) -> Option<(&str, &str, u64, u64)> {
    let (rest, count) = text.rsplit_once(' ')?;
    let (place, statements) = rest.rsplit_once(' ')?;
    let (file, block) = place.rsplit_once(':')?;
    let (start, end) = block.split_once(',')?;
    let position = |p: &str| {
        let (line, column) = p.split_once('.')?;
        line.parse::<u32>().ok()?;
        column.parse::<u32>().ok()
    };
    position(start)?;
    position(end)?;
    Some((file, block, statements.parse().ok()?, count.parse().ok()?))
}
