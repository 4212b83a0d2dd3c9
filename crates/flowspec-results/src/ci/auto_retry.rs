//! Auto-retry of a failed run: read its results, ask the `results.auto_retry`
//! policy ([`AutoRetryPolicy::decide`](crate::auto_retry::AutoRetryPolicy::decide))
//! and, when every failure is a known flaky test, retry the failed jobs through the
//! provider. Used by `flowspec ci wait --retry-flaky` and by the `retry_flaky:` hook
//! action (`flowspec serve` on a failed `ci.completed` webhook).

use std::time::{Duration, Instant};

use crate::ResultsError;
use crate::auto_retry::{AutoRetryVerdict, KnownFlaky, NoRetryReason};
use crate::config::ResultsConfig;
use crate::store::ResultsStore;
use flowspec_core::provider::{
    CiProvider, ProviderError, ProviderErrorKind, RetryScope, Run, RunId, RunRef,
};
use serde_json::{Value, json};

use super::fetch::{FetchOptions, FetchedResults, fetch_results};

/// What is known about failures: the quarantine (config and store), and flaky and
/// broken tests over the recent stored runs.
pub async fn known_flaky(
    store: &ResultsStore,
    config: &ResultsConfig,
) -> Result<KnownFlaky, ResultsError> {
    let mut quarantine = config.quarantine.clone();
    quarantine.extend(store.quarantine_list().await?);
    let history = store.flaky(&config.flaky, None).await?;
    Ok(KnownFlaky::new(quarantine, &history))
}

/// How often flowspec's auto-retry has already retried `run`: its own count in the
/// store, or the platform's attempt number minus one when that is higher.
pub async fn retries_so_far(
    provider: &dyn CiProvider,
    run: &Run,
    store: &ResultsStore,
) -> Result<u32, ResultsError> {
    let counted = store.retries(provider.kind(), run.id.as_str()).await?;
    Ok(counted.max(run.attempt.unwrap_or(1).saturating_sub(1)))
}

/// One auto-retry decision and what came of it.
#[derive(Debug)]
#[non_exhaustive]
pub struct RetryEvaluation {
    /// The run.
    pub run_id: RunId,
    /// The provider's kind.
    pub provider: &'static str,
    /// Retries before this decision.
    pub retries_so_far: u32,
    /// The decision.
    pub decision: AutoRetryVerdict,
    /// The results read for it (none when the policy is off or they could not be read).
    pub fetched: Option<FetchedResults>,
    /// The run to watch after a retry.
    pub retried: Option<RunRef>,
}

impl RetryEvaluation {
    /// The decision as one flat JSON object, for `--json` and audit lines:
    /// `{"run_id", "provider", "retries_so_far", "decision": "retry"|"skip",
    /// "reason"?, "retry"?, "tests", "message", "retried_run_id"?}`.
    pub fn to_json(&self) -> Value {
        let mut out = json!({
            "run_id": self.run_id.as_str(),
            "provider": self.provider,
            "retries_so_far": self.retries_so_far,
            "message": self.decision.describe(),
        });
        match &self.decision {
            AutoRetryVerdict::Retry { retry, tests } => {
                out["decision"] = "retry".into();
                out["retry"] = (*retry).into();
                out["tests"] = json!(tests);
            }
            AutoRetryVerdict::Skip { reason } => {
                out["decision"] = "skip".into();
                out["reason"] = reason.as_str().into();
                out["tests"] = match reason {
                    NoRetryReason::UnknownFailures { tests } => json!(tests),
                    _ => json!([]),
                };
            }
        }
        if let Some(f) = &self.fetched {
            let t = &f.ingested.run.totals;
            out["attempt"] = f.ingested.run.attempt.into();
            out["totals"] =
                json!({"tests": t.tests, "failed": t.failed, "errors": t.errors, "flaky": t.flaky});
        }
        if let Some(r) = &self.retried {
            out["retried_run_id"] = r.id.as_str().into();
        }
        out
    }
}

