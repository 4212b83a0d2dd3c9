//! Dispatching one event.
//!
//! 1. The matching hooks are the enabled hooks with a trigger whose selector matches the
//!    event type and whose filter matches the payload, in file order.
//! 2. They are cut into groups: consecutive hooks with `parallel: true` form one group
//!    that runs concurrently; every other hook is a group of its own. Groups run one
//!    after the other.
//! 3. Before a hook runs it is claimed in the store for (event id, hook): a hook that
//!    already succeeded for that id is skipped (`--force` runs it again); one being run
//!    by another process is waited for and its result reported.
//! 4. When a hook with `fail_mode: stop` fails or times out, the rest of its group still
//!    finishes (it was already running), and every later group is skipped as `blocked`.
//!    Failures of `fail_mode: continue` hooks are recorded and change nothing else.
//! 5. A hook with `max_concurrent` / `concurrency_key` waits for its turn before it
//!    runs: at most `max_concurrent` runs at once per key value, in the order the events
//!    were prepared ([`Engine::prepare`]; [`Engine::emit`] prepares at once). The wait
//!    does not count against its timeout. Limits hold across every process on the
//!    store: after its turn in this engine's line, a run also takes one of the hook's
//!    slots in the store (shared by receivers on one PostgreSQL).
//! 6. Each hook run (and each skip) appends one audit line.
//! 7. Events returned by actions (`ci.triggered`...) are dispatched afterwards, the same
//!    way, up to [`MAX_FOLLOW_UP_DEPTH`] levels deep.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::Map;

use super::gate::Ticket;
use super::{Engine, EngineError, Protection};
use crate::action::{ActionContext, ActionOutcome, ActionResult};
use crate::audit::AuditRecord;
use crate::config::suggest;
use crate::event::Event;
use crate::output::OutputSink;
use crate::report::{DispatchReport, HookReport, HookStatus, SkipReason};
use crate::spec::{FailMode, HookSpec};
use crate::store::Claim;

/// How deep follow-up events may nest (an event whose hook emits an event whose hook...).
pub const MAX_FOLLOW_UP_DEPTH: usize = 8;

/// Extra time, beyond timeout and kill grace, before a claim is considered abandoned.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// Options of one emit.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct EmitOptions {
    /// Run hooks even if they already succeeded for this event id.
    pub force: bool,
    /// Report what would run, run nothing, record nothing.
    pub dry_run: bool,
}

