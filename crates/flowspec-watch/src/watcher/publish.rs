//! Publishing each file's event through a [`Publisher`] instead of running the hooks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use flowspec_core::Event;
use flowspec_core::transport::{PublishError, Publisher};
use tokio::sync::watch;

use super::WatchReporter;

/// The wait after the first failed attempt; it doubles after each failure.
const FIRST_RETRY: Duration = Duration::from_millis(200);
/// The longest wait between two attempts.
const MAX_RETRY: Duration = Duration::from_secs(10);

/// The publisher of a watcher, shared by its workers.
pub(super) struct Publishing {
    publisher: Arc<dyn Publisher>,
    /// Whether the last attempt of any worker failed: one warning when a failure streak
    /// starts and one when it ends, however many files and workers retry meanwhile.
    failing: AtomicBool,
}

impl Publishing {
    pub(super) fn new(publisher: Arc<dyn Publisher>) -> Self {
        Publishing {
            publisher,
            failing: AtomicBool::new(false),
        }
    }

    /// Where events go, without credentials.
    pub(super) fn target(&self) -> String {
        self.publisher.target()
    }

    /// Publishes `event` (read from `file`), retrying with backoff until it succeeds;
    /// the transport's entry id, or `None` once `stop` is set.
    ///
    /// A stop also abandons an attempt in progress: publishers are idempotent by event
    /// id, so the next start publishing the file again cannot duplicate it.
    pub(super) async fn publish(
        &self,
        file: &str,
        event: &Event,
        stop: &mut watch::Receiver<bool>,
        reporter: &dyn WatchReporter,
    ) -> Option<String> {
        let mut delay = FIRST_RETRY;
        loop {
            let result = tokio::select! {
                biased;
                _ = stop.wait_for(|stop| *stop) => return None,
                result = self.publisher.publish(std::slice::from_ref(event)) => result,
            };
            let error = match result.map(|ids| ids.into_iter().next()) {
                Ok(Some(id)) => {
                    self.recovered(file, reporter);
                    return Some(id);
                }
                Ok(None) => PublishError::Refused("the transport returned no entry id".to_owned()),
                Err(error) => error,
            };
            self.failed(file, event, &error, reporter);
            tokio::select! {
                biased;
                _ = stop.wait_for(|stop| *stop) => return None,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(MAX_RETRY);
        }
    }

    fn failed(
        &self,
        file: &str,
        event: &Event,
        error: &PublishError,
        reporter: &dyn WatchReporter,
    ) {
        tracing::debug!(message = "Publishing failed.", file, event_id = %event.id(), %error);
        if self.failing.swap(true, Ordering::SeqCst) {
            return;
        }
        let message = format!(
            "cannot publish {file} (event {}) to {}: {error}; retrying with backoff (up to every {} s), files stay in the directory until they are published",
            event.id(),
            self.target(),
            MAX_RETRY.as_secs()
        );
        tracing::warn!(message = %message);
        reporter.warning(&message);
    }

    fn recovered(&self, file: &str, reporter: &dyn WatchReporter) {
        if !self.failing.swap(false, Ordering::SeqCst) {
            return;
        }
        let message = format!(
            "publishing to {} works again ({file} published)",
            self.target()
        );
        tracing::warn!(message = %message);
        reporter.warning(&message);
    }
}
