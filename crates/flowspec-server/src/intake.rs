//! Group commit: requests waiting to be stored are written together in one synced
//! transaction, and each gets its answer once the batch is on disk. Under load many
//! requests share one fsync; alone, a request pays one.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc, oneshot};

use crate::queue::{Enqueued, Incoming, Queue, Stored};

/// The most requests written in one transaction.
const MAX_BATCH: usize = 1024;

struct Job {
    incoming: Incoming,
    reply: oneshot::Sender<Result<Enqueued, String>>,
}

/// The handle used by request handlers.
#[derive(Clone)]
pub(crate) struct Intake {
    tx: mpsc::Sender<Job>,
}

impl Intake {
    /// Starts the writer; ids of accepted events are sent to `accepted`, in order, and
    /// `stored` is notified after each commit that accepted some (the outbox's
    /// publisher waits on it).
    pub(crate) fn start(
        queue: Queue,
        accepted: mpsc::UnboundedSender<String>,
        stored: Arc<Notify>,
    ) -> (Intake, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Job>(MAX_BATCH * 4);
        let task = tokio::spawn(async move {
            let mut jobs = Vec::with_capacity(MAX_BATCH);
            while let Some(first) = rx.recv().await {
                jobs.push(first);
                while jobs.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(job) => jobs.push(job),
                        Err(_) => break,
                    }
                }
                let batch: Vec<Incoming> = jobs.iter().map(|j| j.incoming.clone()).collect();
                match queue.enqueue(&batch).await {
                    Ok(results) => {
                        let completions = batch.iter().zip(&results).any(|(incoming, result)| {
                            matches!(result, Enqueued::Stored(stored) if incoming.events.iter().zip(stored).any(|(e, s)| {
                                *s == Stored::Accepted && e.event_type().as_str() == "ci.completed"
                            }))
                        });
                        if completions
                            && let Err(error) =
                                queue.store().notify(crate::completions::COMPLETIONS).await
                        {
                            tracing::debug!(message = "Cannot signal a stored completion.", %error);
                        }
                        let any_accepted = results.iter().any(
                            |r| matches!(r, Enqueued::Stored(s) if s.contains(&Stored::Accepted)),
                        );
                        if any_accepted {
                            stored.notify_one();
                        }
                        for (job, result) in jobs.drain(..).zip(results) {
                            if let Enqueued::Stored(stored) = &result {
                                for (event, outcome) in job.incoming.events.iter().zip(stored) {
                                    if *outcome == Stored::Accepted {
                                        let _ = accepted.send(event.id().to_string());
                                    }
                                }
                            }
                            let _ = job.reply.send(Ok(result));
                        }
                    }
                    Err(error) => {
                        tracing::error!(message = "Cannot store received events.", %error);
                        for job in jobs.drain(..) {
                            let _ = job.reply.send(Err(error.to_string()));
                        }
                    }
                }
            }
        });
        (Intake { tx }, task)
    }

    /// Stores one request's events; returns once they are durable.
    pub(crate) async fn submit(&self, incoming: Incoming) -> Result<Enqueued, String> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { incoming, reply })
            .await
            .map_err(|_| "the server is shutting down".to_owned())?;
        answer
            .await
            .map_err(|_| "the server is shutting down".to_owned())?
    }
}
