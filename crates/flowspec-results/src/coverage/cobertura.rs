//! Cobertura XML (coverage.py, JaCoCo via converters, Istanbul's `cobertura`
//! reporter, cargo-llvm-cov / tarpaulin, .NET coverlet).

use std::collections::HashMap;
use std::io::Read;

use super::{Coverage, CoverageTotals, FileCoverage, ParsedCoverage};
use crate::error::{ParseError, ParseErrorKind};
use crate::junit::Limits;
use crate::xml::text::unescape;
use crate::xml::{XmlEvent, XmlLimits, XmlPull};

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
    let mut xml = XmlPull::new(
        input,
        XmlLimits {
            max_depth: limits.max_depth,
            max_tag_bytes: limits.max_tag_bytes,
        },
    );
    let mut files: Vec<FileCoverage> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut stack: Vec<El> = Vec::new();
    let mut current: Option<usize> = None;
    let mut root_totals: Option<CoverageTotals> = None;
    let mut seen_root = false;
    let error = loop {
        let event = match xml.next(None) {
            Ok(e) => e,
            Err(e) => break Some(e),
        };
        let (tag, empty) = match event {
            XmlEvent::Eof if !seen_root => {
                break Some(ParseError::new(
                    ParseErrorKind::Truncated,
                    1,
                    1,
                    "the file holds no XML element (empty report?)".to_owned(),
                ));
            }
            XmlEvent::Eof => break None,
            XmlEvent::End => {
                if stack.pop() == Some(El::Class) {
                    current = None;
                }
                continue;
            }
            XmlEvent::Start { tag, empty } => (tag, empty),
        };
        let local = tag.local_name().as_ref().as_bytes().to_vec();
        let attr = |name: &[u8]| -> Option<String> {
            tag.attributes()
                .with_checks(false)
                .flatten()
                .find(|a| a.key.local_name().as_ref().as_bytes() == name)
                .map(|a| unescape(&a.value).into_owned())
        };
        let parent = stack.last().copied();
        let element = match (parent, local.as_slice()) {
            (None, b"coverage") => {
                let num = |n: &[u8]| attr(n).and_then(|v| v.trim().parse::<f64>().ok());
                let lines_valid = num(b"lines-valid").unwrap_or(0.0) as u64;
                let lines_covered = num(b"lines-covered").unwrap_or(0.0) as u64;
                let branches_valid = num(b"branches-valid").unwrap_or(0.0) as u64;
                let branches_covered = num(b"branches-covered").unwrap_or(0.0) as u64;
                root_totals = Some(CoverageTotals {
                    lines_valid,
                    lines_covered,
                    line_rate: num(b"line-rate"),
                    branches_valid,
                    branches_covered,
                    branch_rate: num(b"branch-rate"),
                });
                El::Coverage
            }
            (None, other) => {
                let root = String::from_utf8_lossy(other).into_owned();
                drop(tag);
                break Some(xml.fail_at_mark(
                    ParseErrorKind::UnknownFormat,
                    format!("the root element is <{root}>, not <coverage>: not a Cobertura report"),
                ));
            }
            (_, b"class") => {
                let path = attr(b"filename").unwrap_or_default();
                let i = *index.entry(path.clone()).or_insert_with(|| {
                    files.push(FileCoverage::new(path));
                    files.len() - 1
                });
                current = Some(i);
                El::Class
            }
            (Some(El::Class), b"lines") => El::ClassLines,
            (Some(El::Class), b"methods") => El::Methods,
            (Some(El::ClassLines), b"line") => {
                if let Some(i) = current {
                    let file = &mut files[i];
                    file.lines_valid += 1;
                    let hits = attr(b"hits")
                        .and_then(|h| h.trim().parse::<f64>().ok())
                        .unwrap_or(0.0);
                    if hits > 0.0 {
                        file.lines_covered += 1;
                    }
                    if attr(b"branch").is_some_and(|b| b == "true")
                        && let Some((taken, total)) = attr(b"condition-coverage")
                            .as_deref()
                            .and_then(parse_conditions)
                    {
                        file.branches_valid += total;
                        file.branches_covered += taken;
                    }
                }
                El::Other
            }
            _ => El::Other,
        };
        seen_root = true;
        if !empty {
            stack.push(element);
        } else if element == El::Class {
            current = None;
        }
    };
    let mut coverage = Coverage::default();
    let any_lines = files.iter().any(|f| f.lines_valid > 0);
    for file in files {
        coverage.add_file(file);
    }
    if !any_lines && let Some(totals) = root_totals {
        coverage.set_totals(totals);
    }
    ParsedCoverage { coverage, error }
}

/// `50% (1/2)` → (1, 2).
fn parse_conditions(text: &str) -> Option<(u64, u64)> {
    let inner = text.split('(').nth(1)?.split(')').next()?;
    let (taken, total) = inner.split_once('/')?;
    Some((taken.trim().parse().ok()?, total.trim().parse().ok()?))
}
