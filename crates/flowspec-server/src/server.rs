//! Running the server: bind, recover the queue, start the workers, serve HTTP/1.1 with
//! header and body timeouts, and shut down gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::queue::QueueError;
use flowspec_core::Engine;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use thiserror::Error;
use tokio::net::TcpListener;

use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::receiver::Receiver;

/// Why the server could not start or run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The engine has no store: the queue needs one.
    #[error("the engine has no state store; the server keeps its queue there")]
    NoStore,
    /// No source has a secret, so nothing would be served.
    #[error(
        "no source is enabled: every source needs a secret (set one of {}, or `server.sources` in .flowspec/flowspec.yaml)",
        crate::sources::default_variables()
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

/// A bound server, ready to [`run`](Server::run): a [`Receiver`] behind a listener.
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
    receiver: Receiver,
    header_timeout: Duration,
    routes: Option<axum::Router>,
}

impl Server {
    /// Starts a [`Receiver`] and binds the address.
    pub async fn bind(
        engine: Engine,
        config: ServerConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Server, ServerError> {
        let (bind, header_timeout) = (config.bind, config.header_timeout);
        let receiver = Receiver::start(engine, config, metrics).await?;
        let listener = match TcpListener::bind(bind).await {
            Ok(listener) => listener,
            Err(source) => {
                receiver.shutdown().await;
                return Err(ServerError::Bind { addr: bind, source });
            }
        };
        let local_addr = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { addr: bind, source })?;
        Ok(Server {
            listener,
            local_addr,
            receiver,
            header_timeout,
            routes: None,
        })
    }

    /// Serves `routes` beside the receiver's (the dashboard under `/ui/`, say). They
    /// must not repeat a path of the receiver (`/events`, `/webhooks/…`, `/healthz`,
    /// `/readyz`, `/metrics`): axum panics on a path routed twice.
    pub fn with_routes(mut self, routes: axum::Router) -> Server {
        self.routes = Some(match self.routes.take() {
            Some(before) => before.merge(routes),
            None => routes,
        });
        self
    }

    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The enabled sources: (name, path, authentication).
    pub fn sources(&self) -> Vec<(&'static str, &'static str, String)> {
        self.receiver.sources()
    }

    /// How many events a previous run left unfinished (they are dispatched again).
    pub fn recovered(&self) -> usize {
        self.receiver.recovered()
    }

    /// Serves HTTP/1.1 until `shutdown` completes, then stops accepting, lets running
    /// dispatches finish (up to the drain timeout) and returns. Queued events wait for
    /// the next start.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServerError> {
        let Server {
            listener,
            receiver,
            header_timeout,
            routes,
            ..
        } = self;
        let router = match routes {
            Some(routes) => receiver.router().merge(routes),
            None => receiver.router(),
        };
        let service = TowerToHyperService::new(router);
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
        drop(listener);
        // Requests still arriving on open connections get 503 from here on.
        receiver.stop_accepting();
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        receiver.shutdown().await;
        Ok(())
    }
}
