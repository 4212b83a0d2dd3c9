//! JaCoCo XML (`jacoco:report`, Gradle's `jacocoTestReport`, the JaCoCo CLI).

use std::borrow::Cow;
use std::io::Read;

use super::{Coverage, CoverageTotals, Files, ParsedCoverage};
use crate::junit::Limits;
use crate::xml::Tag;
use crate::xml::elements::{Cases, ElementReader, Elements};

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
    let format = Jacoco {
        files: Files::default(),
        root: CoverageTotals::default(),
    };
    let (format, error) = ElementReader::new(input, limits, format).run();
    let Jacoco { files, mut root } = format;
    let mut coverage = Coverage::default();
    let any_files = !files.files.is_empty();
    // One merge for all files: adding them one by one rebuilds the index each time.
    coverage.add_files(files.files);
    if !any_files && (root.lines_valid > 0 || root.branches_valid > 0) {
        let rate = |c: u64, v: u64| (v > 0).then(|| c as f64 / v as f64);
        root.line_rate = rate(root.lines_covered, root.lines_valid);
        root.branch_rate = rate(root.branches_covered, root.branches_valid);
        coverage.set_totals(root);
    }
    ParsedCoverage { coverage, error }
}

/// What the JaCoCo reader keeps between elements.
struct Jacoco {
    files: Files,
    /// The report's own counters.
    root: CoverageTotals,
}

impl Elements for Jacoco {
    type Frame = El;
    const ROOTS: &'static [&'static str] = &["report"];
    const FORMAT: &'static str = "a JaCoCo report";

    fn open(&mut self, stack: &mut [El], tag: &Tag<'_>) -> El {
        match (stack.last(), tag.local()) {
            (None, _) => El::Report,
            (_, b"package") => El::Package(tag.value(b"name").unwrap_or_default().into_owned()),
            (Some(El::Package(package)), b"sourcefile") => {
                let name = tag.value(b"name").unwrap_or_default();
                let path = if package.is_empty() {
                    name.into_owned()
                } else {
                    format!("{package}/{name}")
                };
                El::Source(self.files.index_of(path))
            }
            (Some(parent @ (El::Source(_) | El::Report)), b"counter") => {
                let [kind, missed, covered] = tag.values([b"type", b"missed", b"covered"]);
                let count = |v: Option<Cow<'_, str>>| {
                    v.and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0)
                };
                let (missed, covered) = (count(missed), count(covered));
                let totals = match parent {
                    El::Source(i) => {
                        let file = &mut self.files.files[*i];
                        match kind.as_deref() {
                            Some("LINE") => Some((&mut file.lines_valid, &mut file.lines_covered)),
                            Some("BRANCH") => {
                                Some((&mut file.branches_valid, &mut file.branches_covered))
                            }
                            _ => None,
                        }
                    }
                    _ => match kind.as_deref() {
                        Some("LINE") => {
                            Some((&mut self.root.lines_valid, &mut self.root.lines_covered))
                        }
                        Some("BRANCH") => Some((
                            &mut self.root.branches_valid,
                            &mut self.root.branches_covered,
                        )),
                        _ => None,
                    },
                };
                // A sourcefile is listed once; several listings (merged reports) add up.
                // Saturating: counters near u64::MAX must not overflow.
                if let Some((valid, hit)) = totals {
                    *valid = valid.saturating_add(missed.saturating_add(covered));
                    *hit = hit.saturating_add(covered);
                }
                El::Other
            }
            _ => El::Other,
        }
    }

    fn close(&mut self, _frame: El, _stack: &mut [El], _out: &mut Cases) {}
}
