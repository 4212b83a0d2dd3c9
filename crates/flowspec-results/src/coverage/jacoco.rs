//! JaCoCo XML (`jacoco:report`, Gradle's `jacocoTestReport`, the JaCoCo CLI).

use std::collections::HashMap;
use std::io::Read;

use super::{Coverage, CoverageTotals, FileCoverage, ParsedCoverage};
use crate::error::{ParseError, ParseErrorKind};
use crate::junit::Limits;
use crate::xml::text::unescape;
use crate::xml::{XmlEvent, XmlLimits, XmlPull};

#[derive(Clone, PartialEq, Eq)]
enum El {
    Report,
    Package(String),
    /// A `<sourcefile>`: its index in the files.
    Source(usize),
    Other,
}

/// Reads a JaCoCo XML report in constant memory (beyond one entry per source file).
///
/// Per source file (`package/sourcefile`, e.g. `com/example/Cart.java`): the `LINE`
/// and `BRANCH` counters of its `<sourcefile>` element. A report without source
/// files (classes only) takes its totals from the report's own counters. Groups
/// (multi-module reports) are read through.
///
/// ```
/// use flowspec_results::coverage::read_jacoco;
///
/// let xml = r#"<report name="shop"><package name="com/example">
///   <sourcefile name="Cart.java">
///     <counter type="BRANCH" missed="1" covered="3"/>
///     <counter type="LINE" missed="2" covered="8"/>
///   </sourcefile>
/// </package></report>"#;
/// let parsed = read_jacoco(xml.as_bytes(), Default::default());
/// let file = &parsed.coverage.files[0];
/// assert_eq!(file.path, "com/example/Cart.java");
/// assert_eq!((file.lines_covered, file.lines_valid), (8, 10));
/// assert_eq!(parsed.coverage.totals.branch_rate, Some(0.75));
/// ```
pub fn read_jacoco<R: Read>(input: R, limits: Limits) -> ParsedCoverage {
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
    let mut root = CoverageTotals::default();
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
                stack.pop();
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
        let element = match (stack.last(), local.as_slice()) {
            (None, b"report") => El::Report,
            (None, other) => {
                let name = String::from_utf8_lossy(other).into_owned();
                drop(tag);
                break Some(xml.fail_at_mark(
                    ParseErrorKind::UnknownFormat,
                    format!("the root element is <{name}>, not <report>: not a JaCoCo report"),
                ));
            }
            (_, b"package") => El::Package(attr(b"name").unwrap_or_default()),
            (Some(El::Package(package)), b"sourcefile") => {
                let name = attr(b"name").unwrap_or_default();
                let path = if package.is_empty() {
                    name
                } else {
                    format!("{package}/{name}")
                };
                let i = *index.entry(path.clone()).or_insert_with(|| {
                    files.push(FileCoverage::new(path));
                    files.len() - 1
                });
                El::Source(i)
            }
            (Some(parent @ (El::Source(_) | El::Report)), b"counter") => {
                let count = |n: &[u8]| {
                    attr(n)
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .unwrap_or(0)
                };
                let (missed, covered) = (count(b"missed"), count(b"covered"));
                let kind = attr(b"type").unwrap_or_default();
                let (valid, hit) = match parent {
                    El::Source(i) => {
                        let file = &mut files[*i];
                        match kind.as_str() {
                            "LINE" => (&mut file.lines_valid, &mut file.lines_covered),
                            "BRANCH" => (&mut file.branches_valid, &mut file.branches_covered),
                            _ => (&mut 0, &mut 0),
                        }
                    }
                    _ => match kind.as_str() {
                        "LINE" => (&mut root.lines_valid, &mut root.lines_covered),
                        "BRANCH" => (&mut root.branches_valid, &mut root.branches_covered),
                        _ => (&mut 0, &mut 0),
                    },
                };
                // A sourcefile is listed once; several listings (merged reports) add up.
                *valid += missed + covered;
                *hit += covered;
                El::Other
            }
            _ => El::Other,
        };
        seen_root = true;
        if !empty {
            stack.push(element);
        }
    };
    let mut coverage = Coverage::default();
    let any_files = !files.is_empty();
    for file in files {
        coverage.add_file(file);
    }
    if !any_files && root.lines_valid + root.branches_valid > 0 {
        let rate = |c: u64, v: u64| (v > 0).then(|| c as f64 / v as f64);
        root.line_rate = rate(root.lines_covered, root.lines_valid);
        root.branch_rate = rate(root.branches_covered, root.branches_valid);
        coverage.set_totals(root);
    }
    ParsedCoverage { coverage, error }
}
