//! The action of a disabled hook whose real action could not be built without the
//! settings it would need (a CI token, a forge): it lists as `<key>: (disabled)` and
//! fails if run anyway.

use async_trait::async_trait;

use super::{Action, ActionContext, ActionOutcome};

/// Stands in for action `key` of a disabled hook.
///
/// ```
/// use flowspec_core::action::{Action, disabled::Disabled};
/// assert_eq!(Disabled("status").summary(), "status: (disabled)");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Disabled(pub &'static str);

#[async_trait]
impl Action for Disabled {
    fn summary(&self) -> String {
        format!("{}: (disabled)", self.0)
    }

    async fn run(&self, _: &ActionContext<'_>) -> ActionOutcome {
        ActionOutcome::failed("the hook is disabled")
    }
}
