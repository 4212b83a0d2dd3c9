//! The order in which the streaming readers hand out what they read: the cases
//! finished so far, then the error that stopped reading (once), then the end.

use std::collections::VecDeque;

use crate::error::ParseError;
use crate::model::TestCase;

/// Finished cases, the error that stopped reading, and whether reading is over.
#[derive(Default)]
pub(crate) struct CaseQueue {
    pub(crate) ready: VecDeque<Box<TestCase>>,
    pub(crate) error: Option<ParseError>,
    pub(crate) done: bool,
}

impl CaseQueue {
    /// What `next_case` returns now; `None` while more input must be read.
    pub(crate) fn take(&mut self) -> Option<Result<Option<Box<TestCase>>, ParseError>> {
        if let Some(case) = self.ready.pop_front() {
            return Some(Ok(Some(case)));
        }
        if let Some(e) = self.error.take() {
            return Some(Err(e));
        }
        self.done.then_some(Ok(None))
    }

    /// Reading stopped at `error`.
    pub(crate) fn fail(&mut self, error: ParseError) {
        self.done = true;
        self.error = Some(error);
    }
}
