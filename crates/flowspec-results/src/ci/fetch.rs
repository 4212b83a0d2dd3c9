//! A run's test results through its provider: list the artifacts, download the ones
//! whose names say they hold reports, unpack them safely, find the reports inside
//! and store them as the run (with its attempt, commit and branch).

use std::path::{Path, PathBuf};

use crate::config::ArtifactPatterns;
use crate::store::{Ingested, ResultsStore, RunMeta};
use crate::{ParseOptions, ResultsError};
use flowspec_core::provider::{Artifact, CiProvider, ProviderError, Run};
use serde::Serialize;

use flowspec_core::provider::unzip::{UnzipError, safe_file_name, unzip};

/// What to fetch and how.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct FetchOptions {
    /// Which artifacts hold reports (`results.artifacts`).
    pub patterns: ArtifactPatterns,
    /// The attempt to store the results under when the platform has no attempt
    /// numbers (GitLab, Jenkins): flowspec's own retry count + 1.
    pub attempt: Option<u32>,
    /// Keep the downloaded files in this folder (default: a temporary folder,
    /// removed afterwards).
    pub keep_in: Option<PathBuf>,
    /// How reports are read.
    pub parse: ParseOptions,
}

impl FetchOptions {
    /// Options with these artifact patterns.
    pub fn new(patterns: ArtifactPatterns) -> Self {
        FetchOptions {
            patterns,
            ..FetchOptions::default()
        }
    }

    /// Sets the fallback attempt.
    pub fn attempt(mut self, attempt: Option<u32>) -> Self {
        self.attempt = attempt;
        self
    }

    /// Keeps the downloads in `dir`.
    pub fn keep_in(mut self, dir: impl Into<PathBuf>) -> Self {
        self.keep_in = Some(dir.into());
        self
    }
}

/// One downloaded artifact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FetchedArtifact {
    /// Its name on the platform.
    pub name: String,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Files it held (1 for an artifact that is not a zip).
    pub files: usize,
}

/// What [`fetch_results`] did.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FetchedResults {
    /// The artifacts downloaded.
    pub artifacts: Vec<FetchedArtifact>,
    /// Artifacts left alone: their names match no pattern, or they expired.
    pub skipped: Vec<String>,
    /// The report files found, relative to the download folder.
    pub reports: Vec<PathBuf>,
    /// The stored run and its report.
    pub ingested: Ingested,
}

