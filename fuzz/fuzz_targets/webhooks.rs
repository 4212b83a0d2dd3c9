//! Each webhook source's decode-and-map, as an unauthenticated sender reaches it: the
//! first byte chooses the source (and how unknown kinds are treated), the text up to
//! the first newline is the kind header (and the signature headers), the rest the body.
#![no_main]

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use flowspec_core::secret::SecretString;
use flowspec_http::signature::SigningKey;
use flowspec_server::config::UnknownEvents;
use flowspec_server::sources::circleci::CircleciSource;
use flowspec_server::sources::events::{EventsAuth, EventsSource};
use flowspec_server::sources::github::GithubSource;
use flowspec_server::sources::gitlab::GitlabSource;
use flowspec_server::sources::jenkins::JenkinsSource;
use flowspec_server::sources::{IncomingRequest, Source};
use libfuzzer_sys::fuzz_target;

const HEADERS: &[&str] = &[
    "x-github-event",
    "x-github-delivery",
    "x-hub-signature-256",
    "x-gitlab-event",
    "x-gitlab-token",
    "circleci-event-type",
    "circleci-signature",
    "x-signature-256",
    "authorization",
    "idempotency-key",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let split = rest.iter().position(|&b| b == b'\n').unwrap_or(0);
    let (line, body) = rest.split_at(split);
    let body = body.strip_prefix(b"\n").unwrap_or(body);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(line) {
        for name in HEADERS {
            headers.insert(HeaderName::from_static(name), value.clone());
        }
    }
    let secret = || SecretString::from("fuzz-secret-0123456789".to_owned());
    let source: Box<dyn Source> = match which % 5 {
        0 => Box::new(GithubSource::new(secret())),
        1 => Box::new(GitlabSource::new(secret())),
        2 => Box::new(CircleciSource::new(secret())),
        3 => Box::new(JenkinsSource::new(secret())),
        _ => Box::new(EventsSource::new(
            EventsAuth {
                token: Some(secret()),
                secret: Some(secret()),
                signing_keys: SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                    .into_iter()
                    .collect(),
            },
            std::time::Duration::from_secs(300),
        )),
    };
    let unknown = if which & 0x80 == 0 {
        UnknownEvents::Accept
    } else {
        UnknownEvents::Ignore
    };
    let request = IncomingRequest {
        headers: &headers,
        body,
        query: std::str::from_utf8(line).ok(),
        now: 1_700_000_000,
    };
    let _ = source.authenticate(&request);
    let _ = source.decode(&request, unknown);
});
