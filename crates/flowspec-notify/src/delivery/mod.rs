//! Delivering one event to the integrations it concerns.
//!
//! For each event, [`Notifications::dispatch`] picks the integrations (by their
//! routing lists, or the ones a hook names), and delivers to them concurrently (at
//! most `notifications.concurrency` at a time). Each delivery:
//!
//! 1. is skipped if the integration is missing a secret or was disabled after a
//!    `410 Gone` (until `flowspec notify enable NAME`);
//! 2. is **dropped** when the integration's rate limit (`max_per_hour`, `max_per_day`,
//!    or `notifications.rate_limit`) is reached. Drops are never silent: each one is
//!    audited (`status: skipped`, `reason: rate limit ...`), logged, and the next
//!    notification that gets through says how many were dropped since when;
//! 3. renders the message (default, then templates) and sends it, retrying transient
//!    failures with the integration's schedule through `flowspec_core::retry` (a
//!    service's `Retry-After`/`retry_after` wins over the schedule);
//! 4. on a final failure, keeps a dead letter for `flowspec notify replay`; a `410 Gone`
//!    disables the integration;
//! 5. appends one audit line (`hook_name: notify:<integration>`, status, attempts,
//!    latency, target, delivery id), masked.
//!
//! A failed delivery never fails the event: [`DeliveryReport`] says what happened and
//! the `notify` hook action decides (`fail_on_error`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowspec_core::Event;
use flowspec_core::audit::{AuditLog, AuditRecord};
use flowspec_core::notifier::{
    Field, Notification, NotifierRegistry, NotifyError, NotifyErrorKind,
};
use flowspec_core::report::HookStatus;
use flowspec_core::retry::{RetryPolicy, retry_with_backoff};
use flowspec_core::secret::Masker;
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::config::{Integration, IntegrationsConfig, State};
use crate::state::{Admission, DeadLetter, DeliveryState, now_ms};
use crate::template::{self, Templates};

mod outcome;

pub use outcome::{Delivery, DeliveryReport, DeliveryRequest, DeliveryStatus, Route, delivery_id};

/// The delivery hub: integrations, their state, the audit log and the masker.
/// Cheap to clone.
#[derive(Clone)]
pub struct Notifications {
    inner: Arc<Inner>,
}

struct Inner {
    config: IntegrationsConfig,
    state: StateSource,
    // Opened at the first delivery, so that listing and validating write nothing.
    audit_path: Option<PathBuf>,
    audit: std::sync::OnceLock<Option<AuditLog>>,
    masker: Masker,
    backoff_scale: f64,
}

enum StateSource {
    Ready(DeliveryState),
    #[cfg(feature = "state")]
    Lazy {
        place: StorePlace,
        cell: tokio::sync::OnceCell<DeliveryState>,
    },
}

#[cfg(feature = "state")]
enum StorePlace {
    Url(String),
    Path(PathBuf),
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications")
            .field(
                "integrations",
                &self.inner.config.names().collect::<Vec<_>>(),
            )
            .field("audit", &self.inner.audit_path)
            .finish()
    }
}

/// Builds [`Notifications`].
#[must_use]
pub struct NotificationsBuilder {
    config: IntegrationsConfig,
    state: Option<StateSource>,
    audit: Option<PathBuf>,
    masker_values: Vec<String>,
    backoff_scale: f64,
}

impl NotificationsBuilder {
    /// Keeps rate limits, disabled endpoints and dead letters in this state.
    pub fn state(mut self, state: DeliveryState) -> Self {
        self.state = Some(StateSource::Ready(state));
        self
    }

    /// Opens the store at `url` (`sqlite://…`, `postgres://…`) on first use.
    #[cfg(feature = "state")]
    #[cfg_attr(docsrs, doc(cfg(feature = "state")))]
    pub fn state_url(mut self, url: impl Into<String>) -> Self {
        self.state = Some(StateSource::Lazy {
            place: StorePlace::Url(url.into()),
            cell: tokio::sync::OnceCell::new(),
        });
        self
    }

