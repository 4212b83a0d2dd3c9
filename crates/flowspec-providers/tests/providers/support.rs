//! Helpers of the Jenkins, CircleCI and custom tests: config nodes and contexts, fast
//! and impatient HTTP clients, counted answer sequences, received requests.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use flowspec_core::config::{ConfigErrors, Node, Vars};
use flowspec_core::provider::ProviderContext;
use flowspec_core::retry::RetryPolicy;
use flowspec_http::{HttpClient, HttpConfig};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

/// A client that retries 3 times with tiny delays and times out after 2 s.
pub fn fast_http() -> HttpClient {
    HttpClient::new(
        HttpConfig::default()
            .retry(crate::fast_retry())
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

pub use crate::{bytes as sample_bytes, fallback};

/// Answers with each template in turn (the last one repeats), counting calls.
pub struct Counted {
    pub calls: Arc<AtomicUsize>,
    responses: Vec<ResponseTemplate>,
}

impl Counted {
    pub fn new(responses: Vec<ResponseTemplate>) -> (Self, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        (
            Counted {
                calls: calls.clone(),
                responses,
            },
            calls,
        )
    }
}

impl Respond for Counted {
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
