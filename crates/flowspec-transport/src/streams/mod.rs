//! The Redis Streams transport: events are entries of one stream (`flowspec:events`),
//! each with the fields `id`, `type` and `event` (the event's JSON); subscribers read it
//! as members of consumer groups.
//!
//! Publishing is idempotent by event id: a Lua script adds an entry only if the event
//! was not published in the last day (a `<stream>:published:<event id>` key holds the
//! entry id), so a publisher that retries after a lost answer publishes once.

mod entries;
mod group;
mod status;

use std::time::Duration;

use flowspec_core::event::Event;
use flowspec_core::secret::ExposeSecret;
use flowspec_core::transport::{PublishError, Publisher};
use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;
use tokio::sync::Mutex;

pub use entries::{Entry, MAX_EVENT_BYTES};
pub use group::StartFrom;
pub use status::{ConsumerStatus, GroupStatus, StreamStatus};

use crate::config::TransportConfig;
use crate::error::TransportError;

/// How long the publication of an event id is remembered, to publish a retried one once.
const PUBLISHED_TTL_SECS: u64 = 86_400;

/// Events per publish script call (and per stream read).
pub(crate) const BATCH: usize = 500;

/// Adds each event not published before; returns every event's entry id.
/// KEYS[1]: the stream; ARGV: max_len, ttl, then (event id, type, JSON) per event.
const PUBLISH_SCRIPT: &str = r"
local ids = {}
for i = 3, #ARGV, 3 do
  local seen = KEYS[1] .. ':published:' .. ARGV[i]
  local id = redis.call('GET', seen)
  if not id then
    id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
      'id', ARGV[i], 'type', ARGV[i + 1], 'event', ARGV[i + 2])
    redis.call('SET', seen, id, 'EX', ARGV[2])
  end
  ids[#ids + 1] = id
end
return ids
";

/// A connection to a Redis server for one stream: publish events, read them as a
/// consumer group ([`crate::Subscriber`]), report the stream's state.
///
/// ```no_run
/// use flowspec_core::Event;
/// use flowspec_transport::{RedisTransport, TransportConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let transport = RedisTransport::new(TransportConfig::new("redis://127.0.0.1:6379/0")?)?;
/// let event = Event::builder("deploy.completed").field("environment", "staging").build()?;
/// let ids = transport.publish_events(&[event]).await?;
/// println!("published as {}", ids[0]);
/// # Ok(()) }
/// ```
pub struct RedisTransport {
    config: TransportConfig,
    client: redis::Client,
    script: redis::Script,
    /// The shared connection for short commands; `None` after it failed.
    shared: Mutex<Option<MultiplexedConnection>>,
}

impl std::fmt::Debug for RedisTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTransport")
            .field("target", &self.config.target())
            .finish_non_exhaustive()
    }
}