    /// Opens (creating) the SQLite store at `path` on first use.
    #[cfg(feature = "state")]
    #[cfg_attr(docsrs, doc(cfg(feature = "state")))]
    pub fn state_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.state = Some(StateSource::Lazy {
            place: StorePlace::Path(path.into()),
            cell: tokio::sync::OnceCell::new(),
        });
        self
    }

    /// Appends one audit line per delivery to `path`.
    pub fn audit_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.audit = Some(path.into());
        self
    }

    /// Masks these values too (besides the integrations' own secrets).
    pub fn mask<S: Into<String>>(mut self, values: impl IntoIterator<Item = S>) -> Self {
        self.masker_values
            .extend(values.into_iter().map(Into::into));
        self
    }

    /// Scales every retry delay (tests use 0.001 to keep exact attempt counts fast).
    pub fn backoff_scale(mut self, scale: f64) -> Self {
        self.backoff_scale = scale.max(0.0);
        self
    }

    /// The hub. The store and the audit log are opened at the first delivery.
    pub fn build(self) -> Notifications {
        let mut secrets = self.config.secret_values.clone();
        secrets.extend(self.masker_values);
        Notifications {
            inner: Arc::new(Inner {
                state: self
                    .state
                    .unwrap_or(StateSource::Ready(DeliveryState::in_memory())),
                config: self.config,
                audit_path: self.audit,
                audit: std::sync::OnceLock::new(),
                masker: Masker::new(secrets),
                backoff_scale: self.backoff_scale,
            }),
        }
    }
}

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// No dead letter has that id.
    #[error("no dead letter `{0}` (list them with `flowspec notify dead-letters`)")]
    NotFound(String),
    /// Its integration is no longer configured.
    #[error("dead letter `{id}` is for `{integration}`, which is not configured any more")]
    UnknownIntegration {
        /// The dead letter.
        id: String,
        /// Its integration.
        integration: String,
    },
    /// The stored notification could not be read.
    #[error("dead letter `{0}` is damaged: {1}")]
    Damaged(String, String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] flowspec_core::store::StoreError),
}

impl Notifications {
    /// Starts building a hub for `config`.
    pub fn builder(config: IntegrationsConfig) -> NotificationsBuilder {
        NotificationsBuilder {
            config,
            state: None,
            audit: None,
            masker_values: Vec::new(),
            backoff_scale: 1.0,
        }
    }

    /// The integrations.
    pub fn config(&self) -> &IntegrationsConfig {
        &self.inner.config
    }

    /// The masker (integration secrets and the values given to the builder).
    pub fn masker(&self) -> &Masker {
        &self.inner.masker
    }

    /// The persistent state (opened on first use).
    pub async fn state(&self) -> Result<&DeliveryState, flowspec_core::store::StoreError> {
        match &self.inner.state {
            StateSource::Ready(s) => Ok(s),
            #[cfg(feature = "state")]
            StateSource::Lazy { place, cell } => {
                cell.get_or_try_init(|| async {
                    let store = match place {
                        StorePlace::Url(url) => flowspec_core::store::Store::open(url).await?,
                        StorePlace::Path(path) => {
                            flowspec_core::store::Store::open_sqlite(path).await?
                        }
                    };
                    DeliveryState::in_store(store).await
                })
                .await
            }
        }
    }

    /// The integrations `request` selects for `event`.
    pub fn targets(&self, event: &Event, route: &Route) -> Vec<&Integration> {
        let all = &self.inner.config.integrations;
        match route {
            Route::ByEvent => all
                .iter()
                .filter(|i| !matches!(i.state, State::Disabled) && i.routes.matches(event))
                .collect(),
            Route::To(names) => all
                .iter()
                .filter(|i| names.iter().any(|n| *n == i.name || *n == i.kind))
                .collect(),
        }
    }

