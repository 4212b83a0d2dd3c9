//! Cobertura XML (coverage.py, JaCoCo via converters, Istanbul's `cobertura`
//! reporter, cargo-llvm-cov / tarpaulin, .NET coverlet).

use std::borrow::Cow;
use std::io::Read;

use super::{Coverage, CoverageTotals, Files, ParsedCoverage};
use crate::junit::Limits;
use crate::xml::Tag;
use crate::xml::elements::{Cases, ElementReader, Elements};

#[derive(Clone, Copy, PartialEq, Eq)]
enum El {
    Coverage,
    Class,
    ClassLines,
    Methods,
    Other,
}

/// Reads a Cobertura report in constant memory (beyond one entry per source file).
///
/// Per file: `<line>` elements directly under each `<class>`'s `<lines>` (method
/// lines repeat them and are skipped); branches from `condition-coverage="50% (1/2)"`.
/// Without any `<line>`, the root's `lines-valid`/`lines-covered` attributes.
///
/// ```
/// use flowspec_results::coverage::read_cobertura;
///
/// let xml = r#"<coverage line-rate="0.5"><packages><package name="p"><classes>
///   <class name="a" filename="src/a.py"><lines>
///     <line number="1" hits="3"/><line number="2" hits="0"/>
///   </lines></class></classes></package></packages></coverage>"#;
/// let parsed = read_cobertura(xml.as_bytes(), Default::default());
/// assert_eq!(parsed.coverage.totals.line_rate, Some(0.5));
/// ```
pub fn read_cobertura<R: Read>(input: R, limits: Limits) -> ParsedCoverage {
    let format = Cobertura {
        files: Files::default(),
        current: None,
        root_totals: None,
    };
    let (format, error) = ElementReader::new(input, limits, format).run();
    let Cobertura {
        files, root_totals, ..
    } = format;
    let mut coverage = Coverage::default();
    let any_lines = files.files.iter().any(|f| f.lines_valid > 0);
    // One merge for all files: adding them one by one rebuilds the index each time.
    coverage.add_files(files.files);
    if !any_lines && let Some(totals) = root_totals {
        coverage.set_totals(totals);
    }
    ParsedCoverage { coverage, error }
}

/// What the Cobertura reader keeps between elements.
struct Cobertura {
    files: Files,
    /// The file of the open `<class>`.
    current: Option<usize>,
    /// The root's own counts.
    root_totals: Option<CoverageTotals>,
}

impl Elements for Cobertura {
    type Frame = El;
    const ROOTS: &'static [&'static str] = &["coverage"];
    const FORMAT: &'static str = "a Cobertura report";

    fn open(&mut self, stack: &mut [El], tag: &Tag<'_>) -> El {
        match (stack.last(), tag.local()) {
            (None, _) => {
                let [
                    lines_valid,
                    lines_covered,
                    line_rate,
                    branches_valid,
                    branches_covered,
                    branch_rate,
                ] = tag.values([
                    b"lines-valid",
                    b"lines-covered",
                    b"line-rate",
                    b"branches-valid",
                    b"branches-covered",
                    b"branch-rate",
                ]);
                let num = |v: Option<Cow<'_, str>>| v.and_then(|v| v.trim().parse::<f64>().ok());
                let count = |v: Option<Cow<'_, str>>| num(v).unwrap_or(0.0) as u64;
                self.root_totals = Some(CoverageTotals {
                    lines_valid: count(lines_valid),
                    lines_covered: count(lines_covered),
                    line_rate: num(line_rate),
                    branches_valid: count(branches_valid),
                    branches_covered: count(branches_covered),
                    branch_rate: num(branch_rate),
                });
                El::Coverage
            }
            (_, b"class") => {
                let path = tag.value(b"filename").unwrap_or_default().into_owned();
                self.current = Some(self.files.index_of(path));
                El::Class
            }
            (Some(El::Class), b"lines") => El::ClassLines,
            (Some(El::Class), b"methods") => El::Methods,
            (Some(El::ClassLines), b"line") => {
                if let Some(i) = self.current {
                    let file = &mut self.files.files[i];
                    let [hits, branch, conditions] =
                        tag.values([b"hits", b"branch", b"condition-coverage"]);
                    file.lines_valid += 1;
                    let hits = hits
                        .and_then(|h| h.trim().parse::<f64>().ok())
                        .unwrap_or(0.0);
                    if hits > 0.0 {
                        file.lines_covered += 1;
                    }
                    if branch.is_some_and(|b| b == "true")
                        && let Some((taken, total)) =
                            conditions.as_deref().and_then(parse_conditions)
                    {
                        file.branches_valid = file.branches_valid.saturating_add(total);
                        file.branches_covered = file.branches_covered.saturating_add(taken);
                    }
                }
                El::Other
            }
            _ => El::Other,
        }
    }

    fn close(&mut self, frame: El, _stack: &mut [El], _out: &mut Cases) {
        if frame == El::Class {
            self.current = None;
        }
    }
}

/// `50% (1/2)` → (1, 2).
fn parse_conditions(text: &str) -> Option<(u64, u64)> {
    let inner = text.split('(').nth(1)?.split(')').next()?;
    let (taken, total) = inner.split_once('/')?;
    Some((taken.trim().parse().ok()?, total.trim().parse().ok()?))
}