impl RedisTransport {
    /// A transport for `config`; it connects on first use.
    pub fn new(config: TransportConfig) -> Result<RedisTransport, TransportError> {
        let client = redis::Client::open(config.url.expose_secret()).map_err(|e| {
            TransportError::Unavailable {
                target: config.target(),
                message: clean(&config, &e.to_string()),
            }
        })?;
        Ok(RedisTransport {
            config,
            client,
            script: redis::Script::new(PUBLISH_SCRIPT),
            shared: Mutex::new(None),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// Publishes events in order (idempotent by event id) and returns their entry ids.
    pub async fn publish_events(&self, events: &[Event]) -> Result<Vec<String>, TransportError> {
        let mut ids = Vec::with_capacity(events.len());
        for chunk in events.chunks(BATCH) {
            let mut invocation = self.script.key(&self.config.stream);
            invocation.arg(self.config.max_len).arg(PUBLISHED_TTL_SECS);
            for event in chunk {
                invocation
                    .arg(event.id().as_str())
                    .arg(event.event_type().as_str())
                    .arg(event.to_vec());
            }
            let mut conn = self.shared().await?;
            let published: Vec<String> = match invocation.invoke_async(&mut conn).await {
                Ok(published) => published,
                Err(e) => return Err(self.failed(e, "XADD").await),
            };
            if published.len() != chunk.len() {
                return Err(TransportError::Protocol {
                    target: self.config.target(),
                    command: "XADD",
                    message: format!("{} ids for {} events", published.len(), chunk.len()),
                });
            }
            ids.extend(published);
        }
        Ok(ids)
    }

    /// The stream, its dead letters, its groups and their consumers (`group` alone
    /// when given).
    pub async fn status(&self, group: Option<&str>) -> Result<StreamStatus, TransportError> {
        let mut conn = self.shared().await?;
        match status::read(&mut conn, &self.config, group).await {
            Ok(status) => Ok(status),
            Err(e) => Err(self.failed(e, "XINFO").await),
        }
    }

    /// The shared connection, connecting when there is none.
    pub(crate) async fn shared(&self) -> Result<MultiplexedConnection, TransportError> {
        let mut shared = self.shared.lock().await;
        if let Some(conn) = shared.as_ref() {
            return Ok(conn.clone());
        }
        let conn = self.connect(Duration::from_secs(10)).await?;
        *shared = Some(conn.clone());
        Ok(conn)
    }

    /// Forgets the shared connection after `error` if it was lost, so the next call
    /// connects again.
    pub(crate) async fn forget_shared_after(&self, error: &TransportError) {
        if error.is_unavailable() {
            *self.shared.lock().await = None;
        }
    }

    /// A connection of its own (blocking reads would hold up the shared one), whose
    /// answers may take `response_timeout`.
    pub(crate) async fn connect(
        &self,
        response_timeout: Duration,
    ) -> Result<MultiplexedConnection, TransportError> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(response_timeout));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| self.error(&e, "CONNECT"))
    }

    /// Turns a Redis error into ours; a lost connection is dropped so the next call
    /// connects again.
    pub(crate) async fn failed(
        &self,
        error: redis::RedisError,
        command: &'static str,
    ) -> TransportError {
        let error = self.error(&error, command);
        self.forget_shared_after(&error).await;
        error
    }

    pub(crate) fn error(&self, error: &redis::RedisError, command: &'static str) -> TransportError {
        let message = clean(&self.config, &error.to_string());
        let target = self.config.target();
        // A wrong password or a missing permission does not fix itself by waiting.
        let denied = error.kind() == redis::ErrorKind::AuthenticationFailed
            || matches!(error.code(), Some("WRONGPASS" | "NOAUTH" | "NOPERM"));
        if denied {
            TransportError::Refused {
                target,
                command,
                message,
            }
        } else if error.is_io_error()
            || error.is_connection_dropped()
            || error.is_connection_refusal()
            || error.is_timeout()
            || error.is_unrecoverable_error() && error.code().is_none()
        {
            TransportError::Unavailable { target, message }
        } else if matches!(
            error.code(),
            Some("LOADING" | "BUSY" | "MASTERDOWN" | "TRYAGAIN")
        ) {
            // Restarting (replaying its append-only file) or busy: it comes back.
            TransportError::Unavailable { target, message }
        } else {
            TransportError::Refused {
                target,
                command,
                message,
            }
        }
    }
}

#[async_trait::async_trait]
impl Publisher for RedisTransport {
    async fn publish(&self, events: &[Event]) -> Result<Vec<String>, PublishError> {
        Ok(self.publish_events(events).await?)
    }

    fn target(&self) -> String {
        self.config.target()
    }
}

/// `text` without the URL's password, should the client library ever quote it.
fn clean(config: &TransportConfig, text: &str) -> String {
    let password = url::Url::parse(config.url.expose_secret())
        .ok()
        .and_then(|u| u.password().map(str::to_owned));
    match password {
        Some(p) if !p.is_empty() => text.replace(&p, "***"),
        _ => text.to_owned(),
    }
}