    /// Delivers `event` as `request` says. Never fails as a whole: each delivery's
    /// outcome is in the report (and the audit log).
    pub async fn dispatch(&self, event: &Event, request: &DeliveryRequest) -> DeliveryReport {
        let all = &self.inner.config.integrations;
        let targets: Vec<usize> = self
            .targets(event, &request.route)
            .into_iter()
            .filter_map(|t| all.iter().position(|i| std::ptr::eq(i, t)))
            .collect();
        // The template context costs a copy of the event: build it only if a template
        // can apply.
        let templated = request.templates.is_some()
            || !self.inner.config.templates.is_empty()
            || targets.iter().any(|&i| !all[i].templates.is_empty());
        let context = if templated {
            template::context(event)
        } else {
            Value::Null
        };
        let concurrency = self.inner.config.concurrency.max(1);
        let context_ref = &context;
        let mut deliveries: Vec<(usize, Delivery)> = futures_util::stream::iter(targets)
            .map(move |i| async move {
                let integration = &self.inner.config.integrations[i];
                (
                    i,
                    self.deliver(event, integration, request, context_ref, None)
                        .await,
                )
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        deliveries.sort_by_key(|(i, _)| *i);
        DeliveryReport {
            event_id: event.id().to_string(),
            event_type: event.event_type().to_string(),
            deliveries: deliveries.into_iter().map(|(_, d)| d).collect(),
        }
    }

    /// Sends a dead letter again (same delivery id); marks it replayed on success.
    pub async fn replay(&self, id: &str) -> Result<Delivery, ReplayError> {
        let state = self.state().await?;
        let letter = state
            .dead_letters(false)
            .await?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| ReplayError::NotFound(id.to_owned()))?;
        let integration = self.inner.config.get(&letter.integration).ok_or_else(|| {
            ReplayError::UnknownIntegration {
                id: id.to_owned(),
                integration: letter.integration.clone(),
            }
        })?;
        let notification: Notification = serde_json::from_str(&letter.notification)
            .map_err(|e| ReplayError::Damaged(id.to_owned(), e.to_string()))?;
        let request = DeliveryRequest {
            via: "replay".into(),
            bypass_rate_limit: true,
            ..DeliveryRequest::default()
        };
        let event = notification.event.clone();
        let context = template::context(&event);
        let delivery = self
            .deliver(&event, integration, &request, &context, Some(notification))
            .await;
        if delivery.status == DeliveryStatus::Delivered {
            state.mark_replayed(id).await?;
        }
        Ok(delivery)
    }

    async fn deliver(
        &self,
        event: &Event,
        integration: &Integration,
        request: &DeliveryRequest,
        context: &Value,
        prepared: Option<Notification>,
    ) -> Delivery {
        let id = delivery_id(event.id().as_str(), &integration.name);
        let mut delivery = Delivery {
            integration: integration.name.clone(),
            kind: integration.kind.to_owned(),
            status: DeliveryStatus::Skipped,
            attempts: 0,
            latency_ms: 0,
            target: integration
                .notifier()
                .map(|n| n.target())
                .unwrap_or_default(),
            delivery_id: id.clone(),
            receipt: None,
            reason: None,
            error_kind: None,
        };
        let notifier = match &integration.state {
            State::Ready(n) => n.clone(),
            State::MissingSecrets(names) => {
                delivery.status = DeliveryStatus::Failed;
                delivery.error_kind = Some(NotifyErrorKind::Config);
                delivery.reason = Some(format!(
                    "not configured: {} not set (see `flowspec integrations list`)",
                    names.join(", ")
                ));
                self.finish(event, &delivery, request);
                return delivery;
            }
            State::Disabled => {
                delivery.reason =
                    Some("disabled in flowspec.yaml (`enabled: true` turns it on)".into());
                self.finish(event, &delivery, request);
                return delivery;
            }
        };
        let state = match self.state().await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(message = "Notification state store unavailable; rate limits and dead letters are not kept.", error = %e);
                None
            }
        };
        if let Some(state) = state {
            match state.disabled(&integration.name).await {
                Ok(Some(d)) => {
                    delivery.reason = Some(format!(
                        "disabled after the endpoint answered {} (re-enable with `flowspec notify enable {}`)",
                        d.reason, integration.name
                    ));
                    self.finish(event, &delivery, request);
                    return delivery;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(message = "Cannot read disabled integrations.", error = %e)
                }
            }
        }

