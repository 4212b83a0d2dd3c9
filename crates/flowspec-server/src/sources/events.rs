//! `POST /events`: a flowspec event as JSON (`curl -X POST …/events -d '{"event_type": …}'`),
//! authenticated by a bearer token, an `X-Signature-256` HMAC, or Standard Webhooks.
//!
//! The body is one event object, or an array of them. Replays are refused within
//! `replay_window` by a key the scheme makes:
//!
//! - Standard Webhooks: the signed `webhook-id` (and the timestamp must be recent);
//! - `X-Signature-256`: the SHA-256 of the body, so a signed body is accepted once
//!   however its signature is written (hex case) and whatever unsigned headers
//!   (`Idempotency-Key`) come with it. This scheme signs no timestamp: prefer Standard
//!   Webhooks where replays matter;
//! - a bearer token: `Idempotency-Key`, if sent.
//!
//! Events sent here may not pass for a forge's: a `source` naming a forge source
//! (`github`, `gitlab`, `circleci`, `jenkins`) or an `event_id` starting with one's
//! prefix (`jenkins-…`) is refused with `400 forged_source`.

use std::time::Duration;

use flowspec_core::Event;
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::signature::{
    SigningKey, bearer_token, body_digest, tokens_equal, verify_sha256_header, verify_standard,
    within_tolerance,
};
use serde_json::Value;

use super::{Credential, Decoded, IncomingRequest, Reject, SOURCES, Source, SourceKind, json_body};
use crate::config::{Credentials, ServerConfig, UnknownEvents};

/// The `/events` source, as declared in [`super::SOURCES`].
pub const KIND: SourceKind = SourceKind {
    name: "events",
    path: "/events",
    scheme: "bearer token, X-Signature-256 HMAC or Standard Webhooks",
    credentials: &[
        Credential::secret("token", "FLOWSPEC_EVENTS_TOKEN"),
        Credential::secret("secret", "FLOWSPEC_EVENTS_SECRET"),
        Credential {
            key: "signing_keys",
            variable: None,
            list: true,
            check: Some(check_signing_key),
        },
    ],
    build,
};

fn check_signing_key(value: &str) -> Result<(), String> {
    SigningKey::parse(value).map(|_| ())
}

fn build(credentials: &Credentials, config: &ServerConfig) -> Option<Box<dyn Source>> {
    let auth = EventsAuth {
        token: credentials.first("token").cloned(),
        secret: credentials.first("secret").cloned(),
        signing_keys: credentials
            .all("signing_keys")
            .iter()
            .filter_map(|k| SigningKey::parse(k.expose_secret()).ok())
            .collect(),
    };
    auth.is_configured()
        .then(|| Box::new(EventsSource::new(auth, config.timestamp_tolerance)) as Box<dyn Source>)
}

/// How `/events` authenticates (any configured scheme the request satisfies).
#[derive(Clone, Debug, Default)]
pub struct EventsAuth {
    /// `Authorization: Bearer <token>`.
    pub token: Option<SecretString>,
    /// `X-Signature-256: sha256=<hex HMAC of the body>`.
    pub secret: Option<SecretString>,
    /// Standard Webhooks keys (`whsec_...`); several for rotation.
    pub signing_keys: Vec<SigningKey>,
}

impl EventsAuth {
    /// Whether any scheme is configured.
    pub fn is_configured(&self) -> bool {
        self.token.is_some() || self.secret.is_some() || !self.signing_keys.is_empty()
    }
}

/// The `/events` source.
pub struct EventsSource {
    auth: EventsAuth,
    tolerance: Duration,
}

impl EventsSource {
    /// A source with these credentials.
    pub fn new(auth: EventsAuth, tolerance: Duration) -> Self {
        EventsSource { auth, tolerance }
    }
}

