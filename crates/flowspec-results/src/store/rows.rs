//! Rows to values and back: the SELECT column lists, row decoding, batched inserts.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::coverage::CoverageTotals;
use crate::error::ResultsError;
use crate::model::{FailureKind, Status, SuiteSummary, TestCase, Totals};

use super::RunInfo;

pub(super) const RUN_COLUMNS: &str = "SELECT run_key, run_id, attempt, commit_sha, branch, source, created_at, tests, passed, failed, errors, skipped, flaky, time_us, partial, lines_valid, lines_covered, branches_valid, branches_covered FROM results_runs";

pub(super) const CASE_COLUMNS: &str = "SELECT suite, classname, name, status, flaky, attempts, time_us, failure_kind, failure_type, message, stack, file, line, system_out, system_err FROM results_cases";

pub(super) fn run_from_row(row: &AnyRow) -> Result<RunInfo, ResultsError> {
    let created: i64 = row.try_get("created_at")?;
    let coverage = match row.try_get::<Option<i64>, _>("lines_valid")? {
        Some(lines_valid) => {
            let lines_covered = row.try_get::<Option<i64>, _>("lines_covered")?.unwrap_or(0) as u64;
            let branches_valid = row
                .try_get::<Option<i64>, _>("branches_valid")?
                .unwrap_or(0) as u64;
            let branches_covered = row
                .try_get::<Option<i64>, _>("branches_covered")?
                .unwrap_or(0) as u64;
            let rate = |c: u64, v: u64| (v > 0).then(|| c as f64 / v as f64);
            Some(CoverageTotals {
                lines_valid: lines_valid as u64,
                lines_covered,
                line_rate: rate(lines_covered, lines_valid as u64),
                branches_valid,
                branches_covered,
                branch_rate: rate(branches_covered, branches_valid),
            })
        }
        None => None,
    };
    Ok(RunInfo {
        key: row.try_get("run_key")?,
        run_id: row.try_get("run_id")?,
        attempt: row.try_get::<i64, _>("attempt")? as u32,
        commit: row.try_get("commit_sha")?,
        branch: row.try_get("branch")?,
        source: row.try_get("source")?,
        created_at: chrono::DateTime::from_timestamp_millis(created)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        totals: Totals {
            tests: get_u64(row, "tests")?,
            passed: get_u64(row, "passed")?,
            failed: get_u64(row, "failed")?,
            errors: get_u64(row, "errors")?,
            skipped: get_u64(row, "skipped")?,
            flaky: get_u64(row, "flaky")?,
            time: us_to_seconds(row.try_get("time_us")?),
        },
        partial: row.try_get::<i64, _>("partial")? != 0,
        coverage,
    })
}

pub(super) fn case_from_row(row: &AnyRow) -> Result<TestCase, ResultsError> {
    let status: String = row.try_get("status")?;
    let mut case = TestCase::new(
        row.try_get::<String, _>("suite")?,
        row.try_get::<String, _>("name")?,
    );
    case.classname = row.try_get("classname")?;
    case.status = Status::parse(&status).unwrap_or(Status::Failed);
    case.flaky = row.try_get::<i64, _>("flaky")? != 0;
    case.attempts = row.try_get::<i64, _>("attempts")? as u32;
    case.time = row.try_get::<Option<i64>, _>("time_us")?.map(us_to_seconds);
    case.file = row.try_get("file")?;
    case.line = row.try_get::<Option<i64>, _>("line")?.map(|l| l as u32);
    case.system_out = row.try_get("system_out")?;
    case.system_err = row.try_get("system_err")?;
    let kind: Option<String> = row.try_get("failure_kind")?;
    if let Some(kind) = kind {
        let kind = if kind == "error" {
            FailureKind::Error
        } else {
            FailureKind::Failure
        };
        let mut failure = crate::model::FailureDetail::new(kind, row.try_get("message")?);
        failure.failure_type = row.try_get("failure_type")?;
        failure.stack = row.try_get("stack")?;
        case.failure = Some(failure);
    }
    Ok(case)
}

pub(super) async fn insert_cases(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    key: &str,
    first: i64,
    cases: &[TestCase],
) -> Result<(), ResultsError> {
    const COLUMNS: usize = 18;
    let mut sql = String::from(
        "INSERT INTO results_cases (run_key, idx, test_id, suite, classname, name, status, flaky, attempts, time_us,
            failure_kind, failure_type, message, stack, file, line, system_out, system_err) VALUES ",
    );
    for i in 0..cases.len() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..COLUMNS {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", i * COLUMNS + c + 1));
        }
        sql.push(')');
    }
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for (i, case) in cases.iter().enumerate() {
        let failure = case.failure.as_ref();
        // Output is kept for failing tests only: it is what a fixer needs.
        let keep_output = case.status.is_failure();
        query = query
            .bind(key)
            .bind(first + i as i64)
            .bind(case.id())
            .bind(&case.suite)
            .bind(&case.classname)
            .bind(&case.name)
            .bind(case.status.as_str())
            .bind(i64::from(case.flaky))
            .bind(case.attempts as i64)
            .bind(case.time.map(seconds_to_us))
            .bind(failure.map(|f| f.kind.as_str()))
            .bind(failure.and_then(|f| f.failure_type.as_deref()))
            .bind(failure.and_then(|f| f.message.as_deref()).or_else(|| {
                // A flaky pass keeps its failed attempt's message for `results flaky`.
                case.reruns.first().and_then(|r| r.message.as_deref())
            }))
            .bind(failure.and_then(|f| f.stack.as_deref()))
            .bind(&case.file)
            .bind(case.line.map(i64::from))
            .bind(case.system_out.as_deref().filter(|_| keep_output))
            .bind(case.system_err.as_deref().filter(|_| keep_output));
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

pub(super) async fn insert_suite(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    key: &str,
    idx: i64,
    suite: &SuiteSummary,
) -> Result<(), ResultsError> {
    let t = &suite.totals;
    sqlx::query(
        "INSERT INTO results_suites (run_key, idx, name, depth, tests, passed, failed, errors, skipped, flaky, time_us, timestamp_text, hostname, file)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(key)
    .bind(idx)
    .bind(&suite.name)
    .bind(i64::from(suite.depth))
    .bind(t.tests as i64)
    .bind(t.passed as i64)
    .bind(t.failed as i64)
    .bind(t.errors as i64)
    .bind(t.skipped as i64)
    .bind(t.flaky as i64)
    .bind(suite.time.map(seconds_to_us))
    .bind(&suite.timestamp)
    .bind(&suite.hostname)
    .bind(&suite.file)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) fn get_u64(row: &AnyRow, column: &str) -> Result<u64, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)?.max(0) as u64)
}

pub(super) fn seconds_to_us(seconds: f64) -> i64 {
    (seconds * 1e6).round() as i64
}

pub(super) fn us_to_seconds(us: i64) -> f64 {
    us as f64 / 1e6
}

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
