//! The results store: runs, suites, test cases and coverage in flowspec's database
//! (SQLite embedded, or PostgreSQL), keyed by provider run id and attempt, with the
//! commit and branch.
//!
//! The SQL is portable (`$1` placeholders, `BIGINT`, `TEXT`, no SQLite-only syntax).
//! Ingesting streams: the files are parsed on a blocking thread while batches of
//! cases are written in one transaction, so a run appears whole or not at all, and
//! ingesting the same run id and attempt again replaces it.
//!
//! ```no_run
//! use flowspec_results::store::{ResultsStore, RunMeta};
//! use flowspec_results::ParseOptions;
//!
//! # async fn run(core: flowspec_core::Store) -> Result<(), flowspec_results::ResultsError> {
//! let store = ResultsStore::open(&core).await?;
//! let meta = RunMeta::new("9876543210").commit("3f2a9c1").branch("main");
//! let ingested = store.ingest(meta, vec!["target/junit.xml".into()], ParseOptions::default()).await?;
//! println!("{} tests, {} failed", ingested.run.totals.tests, ingested.run.totals.failing());
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, AssertSqlSafe, Row};

use crate::coverage::{Coverage, CoverageTotals, FileCoverage};
use crate::error::ResultsError;
use crate::flaky::{FlakyOptions, FlakyReport, RunSample, TestOutcome, analyze};
use crate::model::{FailedTest, SlowTest, Status, SuiteSummary, TestCase, Totals};
use crate::quarantine::{QuarantineEntry, QuarantineSource};
use crate::report::{ParseOptions, Report, ReportBuilder};

mod prune;
mod rows;
mod schema;

use rows::{
    CASE_COLUMNS, RUN_COLUMNS, case_from_row, get_u64, insert_cases, insert_suite, now_ms,
    run_from_row, seconds_to_us, us_to_seconds,
};
use schema::MIGRATIONS;

/// Cases per INSERT statement (18 parameters each).
const BATCH: usize = 50;

/// Who and what a run is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunMeta {
    /// The provider's run id (GitHub run id, GitLab pipeline id...), or a local one.
    pub run_id: String,
    /// The attempt (GitHub's `run_attempt`; 1 for the first run).
    pub attempt: u32,
    /// The commit SHA.
    pub commit: Option<String>,
    /// The branch.
    pub branch: Option<String>,
    /// Where the results come from: `cli`, or a provider's kind (`github`...).
    pub source: String,
}

impl RunMeta {
    /// A run id, attempt 1, source `cli`.
    pub fn new(run_id: impl Into<String>) -> Self {
        RunMeta {
            run_id: run_id.into(),
            attempt: 1,
            commit: None,
            branch: None,
            source: "cli".to_owned(),
        }
    }

    /// A run id for results that come from no CI run (`local-<time>`).
    pub fn local() -> Self {
        RunMeta::new(format!(
            "local-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
        ))
    }

    /// Sets the attempt.
    pub fn attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt.max(1);
        self
    }

    /// Sets the commit.
    pub fn commit(mut self, commit: impl Into<String>) -> Self {
        self.commit = Some(commit.into());
        self
    }

    /// Sets the branch.
    pub fn branch(mut self, branch: impl Into<String>) -> Self {
        self.branch = Some(branch.into());
        self
    }

    /// Sets the source.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }
}

/// A stored run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunInfo {
    /// The store's key.
    pub key: String,
    /// The provider's run id.
    pub run_id: String,
    /// The attempt.
    pub attempt: u32,
    /// The commit.
    pub commit: Option<String>,
    /// The branch.
    pub branch: Option<String>,
    /// Where the results came from.
    pub source: String,
    /// When they were stored (RFC 3339).
    pub created_at: String,
    /// Counts.
    pub totals: Totals,
    /// Whether a report was cut short.
    pub partial: bool,
    /// Coverage totals, when coverage was stored.
    pub coverage: Option<CoverageTotals>,
}

/// Which run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunSelector {
    /// The most recently stored run.
    Latest,
    /// A provider run id; its latest attempt unless one is given.
    Run {
        /// The run id.
        id: String,
        /// The attempt.
        attempt: Option<u32>,
    },
}

/// What [`ResultsStore::ingest`] stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Ingested {
    /// The run.
    pub run: RunInfo,
    /// The report (without cases).
    pub report: Report,
    /// Whether a run with the same id and attempt was replaced.
    pub replaced: bool,
    /// Older runs removed afterwards by [`ResultsStore::with_retention`].
    #[serde(default)]
    pub pruned: u64,
}

