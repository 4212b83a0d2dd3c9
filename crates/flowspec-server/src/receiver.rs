//! The receiver without a listener: queue, intake, workers and the axum router, for
//! programs that mount flowspec in their own HTTP server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::queue::{PruneScope, Queue};
use axum::Router;
use flowspec_core::Engine;
use flowspec_core::retention::Retention;
use flowspec_core::store::Durability;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::ServerConfig;
use crate::dispatcher::Dispatcher;
use crate::http::{AppState, router};
use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::outbox::{OutboxTask, Transport};
use crate::server::ServerError;

/// A running receiver: events are accepted through [`Receiver::router`] and dispatched
/// by its workers until [`Receiver::shutdown`].
///
/// ```no_run
/// use std::sync::Arc;
/// use flowspec_core::EngineBuilder;
/// use flowspec_server::{Metrics, Receiver, ServerConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let metrics = Arc::new(Metrics::new());
/// let engine = EngineBuilder::discover(std::path::Path::new("."))?
///     .reporter(metrics.reporter())
///     .build()
///     .await?;
/// let config = ServerConfig::from_settings(engine.settings(), engine.vars())?;
/// let receiver = Receiver::start(engine, config, metrics).await?;
/// // Mount it under /flowspec in a bot's own app.
/// let app = axum::Router::new().nest("/flowspec", receiver.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await?;
/// receiver.shutdown().await;
/// # Ok(()) }
/// ```
pub struct Receiver {
    pub(crate) state: Arc<AppState>,
    ready: Arc<AtomicBool>,
    stop: watch::Sender<bool>,
    dispatch_task: JoinHandle<()>,
    janitor: JoinHandle<()>,
    intake_task: JoinHandle<()>,
    heartbeat: JoinHandle<()>,
    /// The publisher task, when [`ServerConfig::publisher`] is set.
    outbox_task: Option<JoinHandle<()>>,
    recovered: usize,
}

