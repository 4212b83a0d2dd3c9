//! Per-hook concurrency: at most `max_concurrent` runs of a hook at once, per value of
//! its `concurrency_key`, admitted strictly in the order tickets were taken.
//!
//! A ticket is taken when an event is prepared (in arrival order), and waits for its
//! turn when the hook is about to run. So with `concurrency_key: environment` and
//! `max_concurrent: 1`, deploys to `staging` run one at a time in the order their
//! events arrived, while a deploy to `production` runs alongside.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// All gates of an engine, by (hook, key value).
#[derive(Default)]
pub(crate) struct Gates {
    gates: Mutex<HashMap<(String, String), Arc<Gate>>>,
}

pub(crate) struct Gate {
    max: usize,
    state: Mutex<State>,
    notify: Notify,
}

#[derive(Default)]
struct State {
    waiting: VecDeque<u64>,
    running: usize,
    next: u64,
}

/// A place in a gate's line. Dropping it without [`Ticket::admit`] leaves the line.
pub(crate) struct Ticket {
    gate: Arc<Gate>,
    id: u64,
    queued: bool,
}

/// The right to run; dropping it lets the next ticket in.
pub(crate) struct Permit {
    gate: Arc<Gate>,
}

impl Gates {
    /// Takes a ticket for `hook` with key `key` (max runs at once: `max`).
    pub(crate) fn ticket(&self, hook: &str, key: String, max: usize) -> Ticket {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        // Forget idle gates so keys that come and go (commits, branches) do not pile up.
        gates.retain(|_, g| Arc::strong_count(g) > 1 || !g.idle());
        let gate = gates
            .entry((hook.to_owned(), key))
            .or_insert_with(|| {
                Arc::new(Gate {
                    max: max.max(1),
                    state: Mutex::new(State::default()),
                    notify: Notify::new(),
                })
            })
            .clone();
        let id = {
            let mut state = gate.lock();
            let id = state.next;
            state.next += 1;
            state.waiting.push_back(id);
            id
        };
        Ticket {
            gate,
            id,
            queued: true,
        }
    }
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn idle(&self) -> bool {
        let state = self.lock();
        state.running == 0 && state.waiting.is_empty()
    }
}

impl Ticket {
    /// Waits until every earlier ticket has been admitted and a slot is free.
    pub(crate) async fn admit(mut self) -> Permit {
        loop {
            let notified = self.gate.notify.notified();
            tokio::pin!(notified);
            // Register for wake-ups before checking, so a release in between is not missed.
            notified.as_mut().enable();
            {
                let mut state = self.gate.lock();
                if state.running < self.gate.max && state.waiting.front() == Some(&self.id) {
                    state.waiting.pop_front();
                    state.running += 1;
                    self.queued = false;
                    drop(state);
                    // The next in line may fit too (max > 1).
                    self.gate.notify.notify_waiters();
                    return Permit {
                        gate: self.gate.clone(),
                    };
                }
            }
            notified.await;
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.queued {
            let mut state = self.gate.lock();
            state.waiting.retain(|&id| id != self.id);
            drop(state);
            self.gate.notify.notify_waiters();
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.gate.lock().running -= 1;
        self.gate.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    // Paused time: the clock only moves when every task waits, so a timeout below
    // expires exactly when nothing else can happen, and never because the machine
    // is slow.
    #[tokio::test(start_paused = true)]
    async fn should_admit_in_ticket_order_one_at_a_time() {
        let gates = Arc::new(Gates::default());
        let log = Arc::new(Mutex::new(Vec::new()));
        let tickets: Vec<Ticket> = (0..5)
            .map(|_| gates.ticket("deploy", "staging".into(), 1))
            .collect();
        let mut tasks = Vec::new();
        // Start them in reverse: admission must still follow ticket order.
        for (i, ticket) in tickets.into_iter().enumerate().rev() {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = ticket.admit().await;
                log.lock().unwrap().push(format!("start {i}"));
                tokio::time::sleep(Duration::from_millis(5)).await;
                log.lock().unwrap().push(format!("end {i}"));
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let expected: Vec<String> = (0..5)
            .flat_map(|i| [format!("start {i}"), format!("end {i}")])
            .collect();
        assert_eq!(*log.lock().unwrap(), expected);
    }

    #[tokio::test(start_paused = true)]
    async fn should_let_other_keys_and_wider_gates_run_together() {
        let gates = Gates::default();
        let a = gates.ticket("deploy", "staging".into(), 1).admit().await;
        // Another key is not blocked by `staging`.
        let b = tokio::time::timeout(
            Duration::from_millis(100),
            gates.ticket("deploy", "production".into(), 1).admit(),
        )
        .await;
        assert!(b.is_ok());
        // Same key, max 1: blocked until `a` is dropped.
        let waiting = gates.ticket("deploy", "staging".into(), 1);
        let blocked = tokio::time::timeout(Duration::from_millis(50), waiting.admit()).await;
        assert!(blocked.is_err());
        drop(a);
        let c = tokio::time::timeout(
            Duration::from_millis(100),
            gates.ticket("deploy", "staging".into(), 1).admit(),
        )
        .await;
        assert!(c.is_ok(), "an abandoned ticket must leave the line");
        // max 2 admits two at once.
        let x = gates.ticket("lint", String::new(), 2).admit().await;
        let y = tokio::time::timeout(
            Duration::from_millis(100),
            gates.ticket("lint", String::new(), 2).admit(),
        )
        .await;
        assert!(y.is_ok());
        drop(x);
    }
}
