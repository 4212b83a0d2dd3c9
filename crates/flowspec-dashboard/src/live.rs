//! Live updates: one poller per view (a profile's run list, a run, the queue) feeds
//! every browser tab that shows it over server-sent events, so ten open tabs cost the
//! CI platform no more requests than one. A poller runs only while someone watches,
//! and polls at once (at most once a second) when the receiver stores a
//! `ci.completed` webhook.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::watch;

/// The shortest time between two polls of one view, whatever wakes it.
const MIN_GAP: Duration = Duration::from_secs(1);

/// The live views and what wakes them.
pub(crate) struct Live {
    views: Mutex<HashMap<String, watch::Sender<Arc<String>>>>,
    /// Bumped when the store says a `ci.completed` webhook arrived.
    kick: watch::Sender<u64>,
    kick_started: std::sync::Once,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            views: Mutex::new(HashMap::new()),
            kick: watch::channel(0).0,
            kick_started: std::sync::Once::new(),
        }
    }
}

impl Live {
    /// Starts (once) the task that turns the store's completion signal into kicks.
    pub(crate) fn watch_store(&self, store: flowspec_core::Store) {
        let kick = self.kick.clone();
        self.kick_started.call_once(|| {
            tokio::spawn(async move {
                let channel = flowspec_server::completions::COMPLETIONS;
                let Ok(mut changes) = store.changes(channel).await else {
                    return;
                };
                loop {
                    changes.next().await;
                    kick.send_modify(|n| *n += 1);
                }
            });
        });
    }

    /// The HTML fragment of view `key`, rendered by `render` every `interval` by one
    /// task shared with every other subscriber of `key`. `render` returning `None`
    /// (the platform failed) keeps the last fragment.
    pub(crate) fn subscribe<F, Fut>(
        &self,
        key: &str,
        interval: Duration,
        render: F,
    ) -> watch::Receiver<Arc<String>>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<String>> + Send,
    {
        let mut views = self.views.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(view) = views.get(key)
            && view.receiver_count() > 0
        {
            return view.subscribe();
        }
        let (tx, rx) = watch::channel(Arc::new(String::new()));
        views.insert(key.to_owned(), tx.clone());
        let mut kick = self.kick.subscribe();
        tokio::spawn(async move {
            loop {
                if let Some(html) = render().await {
                    tx.send_if_modified(|current| {
                        let changed = **current != html;
                        if changed {
                            *current = Arc::new(html);
                        }
                        changed
                    });
                }
                tokio::time::sleep(MIN_GAP).await;
                tokio::select! {
                    () = tokio::time::sleep(interval.saturating_sub(MIN_GAP)) => {}
                    _ = kick.changed() => {}
                    () = tx.closed() => break,
                }
                if tx.is_closed() {
                    break;
                }
            }
        });
        rx
    }
}

/// The fragments of `view` as server-sent events named `name`: the current one at once
/// (once rendered), then each change.
pub(crate) fn events(
    mut view: watch::Receiver<Arc<String>>,
    name: &'static str,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let stream = async_stream(move |tx| async move {
        loop {
            let html = view.borrow_and_update().clone();
            if !html.is_empty()
                && tx
                    .send(SseEvent::default().event(name).data(html.as_str()))
                    .await
                    .is_err()
            {
                return;
            }
            if view.changed().await.is_err() {
                return;
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// A stream fed by a task through a small channel (no macro crate needed).
pub(crate) fn async_stream<F, Fut>(produce: F) -> impl Stream<Item = Result<SseEvent, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<SseEvent>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(produce(tx));
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn should_share_one_poller_between_subscribers_and_stop_without_them() {
        let live = Live::default();
        let polls = Arc::new(AtomicUsize::new(0));
        let render = {
            let polls = polls.clone();
            move || {
                let polls = polls.clone();
                async move { Some(format!("poll {}", polls.fetch_add(1, Ordering::SeqCst))) }
            }
        };
        let tabs: Vec<_> = (0..10)
            .map(|_| live.subscribe("runs", Duration::from_secs(3600), render.clone()))
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(polls.load(Ordering::SeqCst), 1, "ten tabs, one poll");
        assert_eq!(tabs[9].borrow().as_str(), "poll 0");

        live.kick.send_modify(|n| *n += 1);
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert_eq!(
            polls.load(Ordering::SeqCst),
            2,
            "a kick polls again after the gap"
        );

        drop(tabs);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let rx = live.subscribe("runs", Duration::from_secs(3600), render);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            polls.load(Ordering::SeqCst),
            3,
            "a new watcher starts a new poller"
        );
        drop(rx);
    }
}
