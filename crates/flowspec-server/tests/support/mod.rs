//! The receiver over real HTTP on a loopback port, for the integration tests: a server
//! with every `/events` scheme, GitHub and GitLab configured, and one hook that records
//! every event it is given.

#![allow(dead_code)] // Each test file uses part of it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flowspec_core::secret::SecretString;
use flowspec_core::testing::RecordingAction;
use flowspec_core::transport::{PublishError, Publisher};
use flowspec_core::{Engine, Event, HookSpec};
use flowspec_http::signature::SigningKey;
use flowspec_server::{Metrics, Server, ServerConfig};
use serde_json::Value;

pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub recorder: Arc<RecordingAction>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

pub const TOKEN: &str = "events-token-123";
pub const GITHUB_SECRET: &str = "It's a Secret to Everybody";
pub const GITLAB_TOKEN: &str = "gitlab-token-456";

/// Polls `condition` until it holds; fails after a generous 60 s (a deadline, not a
/// guess at how long the server takes).
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !condition().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub fn whsec() -> SigningKey {
    SigningKey::parse(WHSEC).unwrap()
}

pub fn set(config: &mut ServerConfig, source: &str, key: &str, value: &str) {
    config
        .sources
        .set(source, key, SecretString::from(value.to_owned()))
        .unwrap();
}

/// Where a test server keeps its state.
pub enum StateAt {
    /// A file in a temporary directory of its own.
    Temp,
    /// This SQLite file (kept by the test, e.g. for a second server).
    File(std::path::PathBuf),
    /// A database URL (PostgreSQL).
    Url(String),
}

pub async fn start(adjust: impl FnOnce(&mut ServerConfig)) -> TestServer {
    start_on(StateAt::Temp, adjust).await
}

pub async fn start_on(state: StateAt, adjust: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let recorder = RecordingAction::new();
    let metrics = Arc::new(Metrics::new());
    let builder = Engine::builder()
        .hook(
            HookSpec::builder("record")
                .on("*")
                .action(recorder.clone())
                .build()
                .unwrap(),
        )
        .reporter(metrics.reporter());
    let builder = match state {
        StateAt::Temp => builder.state_path(dir.path().join("state.db")),
        StateAt::File(path) => builder.state_path(path),
        StateAt::Url(url) => builder.state_url(url),
    };
    let engine = builder.build().await.unwrap();
    let mut config = ServerConfig::default();
    config.bind = "127.0.0.1:0".parse().unwrap();
    for (source, key, value) in [
        ("events", "token", TOKEN),
        ("events", "secret", "hmac-secret"),
        ("events", "signing_keys", WHSEC),
        ("github", "secret", GITHUB_SECRET),
        ("gitlab", "token", GITLAB_TOKEN),
    ] {
        set(&mut config, source, key, value);
    }
    adjust(&mut config);
    let server = Server::bind(engine, config, metrics).await.unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .run(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    TestServer {
        addr,
        recorder,
        stop: Some(stop),
        task,
        _dir: dir,
    }
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits until the hook has seen `n` events.
    pub async fn hook_runs(&self, n: usize) -> Vec<flowspec_core::Event> {
        eventually(&format!("the hook has seen {n} events"), || async {
            self.recorder.events().len() >= n
        })
        .await;
        self.recorder.events()
    }

    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// `POST /events` with the bearer token; the status and the JSON answer.
pub async fn post_events(s: &TestServer, body: &impl serde::Serialize) -> (u16, Value) {
    json_of(
        client()
            .post(s.url("/events"))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

/// Remembers what it published; fails every call while told to.
#[derive(Default)]
pub struct FakeTransport {
    published: Mutex<Vec<String>>,
    failing: AtomicBool,
    calls: AtomicUsize,
    /// Every event handed to a successful call, repeats included.
    sent: AtomicUsize,
    /// How long a successful call takes to answer after it stored the events.
    slow_reply: Mutex<Duration>,
}

impl FakeTransport {
    pub fn new() -> Arc<FakeTransport> {
        Arc::default()
    }

    pub fn failing() -> Arc<FakeTransport> {
        let fake = FakeTransport::new();
        fake.set_failing(true);
        fake
    }

    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    pub fn published(&self) -> Vec<String> {
        self.published.lock().unwrap().clone()
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Events handed to successful calls, counting an event sent again.
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }

    /// Makes each call answer `delay` after the events are stored, as a transport whose
    /// reply is slow on the network.
    pub fn reply_after(&self, delay: Duration) {
        *self.slow_reply.lock().unwrap() = delay;
    }

    pub async fn has_published(&self, n: usize) {
        eventually(&format!("{n} events are published"), || async {
            self.published().len() >= n
        })
        .await;
    }
}

#[async_trait::async_trait]
impl Publisher for FakeTransport {
    async fn publish(&self, events: &[Event]) -> Result<Vec<String>, PublishError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(PublishError::Unavailable(
                "connection refused (fake)".into(),
            ));
        }
        // Idempotent by event id, as the trait asks (and Redis's script is): a batch sent
        // again after an uncertain end (a stop during a publish) adds nothing.
        {
            let mut published = self.published.lock().unwrap();
            for event in events {
                let id = event.id().to_string();
                if !published.contains(&id) {
                    published.push(id);
                }
            }
        }
        self.sent.fetch_add(events.len(), Ordering::SeqCst);
        let delay = *self.slow_reply.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok(events.iter().map(|e| format!("{}-0", e.id())).collect())
    }

    fn target(&self) -> String {
        "memory://fake".into()
    }
}