/// Why a run's results could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The CI refused or failed a request.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// No artifact of the run looks like it holds reports.
    #[error("{}", no_report_artifacts(run, available, patterns))]
    NoReportArtifacts {
        /// The run id.
        run: String,
        /// The run's artifacts (`name (expired)` for expired ones).
        available: Vec<String>,
        /// The patterns tried.
        patterns: Vec<String>,
    },
    /// The matching artifacts hold no JUnit, Cobertura or LCOV file.
    #[error(
        "run {run}: the artifacts {} hold no JUnit XML, Cobertura or LCOV report (files: {})\n  hint: upload the report files themselves (for example `target/nextest/ci/junit.xml`), or narrow `results.artifacts` to the artifacts that hold them",
        quoted(downloaded),
        if files.is_empty() { "none".to_owned() } else { files.join(", ") }
    )]
    NoReports {
        /// The run id.
        run: String,
        /// The artifacts downloaded.
        downloaded: Vec<String>,
        /// Some of the files they held (at most 20).
        files: Vec<String>,
    },
    /// An artifact could not be unpacked (damaged, or an entry such as `../x`).
    #[error(transparent)]
    Unzip(#[from] UnzipError),
    /// The reports could not be stored.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// The download folder could not be used.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl FetchError {
    /// Whether the CI itself failed (network, token, rate limit...), as opposed to
    /// the run having no usable reports.
    pub fn is_provider(&self) -> bool {
        matches!(self, FetchError::Provider(_))
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn no_report_artifacts(run: &str, available: &[String], patterns: &[String]) -> String {
    let hint = "  hint: upload the test reports as an artifact whose name says so (`junit-results`, `test-results`, `coverage`), or list your artifact's name in `results.artifacts` in .flowspec/flowspec.yaml";
    if available.is_empty() {
        format!("run {run} has no artifacts, so no test reports to read\n{hint}")
    } else {
        format!(
            "run {run} has no report artifacts: none of its artifacts ({}) matches `results.artifacts` ({})\n{hint}",
            quoted(available),
            patterns.join(", ")
        )
    }
}

/// The run's metadata for the store: id, attempt (the platform's, else
/// `fallback_attempt`, else 1), commit, branch, and the provider as source.
pub fn run_meta(provider: &dyn CiProvider, run: &Run, fallback_attempt: Option<u32>) -> RunMeta {
    let mut meta = RunMeta::new(run.id.to_string())
        .attempt(run.attempt.or(fallback_attempt).unwrap_or(1))
        .source(provider.kind());
    if let Some(sha) = &run.head_sha {
        meta = meta.commit(sha.clone());
    }
    if let Some(branch) = &run.head_branch {
        meta = meta.branch(branch.clone());
    }
    meta
}

/// Downloads `run`'s report artifacts through `provider` and stores them in
/// `store` as the run (a run with the same id and attempt is replaced).
///
/// ```no_run
/// use flowspec_results::ci::{FetchOptions, fetch_results};
/// use flowspec_results::store::ResultsStore;
///
/// # async fn demo(provider: &dyn flowspec_core::provider::CiProvider, store: &ResultsStore) -> Result<(), Box<dyn std::error::Error>> {
/// let run = provider.get_run(&"22222222222".into()).await?;
/// let fetched = fetch_results(provider, &run, store, &FetchOptions::default()).await?;
/// println!("{} tests, {} failed", fetched.ingested.run.totals.tests, fetched.ingested.run.totals.failing());
/// # Ok(()) }
/// ```
pub async fn fetch_results(
    provider: &dyn CiProvider,
    run: &Run,
    store: &ResultsStore,
    options: &FetchOptions,
) -> Result<FetchedResults, FetchError> {
    let all = provider.list_artifacts(&run.id).await?;
    let mut chosen: Vec<&Artifact> = Vec::new();
    let mut skipped = Vec::new();
    for artifact in &all {
        if artifact.expired {
            skipped.push(format!("{} (expired)", artifact.name));
        } else if options.patterns.matches(&artifact.name) {
            chosen.push(artifact);
        } else {
            skipped.push(artifact.name.clone());
        }
    }
    if chosen.is_empty() {
        return Err(FetchError::NoReportArtifacts {
            run: run.id.to_string(),
            available: all
                .iter()
                .map(|a| {
                    if a.expired {
                        format!("{} (expired)", a.name)
                    } else {
                        a.name.clone()
                    }
                })
                .collect(),
            patterns: options.patterns.patterns().to_vec(),
        });
    }

    let temp;
    let dir: &Path = match &options.keep_in {
        Some(dir) => {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|source| FetchError::Io {
                    path: dir.clone(),
                    source,
                })?;
            dir
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("flowspec-results-")
                .tempdir()
                .map_err(|source| FetchError::Io {
                    path: std::env::temp_dir(),
                    source,
                })?;
            temp.path()
        }
    };

    let mut artifacts = Vec::new();
    for artifact in chosen {
        let name = safe_file_name(&artifact.name);
        let file = if artifact.zip {
            dir.join(format!("{name}.zip"))
        } else {
            dir.join(&name)
        };
        let bytes = provider
            .download_artifact_to(&run.id, artifact, &file)
            .await?;
        let files = if artifact.zip {
            let target = dir.join(&name);
            let archive = file.clone();
            let written = tokio::task::spawn_blocking(move || unzip(&archive, &target))
                .await
                .map_err(|e| FetchError::Io {
                    path: file.clone(),
                    source: std::io::Error::other(e.to_string()),
                })??;
            let _ = tokio::fs::remove_file(&file).await;
            written.len()
        } else {
            1
        };
        artifacts.push(FetchedArtifact {
            name: artifact.name.clone(),
            bytes,
            files,
        });
    }

    let found = crate::find_reports(dir).map_err(|source| FetchError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if found.is_empty() {
        return Err(FetchError::NoReports {
            run: run.id.to_string(),
            downloaded: artifacts.iter().map(|a| a.name.clone()).collect(),
            files: list_files(dir, 20),
        });
    }
    let meta = run_meta(provider, run, options.attempt);
    let ingested = store
        .ingest(meta, found.clone(), options.parse.clone())
        .await?;
    Ok(FetchedResults {
        artifacts,
        skipped,
        reports: found
            .iter()
            .map(|p| p.strip_prefix(dir).unwrap_or(p).to_path_buf())
            .collect(),
        ingested,
    })
}

/// Up to `max` file paths under `dir`, relative to it, sorted.
fn list_files(dir: &Path, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(
                    path.strip_prefix(dir)
                        .unwrap_or(&path)
                        .display()
                        .to_string(),
                );
            }
        }
    }
    out.sort();
    out.truncate(max);
    out
}