/// Runs, suites, cases and coverage in the flowspec database.
#[derive(Clone, Debug)]
pub struct ResultsStore {
    pool: AnyPool,
    retention: Option<flowspec_core::retention::Retention>,
}

impl ResultsStore {
    /// The results tables in flowspec's store (created if needed).
    pub async fn open(store: &flowspec_core::Store) -> Result<Self, ResultsError> {
        ResultsStore::from_pool(store.pool().clone()).await
    }

    /// The results tables in any sqlx `Any` pool (SQLite or PostgreSQL).
    pub async fn from_pool(pool: AnyPool) -> Result<Self, ResultsError> {
        let mut conn = pool.acquire().await?;
        flowspec_core::store::migrate::apply(&mut conn, "results", MIGRATIONS).await?;
        drop(conn);
        Ok(ResultsStore {
            pool,
            retention: None,
        })
    }

    /// Applies `retention` after each ingest (older runs beyond it are removed, see
    /// [`ResultsStore::prune`]); without it, nothing is ever removed by an ingest.
    pub fn with_retention(mut self, retention: flowspec_core::retention::Retention) -> Self {
        self.retention = Some(retention);
        self
    }

    /// Parses report files (JUnit, Cobertura, LCOV; the format of each is detected)
    /// and stores them as one run. A run with the same id and attempt is replaced.
    /// Files that cannot be read to the end are stored as far as they were read, and
    /// the run is marked partial; if no file holds a report, nothing is stored.
    pub async fn ingest(
        &self,
        meta: RunMeta,
        files: Vec<PathBuf>,
        options: ParseOptions,
    ) -> Result<Ingested, ResultsError> {
        let key = uuid::Uuid::now_v7().to_string();
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<TestCase>>(4);
        let options = ParseOptions {
            keep_cases: false,
            ..options
        };
        let parser = tokio::task::spawn_blocking(move || {
            let mut builder = ReportBuilder::new(options);
            let mut batch: Vec<TestCase> = Vec::with_capacity(BATCH * 4);
            let mut sink = |case: &TestCase| {
                batch.push(case.clone());
                if batch.len() >= BATCH * 4 {
                    let _ = sender.blocking_send(std::mem::take(&mut batch));
                }
            };
            for file in &files {
                builder.add_file_with(file, &mut sink);
            }
            if !batch.is_empty() {
                let _ = sender.blocking_send(batch);
            }
            builder.finish()
        });

        let mut tx = self.pool.begin().await?;
        let old: Option<String> =
            sqlx::query("SELECT run_key FROM results_runs WHERE run_id = $1 AND attempt = $2")
                .bind(&meta.run_id)
                .bind(meta.attempt as i64)
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| row.try_get("run_key"))
                .transpose()?;
        if let Some(old) = &old {
            for table in [
                "results_cases",
                "results_suites",
                "results_coverage",
                "results_runs",
            ] {
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE run_key = $1"
                )))
                .bind(old)
                .execute(&mut *tx)
                .await?;
            }
        }
        let mut idx = 0i64;
        while let Some(cases) = receiver.recv().await {
            for chunk in cases.chunks(BATCH) {
                insert_cases(&mut tx, &key, idx, chunk).await?;
                idx += chunk.len() as i64;
            }
        }
        let report = parser
            .await
            .map_err(|e| ResultsError::NoReports(format!("the report parser stopped: {e}")))?;
        if report.totals.tests == 0 && report.coverage.is_none() && !report.errors.is_empty() {
            let reasons: Vec<String> = report.errors.iter().map(|e| format!("  {e}")).collect();
            return Err(ResultsError::NoReports(format!(
                "no test or coverage report could be read:\n{}",
                reasons.join("\n")
            )));
        }
        for (i, suite) in report.suites.iter().enumerate() {
            insert_suite(&mut tx, &key, i as i64, suite).await?;
        }
        if let Some(coverage) = &report.coverage {
            for file in &coverage.files {
                sqlx::query(
                    "INSERT INTO results_coverage (run_key, path, lines_valid, lines_covered, branches_valid, branches_covered)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&key)
                .bind(&file.path)
                .bind(file.lines_valid as i64)
                .bind(file.lines_covered as i64)
                .bind(file.branches_valid as i64)
                .bind(file.branches_covered as i64)
                .execute(&mut *tx)
                .await?;
            }
        }
        let created_at = now_ms();
        let t = &report.totals;
        let c = report.coverage.as_ref().map(|c| &c.totals);
        let files_json = serde_json::to_string(&report.files).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO results_runs (run_key, run_id, attempt, commit_sha, branch, source, created_at,
                tests, passed, failed, errors, skipped, flaky, time_us, partial, files_json,
                lines_valid, lines_covered, branches_valid, branches_covered)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        )
        .bind(&key)
        .bind(&meta.run_id)
        .bind(meta.attempt as i64)
        .bind(&meta.commit)
        .bind(&meta.branch)
        .bind(&meta.source)
        .bind(created_at)
        .bind(t.tests as i64)
        .bind(t.passed as i64)
        .bind(t.failed as i64)
        .bind(t.errors as i64)
        .bind(t.skipped as i64)
        .bind(t.flaky as i64)
        .bind(seconds_to_us(t.time))
        .bind(i64::from(report.partial))
        .bind(files_json)
        .bind(c.map(|c| c.lines_valid as i64))
        .bind(c.map(|c| c.lines_covered as i64))
        .bind(c.map(|c| c.branches_valid as i64))
        .bind(c.map(|c| c.branches_covered as i64))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let pruned = match &self.retention {
            Some(retention) => self.prune(retention).await?.results_runs,
            None => 0,
        };
        let run = self.run_by_key(&key).await?;
        Ok(Ingested {
            run,
            report,
            replaced: old.is_some(),
            pruned,
        })
    }

    /// Finds the report files among a CI run's downloaded artifacts
    /// ([`find_reports`](crate::find_reports)) and ingests them as one run: what
    /// `flowspec ci results --run ID` does after the provider downloaded them.
    pub async fn ingest_artifacts(
        &self,
        meta: RunMeta,
        dir: &std::path::Path,
        options: ParseOptions,
    ) -> Result<Ingested, ResultsError> {
        let files = crate::find_reports(dir).map_err(|source| ResultsError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        if files.is_empty() {
            return Err(ResultsError::NoReports(format!(
                "no JUnit XML, Cobertura or LCOV report among the artifacts in {}",
                dir.display()
            )));
        }
        self.ingest(meta, files, options).await
    }

    /// A run.
    pub async fn run(&self, selector: &RunSelector) -> Result<RunInfo, ResultsError> {
        let row = match selector {
            RunSelector::Latest => sqlx::query(AssertSqlSafe(format!(
                "{RUN_COLUMNS} ORDER BY created_at DESC, run_key DESC LIMIT 1"
            )))
            .fetch_optional(&self.pool)
            .await?
            .ok_or(ResultsError::NoRuns)?,
            RunSelector::Run { id, attempt } => {
                let query = match attempt {
                    Some(_) => format!("{RUN_COLUMNS} WHERE run_id = $1 AND attempt = $2"),
                    None => format!(
                        "{RUN_COLUMNS} WHERE run_id = $1 AND attempt > $2 ORDER BY attempt DESC LIMIT 1"
                    ),
                };
                sqlx::query(AssertSqlSafe(query))
                    .bind(id)
                    .bind(attempt.map_or(0, i64::from))
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or_else(|| ResultsError::UnknownRun(id.clone()))?
            }
        };
        run_from_row(&row)
    }

    async fn run_by_key(&self, key: &str) -> Result<RunInfo, ResultsError> {
        let row = sqlx::query(AssertSqlSafe(format!("{RUN_COLUMNS} WHERE run_key = $1")))
            .bind(key)
            .fetch_one(&self.pool)
            .await?;
        run_from_row(&row)
    }

    /// The most recent runs, newest first, optionally of one branch.
    pub async fn recent_runs(
        &self,
        last: usize,
        branch: Option<&str>,
    ) -> Result<Vec<RunInfo>, ResultsError> {
        let rows = match branch {
            Some(branch) => sqlx::query(AssertSqlSafe(format!(
                "{RUN_COLUMNS} WHERE branch = $1 ORDER BY created_at DESC, run_key DESC LIMIT $2"
            )))
            .bind(branch)
            .bind(last as i64)
            .fetch_all(&self.pool)
            .await?,
            None => {
                sqlx::query(AssertSqlSafe(format!(
                    "{RUN_COLUMNS} ORDER BY created_at DESC, run_key DESC LIMIT $1"
                )))
                .bind(last as i64)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(run_from_row).collect()
    }

    /// A stored run as a [`Report`]: totals, up to `max_failures` failures, the
    /// `slowest` slowest tests, suites, coverage and the files' errors.
    pub async fn report(
        &self,
        run: &RunInfo,
        max_failures: usize,
        slowest: usize,
    ) -> Result<Report, ResultsError> {
        let mut report = Report {
            totals: run.totals.clone(),
            partial: run.partial,
            ..Report::default()
        };
        let failures = sqlx::query(AssertSqlSafe(format!(
            "{CASE_COLUMNS} WHERE run_key = $1 AND status IN ('failed', 'error') ORDER BY idx LIMIT $2"
        )))
        .bind(&run.key)
        .bind(max_failures as i64)
        .fetch_all(&self.pool)
        .await?;
        for row in &failures {
            report
                .failures
                .extend(FailedTest::from_case(&case_from_row(row)?));
        }
        report.failures_omitted = run
            .totals
            .failing()
            .saturating_sub(report.failures.len() as u64);
        let slow = sqlx::query(AssertSqlSafe(format!(
            "{CASE_COLUMNS} WHERE run_key = $1 AND time_us IS NOT NULL ORDER BY time_us DESC, idx LIMIT $2"
        )))
        .bind(&run.key)
        .bind(slowest as i64)
        .fetch_all(&self.pool)
        .await?;
        for row in &slow {
            let case = case_from_row(row)?;
            report.slowest.push(SlowTest {
                id: case.id(),
                suite: case.suite,
                name: case.name,
                status: case.status,
                time: case.time.unwrap_or(0.0),
            });
        }
        let suites = sqlx::query(
            "SELECT name, depth, tests, passed, failed, errors, skipped, flaky, time_us, timestamp_text, hostname, file
             FROM results_suites WHERE run_key = $1 ORDER BY idx",
        )
        .bind(&run.key)
        .fetch_all(&self.pool)
        .await?;
        for row in &suites {
            report.suites.push(SuiteSummary {
                name: row.try_get("name")?,
                depth: row.try_get::<i64, _>("depth")? as u32,
                totals: Totals {
                    tests: get_u64(row, "tests")?,
                    passed: get_u64(row, "passed")?,
                    failed: get_u64(row, "failed")?,
                    errors: get_u64(row, "errors")?,
                    skipped: get_u64(row, "skipped")?,
                    flaky: get_u64(row, "flaky")?,
                    time: 0.0,
                },
                time: row.try_get::<Option<i64>, _>("time_us")?.map(us_to_seconds),
                timestamp: row.try_get("timestamp_text")?,
                hostname: row.try_get("hostname")?,
                file: row.try_get("file")?,
                properties: Vec::new(),
                system_out: None,
                declared: None,
                start: (0, 0),
                system_err: None,
            });
        }
        let coverage = sqlx::query(
            "SELECT path, lines_valid, lines_covered, branches_valid, branches_covered FROM results_coverage WHERE run_key = $1 ORDER BY path",
        )
        .bind(&run.key)
        .fetch_all(&self.pool)
        .await?;
        if !coverage.is_empty() {
            let mut c = Coverage::default();
            for row in &coverage {
                let mut file = FileCoverage::new(row.try_get::<String, _>("path")?);
                file.lines_valid = get_u64(row, "lines_valid")?;
                file.lines_covered = get_u64(row, "lines_covered")?;
                file.branches_valid = get_u64(row, "branches_valid")?;
                file.branches_covered = get_u64(row, "branches_covered")?;
                c.add_file(file);
            }
            report.coverage = Some(c);
        } else if let Some(totals) = &run.coverage {
            let mut c = Coverage::default();
            c.set_totals(totals.clone());
            report.coverage = Some(c);
        }
        let files: String = sqlx::query("SELECT files_json FROM results_runs WHERE run_key = $1")
            .bind(&run.key)
            .fetch_one(&self.pool)
            .await?
            .try_get("files_json")?;
        report.files = serde_json::from_str(&files).unwrap_or_default();
        report.errors = report
            .files
            .iter()
            .filter_map(|f| f.error.clone())
            .collect();
        Ok(report)
    }

    /// Flaky and broken tests over the last `options.window` runs (of `branch`).
    pub async fn flaky(
        &self,
        options: &FlakyOptions,
        branch: Option<&str>,
    ) -> Result<FlakyReport, ResultsError> {
        let runs = self.recent_runs(options.window, branch).await?;
        if runs.is_empty() {
            return Ok(FlakyReport::default());
        }
        let samples: Vec<RunSample> = runs
            .iter()
            .map(|r| {
                RunSample::new(
                    &r.key,
                    &r.run_id,
                    r.commit.clone(),
                    r.totals.tests,
                    r.totals.failing(),
                )
            })
            .collect();
        let list: Vec<String> = (1..=runs.len()).map(|i| format!("${i}")).collect();
        let list = list.join(", ");
        let sql = format!(
            "SELECT run_key, test_id, status, flaky, message FROM results_cases
             WHERE run_key IN ({list}) AND test_id IN (
                SELECT test_id FROM results_cases WHERE run_key IN ({list}) AND (status IN ('failed', 'error') OR flaky = 1)
             )"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for run in &runs {
            query = query.bind(&run.key);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in &rows {
            let status: String = row.try_get("status")?;
            outcomes.push(TestOutcome::new(
                row.try_get::<String, _>("run_key")?,
                row.try_get::<String, _>("test_id")?,
                Status::parse(&status).unwrap_or(Status::Failed),
                row.try_get::<i64, _>("flaky")? != 0,
                row.try_get("message")?,
            ));
        }
        Ok(analyze(&samples, &outcomes, options))
    }

    /// Ids of broken tests over the recent runs (quarantine never excuses them).
    pub async fn broken_tests(
        &self,
        options: &FlakyOptions,
        branch: Option<&str>,
    ) -> Result<HashSet<String>, ResultsError> {
        Ok(self
            .flaky(options, branch)
            .await?
            .broken
            .into_iter()
            .map(|b| b.test)
            .collect())
    }

    /// How many times flowspec's auto-retry has retried `run_id` of `provider` (0
    /// when never). Kept across processes, so `flowspec serve` honours
    /// `results.auto_retry.max_retries` on platforms without run attempts.
    pub async fn retries(&self, provider: &str, run_id: &str) -> Result<u32, ResultsError> {
        let row =
            sqlx::query("SELECT retries FROM results_retries WHERE provider = $1 AND run_id = $2")
                .bind(provider)
                .bind(run_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some(row) => row.try_get::<i64, _>("retries")?.max(0) as u32,
            None => 0,
        })
    }

    /// Counts one more auto-retry of `run_id`; returns the new count.
    pub async fn record_retry(&self, provider: &str, run_id: &str) -> Result<u32, ResultsError> {
        sqlx::query(
            "INSERT INTO results_retries (provider, run_id, retries, updated_at) VALUES ($1, $2, 1, $3)
             ON CONFLICT (provider, run_id) DO UPDATE SET retries = results_retries.retries + 1, updated_at = $3",
        )
        .bind(provider)
        .bind(run_id)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        self.retries(provider, run_id).await
    }

    /// Carries an auto-retry count over to the run a retry created when the platform
    /// gives it a new id (Jenkins rebuilds, custom CIs), so `max_retries` holds across
    /// the chain of runs. Never lowers a count.
    pub async fn carry_retries(
        &self,
        provider: &str,
        run_id: &str,
        retries: u32,
    ) -> Result<(), ResultsError> {
        sqlx::query(
            "INSERT INTO results_retries (provider, run_id, retries, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (provider, run_id) DO UPDATE SET retries = $3, updated_at = $4
             WHERE results_retries.retries < $3",
        )
        .bind(provider)
        .bind(run_id)
        .bind(i64::from(retries))
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Quarantines a test id or pattern; `false` when it already was.
    pub async fn quarantine_add(
        &self,
        test: &str,
        reason: Option<&str>,
    ) -> Result<bool, ResultsError> {
        let added = sqlx::query(
            "INSERT INTO results_quarantine (test_id, reason, added_at) VALUES ($1, $2, $3) ON CONFLICT (test_id) DO NOTHING",
        )
        .bind(test)
        .bind(reason)
        .bind(now_ms())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(added == 1)
    }

    /// Lifts a quarantine; `false` when there was none.
    pub async fn quarantine_remove(&self, test: &str) -> Result<bool, ResultsError> {
        let removed = sqlx::query("DELETE FROM results_quarantine WHERE test_id = $1")
            .bind(test)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(removed > 0)
    }

    /// The stored quarantine.
    pub async fn quarantine_list(&self) -> Result<Vec<QuarantineEntry>, ResultsError> {
        let rows = sqlx::query("SELECT test_id, reason FROM results_quarantine ORDER BY test_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(QuarantineEntry::new(
                    row.try_get::<String, _>("test_id")?,
                    row.try_get("reason")?,
                    QuarantineSource::Store,
                ))
            })
            .collect()
    }
}
