//! Shared test helpers: config nodes, a fast HTTP client, a catch-all fallback mock,
//! answer sequences and snapshot filters.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use flowspec_core::config::{ConfigErrors, Node, Vars};
use flowspec_core::provider::ProviderContext;
use flowspec_core::retry::RetryPolicy;
use flowspec_http::{HttpClient, HttpConfig};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A client that retries 3 times with tiny delays and times out after 2 s.
pub fn fast_http() -> HttpClient {
    HttpClient::new(
        HttpConfig::default()
            .retry(
                RetryPolicy::new(3)
                    .base_delay(Duration::from_millis(5))
                    .jitter(false),
            )
            .request_timeout(Duration::from_secs(2)),
    )
    .unwrap()
}

/// Like [`fast_http`] with a short request timeout and a single attempt.
pub fn impatient_http() -> HttpClient {
    HttpClient::new(
        HttpConfig::default()
            .retry(RetryPolicy::new(1))
            .request_timeout(Duration::from_millis(300)),
    )
    .unwrap()
}

/// Parses the `config:` YAML of a provider.
pub fn node(yaml: &str) -> Node {
    Node::parse(yaml).expect("test YAML parses")
}

/// A provider context with `vars` and a project root that is no git checkout.
pub fn with_cx<T>(vars: &[(&str, &str)], f: impl FnOnce(&ProviderContext<'_>) -> T) -> T {
    let vars = Vars::from_pairs(vars.iter().copied());
    let root = Path::new("/nonexistent");
    let cx = ProviderContext::new(&vars, root).file(Path::new(".flowspec/flowspec.yaml"), None);
    f(&cx)
}

/// Renders config errors for a snapshot.
pub fn render(errors: &ConfigErrors) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Answers every request no other mock matched with a 418 naming it, so a test
/// that sends something unexpected fails with a message that says what was sent.
pub async fn fallback(server: &MockServer) {
    struct Unexpected;
    impl Respond for Unexpected {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            ResponseTemplate::new(418).set_body_string(format!(
                "no mock matched {} {}{} (check the method, path, query, headers and body the test expects)",
                request.method,
                request.url.path(),
                request.url.query().map(|q| format!("?{q}")).unwrap_or_default()
            ))
        }
    }
    Mock::given(wiremock::matchers::any())
        .respond_with(Unexpected)
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

/// Answers with each template in turn (the last one repeats), counting calls.
pub struct Sequence {
    pub calls: Arc<AtomicUsize>,
    responses: Vec<ResponseTemplate>,
}

impl Sequence {
    pub fn new(responses: Vec<ResponseTemplate>) -> (Self, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        (
            Sequence {
                calls: calls.clone(),
                responses,
            },
            calls,
        )
    }
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.responses[n.min(self.responses.len() - 1)].clone()
    }
}

/// The requests the server received for `path`, in order.
pub async fn requests_to(server: &MockServer, path: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == path)
        .collect()
}

/// Replaces the mock server's address in snapshots.
pub fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"127\.0\.0\.1:\d+", "[server]");
    s.add_filter(r"localhost:\d+", "[server]");
    s
}

/// Bytes that are not all the same, for download checks.
pub fn sample_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}
