//! What Teams is sent and what it answers: payloads, and its errors mapped to `NotifyError`s.

use super::*;

/// The Adaptive Card text color and container style of an outcome.
pub(super) fn colors(outcome: WorkOutcome) -> (&'static str, &'static str) {
    match outcome {
        WorkOutcome::Completed => ("Good", "good"),
        WorkOutcome::Failed => ("Attention", "attention"),
        WorkOutcome::Cancelled => ("Warning", "warning"),
        WorkOutcome::Started => ("Accent", "accent"),
        _ => ("Default", "emphasis"),
    }
}

pub(super) const THROTTLED: &str = "Microsoft Teams endpoint returned HTTP error 429";