        let mut dropped_note = None;
        if integration.rate_limit.is_set() && !request.bypass_rate_limit {
            let admission = match state {
                Some(state) => {
                    state
                        .acquire(&integration.name, integration.rate_limit, now_ms())
                        .await
                }
                None => Ok(Admission::Send {
                    dropped_before: 0,
                    since: None,
                }),
            };
            match admission {
                Ok(Admission::Drop { period, limit }) => {
                    delivery.status = DeliveryStatus::Dropped;
                    delivery.reason = Some(format!(
                        "rate limit reached: {limit} per {} for `{}`; dropped (it will be counted in the next message)",
                        match period {
                            crate::state::Period::Hour => "hour",
                            crate::state::Period::Day => "day",
                        },
                        integration.name
                    ));
                    tracing::warn!(message = "Notification dropped by rate limit.", integration = %integration.name, limit, ?period);
                    self.finish(event, &delivery, request);
                    return delivery;
                }
                Ok(Admission::Send {
                    dropped_before,
                    since,
                }) if dropped_before > 0 => {
                    let since = since
                        .and_then(chrono::DateTime::from_timestamp_millis)
                        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_default();
                    dropped_note = Some(format!(
                        "{dropped_before} earlier notification{} dropped by the rate limit since {since}",
                        if dropped_before == 1 {
                            " was"
                        } else {
                            "s were"
                        }
                    ));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(message = "Rate limit state unavailable; sending anyway.", error = %e)
                }
            }
        }

        let notification = match prepared {
            Some(n) => n,
            None => {
                let mut n = template::default_notification(event);
                let mut scopes: Vec<&Templates> = Vec::new();
                if let Some(t) = &request.templates {
                    scopes.push(t);
                }
                scopes.push(&integration.templates);
                scopes.push(&self.inner.config.templates);
                scopes.retain(|t| !t.is_empty());
                let problems = if scopes.is_empty() {
                    Vec::new()
                } else {
                    template::apply(&mut n, &scopes, context)
                };
                for problem in problems {
                    tracing::warn!(message = "Template failed; the default text is used.", integration = %integration.name, %problem);
                }
                if let Some(note) = dropped_note {
                    n.fields
                        .push(Field::new("Rate limit", note).with_key("rate_limit"));
                }
                n
            }
        };

