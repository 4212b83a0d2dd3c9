//! The HTTP surface: one `POST` route per enabled source, `/healthz`, `/readyz`,
//! `/metrics`. Every answer is JSON (`{"error", "code"}` on refusal) except `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::queue::{Enqueued, Incoming, Queue, Stored};
use axum::extract::{Request as HttpRequest, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::signature::{bearer_token, tokens_equal};
use serde_json::json;

use crate::config::{ServerConfig, UnknownEvents};
use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::outbox::Transport;
use crate::ratelimit::RateLimiter;
use crate::sources::{Decoded, IncomingRequest, Reject, Source};

/// What the handlers share.
pub(crate) struct AppState {
    pub(crate) sources: Vec<Box<dyn Source>>,
    pub(crate) intake: Intake,
    pub(crate) limiter: Option<RateLimiter>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) queue: Queue,
    pub(crate) max_body_bytes: usize,
    pub(crate) body_timeout: Duration,
    pub(crate) unknown_events: UnknownEvents,
    pub(crate) ready: Arc<AtomicBool>,
    /// The bearer token `/metrics` requires, if any.
    pub(crate) metrics_token: Option<SecretString>,
    /// Where accepted events are published, if anywhere (for `/readyz`).
    pub(crate) transport: Option<Transport>,
}

impl AppState {
    pub(crate) fn new(
        config: &ServerConfig,
        intake: Intake,
        metrics: Arc<Metrics>,
        queue: Queue,
        ready: Arc<AtomicBool>,
        transport: Option<Transport>,
    ) -> Self {
        AppState {
            sources: crate::sources::enabled(config),
            intake,
            limiter: config.rate_limit.map(RateLimiter::new),
            metrics,
            queue,
            max_body_bytes: config.max_body_bytes,
            body_timeout: config.body_timeout,
            unknown_events: config.unknown_events,
            ready,
            metrics_token: config.metrics_token.clone(),
            transport,
        }
    }

    /// The enabled sources as (name, path, scheme), for the startup line.
    pub(crate) fn describe_sources(&self) -> Vec<(&'static str, &'static str, String)> {
        self.sources
            .iter()
            .map(|s| (s.name(), s.path(), s.scheme()))
            .collect()
    }
}

/// The router over the shared state.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics));
    for index in 0..state.sources.len() {
        let path = state.sources[index].path();
        router = router.route(
            path,
            post(
                move |State(state): State<Arc<AppState>>, request: HttpRequest| {
                    receive(state, index, request)
                },
            ),
        );
    }
    router
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint (is the source enabled? see the startup line)",
            )
        })
        .with_state(state)
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if !state.ready.load(Ordering::Relaxed) {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "starting or shutting down",
        );
    }
    let leases = state.queue.store().lease_state();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    if leases.lapsed(now) {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "leases_lapsed",
            "this receiver could not renew its leases for longer than `server.lease`: other receivers may be taking its events over",
        );
    }
    let counts = match state.queue.counts().await {
        Ok(counts) => state.queue.held().await.map(|held| (counts, held)),
        Err(e) => Err(e),
    };
    let outbox = match &state.transport {
        Some(_) => state.queue.outbox_depth().await.map(Some),
        None => Ok(None),
    };
    match counts.and_then(|c| outbox.map(|o| (c, o))) {
        Ok(((counts, held), outbox)) => {
            let pending = counts
                .iter()
                .filter(|(s, _)| s.as_str() == "pending")
                .map(|(_, n)| *n)
                .sum::<u64>();
            let mut answer = json!({
                "status": "ready",
                "pending": pending,
                "leases": {
                    "owner": state.queue.store().owner_id(),
                    "held": held,
                    "lease_secs": leases.lease.map(|l| l.as_secs_f64()),
                    "renewed_ms_ago": leases.renewed_at.map(|at| (now - at).max(0)),
                },
            });
            // Still ready while the transport is down: events are accepted durably and
            // published once it is back.
            if let (Some(transport), Some(depth)) = (&state.transport, outbox) {
                let failing = transport.health.get();
                answer["transport"] = json!({
                    "target": transport.publisher.target(),
                    "outbox": depth,
                    "last_error": failing.last_error,
                    "failing_since_ms": failing.since_ms,
                });
            }
            Json(answer).into_response()
        }
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            &format!("the state store does not answer: {e}"),
        ),
    }
}

