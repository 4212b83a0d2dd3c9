//! Check runs with annotations (GitHub's Checks API): a named result on the head
//! commit, its summary, and one annotation per failed test that has a file and line.
//!
//! GitHub takes at most [`MAX_ANNOTATIONS_PER_REQUEST`] annotations per request:
//! [`publish_check_run`] creates the check run with the first ones and appends the
//! rest in batches (`PATCH …/check-runs/{id}`). GitLab has no check runs (commit
//! statuses only): it refuses with [`PrError::NoCheckRuns`].
//!
//! ```no_run
//! use flowspec_providers::forge::{self, CheckAnnotation, CheckRunRequest};
//!
//! # async fn run(forge: &dyn forge::Forge) -> Result<(), forge::PrError> {
//! let mut request = CheckRunRequest::new("tests", "6dcb09b5b578", false, "1 failed, 9 passed", "## ❌ Tests failed");
//! request.annotations.push(CheckAnnotation::failure("src/lib.rs", 12, "adds failed", "expected 2"));
//! let run = forge::publish_check_run(forge, &request).await?;
//! println!("check run {} with {} annotations", run.id, run.annotations);
//! # Ok(()) }
//! ```

use serde::Serialize;

use super::{Forge, PrError};

/// The most annotations GitHub accepts in one request.
pub const MAX_ANNOTATIONS_PER_REQUEST: usize = 50;

/// GitHub keeps this many characters of a check run's summary.
pub const MAX_SUMMARY_CHARS: usize = 65_535;

/// One annotation: a failed test at a line of a file (paths relative to the
/// repository root).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CheckAnnotation {
    /// The file, relative to the repository root.
    pub path: String,
    /// The first line.
    pub start_line: u32,
    /// The last line.
    pub end_line: u32,
    /// `failure` (GitHub also knows `notice` and `warning`).
    pub annotation_level: String,
    /// The failure message.
    pub message: String,
    /// A title (the test's name).
    pub title: String,
}

impl CheckAnnotation {
    /// A `failure` annotation of one line.
    pub fn failure(
        path: impl Into<String>,
        line: u32,
        title: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        CheckAnnotation {
            path: path.into(),
            start_line: line,
            end_line: line,
            annotation_level: "failure".into(),
            message: message.into(),
            title: title.into(),
        }
    }
}

/// A completed check run to create on a commit.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CheckRunRequest {
    /// The check's name (`tests`).
    pub name: String,
    /// The commit.
    pub head_sha: String,
    /// `true`: conclusion `success`; `false`: `failure`.
    pub success: bool,
    /// `output.title`.
    pub title: String,
    /// `output.summary` (Markdown; cut to [`MAX_SUMMARY_CHARS`]).
    pub summary: String,
    /// `details_url`: the run's page.
    pub details_url: Option<String>,
    /// Every annotation; [`publish_check_run`] sends them in batches.
    pub annotations: Vec<CheckAnnotation>,
}

impl CheckRunRequest {
    /// A check run without annotations.
    pub fn new(
        name: impl Into<String>,
        head_sha: impl Into<String>,
        success: bool,
        title: impl Into<String>,
        summary: impl Into<String>,
    ) -> Self {
        CheckRunRequest {
            name: name.into(),
            head_sha: head_sha.into(),
            success,
            title: title.into(),
            summary: summary.into(),
            details_url: None,
            annotations: Vec::new(),
        }
    }

    /// `success` or `failure`.
    pub fn conclusion(&self) -> &'static str {
        if self.success { "success" } else { "failure" }
    }

    /// The summary, cut on a character boundary to what GitHub keeps.
    pub fn summary_text(&self) -> &str {
        match self.summary.char_indices().nth(MAX_SUMMARY_CHARS - 40) {
            Some((at, _)) if self.summary.chars().count() > MAX_SUMMARY_CHARS => {
                &self.summary[..at]
            }
            _ => &self.summary,
        }
    }
}

/// A created check run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CheckRunRef {
    /// The check run's id.
    pub id: u64,
    /// Its page, when known.
    pub url: Option<String>,
    /// The annotations sent.
    pub annotations: usize,
    /// The requests it took (one create, then one update per further batch).
    pub requests: usize,
}

impl CheckRunRef {
    /// A check run reference.
    pub fn new(id: u64, url: Option<String>, annotations: usize, requests: usize) -> Self {
        CheckRunRef {
            id,
            url,
            annotations,
            requests,
        }
    }
}

/// Creates the check run with its first [`MAX_ANNOTATIONS_PER_REQUEST`] annotations,
/// then appends the others batch by batch. A forge without check runs (GitLab) is
/// refused before any request.
pub async fn publish_check_run(
    forge: &dyn Forge,
    request: &CheckRunRequest,
) -> Result<CheckRunRef, PrError> {
    if !forge.has_check_runs() {
        return Err(PrError::NoCheckRuns {
            platform: forge.kind(),
        });
    }
    let mut batches = request.annotations.chunks(MAX_ANNOTATIONS_PER_REQUEST);
    let first = batches.next().unwrap_or(&[]);
    let mut created = forge.create_check_run(request, first).await?;
    created.annotations = first.len();
    created.requests = 1;
    for batch in batches {
        forge
            .append_check_run_annotations(created.id, request, batch)
            .await?;
        created.annotations += batch.len();
        created.requests += 1;
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_cut_a_long_summary_on_a_character_boundary() {
        let request = CheckRunRequest::new("t", "s", true, "x", "é".repeat(70_000));
        assert!(request.summary_text().chars().count() < MAX_SUMMARY_CHARS);
        let short = CheckRunRequest::new("t", "s", true, "x", "ok");
        assert_eq!(short.summary_text(), "ok");
    }
}