impl Source for EventsSource {
    fn kind(&self) -> &'static SourceKind {
        &KIND
    }

    fn scheme(&self) -> String {
        let mut schemes = Vec::new();
        if self.auth.token.is_some() {
            schemes.push("bearer token");
        }
        if self.auth.secret.is_some() {
            schemes.push("X-Signature-256 HMAC");
        }
        if !self.auth.signing_keys.is_empty() {
            schemes.push("Standard Webhooks");
        }
        schemes.join(" or ")
    }

    fn authenticate(&self, request: &IncomingRequest<'_>) -> Result<Option<String>, Reject> {
        let idempotency = request.header("idempotency-key").map(str::to_owned);
        if let Some(signature) = request.header("webhook-signature") {
            if self.auth.signing_keys.is_empty() {
                return Err(Reject::unauthorized(
                    "scheme_not_configured",
                    "Standard Webhooks signatures are not configured for /events",
                ));
            }
            let (Some(id), Some(timestamp)) = (
                request.header("webhook-id"),
                request.header("webhook-timestamp"),
            ) else {
                return Err(Reject::unauthorized(
                    "missing_signature",
                    "`webhook-id` and `webhook-timestamp` must accompany `webhook-signature`",
                ));
            };
            let tolerance = i64::try_from(self.tolerance.as_secs()).unwrap_or(i64::MAX);
            let within = timestamp
                .parse::<i64>()
                .is_ok_and(|ts| within_tolerance(request.now, ts, tolerance));
            if !within {
                return Err(Reject::unauthorized(
                    "stale_timestamp",
                    format!(
                        "`webhook-timestamp` is more than {}s from the server's time",
                        self.tolerance.as_secs()
                    ),
                ));
            }
            let valid = self.auth.signing_keys.iter().any(|key| {
                verify_standard(
                    key,
                    id,
                    timestamp,
                    request.body,
                    signature,
                    request.now,
                    tolerance,
                )
            });
            return if valid {
                Ok(Some(id.to_owned()))
            } else {
                Err(Reject::unauthorized(
                    "bad_signature",
                    "`webhook-signature` does not match the body",
                ))
            };
        }
        if let Some(signature) = request.header("x-signature-256") {
            let Some(secret) = &self.auth.secret else {
                return Err(Reject::unauthorized(
                    "scheme_not_configured",
                    "X-Signature-256 is not configured for /events",
                ));
            };
            return if verify_sha256_header(
                secret.expose_secret().as_bytes(),
                request.body,
                signature,
            ) {
                // What is signed is the body: an unsigned header never makes a new key.
                Ok(Some(body_digest(request.body)))
            } else {
                Err(Reject::unauthorized(
                    "bad_signature",
                    "`X-Signature-256` does not match the body",
                ))
            };
        }
        if let Some(authorization) = request.header("authorization") {
            let Some(token) = &self.auth.token else {
                return Err(Reject::unauthorized(
                    "scheme_not_configured",
                    "bearer tokens are not configured for /events",
                ));
            };
            let given = bearer_token(authorization).unwrap_or("");
            return if tokens_equal(given, token.expose_secret()) {
                Ok(idempotency)
            } else {
                Err(Reject::unauthorized(
                    "bad_token",
                    "the bearer token is not valid",
                ))
            };
        }
        Err(Reject::unauthorized(
            "missing_credentials",
            format!("authenticate with {}", self.scheme()),
        ))
    }

    fn decode(
        &self,
        request: &IncomingRequest<'_>,
        _unknown: UnknownEvents,
    ) -> Result<Decoded, Reject> {
        let (items, batch) = match json_body(request.body)? {
            Value::Array(items) if items.is_empty() => {
                return Err(Reject::bad_request(
                    "empty_batch",
                    "the array of events is empty",
                ));
            }
            Value::Array(items) => (items, true),
            one => (vec![one], false),
        };
        let mut events = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let mut event = Event::from_json(item).map_err(|e| {
                let which = if i == 0 && !batch {
                    String::new()
                } else {
                    format!(" (item {i})")
                };
                Reject::bad_request("bad_event", format!("invalid event{which}: {e}"))
            })?;
            let which = if i == 0 && !batch {
                String::new()
            } else {
                format!(" (item {i})")
            };
            refuse_forge_identity(&event).map_err(|message| {
                Reject::bad_request("forged_source", format!("{message}{which}"))
            })?;
            event.set_source_if_missing("http");
            events.push(event);
        }
        Ok(Decoded::Events(events))
    }
}

