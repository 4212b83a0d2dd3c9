//! The [`ProviderFactory`](flowspec_core::provider::ProviderFactory) that builds the `custom` provider from its `config:`.

use super::*;

/// `provider: custom`.
pub struct Factory;

impl ProviderFactory for Factory {
    fn kind(&self) -> &'static str {
        "custom"
    }

    fn describe(&self) -> &'static str {
        "Any CI with an HTTP API: URL templates, JSON pointers and a status mapping"
    }

    fn example_yaml(&self) -> &'static str {
        "ci:\n  provider: custom\n  config:\n    trigger_url: https://ci.example.com/api/trigger\n    status_url: https://ci.example.com/api/status/{run_id}\n    auth:\n      type: bearer\n      token: ${CI_TOKEN}\n    pointers:\n      run_id: /run/id\n      status: /run/state\n    status_map:\n      passed: success\n      broken: failed\n    logs_url: https://ci.example.com/api/runs/{run_id}/log?offset={offset}\n    cancel_url: https://ci.example.com/api/runs/{run_id}/cancel\n"
    }

    fn example_vars(&self) -> &'static [(&'static str, &'static str)] {
        &[("CI_TOKEN", "custom-example")]
    }

    fn build(
        &self,
        config: &Node,
        cx: &ProviderContext<'_>,
    ) -> Result<Arc<dyn CiProvider>, ConfigErrors> {
        Ok(Arc::new(CustomProvider::from_node(config, cx)?))
    }
}