        let schedule = integration.retry_schedule.clone();
        let policy = RetryPolicy::new(schedule.len() as u32 + 1)
            .max_delay(Duration::from_secs(24 * 3600))
            .jitter(false);
        let scale = self.inner.backoff_scale;
        let started = Instant::now();
        let result = retry_with_backoff(
            &policy,
            |next| {
                let base = schedule
                    .get(next.saturating_sub(2) as usize)
                    .copied()
                    .unwrap_or(Duration::ZERO);
                base.mul_f64(scale)
            },
            |_attempt| notifier.notify(&notification),
        )
        .await;
        delivery.latency_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok((receipt, attempts)) => {
                delivery.status = DeliveryStatus::Delivered;
                delivery.attempts = attempts;
                delivery.receipt = Some(receipt);
            }
            Err(exhausted) => {
                let error: NotifyError = exhausted.error;
                delivery.status = DeliveryStatus::Failed;
                delivery.attempts = exhausted.attempts;
                delivery.error_kind = Some(error.kind());
                let text = self.inner.masker.mask(&error.to_string()).into_owned();
                delivery.reason = Some(text.clone());
                tracing::warn!(message = "Delivery failed.", integration = %integration.name, attempts = exhausted.attempts, error = %text);
                if let Some(state) = state {
                    if error.kind() == NotifyErrorKind::Gone {
                        let reason = format!("{} Gone", error.status().unwrap_or(410));
                        if let Err(e) = state.disable(&integration.name, &reason).await {
                            tracing::error!(message = "Cannot record the disabled integration.", error = %e);
                        }
                        delivery.reason = Some(format!(
                            "{text}; `{}` is now disabled until `flowspec notify enable {}`",
                            integration.name, integration.name
                        ));
                    }
                    let letter = DeadLetter {
                        id: id.clone(),
                        integration: integration.name.clone(),
                        event_id: event.id().to_string(),
                        event_type: event.event_type().to_string(),
                        notification: serde_json::to_string(&notification).unwrap_or_default(),
                        error: text,
                        attempts: exhausted.attempts,
                        created_at: now_ms(),
                        replayed_at: None,
                    };
                    if let Err(e) = state.add_dead_letter(&letter).await {
                        tracing::error!(message = "Cannot keep the dead letter.", error = %e);
                    }
                }
            }
        }
        self.finish(event, &delivery, request);
        delivery
    }

    /// Masks and audits one delivery.
    fn finish(&self, event: &Event, delivery: &Delivery, request: &DeliveryRequest) {
        let audit = self.inner.audit.get_or_init(|| {
            let path = self.inner.audit_path.as_deref()?;
            AuditLog::open(path)
                .map_err(|error| tracing::error!(message = "Cannot open the audit log; deliveries are not audited.", %error))
                .ok()
        });
        let Some(audit) = audit else {
            return;
        };
        let status = match delivery.status {
            DeliveryStatus::Delivered => HookStatus::Success,
            DeliveryStatus::Failed => HookStatus::Failed,
            DeliveryStatus::Dropped | DeliveryStatus::Skipped => HookStatus::Skipped,
        };
        let mut record = AuditRecord::new(
            event.id().as_str(),
            event.event_type().as_str(),
            format!("notify:{}", delivery.integration),
            status,
        );
        record.duration_ms = delivery.latency_ms;
        record.attempt = delivery.attempts;
        record.feature = event.feature().map(str::to_owned);
        record.reason = delivery
            .reason
            .as_ref()
            .map(|r| self.inner.masker.mask(r).into_owned());
        let mut extra = Map::new();
        extra.insert("kind".into(), "notification".into());
        extra.insert("integration".into(), delivery.integration.clone().into());
        extra.insert("integration_kind".into(), delivery.kind.clone().into());
        extra.insert("delivery".into(), delivery.status.as_str().into());
        extra.insert("via".into(), request.via.clone().into());
        extra.insert("target".into(), delivery.target.clone().into());
        extra.insert("attempts".into(), delivery.attempts.into());
        extra.insert("latency_ms".into(), delivery.latency_ms.into());
        extra.insert("delivery_id".into(), delivery.delivery_id.clone().into());
        if let Some(kind) = delivery.error_kind {
            extra.insert("error_kind".into(), kind.as_str().into());
        }
        if let Some(receipt) = &delivery.receipt
            && let Ok(mut value) = serde_json::to_value(receipt)
        {
            self.inner.masker.mask_json(&mut value);
            extra.insert("receipt".into(), value);
        }
        if request.test {
            extra.insert("test".into(), true.into());
        }
        record.extra = extra;
        if let Err(error) = audit.append(&record) {
            tracing::error!(message = "Cannot write the audit log.", %error);
        }
    }
}

/// The hub of a flowspec project: `integrations:`/`notifications:` from its
/// flowspec.yaml, its store (the `state:` URL or `.flowspec/state/flowspec.db`) and its
/// audit log, masking the values of secret-looking variables too.
pub fn open_project(
    project: &flowspec_core::ProjectPaths,
    vars: &flowspec_core::config::Vars,
    registry: &NotifierRegistry,
) -> Result<Notifications, flowspec_core::config::ConfigErrors> {
    let settings = flowspec_core::settings::Settings::load(&project.settings_file)?;
    let config = crate::config::load(&settings, vars, registry)?;
    let mut builder = Notifications::builder(config).mask(
        vars.iter()
            .filter(|(name, _)| flowspec_core::secret::looks_secret(name))
            .map(|(_, v)| v.to_owned()),
    );
    // Without the `state` feature rate limits and dead letters live in memory.
    #[cfg(feature = "state")]
    {
        use flowspec_core::config::{ConfigError, ConfigErrorKind, interpolate};
        let url = match &settings.state.url {
            Some(url) => {
                interpolate(url, vars)
                    .map_err(|e| {
                        ConfigError::new(
                            ConfigErrorKind::UnsetVariable,
                            format!("`state.url`: {e}"),
                        )
                        .in_file(&project.settings_file, settings.text())
                    })?
                    .value
            }
            None => String::new(),
        };
        builder = if url.trim().is_empty() {
            builder.state_path(project.state_dir.join("flowspec.db"))
        } else {
            builder.state_url(url)
        };
    }
    if settings.audit.enabled {
        let path = match &settings.audit.path {
            Some(p) => project.root.join(p),
            None => project.audit_log.clone(),
        };
        builder = builder.audit_log(path);
    }
    Ok(builder.build())
}
