//! When a file is complete: the readiness rules, apart from any I/O.
//!
//! - Renamed into the directory (inotify `IN_MOVED_TO`): complete at once.
//! - Closed after writing (inotify `IN_CLOSE_WRITE`): complete at once.
//! - Created or written (inotify `IN_CREATE`, `IN_MODIFY`) and not closed yet: not
//!   complete; taken anyway when the writer has been silent for `stale_after` (a
//!   writer that died, or a file made with `link(2)`, which sends no close).
//! - Found by a scan (at start, in polling mode, after an inotify queue overflow):
//!   complete when last modified at least one settle time ago, or when its size and
//!   modification time have not changed between two checks at least half a settle
//!   time apart; checks happen every settle time (the poll interval).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Size and modification time: what a scan compares.
pub(crate) type Stat = (u64, i128);

#[derive(Debug)]
struct Entry {
    stat: Option<Stat>,
    last_change: Instant,
    /// A writer has it open (inotify saw it created or written, and no close yet).
    writing: bool,
}

/// What a check found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// Complete: dispatch it.
    Ready,
    /// Complete because its writer has been silent too long (worth a warning).
    ReadyStale,
    /// Not complete yet.
    Pending,
}

/// Files seen but not complete yet.
#[derive(Debug)]
pub(crate) struct Tracker {
    settle: Duration,
    stale_after: Duration,
    entries: HashMap<PathBuf, Entry>,
}

impl Tracker {
    pub(crate) fn new(settle: Duration, stale_after: Duration) -> Self {
        Tracker {
            settle,
            stale_after,
            entries: HashMap::new(),
        }
    }

    /// How many files are waiting to be complete.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, path: &Path) -> bool {
        self.entries.contains_key(path)
    }

    /// The files to check on the next tick.
    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        self.entries.keys().cloned().collect()
    }

    /// A writer created or wrote the file (inotify): wait for its close.
    pub(crate) fn writing(&mut self, path: &Path, now: Instant) {
        let entry = self.entries.entry(path.to_owned()).or_insert(Entry {
            stat: None,
            last_change: now,
            writing: true,
        });
        entry.writing = true;
        entry.stat = None;
        entry.last_change = now;
    }

    /// The file is complete (closed or renamed in) or gone: stop tracking it.
    pub(crate) fn forget(&mut self, path: &Path) {
        self.entries.remove(path);
    }

    /// A scan or a tick saw the file with `stat`, last modified `mtime_age` ago.
    pub(crate) fn check(
        &mut self,
        path: &Path,
        stat: Stat,
        mtime_age: Duration,
        now: Instant,
    ) -> Check {
        let Some(entry) = self.entries.get_mut(path) else {
            if mtime_age >= self.settle {
                return Check::Ready;
            }
            self.entries.insert(
                path.to_owned(),
                Entry {
                    stat: Some(stat),
                    last_change: now,
                    writing: false,
                },
            );
            return Check::Pending;
        };
        let quiet = now.saturating_duration_since(entry.last_change);
        if entry.stat != Some(stat) {
            entry.stat = Some(stat);
            entry.last_change = now;
            return Check::Pending;
        }
        let result = if entry.writing {
            if quiet >= self.stale_after {
                Check::ReadyStale
            } else {
                Check::Pending
            }
        } else if quiet >= self.settle / 2 {
            Check::Ready
        } else {
            Check::Pending
        };
        if result != Check::Pending {
            self.entries.remove(path);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTLE: Duration = Duration::from_millis(1000);
    const STALE: Duration = Duration::from_secs(60);

    fn path() -> PathBuf {
        PathBuf::from("/w/a.json")
    }

    #[test]
    fn should_take_an_old_file_at_once() {
        let mut t = Tracker::new(SETTLE, STALE);
        let now = Instant::now();
        assert_eq!(
            t.check(&path(), (10, 1), Duration::from_secs(5), now),
            Check::Ready
        );
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn should_wait_until_a_fresh_file_stops_changing() {
        let mut t = Tracker::new(SETTLE, STALE);
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(t.check(&path(), (10, 1), ms(10), t0), Check::Pending);
        // Grew since: still being written.
        assert_eq!(
            t.check(&path(), (20, 2), ms(10), t0 + ms(1000)),
            Check::Pending
        );
        // Unchanged, but checked too soon after the change.
        assert_eq!(
            t.check(&path(), (20, 2), ms(200), t0 + ms(1200)),
            Check::Pending
        );
        // Unchanged for a settle time.
        assert_eq!(
            t.check(&path(), (20, 2), ms(1000), t0 + ms(2000)),
            Check::Ready
        );
        assert!(!t.contains(&path()));
    }

    #[test]
    fn should_wait_for_the_close_of_an_open_file() {
        let mut t = Tracker::new(SETTLE, STALE);
        let t0 = Instant::now();
        let s = Duration::from_secs;
        t.writing(&path(), t0);
        assert_eq!(t.check(&path(), (5, 1), s(0), t0 + s(1)), Check::Pending);
        assert_eq!(
            t.check(&path(), (5, 1), s(10), t0 + s(10)),
            Check::Pending,
            "open files wait for their close"
        );
        assert_eq!(
            t.check(&path(), (5, 1), s(61), t0 + s(62)),
            Check::ReadyStale
        );
    }

    #[test]
    fn should_restart_the_wait_when_written_again() {
        let mut t = Tracker::new(SETTLE, STALE);
        let t0 = Instant::now();
        let s = Duration::from_secs;
        t.writing(&path(), t0);
        assert_eq!(t.check(&path(), (5, 1), s(0), t0 + s(30)), Check::Pending);
        t.writing(&path(), t0 + s(50));
        assert_eq!(t.check(&path(), (9, 2), s(0), t0 + s(70)), Check::Pending);
        assert_eq!(t.check(&path(), (9, 2), s(0), t0 + s(100)), Check::Pending);
        assert_eq!(
            t.check(&path(), (9, 2), s(0), t0 + s(131)),
            Check::ReadyStale
        );
    }
}
