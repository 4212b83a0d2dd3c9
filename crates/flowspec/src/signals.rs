//! Stopping a long-running program the way a service manager and a person expect:
//! SIGTERM and Ctrl-C (SIGINT) are one stop request, and a second request means "now".
//! `flowspec serve` drains on the first; `flowspec watch` finishes the file being
//! dispatched on the first and stops running hooks on the second.
//!
//! ```no_run
//! # async fn run() {
//! let signals = flowspec::signals::Signals::listen();
//! tokio::select! {
//!     () = signals.received(1) => println!("finishing the current work"),
//!     () = std::future::pending::<()>() => {}
//! }
//! signals.received(2).await;
//! println!("stopping now");
//! # }
//! ```

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// Resolves at the first SIGTERM or Ctrl-C.
pub async fn stop_requested() {
    Signals::listen().received(1).await;
}

/// Counts the stop requests (SIGTERM and Ctrl-C) received since [`Signals::listen`].
#[derive(Clone, Debug)]
pub struct Signals {
    count: watch::Receiver<u32>,
}

impl Signals {
    /// Starts counting on the current tokio runtime.
    pub fn listen() -> Signals {
        let (tx, count) = watch::channel(0u32);
        // Both handlers in place before this returns (not at the task's first poll).
        let mut terminate = signal(SignalKind::terminate()).ok();
        let mut interrupt = signal(SignalKind::interrupt()).ok();
        tokio::spawn(async move {
            loop {
                let term = async {
                    match terminate.as_mut() {
                        Some(signal) => {
                            signal.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                let int = async {
                    match interrupt.as_mut() {
                        Some(signal) => {
                            signal.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                tokio::select! {
                    () = int => {}
                    () = term => {}
                }
                if tx.is_closed() {
                    return;
                }
                tx.send_modify(|count| *count += 1);
            }
        });
        Signals { count }
    }

    /// Resolves once `n` stop requests have been received.
    pub async fn received(&self, n: u32) {
        let mut count = self.count.clone();
        let _ = count.wait_for(|&c| c >= n).await;
    }
}