/// The other sources (the forges): their `source` names and id prefixes are theirs.
fn forges() -> impl Iterator<Item = &'static str> {
    SOURCES
        .iter()
        .map(|k| k.name)
        .filter(|name| *name != KIND.name)
}

/// Refuses an event that claims a forge's `source` or id prefix, with why (any case).
fn refuse_forge_identity(event: &Event) -> Result<(), String> {
    let id = event.id().as_str().to_ascii_lowercase();
    let source = event.source().map(|s| s.trim().to_ascii_lowercase());
    for forge in forges() {
        if source.as_deref() == Some(forge) {
            return Err(format!(
                "`source: {forge}` is reserved for events from /webhooks/{forge}; \
                 leave `source` out (it becomes `http`) or name your sender"
            ));
        }
        if id.starts_with(&format!("{forge}-")) {
            return Err(format!(
                "event ids starting with `{forge}-` are reserved for events from \
                 /webhooks/{forge}; choose another `event_id` or leave it out"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;
    use flowspec_http::signature::{sha256_header, standard_signature};

    use super::*;

    fn source() -> EventsSource {
        EventsSource::new(
            EventsAuth {
                token: Some(SecretString::from("tok-123456".to_owned())),
                secret: Some(SecretString::from("hmac-secret".to_owned())),
                signing_keys: vec![
                    SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
                ],
            },
            Duration::from_secs(300),
        )
    }

    fn request<'a>(headers: &'a HeaderMap, body: &'a [u8], now: i64) -> IncomingRequest<'a> {
        IncomingRequest {
            headers,
            body,
            query: None,
            now,
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (axum::http::HeaderName::from_static(k), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn should_accept_each_configured_scheme() {
        let body = br#"{"event_type":"deploy.completed","environment":"staging"}"#;
        let s = source();
        let bearer = headers(&[("authorization", "Bearer tok-123456")]);
        assert_eq!(s.authenticate(&request(&bearer, body, 0)), Ok(None));
        let hmac = headers(&[("x-signature-256", &sha256_header(b"hmac-secret", body))]);
        assert_eq!(
            s.authenticate(&request(&hmac, body, 0)),
            Ok(Some(body_digest(body)))
        );
        let lower = headers(&[("authorization", "bearer tok-123456")]);
        assert_eq!(
            s.authenticate(&request(&lower, body, 0)),
            Ok(None),
            "the scheme is case-insensitive"
        );
        let vector = br#"{"test": 2432232314}"#;
        let standard = headers(&[
            ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            ("webhook-timestamp", "1614265330"),
            (
                "webhook-signature",
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ),
        ]);
        assert_eq!(
            s.authenticate(&request(&standard, vector, 1614265330)),
            Ok(Some("msg_p5jXN8AQM9LWM0D4loKWxJek".into()))
        );
    }

    #[test]
    fn should_refuse_wrong_missing_and_stale_credentials_without_echoing_secrets() {
        let body = b"{}";
        let s = source();
        let cases = [
            (headers(&[("authorization", "Bearer nope")]), 0, "bad_token"),
            (
                headers(&[("x-signature-256", "sha256=00")]),
                0,
                "bad_signature",
            ),
            (headers(&[]), 0, "missing_credentials"),
        ];
        for (h, now, code) in cases {
            let reject = s.authenticate(&request(&h, body, now)).unwrap_err();
            assert_eq!(reject.code, code);
            assert!(
                !reject.message.contains("tok-123456") && !reject.message.contains("hmac-secret")
            );
        }
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let stale = headers(&[
            ("webhook-id", "m1"),
            ("webhook-timestamp", "1000"),
            (
                "webhook-signature",
                &standard_signature(&[key], "m1", 1000, body),
            ),
        ]);
        assert_eq!(
            s.authenticate(&request(&stale, body, 1000 + 301))
                .unwrap_err()
                .code,
            "stale_timestamp"
        );
    }

    #[test]
    fn should_key_signed_bodies_by_their_digest_whatever_the_headers() {
        let body = br#"{"event_type":"deploy.completed"}"#;
        let s = source();
        let signature = sha256_header(b"hmac-secret", body);
        let upper = format!("sha256={}", signature["sha256=".len()..].to_uppercase());
        let keys: Vec<_> = [
            headers(&[("x-signature-256", &signature)]),
            headers(&[("x-signature-256", &upper)]),
            headers(&[
                ("x-signature-256", &signature),
                ("idempotency-key", "new-1"),
            ]),
        ]
        .iter()
        .map(|h| s.authenticate(&request(h, body, 0)).unwrap())
        .collect();
        assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    }

    #[test]
    fn should_refuse_extreme_webhook_timestamps_as_stale() {
        let s = source();
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        for (ts, now) in [
            (i64::MIN, 1_700_000_000),
            (i64::MAX, 1_700_000_000),
            (i64::MIN, i64::MAX),
            (i64::MAX, i64::MIN),
        ] {
            let h = headers(&[
                ("webhook-id", "m1"),
                ("webhook-timestamp", &ts.to_string()),
                (
                    "webhook-signature",
                    &standard_signature(std::slice::from_ref(&key), "m1", ts, b"{}"),
                ),
            ]);
            let reject = s.authenticate(&request(&h, b"{}", now)).unwrap_err();
            assert_eq!(reject.code, "stale_timestamp", "{ts} at {now}");
        }
    }

    #[test]
    fn should_refuse_events_claiming_a_forge_source_or_id() {
        let s = source();
        let h = HeaderMap::new();
        for body in [
            r#"{"event_type":"ci.completed","source":"jenkins"}"#,
            r#"{"event_type":"ci.completed","source":" GitHub "}"#,
            r#"{"event_type":"ci.completed","event_id":"jenkins-app-58-completed"}"#,
            r#"{"event_type":"ci.completed","event_id":"GITLAB-1"}"#,
            r#"[{"event_type":"a.b"},{"event_type":"ci.completed","event_id":"circleci-x"}]"#,
        ] {
            let reject = s
                .decode(&request(&h, body.as_bytes(), 0), UnknownEvents::Accept)
                .unwrap_err();
            assert_eq!(
                (reject.status.as_u16(), reject.code),
                (400, "forged_source"),
                "{body}"
            );
            assert!(reject.message.contains("reserved"), "{}", reject.message);
        }
        for body in [
            r#"{"event_type":"ci.completed","source":"ci","event_id":"build-58"}"#,
            r#"{"event_type":"ci.completed","event_id":"jenkinsfile-58"}"#,
        ] {
            assert!(
                s.decode(&request(&h, body.as_bytes(), 0), UnknownEvents::Accept)
                    .is_ok(),
                "{body}"
            );
        }
    }

    #[test]
    fn should_decode_one_event_or_a_batch() {
        let s = source();
        let h = HeaderMap::new();
        let Decoded::Events(one) = s
            .decode(
                &request(&h, br#"{"event_type":"a.b"}"#, 0),
                UnknownEvents::Accept,
            )
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(one[0].source(), Some("http"));
        let Decoded::Events(two) = s
            .decode(
                &request(
                    &h,
                    br#"[{"event_type":"a.b"},{"event_type":"c.d","source":"ci"}]"#,
                    0,
                ),
                UnknownEvents::Accept,
            )
            .unwrap()
        else {
            panic!()
        };
        assert_eq!((two.len(), two[1].source()), (2, Some("ci")));
        let bad = s
            .decode(
                &request(&h, br#"[{"event_type":"a.b"},{"nope":1}]"#, 0),
                UnknownEvents::Accept,
            )
            .unwrap_err();
        assert!(bad.message.contains("item 1"), "{bad:?}");
    }
}