/// `/metrics`: open, or, with `server.metrics_token`, for `Authorization: Bearer
/// <token>` only (the scheme in any case).
async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token);
        let refusal = match given {
            None => Some((
                "missing_credentials",
                "/metrics needs `Authorization: Bearer <token>` (server.metrics_token)",
            )),
            Some(given) if !tokens_equal(given, token.expose_secret()) => {
                Some(("bad_token", "the bearer token for /metrics is not valid"))
            }
            Some(_) => None,
        };
        if let Some((code, message)) = refusal {
            let mut response = error(StatusCode::UNAUTHORIZED, code, message);
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
            return response;
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn receive(state: Arc<AppState>, index: usize, request: HttpRequest) -> Response {
    let started = Instant::now();
    let source = &state.sources[index];
    let name = source.name();
    state.metrics.received(name);
    let refuse = |reject: Reject| {
        state.metrics.rejected(name, reject.code);
        error(reject.status, reject.code, &reject.message)
    };
    if !state.ready.load(Ordering::Relaxed) {
        return refuse(Reject {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "shutting_down",
            message: "the server is shutting down; retry later".into(),
        });
    }

    let (parts, body) = request.into_parts();
    let too_large = Reject {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "too_large",
        message: format!(
            "the body is larger than {} bytes (server.max_body_bytes)",
            state.max_body_bytes
        ),
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > state.max_body_bytes) {
        return refuse(too_large);
    }
    let bytes = match tokio::time::timeout(
        state.body_timeout,
        axum::body::to_bytes(body, state.max_body_bytes),
    )
    .await
    {
        Err(_) => {
            return refuse(Reject {
                status: StatusCode::REQUEST_TIMEOUT,
                code: "body_timeout",
                message: format!(
                    "the body did not arrive within {}s",
                    state.body_timeout.as_secs()
                ),
            });
        }
        Ok(Err(_)) => return refuse(too_large),
        Ok(Ok(bytes)) => bytes,
    };

    let now = chrono::Utc::now().timestamp();
    let request = IncomingRequest {
        headers: &parts.headers,
        body: &bytes,
        query: parts.uri.query(),
        now,
    };
    let delivery_id = match source.authenticate(&request) {
        Ok(id) => id,
        Err(reject) => return refuse(reject),
    };
    if let Some(limiter) = &state.limiter
        && let Err(wait) = limiter.check(name, Instant::now())
    {
        state.metrics.rejected(name, "rate_limited");
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests from this source; retry later",
        );
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return response;
    }
    let events = match source.decode(&request, state.unknown_events) {
        Ok(Decoded::Events(events)) => events,
        Ok(Decoded::Ignored(reason)) => {
            return (StatusCode::ACCEPTED, Json(json!({"ignored": reason}))).into_response();
        }
        Err(reject) => return refuse(reject),
    };
    let incoming = Incoming {
        source: name.to_owned(),
        delivery_id,
        events,
    };
    let events_for_metrics = incoming.events.clone();
    // Stored in a task of its own, which a client hanging up (dropping this handler)
    // does not cancel: what is stored is always counted as accepted.
    let submitted = tokio::spawn({
        let state = state.clone();
        let source = name.to_owned();
        let events = events_for_metrics.clone();
        async move {
            let result = state.intake.submit(incoming).await;
            if let Ok(Enqueued::Stored(stored)) = &result {
                let accepted = stored.iter().filter(|s| **s == Stored::Accepted).count();
                state.metrics.accepted(
                    &source,
                    accepted as u64,
                    started.elapsed().as_secs_f64(),
                    &events,
                );
            }
            result
        }
    })
    .await
    .unwrap_or_else(|e| Err(format!("the store task failed: {e}")));
    match submitted {
        Ok(Enqueued::Replayed) => refuse(Reject {
            status: StatusCode::CONFLICT,
            code: "replayed",
            message: "this delivery was already received".into(),
        }),
        Ok(Enqueued::Stored(stored)) => {
            let mut accepted = Vec::new();
            let mut duplicates = Vec::new();
            for (event, outcome) in events_for_metrics.iter().zip(&stored) {
                match outcome {
                    Stored::Accepted => accepted.push(event.id().to_string()),
                    Stored::Duplicate => duplicates.push(event.id().to_string()),
                }
            }
            (
                StatusCode::ACCEPTED,
                Json(json!({"accepted": accepted, "duplicates": duplicates})),
            )
                .into_response()
        }
        Err(message) => {
            state.metrics.rejected(name, "store_error");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_error",
                &format!("the event could not be stored: {message}"),
            )
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": message, "code": code}))).into_response()
}
