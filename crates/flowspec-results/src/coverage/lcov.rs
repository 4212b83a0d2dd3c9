//! LCOV tracefiles (`lcov`, `genhtml` input; c8/nyc/Istanbul, cargo-llvm-cov,
//! grcov, Go converters, Flutter).

use std::io::{BufRead, BufReader, Read};

use super::{Coverage, FileCoverage, ParsedCoverage};
use crate::error::{ParseError, ParseErrorKind};

/// Lines longer than this are cut (no LCOV record needs more).
const MAX_LINE: usize = 64 * 1024;

/// Reads an LCOV tracefile record by record.
///
/// Per `SF:` record: lines from `DA:` (or `LF:`/`LH:` when there is no `DA:`),
/// branches from `BRDA:` (or `BRF:`/`BRH:`). A file listed in several records (one
/// per test name) keeps the larger counts.
///
/// ```
/// use flowspec_results::coverage::read_lcov;
///
/// let lcov = "SF:src/lib.rs\nDA:1,1\nDA:2,0\nBRDA:1,0,0,1\nBRDA:1,0,1,-\nend_of_record\n";
/// let parsed = read_lcov(lcov.as_bytes());
/// let file = &parsed.coverage.files[0];
/// assert_eq!((file.lines_covered, file.lines_valid), (1, 2));
/// assert_eq!((file.branches_covered, file.branches_valid), (1, 2));
/// ```
pub fn read_lcov<R: Read>(input: R) -> ParsedCoverage {
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    // Records are merged once at the end (a merge per record would be quadratic).
    let mut records: Vec<FileCoverage> = Vec::new();
    let mut record: Option<Record> = None;
    let mut line = Vec::new();
    let mut number = 0u64;
    let error = loop {
        line.clear();
        match read_line(&mut reader, &mut line) {
            Ok(0) => break None,
            Ok(_) => {}
            Err(e) => {
                break Some(ParseError::new(
                    ParseErrorKind::Io,
                    number + 1,
                    1,
                    format!("cannot read: {e}"),
                ));
            }
        }
        number += 1;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if text == "end_of_record" {
            if let Some(r) = record.take() {
                records.push(r.finish());
            }
            continue;
        }
        let Some((key, value)) = text.split_once(':') else {
            break Some(ParseError::new(
                ParseErrorKind::Syntax,
                number,
                1,
                format!(
                    "`{}` is not an LCOV record (expected KEY:VALUE or end_of_record)",
                    crate::xml::text::truncate(text.to_owned(), 80)
                ),
            ));
        };
        if key == "SF" {
            if let Some(r) = record.take() {
                records.push(r.finish());
            }
            record = Some(Record::new(value));
            continue;
        }
        let Some(r) = record.as_mut() else {
            continue; // TN: and anything else before the first SF:
        };
        let mut fields = value.split(',');
        let mut num = || fields.next().map(str::trim);
        match key {
            "DA" => {
                let (_line, hits) = (num(), num());
                r.da_valid += 1;
                if hits
                    .and_then(|h| h.parse::<f64>().ok())
                    .is_some_and(|h| h > 0.0)
                {
                    r.da_covered += 1;
                }
            }
            "BRDA" => {
                let taken = (num(), num(), num(), num()).3;
                r.brda_valid += 1;
                if taken
                    .and_then(|t| t.parse::<u64>().ok())
                    .is_some_and(|t| t > 0)
                {
                    r.brda_covered += 1;
                }
            }
            "LF" => r.lf = value.trim().parse().ok(),
            "LH" => r.lh = value.trim().parse().ok(),
            "BRF" => r.brf = value.trim().parse().ok(),
            "BRH" => r.brh = value.trim().parse().ok(),
            _ => {}
        }
    };
    let mut error = error;
    if let Some(r) = record.take() {
        records.push(r.finish());
        if error.is_none() {
            error = Some(ParseError::new(
                ParseErrorKind::Truncated,
                number,
                1,
                "the file ends inside a record without `end_of_record` (truncated report?)"
                    .to_owned(),
            ));
        }
    }
    let mut coverage = Coverage::default();
    coverage.add_files(records);
    if coverage.files.is_empty() && error.is_none() {
        error = Some(ParseError::new(
            ParseErrorKind::UnknownFormat,
            1,
            1,
            "no `SF:` record: not an LCOV tracefile".to_owned(),
        ));
    }
    ParsedCoverage { coverage, error }
}

struct Record {
    file: FileCoverage,
    da_valid: u64,
    da_covered: u64,
    brda_valid: u64,
    brda_covered: u64,
    lf: Option<u64>,
    lh: Option<u64>,
    brf: Option<u64>,
    brh: Option<u64>,
}

impl Record {
    fn new(path: &str) -> Self {
        Record {
            file: FileCoverage::new(path.trim()),
            da_valid: 0,
            da_covered: 0,
            brda_valid: 0,
            brda_covered: 0,
            lf: None,
            lh: None,
            brf: None,
            brh: None,
        }
    }

    fn finish(mut self) -> FileCoverage {
        if self.da_valid > 0 {
            self.file.lines_valid = self.da_valid;
            self.file.lines_covered = self.da_covered;
        } else {
            self.file.lines_valid = self.lf.unwrap_or(0);
            self.file.lines_covered = self.lh.unwrap_or(0);
        }
        if self.brda_valid > 0 {
            self.file.branches_valid = self.brda_valid;
            self.file.branches_covered = self.brda_covered;
        } else {
            self.file.branches_valid = self.brf.unwrap_or(0);
            self.file.branches_covered = self.brh.unwrap_or(0);
        }
        self.file
    }
}

/// Reads one line, keeping at most [`MAX_LINE`] bytes of it.
fn read_line(reader: &mut impl BufRead, out: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(total);
        }
        let (chunk, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let room = MAX_LINE.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let n = chunk.len();
        total += n;
        reader.consume(n);
        if done {
            return Ok(total);
        }
    }
}