impl EmitOptions {
    /// Sets `force`.
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Sets `dry_run`.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// An event ready to dispatch, holding its place in the concurrency lines of its hooks
/// (see [`Engine::prepare`]).
pub struct Prepared {
    event: Event,
    tickets: HashMap<String, Ticket>,
}

impl Prepared {
    /// The event.
    pub fn event(&self) -> &Event {
        &self.event
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("event", &self.event.id())
            .field("waiting_hooks", &self.tickets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Engine {
    /// Takes the event's place in the concurrency lines of its hooks now
    /// (`max_concurrent` / `concurrency_key`), so that events prepared in arrival order
    /// run in that order even when they are dispatched by several workers. Then call
    /// [`Engine::dispatch_prepared`].
    pub fn prepare(&self, event: Event) -> Prepared {
        let mut tickets = HashMap::new();
        for hook in self.matching(&event) {
            if let Some(limit) = hook.concurrency() {
                let key = limit
                    .key
                    .as_deref()
                    .and_then(|k| event.field_text(k))
                    .unwrap_or_default();
                tickets.insert(
                    hook.name().to_owned(),
                    self.inner.gates.ticket(hook.name(), key, limit.max),
                );
            }
        }
        Prepared { event, tickets }
    }

    /// Dispatches a prepared event.
    pub async fn dispatch_prepared(
        &self,
        prepared: Prepared,
        options: EmitOptions,
    ) -> Result<DispatchReport, EngineError> {
        self.dispatch(prepared, options, 0).await
    }

    /// The enabled hooks that `event` triggers, in file order.
    pub fn matching<'a>(&'a self, event: &'a Event) -> impl Iterator<Item = &'a HookSpec> + 'a {
        self.inner.hooks.iter().filter(move |h| h.matches(event))
    }

    /// The matching hooks cut into run groups (see the module docs).
    pub fn plan<'a>(&'a self, event: &'a Event) -> Vec<Vec<&'a HookSpec>> {
        let mut groups: Vec<Vec<&HookSpec>> = Vec::new();
        let mut previous_parallel = false;
        for hook in self.matching(event) {
            match groups.last_mut() {
                Some(group) if hook.parallel() && previous_parallel => group.push(hook),
                _ => groups.push(vec![hook]),
            }
            previous_parallel = hook.parallel();
        }
        groups
    }

    /// Dispatches `event` with default options.
    pub async fn emit(&self, event: Event) -> Result<DispatchReport, EngineError> {
        self.emit_with(event, EmitOptions::default()).await
    }

    /// Dispatches `event`.
    pub async fn emit_with(
        &self,
        event: Event,
        options: EmitOptions,
    ) -> Result<DispatchReport, EngineError> {
        let prepared = self.prepare(event);
        self.dispatch(prepared, options, 0).await
    }

    /// Runs one hook for `event` now, whether or not it matches, without the
    /// idempotency store (for `flowspec hooks test`). The audit line has `"test": true`.
    pub async fn run_hook(&self, name: &str, event: &Event) -> Result<HookReport, EngineError> {
        let hook = self.hook(name).ok_or_else(|| EngineError::UnknownHook {
            name: name.to_owned(),
            suggestion: suggest(name, self.inner.hooks.iter().map(HookSpec::name))
                .map(str::to_owned),
        })?;
        let payload = event.to_vec();
        self.inner.reporter.event_started(event, &[hook.name()]);
        let (report, _) = self.execute(hook, event, &payload, 1, true).await;
        self.record(event, &report);
        Ok(report)
    }

    fn dispatch(
        &self,
        prepared: Prepared,
        options: EmitOptions,
        depth: usize,
    ) -> futures_util::future::BoxFuture<'_, Result<DispatchReport, EngineError>> {
        Box::pin(async move {
            let Prepared { event, mut tickets } = prepared;
            let payload = event.to_vec();
            let groups = self.plan(&event);
            let names: Vec<&str> = groups.iter().flatten().map(|h| h.name()).collect();
            tracing::info!(
                message = "Dispatching event.",
                event_id = %event.id(),
                event_type = %event.event_type(),
                hooks = names.len(),
                groups = groups.len(),
                dry_run = options.dry_run,
            );
            self.inner.reporter.event_started(&event, &names);

            let mut reports = Vec::with_capacity(names.len());
            let mut blocked_by: Option<String> = None;
            let mut follow_ups = Vec::new();
            for group in &groups {
                if let Some(by) = &blocked_by {
                    for hook in group {
                        // Leave the line at once: later events must not wait for a hook that will not run.
                        tickets.remove(hook.name());
                        let report =
                            HookReport::skipped(hook, SkipReason::Blocked { by: by.clone() });
                        self.record(&event, &report);
                        reports.push(report);
                    }
                    continue;
                }
                if options.dry_run {
                    for hook in group {
                        let report = HookReport::skipped(hook, SkipReason::DryRun);
                        self.inner.reporter.hook_finished(&event, &report);
                        reports.push(report);
                    }
                    continue;
                }
                let results = join_all(group.iter().map(|hook| {
                    let ticket = tickets.remove(hook.name());
                    self.run_claimed(hook, &event, &payload, options.force, ticket)
                }))
                .await;
                for (hook, result) in group.iter().zip(results) {
                    let (report, events) = result?;
                    let failed = report.status.is_failure()
                        || matches!(report.skip_reason, Some(SkipReason::RanElsewhere { status }) if status.is_failure());
                    if failed && hook.fail_mode() == FailMode::Stop && blocked_by.is_none() {
                        blocked_by = Some(hook.name().to_owned());
                    }
                    follow_ups.extend(events);
                    reports.push(report);
                }
            }

            let mut follow_up_reports = Vec::new();
            for mut next in follow_ups {
                if depth + 1 >= MAX_FOLLOW_UP_DEPTH {
                    tracing::warn!(
                        message = "Follow-up event dropped: too deep.",
                        event_type = %next.event_type(),
                        depth = depth + 1
                    );
                    continue;
                }
                next.set_source_if_missing("flowspec");
                let next = self.prepare(next);
                follow_up_reports.push(
                    self.dispatch(
                        next,
                        EmitOptions {
                            force: false,
                            ..options
                        },
                        depth + 1,
                    )
                    .await?,
                );
            }

            Ok(DispatchReport {
                event_id: event.id().to_string(),
                event_type: event.event_type().to_string(),
                hooks: reports,
                blocked_by,
                follow_ups: follow_up_reports,
            })
        })
    }

    /// Runs the hook's `when:` command (`sh -c`, the hook's working directory and
    /// environment, the hook's timeout); `Err` says why the hook is skipped.
    async fn check_when(
        &self,
        hook: &HookSpec,
        command: &str,
        event: &Event,
    ) -> Result<(), String> {
        let inner = &self.inner;
        let Protection { withheld_env, .. } = self.protection();
        let env = hook_env(hook, event, &inner.root, 1);
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .current_dir(hook.working_dir().unwrap_or(&inner.root))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        for name in withheld_env
            .iter()
            .filter(|n| !env.iter().any(|(k, _)| k == *n))
        {
            cmd.env_remove(name);
        }
        cmd.envs(env);
        let status = match tokio::time::timeout(hook.timeout(), cmd.status()).await {
            Err(_) => {
                return Err(format!(
                    "`{command}` did not end within {}",
                    humanize(hook.timeout())
                ));
            }
            Ok(Err(e)) => return Err(format!("`{command}` could not run: {e}")),
            Ok(Ok(status)) => status,
        };
        if status.success() {
            return Ok(());
        }
        Err(match status.code() {
            Some(code) => format!("`{command}` exited {code}"),
            None => format!("`{command}` was killed by a signal"),
        })
    }

    /// Claims the hook in the store (if any), runs it, records the result.
    async fn run_claimed(
        &self,
        hook: &HookSpec,
        event: &Event,
        payload: &[u8],
        force: bool,
        ticket: Option<Ticket>,
    ) -> Result<(HookReport, Vec<Event>), EngineError> {
        // The gate is asked before the claim: a skip leaves nothing in the store, so a
        // later event (or a rerun of this one) asks it again.
        if let Some(command) = hook.when()
            && let Err(reason) = self.check_when(hook, command, event).await
        {
            drop(ticket);
            let report = HookReport::skipped(hook, SkipReason::Condition { reason });
            self.record(event, &report);
            return Ok((report, Vec::new()));
        }
        // Wait for this hook's turn (max_concurrent / concurrency_key) before claiming,
        // so the claim's lease does not run out while waiting.
        let permit = match ticket {
            Some(ticket) => Some(ticket.admit().await),
            None => None,
        };
        let Some(store) = &self.inner.store else {
            let (report, events) = self.execute(hook, event, payload, 1, false).await;
            self.record(event, &report);
            return Ok((report, events));
        };
        let lease = hook.timeout() + self.inner.kill_grace + LEASE_MARGIN;
        // Then for a slot shared with every process on the store, so the limit holds
        // across receivers too.
        let slot = match (hook.concurrency(), &permit) {
            (Some(limit), Some(_)) => {
                let key = limit
                    .key
                    .as_deref()
                    .and_then(|k| event.field_text(k))
                    .unwrap_or_default();
                Some(
                    store
                        .acquire_slot(hook.name(), &key, limit.max, lease)
                        .await?,
                )
            }
            _ => None,
        };
        let result = self
            .run_with_claim(store, hook, event, payload, force, lease)
            .await;
        if let Some(slot) = slot {
            store.release_slot(slot).await?;
        }
        result
    }

    /// Claims the hook for the event, runs it unless it already ran, records the result.
    async fn run_with_claim(
        &self,
        store: &crate::store::Store,
        hook: &HookSpec,
        event: &Event,
        payload: &[u8],
        force: bool,
        lease: Duration,
    ) -> Result<(HookReport, Vec<Event>), EngineError> {
        let token = match store
            .claim(event.id().as_str(), hook.name(), lease, force)
            .await?
        {
            Claim::Run(token) => token,
            Claim::AlreadySucceeded => {
                let report = HookReport::skipped(hook, SkipReason::AlreadySucceeded);
                self.record(event, &report);
                return Ok((report, Vec::new()));
            }
            Claim::RanElsewhere(status) => {
                let report = HookReport::skipped(hook, SkipReason::RanElsewhere { status });
                self.record(event, &report);
                return Ok((report, Vec::new()));
            }
        };
        let (report, events) = self
            .execute(hook, event, payload, token.attempt, false)
            .await;
        // Record the result before the audit line: an audit line always means the run is
        // recorded and will not run again, even if the process dies right after.
        store
            .finish(&token, report.status, report.exit_code)
            .await?;
        self.record(event, &report);
        Ok((report, events))
    }

    /// Runs the hook's action with its timeout and builds its report (the caller records
    /// it: store first, then [`Engine::record`]).
    async fn execute(
        &self,
        hook: &HookSpec,
        event: &Event,
        payload: &[u8],
        attempt: u32,
        test: bool,
    ) -> (HookReport, Vec<Event>) {
        let inner = &self.inner;
        inner.reporter.hook_started(event, hook.name());
        let Protection {
            masker,
            withheld_env,
        } = self.protection();
        let env = hook_env(hook, event, &inner.root, attempt);
        // Withheld variables stay withheld unless the hook sets them itself.
        let env_remove: Vec<String> = withheld_env
            .iter()
            .filter(|name| !env.iter().any(|(k, _)| k == *name))
            .cloned()
            .collect();
        let sink = OutputSink::new(
            hook.name(),
            masker.clone(),
            Arc::clone(&inner.reporter),
            inner.tail_bytes,
        );
        let working_dir = hook.working_dir().unwrap_or(&inner.root);
        let cx = ActionContext {
            event,
            payload,
            hook_name: hook.name(),
            env: &env,
            env_remove: &env_remove,
            project_root: &inner.root,
            working_dir,
            timeout: hook.timeout(),
            kill_grace: inner.kill_grace,
            attempt,
            output: &sink,
        };
        let started = Instant::now();
        // Processes stop themselves at the timeout (TERM, grace, KILL); the outer limit
        // is only a backstop. Other actions are cancelled at the timeout.
        let limit = if hook.action().enforces_timeout() {
            hook.timeout() + inner.kill_grace + Duration::from_secs(5)
        } else {
            hook.timeout()
        };
        let outcome = tokio::time::timeout(limit, hook.action().run(&cx))
            .await
            .unwrap_or_else(|_| ActionOutcome::timed_out());
        let duration = started.elapsed();

        let (status, message) = match &outcome.result {
            ActionResult::Success => (HookStatus::Success, None),
            ActionResult::Failed(m) => (HookStatus::Failed, Some(masker.mask(m).into_owned())),
            ActionResult::TimedOut => (
                HookStatus::Timeout,
                Some(format!("timed out after {}", humanize(hook.timeout()))),
            ),
        };
        let mut details = Map::new();
        for (k, mut v) in outcome.details {
            masker.mask_json(&mut v);
            details.insert(k, v);
        }
        if test {
            details.insert("test".into(), true.into());
        }
        let report = HookReport {
            hook: hook.name().to_owned(),
            action: hook.action_key().to_owned(),
            status,
            skip_reason: None,
            exit_code: outcome.exit_code,
            duration_ms: duration.as_millis() as u64,
            attempt,
            fail_mode: hook.fail_mode(),
            message,
            output: sink.tail(),
            details,
        };
        tracing::info!(
            message = "Hook finished.",
            hook = %report.hook,
            status = %report.status,
            exit_code = ?report.exit_code,
            duration_ms = report.duration_ms,
            attempt,
        );
        (report, outcome.follow_ups)
    }

    /// Appends the audit line and tells the reporter.
    fn record(&self, event: &Event, report: &HookReport) {
        if let Some(audit) = &self.inner.audit {
            let reason = report
                .message
                .clone()
                .or_else(|| report.skip_reason.as_ref().map(ToString::to_string));
            let record = AuditRecord {
                timestamp: AuditRecord::now(),
                event_id: event.id().to_string(),
                event_type: event.event_type().to_string(),
                hook_name: report.hook.clone(),
                status: report.status,
                exit_code: report.exit_code,
                duration_ms: report.duration_ms,
                attempt: report.attempt,
                feature: event.feature().map(str::to_owned),
                reason,
                output: report.output.clone(),
                extra: report.details.clone(),
            };
            if let Err(error) = audit.append(&record) {
                tracing::error!(message = "Cannot write the audit log.", %error);
            }
        }
        self.inner.reporter.hook_finished(event, report);
    }
}

/// The variables a hook's process gets on top of the inherited environment.
/// `FLOWSPEC_*` come last so a hook's `env` cannot fake them.
fn hook_env(
    hook: &HookSpec,
    event: &Event,
    root: &std::path::Path,
    attempt: u32,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = hook
        .env()
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_owned()))
        .collect();
    let event_type = event.event_type().to_string();
    env.extend([
        ("FLOWSPEC_EVENT_ID".to_owned(), event.id().to_string()),
        ("FLOWSPEC_EVENT_TYPE".to_owned(), event_type.clone()),
        ("EVENT_TYPE".to_owned(), event_type),
        (
            "FLOWSPEC_EVENT_TIMESTAMP".to_owned(),
            event.timestamp_rfc3339(),
        ),
        (
            "FLOWSPEC_FEATURE".to_owned(),
            event.feature().unwrap_or_default().to_owned(),
        ),
        (
            "FLOWSPEC_EVENT_SOURCE".to_owned(),
            event.source().unwrap_or_default().to_owned(),
        ),
        ("FLOWSPEC_HOOK_NAME".to_owned(), hook.name().to_owned()),
        (
            "FLOWSPEC_PROJECT_ROOT".to_owned(),
            root.display().to_string(),
        ),
        ("FLOWSPEC_ATTEMPT".to_owned(), attempt.to_string()),
    ]);
    env
}

fn humanize(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{secs:.1}s")
    }
}
