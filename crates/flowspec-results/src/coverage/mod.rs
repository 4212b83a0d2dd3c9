//! Coverage reports: Cobertura XML ([`read_cobertura`]), LCOV ([`read_lcov`]),
//! JaCoCo XML ([`read_jacoco`]) and Go cover profiles ([`read_go_cover`]), all
//! streamed, into one per-file model.

mod cobertura;
mod gocover;
mod jacoco;
mod lcov;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

pub use cobertura::read_cobertura;
pub use gocover::read_go_cover;
pub use jacoco::read_jacoco;
pub use lcov::read_lcov;

use crate::error::ParseError;

/// Coverage of one source file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileCoverage {
    /// The path as the report names it. Example: `src/parser.rs`.
    pub path: String,
    /// Instrumented lines.
    pub lines_valid: u64,
    /// Lines run at least once.
    pub lines_covered: u64,
    /// Branches.
    pub branches_valid: u64,
    /// Branches taken.
    pub branches_covered: u64,
}

impl FileCoverage {
    /// A file with no counts yet.
    pub fn new(path: impl Into<String>) -> Self {
        FileCoverage {
            path: path.into(),
            ..FileCoverage::default()
        }
    }

    /// Covered lines / lines, `None` without lines.
    pub fn line_rate(&self) -> Option<f64> {
        rate(self.lines_covered, self.lines_valid)
    }

    /// Taken branches / branches, `None` without branches.
    pub fn branch_rate(&self) -> Option<f64> {
        rate(self.branches_covered, self.branches_valid)
    }
}

fn rate(covered: u64, valid: u64) -> Option<f64> {
    (valid > 0).then(|| covered as f64 / valid as f64)
}

/// Totals over every file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CoverageTotals {
    /// Instrumented lines.
    pub lines_valid: u64,
    /// Lines run.
    pub lines_covered: u64,
    /// `lines_covered / lines_valid` (0..=1), `null` without lines.
    pub line_rate: Option<f64>,
    /// Branches.
    pub branches_valid: u64,
    /// Branches taken.
    pub branches_covered: u64,
    /// `branches_covered / branches_valid`, `null` without branches.
    pub branch_rate: Option<f64>,
}

/// Coverage of a project: per file, and totals.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Coverage {
    /// Totals.
    pub totals: CoverageTotals,
    /// Per file, in the order first seen.
    pub files: Vec<FileCoverage>,
}

impl Coverage {
    /// Adds a file; a file already present (several reports, several LCOV records)
    /// keeps the larger counts of each.
    pub fn add_file(&mut self, file: FileCoverage) {
        self.merge_files(std::iter::once(file));
    }

    /// Adds files (merged as [`add_file`](Self::add_file) does), in one pass.
    pub(crate) fn add_files(&mut self, files: Vec<FileCoverage>) {
        self.merge_files(files);
    }

    /// Adds every file of another report.
    pub fn absorb(&mut self, other: Coverage) {
        self.merge_files(other.files);
    }

    fn merge_files(&mut self, files: impl IntoIterator<Item = FileCoverage>) {
        let mut index: HashMap<String, usize> = self
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.clone(), i))
            .collect();
        for file in files {
            match index.get(&file.path) {
                Some(&i) => {
                    let known = &mut self.files[i];
                    known.lines_valid = known.lines_valid.max(file.lines_valid);
                    known.lines_covered = known.lines_covered.max(file.lines_covered);
                    known.branches_valid = known.branches_valid.max(file.branches_valid);
                    known.branches_covered = known.branches_covered.max(file.branches_covered);
                }
                None => {
                    index.insert(file.path.clone(), self.files.len());
                    self.files.push(file);
                }
            }
        }
        self.recount();
    }

    fn recount(&mut self) {
        // Saturating: a report may claim counts near u64::MAX.
        let mut t = CoverageTotals::default();
        for f in &self.files {
            t.lines_valid = t.lines_valid.saturating_add(f.lines_valid);
            t.lines_covered = t.lines_covered.saturating_add(f.lines_covered);
            t.branches_valid = t.branches_valid.saturating_add(f.branches_valid);
            t.branches_covered = t.branches_covered.saturating_add(f.branches_covered);
        }
        t.line_rate = rate(t.lines_covered, t.lines_valid);
        t.branch_rate = rate(t.branches_covered, t.branches_valid);
        self.totals = t;
    }

    /// Totals given directly (a report with rates but no per-file lines).
    pub(crate) fn set_totals(&mut self, totals: CoverageTotals) {
        self.totals = totals;
    }
}

/// Files of one report in the order first seen, each listed once.
#[derive(Default)]
pub(crate) struct Files {
    pub(crate) files: Vec<FileCoverage>,
    index: HashMap<String, usize>,
}

impl Files {
    /// The index of `path`'s entry, added when new.
    pub(crate) fn index_of(&mut self, path: String) -> usize {
        if let Some(&i) = self.index.get(&path) {
            return i;
        }
        self.files.push(FileCoverage::new(path.clone()));
        self.index.insert(path, self.files.len() - 1);
        self.files.len() - 1
    }
}

/// A coverage report read as far as possible.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ParsedCoverage {
    /// What was read.
    pub coverage: Coverage,
    /// Why reading stopped early, if it did (the coverage is then partial).
    pub error: Option<ParseError>,
}
