//! Running the server: bind, recover the queue, start the workers, serve HTTP/1.1 with
//! header and body timeouts, and shut down gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use flowspec_core::Engine;
use flowspec_core::queue::{Queue, QueueError};
use flowspec_core::store::Durability;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::config::ServerConfig;
use crate::dispatcher::Dispatcher;
use crate::http::{AppState, router};
use crate::intake::Intake;
use crate::metrics::Metrics;

/// Why the server could not start or run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The engine has no store: the queue needs one.
    #[error("the engine has no state store; the server keeps its queue there")]
    NoStore,
    /// No source has a secret, so nothing would be served.
    #[error(
        "no source is enabled: every source needs a secret (set GITHUB_WEBHOOK_SECRET, GITLAB_WEBHOOK_TOKEN or FLOWSPEC_EVENTS_TOKEN, or `server.sources` in .flowspec/flowspec.yaml)"
    )]
    NoSources,
    /// The address is taken or not allowed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// A bound server, ready to [`run`](Server::run).
///
/// ```no_run
/// use std::sync::Arc;
/// use flowspec_core::EngineBuilder;
/// use flowspec_server::{Metrics, Server, ServerConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let metrics = Arc::new(Metrics::new());
/// let engine = EngineBuilder::discover(std::path::Path::new("."))?
///     .reporter(metrics.reporter())
///     .build()
///     .await?;
/// let config = ServerConfig::from_settings(engine.settings(), engine.vars())?;
/// let server = Server::bind(engine, config, metrics).await?;
/// println!("listening on {}", server.local_addr());
/// server.run(async { tokio::signal::ctrl_c().await.ok(); }).await?;
/// # Ok(()) }
/// ```
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    state: Arc<AppState>,
    dispatcher: Dispatcher,
    accepted: mpsc::UnboundedReceiver<String>,
    ready: Arc<AtomicBool>,
    header_timeout: Duration,
    replay_window: Duration,
    recovered: usize,
    intake_task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Opens the queue (recovering events left by a crash), checks the sources and
    /// binds the address.
    pub async fn bind(
        engine: Engine,
        config: ServerConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Server, ServerError> {
        let store = engine.store().cloned().ok_or(ServerError::NoStore)?;
        let queue = Queue::open(store, config.retry)
            .await?
            .with_durability(Durability::Synced);
        let recovered = queue.recover().await?;
        let (accepted_tx, accepted) = mpsc::unbounded_channel();
        let (intake, intake_task) = Intake::start(queue.clone(), accepted_tx);
        let ready = Arc::new(AtomicBool::new(false));
        let state = Arc::new(AppState::new(
            &config,
            intake,
            metrics.clone(),
            queue.clone(),
            ready.clone(),
        ));
        if state.sources.is_empty() {
            return Err(ServerError::NoSources);
        }
        let listener =
            TcpListener::bind(config.bind)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.bind,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.bind,
            source,
        })?;
        Ok(Server {
            listener,
            local_addr,
            state,
            dispatcher: Dispatcher {
                engine,
                queue,
                metrics,
                workers: config.workers,
                drain_timeout: config.drain_timeout,
            },
            accepted,
            ready,
            header_timeout: config.header_timeout,
            replay_window: config.replay_window,
            recovered,
            intake_task,
        })
    }

    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The enabled sources: (name, path, authentication).
    pub fn sources(&self) -> Vec<(&'static str, &'static str, String)> {
        self.state.describe_sources()
    }

    /// How many events a previous run left unfinished (they are dispatched again).
    pub fn recovered(&self) -> usize {
        self.recovered
    }

    /// Serves until `shutdown` completes, then stops accepting, lets running dispatches
    /// finish (up to the drain timeout) and returns. Queued events wait for the next start.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServerError> {
        let Server {
            listener,
            state,
            dispatcher,
            accepted,
            ready,
            header_timeout,
            replay_window,
            intake_task,
            ..
        } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let queue = dispatcher.queue.clone();
        let dispatch_task = tokio::spawn(dispatcher.run(accepted, stop_rx.clone()));
        let janitor = tokio::spawn(forget_old_deliveries(queue, replay_window, stop_rx));
        ready.store(true, Ordering::Relaxed);

        let service = TowerToHyperService::new(router(state));
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _peer) = match accepted {
                        Ok(pair) => pair,
                        Err(error) => {
                            // Out of file descriptors and the like: pause rather than spin.
                            tracing::warn!(message = "Accept failed.", %error);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let connection = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(header_timeout)
                        .serve_connection(TokioIo::new(stream), service.clone());
                    let watched = graceful.watch(connection);
                    tokio::spawn(async move {
                        let _ = watched.await;
                    });
                }
                () = &mut shutdown => break,
            }
        }
        tracing::info!(message = "Shutting down: no new requests; finishing running dispatches.");
        ready.store(false, Ordering::Relaxed);
        drop(listener);
        let _ = stop_tx.send(true);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        let _ = dispatch_task.await;
        let _ = janitor.await;
        intake_task.abort();
        Ok(())
    }
}

async fn forget_old_deliveries(queue: Queue, window: Duration, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(Duration::from_secs(300));
    loop {
        tokio::select! {
            _ = every.tick() => {
                if let Err(error) = queue.forget_deliveries(window.as_millis() as i64).await {
                    tracing::warn!(message = "Cannot forget old delivery ids.", %error);
                }
            }
            _ = stop.changed() => return,
        }
    }
}
