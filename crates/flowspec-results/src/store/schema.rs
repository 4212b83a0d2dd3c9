//! The results tables, brought up to date when the store is opened: one migration per
//! schema version, each applied once per database.

use flowspec_core::store::migrate::Migration;

pub(super) const MIGRATIONS: &[Migration] = &[&[
    "CREATE TABLE IF NOT EXISTS results_runs (
        run_key TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        attempt BIGINT NOT NULL,
        commit_sha TEXT,
        branch TEXT,
        source TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        tests BIGINT NOT NULL,
        passed BIGINT NOT NULL,
        failed BIGINT NOT NULL,
        errors BIGINT NOT NULL,
        skipped BIGINT NOT NULL,
        flaky BIGINT NOT NULL,
        time_us BIGINT NOT NULL,
        partial BIGINT NOT NULL,
        files_json TEXT NOT NULL,
        lines_valid BIGINT,
        lines_covered BIGINT,
        branches_valid BIGINT,
        branches_covered BIGINT
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS results_runs_run_attempt ON results_runs (run_id, attempt)",
    "CREATE INDEX IF NOT EXISTS results_runs_created ON results_runs (created_at)",
    "CREATE TABLE IF NOT EXISTS results_suites (
        run_key TEXT NOT NULL,
        idx BIGINT NOT NULL,
        name TEXT NOT NULL,
        depth BIGINT NOT NULL,
        tests BIGINT NOT NULL,
        passed BIGINT NOT NULL,
        failed BIGINT NOT NULL,
        errors BIGINT NOT NULL,
        skipped BIGINT NOT NULL,
        flaky BIGINT NOT NULL,
        time_us BIGINT,
        timestamp_text TEXT,
        hostname TEXT,
        file TEXT,
        PRIMARY KEY (run_key, idx)
    )",
    "CREATE TABLE IF NOT EXISTS results_cases (
        run_key TEXT NOT NULL,
        idx BIGINT NOT NULL,
        test_id TEXT NOT NULL,
        suite TEXT NOT NULL,
        classname TEXT,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        flaky BIGINT NOT NULL,
        attempts BIGINT NOT NULL,
        time_us BIGINT,
        failure_kind TEXT,
        failure_type TEXT,
        message TEXT,
        stack TEXT,
        file TEXT,
        line BIGINT,
        system_out TEXT,
        system_err TEXT,
        PRIMARY KEY (run_key, idx)
    )",
    "CREATE INDEX IF NOT EXISTS results_cases_test ON results_cases (test_id)",
    "CREATE TABLE IF NOT EXISTS results_coverage (
        run_key TEXT NOT NULL,
        path TEXT NOT NULL,
        lines_valid BIGINT NOT NULL,
        lines_covered BIGINT NOT NULL,
        branches_valid BIGINT NOT NULL,
        branches_covered BIGINT NOT NULL,
        PRIMARY KEY (run_key, path)
    )",
    "CREATE TABLE IF NOT EXISTS results_retries (
        provider TEXT NOT NULL,
        run_id TEXT NOT NULL,
        retries BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (provider, run_id)
    )",
    "CREATE TABLE IF NOT EXISTS results_quarantine (
        test_id TEXT PRIMARY KEY,
        reason TEXT,
        added_at BIGINT NOT NULL
    )",
]];
