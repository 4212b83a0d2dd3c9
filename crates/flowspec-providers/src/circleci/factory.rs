//! The [`ProviderFactory`](flowspec_core::provider::ProviderFactory) that builds the `circleci` provider from its `config:`.

use super::*;

/// `provider: circleci`.
pub struct Factory;

impl ProviderFactory for Factory {
    fn kind(&self) -> &'static str {
        "circleci"
    }

    fn describe(&self) -> &'static str {
        "CircleCI API v2 (pipelines with parameters, workflows, jobs, reruns, artifacts, test metadata)"
    }

    fn example_yaml(&self) -> &'static str {
        "ci:\n  provider: circleci\n  config:\n    project_slug: gh/acme/app\n    token: ${CIRCLECI_TOKEN}\n    branch: main\n    parameter_types:\n      deploy: boolean\n"
    }

    fn example_vars(&self) -> &'static [(&'static str, &'static str)] {
        &[("CIRCLECI_TOKEN", "circle-example")]
    }

    fn build(
        &self,
        config: &Node,
        cx: &ProviderContext<'_>,
    ) -> Result<Arc<dyn CiProvider>, ConfigErrors> {
        Ok(Arc::new(CircleciProvider::from_node(config, cx)?))
    }
}
