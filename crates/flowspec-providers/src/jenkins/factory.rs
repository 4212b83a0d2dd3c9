//! The [`ProviderFactory`](flowspec_core::provider::ProviderFactory) that builds the `jenkins` provider from its `config:`.

use super::*;

/// `provider: jenkins`.
pub struct Factory;

impl ProviderFactory for Factory {
    fn kind(&self) -> &'static str {
        "jenkins"
    }

    fn describe(&self) -> &'static str {
        "Jenkins remote access API (buildWithParameters, queue, stages, progressive console, stop, artifacts)"
    }

    fn example_yaml(&self) -> &'static str {
        "ci:\n  provider: jenkins\n  config:\n    api_url: https://ci.example.com/\n    job: team/app/integration\n    user: ${JENKINS_USER}\n    token: ${JENKINS_API_TOKEN}\n    ref_parameter: BRANCH\n"
    }

    fn example_vars(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("JENKINS_USER", "bot"),
            ("JENKINS_API_TOKEN", "jenkins-example"),
        ]
    }

    fn build(
        &self,
        config: &Node,
        cx: &ProviderContext<'_>,
    ) -> Result<Arc<dyn CiProvider>, ConfigErrors> {
        Ok(Arc::new(JenkinsProvider::from_node(config, cx)?))
    }
}
