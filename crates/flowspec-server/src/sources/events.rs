//! `POST /events`: a flowspec event as JSON (`curl -X POST …/events -d '{"event_type": …}'`),
//! authenticated by a bearer token, an `X-Signature-256` HMAC, or Standard Webhooks.
//!
//! The body is one event object, or an array of them. Replays are refused by delivery
//! id: `webhook-id` (Standard Webhooks), else `Idempotency-Key`, else, for HMAC-signed
//! requests, the signature itself (a replayed request carries the same one).

use std::time::Duration;

use flowspec_core::Event;
use flowspec_core::secret::{ExposeSecret, SecretString};
use flowspec_http::signature::{SigningKey, tokens_equal, verify_sha256_header, verify_standard};
use serde_json::Value;

use super::{Credential, Decoded, IncomingRequest, Reject, Source, SourceKind, json_body};
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
            let within = timestamp
                .parse::<i64>()
                .is_ok_and(|ts| (request.now - ts).unsigned_abs() <= self.tolerance.as_secs());
            if !within {
                return Err(Reject::unauthorized(
                    "stale_timestamp",
                    format!(
                        "`webhook-timestamp` is more than {}s from the server's time",
                        self.tolerance.as_secs()
                    ),
                ));
            }
            let tolerance = self.tolerance.as_secs() as i64;
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
                Ok(Some(
                    idempotency.unwrap_or_else(|| format!("sig:{signature}")),
                ))
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
            let given = authorization.strip_prefix("Bearer ").unwrap_or("");
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
        let items = match json_body(request.body)? {
            Value::Array(items) if items.is_empty() => {
                return Err(Reject::bad_request(
                    "empty_batch",
                    "the array of events is empty",
                ));
            }
            Value::Array(items) => items,
            one => vec![one],
        };
        let mut events = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let mut event = Event::from_json(item).map_err(|e| {
                let which = if events.is_empty() && i == 0 {
                    String::new()
                } else {
                    format!(" (item {i})")
                };
                Reject::bad_request("bad_event", format!("invalid event{which}: {e}"))
            })?;
            event.set_source_if_missing("http");
            events.push(event);
        }
        Ok(Decoded::Events(events))
    }
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
        assert!(
            s.authenticate(&request(&hmac, body, 0))
                .unwrap()
                .unwrap()
                .starts_with("sig:sha256=")
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
