//! Publishing events to other machines: the [`Publisher`] a receiver hands every
//! accepted event to (from its durable queue, retried until the transport acknowledges
//! it). The Redis Streams implementation lives in `flowspec-transport`; the receiver and
//! the engine only see this trait.
//!
//! ```
//! use flowspec_core::Event;
//! use flowspec_core::transport::{PublishError, Publisher};
//!
//! /// Publishes into memory (a test double).
//! #[derive(Default)]
//! struct Memory(std::sync::Mutex<Vec<String>>);
//!
//! #[async_trait::async_trait]
//! impl Publisher for Memory {
//!     async fn publish(&self, events: &[Event]) -> Result<Vec<String>, PublishError> {
//!         let mut published = self.0.lock().unwrap();
//!         published.extend(events.iter().map(|e| e.id().as_str().to_owned()));
//!         Ok(events.iter().enumerate().map(|(i, _)| format!("{i}-0")).collect())
//!     }
//!     fn target(&self) -> String {
//!         "memory".into()
//!     }
//! }
//! ```

use crate::event::Event;

/// Why a batch was not published. Every variant is retried by a receiver's outbox;
/// the text never holds a credential.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The transport cannot be reached (connection refused, timeout, lost connection).
    #[error("the transport is unavailable: {0}")]
    Unavailable(String),
    /// The transport answered with an error (out of memory, wrong type, no permission).
    #[error("the transport refused the events: {0}")]
    Refused(String),
}

/// Where accepted events go to reach other machines.
///
/// A publisher must be idempotent by event id: publishing an event again after an
/// uncertain failure (the events were sent, the answer was lost) must not publish it
/// twice.
#[async_trait::async_trait]
pub trait Publisher: Send + Sync + 'static {
    /// Publishes `events` in order and returns the transport's id of each (for an event
    /// published before, the id it got then). All or nothing: on error, the caller
    /// retries the whole batch.
    async fn publish(&self, events: &[Event]) -> Result<Vec<String>, PublishError>;

    /// Where events go, for logs and `/readyz`, without credentials
    /// (`redis://cache.internal:6379/0 stream flowspec:events`).
    fn target(&self) -> String;
}

impl std::fmt::Debug for dyn Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Publisher").field(&self.target()).finish()
    }
}