impl Receiver {
    /// Opens the queue in the engine's store (recovering events a crash left
    /// unfinished), checks that some source has a secret, and starts the workers.
    /// From then on the engine masks every source secret, and its hooks do not inherit
    /// the variables holding them unless they set them in their `env`
    /// ([`Engine::add_secrets`], [`Engine::withhold_env`]).
    ///
    /// With [`ServerConfig::publisher`] set, accepted events are also recorded in the
    /// outbox, and a task publishes them (also what a previous run left there).
    pub async fn start(
        engine: Engine,
        config: ServerConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Receiver, ServerError> {
        let store = engine.store().cloned().ok_or(ServerError::NoStore)?;
        let engine_retention = engine.settings().state.retention.clone();
        store.use_long_wal();
        let queue = Queue::open(store, config.retry)
            .await?
            .with_durability(Durability::Synced)
            .with_outbox(config.publisher.is_some());
        let recovered = queue.recover().await?;
        // The gauges are there from the first scrape on.
        crate::dispatcher::refresh_depth(&queue, &metrics).await;
        let (accepted_tx, accepted) = mpsc::unbounded_channel();
        let stored = Arc::new(Notify::new());
        let (intake, intake_task) = Intake::start(queue.clone(), accepted_tx, stored.clone());
        let transport = config.publisher.clone().map(|publisher| Transport {
            publisher,
            health: Arc::default(),
        });
        let ready = Arc::new(AtomicBool::new(false));
        let state = Arc::new(AppState::new(
            &config,
            intake,
            metrics.clone(),
            queue.clone(),
            ready.clone(),
            transport.clone(),
        ));
        if state.sources.is_empty() {
            intake_task.abort();
            return Err(ServerError::NoSources);
        }
        crate::dispatcher::protect(&engine, &config);
        let (stop, stop_rx) = watch::channel(false);
        // Leases first: what the workers take from here on is renewed.
        let heartbeat = tokio::spawn(crate::dispatcher::heartbeat(queue.clone(), config.lease));
        let outbox_task = transport.map(|transport| {
            let task = OutboxTask {
                transport,
                queue: queue.clone(),
                metrics: metrics.clone(),
                wake: stored,
                lease: config.lease,
                drain_timeout: config.drain_timeout,
            };
            tokio::spawn(task.run(stop_rx.clone()))
        });
        let dispatcher = Dispatcher {
            engine,
            queue: queue.clone(),
            metrics,
            workers: config.workers,
            drain_timeout: config.drain_timeout,
            lease: config.lease,
        };
        let dispatch_task = tokio::spawn(dispatcher.run(accepted, stop_rx.clone()));
        let retention = engine_retention.clone();
        let janitor = tokio::spawn(janitor(queue, config.replay_window, retention, stop_rx));
        ready.store(true, Ordering::Relaxed);
        Ok(Receiver {
            state,
            ready,
            stop,
            dispatch_task,
            janitor,
            intake_task,
            heartbeat,
            outbox_task,
            recovered,
        })
    }

    /// The routes: one `POST` per enabled source, `/healthz`, `/readyz`, `/metrics`.
    pub fn router(&self) -> Router {
        router(self.state.clone())
    }

    /// The enabled sources: (name, path, authentication).
    pub fn sources(&self) -> Vec<(&'static str, &'static str, String)> {
        self.state.describe_sources()
    }

    /// How many events a previous run left unfinished (they are dispatched again).
    pub fn recovered(&self) -> usize {
        self.recovered
    }

    /// Answers new requests with 503 from now on (use before closing connections).
    pub fn stop_accepting(&self) {
        self.ready.store(false, Ordering::Relaxed);
    }

    /// Stops accepting (requests get 503), lets running dispatches finish up to the
    /// drain timeout, and stops the workers. Queued events wait for the next start.
    /// With a publisher, the outbox is published once more (within the same drain
    /// timeout); what is left is published at the next start.
    pub async fn shutdown(self) {
        self.stop_accepting();
        let _ = self.stop.send(true);
        let publishing = async {
            if let Some(task) = self.outbox_task {
                let _ = task.await;
            }
        };
        // Side by side: the drain timeout bounds both, not their sum.
        let _ = tokio::join!(self.dispatch_task, publishing);
        // Renewed until every running dispatch ended.
        self.heartbeat.abort();
        let _ = self.janitor.await;
        self.intake_task.abort();
        if let Err(error) = self.state.queue.store().checkpoint().await {
            tracing::warn!(message = "Cannot checkpoint the store's WAL.", %error);
        }
    }
}

/// Forgets old delivery ids every five minutes, and prunes finished events beyond
/// `state.retention` at start and every hour (dead letters stay).
async fn janitor(
    queue: Queue,
    window: Duration,
    retention: Retention,
    mut stop: watch::Receiver<bool>,
) {
    const PRUNE_EVERY: u32 = 12; // five-minute ticks: one hour
    let mut every = tokio::time::interval(Duration::from_secs(300));
    let mut ticks = 0u32;
    loop {
        tokio::select! {
            _ = every.tick() => {
                if let Err(error) = queue.forget_deliveries(window.as_millis() as i64).await {
                    tracing::warn!(message = "Cannot forget old delivery ids.", %error);
                }
                if ticks.is_multiple_of(PRUNE_EVERY) {
                    match queue.prune(&retention, PruneScope::Done).await {
                        Ok(pruned) if pruned.events + pruned.hook_runs > 0 => tracing::info!(
                            message = "Pruned finished events (state.retention).",
                            events = pruned.events,
                            hook_runs = pruned.hook_runs,
                        ),
                        Ok(_) => {}
                        Err(error) => tracing::warn!(message = "Cannot prune finished events.", %error),
                    }
                }
                ticks = ticks.wrapping_add(1);
            }
            _ = stop.changed() => return,
        }
    }
}