/// Decides whether to retry the failed `run` and, with `apply`, retries its failed
/// jobs ([`RetryScope::Failed`]) and counts the retry in the store.
///
/// The results are fetched and stored first (they feed the flaky history either
/// way); when they cannot be read the decision is `skip` with reason `no_results`.
/// Only a failed retry request is an error.
pub async fn evaluate_retry(
    provider: &dyn CiProvider,
    run: &Run,
    store: &ResultsStore,
    config: &ResultsConfig,
    apply: bool,
) -> Result<RetryEvaluation, RetryError> {
    let retries = retries_so_far(provider, run, store).await?;
    let mut evaluation = RetryEvaluation {
        run_id: run.id.clone(),
        provider: provider.kind(),
        retries_so_far: retries,
        decision: AutoRetryVerdict::Skip {
            reason: NoRetryReason::Disabled,
        },
        fetched: None,
        retried: None,
    };
    if !config.auto_retry.enabled {
        return Ok(evaluation);
    }
    let options = FetchOptions::new(config.artifacts.clone()).attempt(Some(retries + 1));
    let fetched = match fetch_results(provider, run, store, &options).await {
        Ok(f) => f,
        Err(e) => {
            evaluation.decision = AutoRetryVerdict::Skip {
                reason: NoRetryReason::NoResults {
                    message: e.to_string().lines().next().unwrap_or_default().to_owned(),
                },
            };
            return Ok(evaluation);
        }
    };
    let known = known_flaky(store, config).await?;
    let report = &fetched.ingested.report;
    evaluation.decision = config.auto_retry.decide(
        &report.failures,
        &report.totals,
        report.partial,
        &known,
        retries,
    );
    evaluation.fetched = Some(fetched);
    if apply && evaluation.decision.is_retry() {
        // Count first: two deciders racing on one run (a webhook and `ci wait`) cannot
        // both retry, and a retry whose outcome is lost is still counted.
        let counted = store.record_retry(provider.kind(), run.id.as_str()).await?;
        if counted.max(retries + 1) > config.auto_retry.max_retries {
            evaluation.decision = AutoRetryVerdict::Skip {
                reason: NoRetryReason::MaxRetriesReached {
                    max: config.auto_retry.max_retries,
                },
            };
            return Ok(evaluation);
        }
        let retried = match provider.retry(&run.id, &RetryScope::Failed).await {
            // Platforms that cannot re-run only the failed jobs (Jenkins) re-run it all.
            Err(e) if e.kind() == ProviderErrorKind::Unsupported => {
                provider.retry(&run.id, &RetryScope::All).await?
            }
            other => other?,
        };
        if retried.id != run.id {
            store
                .carry_retries(provider.kind(), retried.id.as_str(), counted)
                .await?;
        }
        evaluation.retried = Some(retried);
    }
    Ok(evaluation)
}

/// Why an auto-retry could not be carried out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RetryError {
    /// The CI refused or failed the retry request.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The results store failed.
    #[error(transparent)]
    Results(#[from] ResultsError),
}

/// After a retry, waits until the platform shows the run again (a new attempt, a
/// status that is not final any more, or a new end time), polling every `every`
/// for at most `limit`. Returns the run as last seen, and whether it restarted.
pub async fn wait_for_restart(
    provider: &dyn CiProvider,
    retried: &RunId,
    before: &Run,
    every: Duration,
    limit: Duration,
) -> Result<(Run, bool), ProviderError> {
    let started = Instant::now();
    loop {
        let now = provider.get_run(retried).await?;
        let restarted = retried != &before.id
            || now.attempt.unwrap_or(0) > before.attempt.unwrap_or(0)
            || !now.status.is_terminal()
            || (now.finished_at.is_some() && now.finished_at != before.finished_at);
        if restarted || started.elapsed() >= limit {
            return Ok((now, restarted));
        }
        tokio::time::sleep(every).await;
    }
}
