//! Wiremock tests of each CI provider, one module per platform: the platform's
//! paths, headers, bodies, pagination and error bodies.

mod circleci;
mod custom;
mod forge_github;
mod forge_gitlab;
mod github;
mod gitlab;
mod jenkins;
mod redirects;
mod support;

use std::time::Duration;

use flowspec_core::retry::RetryPolicy;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Fast, exact retries for tests.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::new(3)
        .base_delay(Duration::from_millis(5))
        .jitter(false)
}

/// Answers every request no other mock matched with a 418 naming it, so a test
/// that sends something unexpected fails with a readable message.
pub struct Unexpected;

impl Respond for Unexpected {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        ResponseTemplate::new(418).set_body_json(serde_json::json!({
            "message": format!(
                "no mock for {} {}{} (the test expected another request)",
                request.method,
                request.url.path(),
                request.url.query().map(|q| format!("?{q}")).unwrap_or_default()
            )
        }))
    }
}

/// Mounts the catch-all fallback (lowest priority).
pub async fn fallback(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(Unexpected)
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

/// Answers with each template in turn (the last one repeats).
pub struct Sequence(pub std::sync::Mutex<Vec<ResponseTemplate>>);

impl Sequence {
    pub fn new(templates: Vec<ResponseTemplate>) -> Self {
        Sequence(std::sync::Mutex::new(templates))
    }
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut list = self.0.lock().unwrap();
        if list.len() > 1 {
            list.remove(0)
        } else {
            list[0].clone()
        }
    }
}

/// Deterministic pseudo-random bytes for artifact tests.
pub fn bytes(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
