//! The `results:` section of `.flowspec/flowspec.yaml`.
//!
//! ```yaml
//! results:
//!   quarantine:                         # known-flaky tests: their failures alone do not fail a check
//!     - test: "com.example.CheckoutIT::paysWithCard"
//!       reason: payment sandbox times out (JIRA-123)
//!     - "tests.test_net::*"             # shorthand; `*` matches any text
//!   flaky:
//!     window: 20                        # recent runs considered
//!     outage_ratio: 0.5                 # a run where more than this share failed is an outage
//!     outage_min_tests: 5
//!     broken_min_runs: 2
//!   auto_retry:
//!     enabled: true
//!     max_retries: 1
//!   artifacts:                          # CI artifacts that hold reports (`flowspec ci results`)
//!     - "*junit*"
//!     - "unit-tests/*"
//! ```

use std::path::Path;
use std::sync::Arc;

use flowspec_core::config::{ConfigError, Node, from_node_in};
use serde::Deserialize;

use crate::auto_retry::AutoRetryPolicy;
use crate::flaky::FlakyOptions;
use crate::quarantine::{Quarantine, QuarantineEntry, QuarantineSource};

/// The section name in flowspec.yaml.
pub const SECTION: &str = "results";

/// `results:` settings.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ResultsConfig {
    /// Known-flaky tests listed in the config.
    pub quarantine: Quarantine,
    /// How flaky tests are told apart.
    pub flaky: FlakyOptions,
    /// When a failed CI run is retried automatically.
    pub auto_retry: AutoRetryPolicy,
    /// Which of a CI run's artifacts hold reports.
    pub artifacts: ArtifactPatterns,
}

/// Names of the CI artifacts that hold test or coverage reports (`results.artifacts`):
/// `*` matches any text, case is ignored. `flowspec ci results` downloads only the
/// artifacts that match, then reads every report it finds inside them.
///
/// ```
/// use flowspec_results::config::ArtifactPatterns;
///
/// let defaults = ArtifactPatterns::default();
/// assert!(defaults.matches("JUnit-Results"));
/// assert!(defaults.matches("coverage-report"));
/// assert!(!defaults.matches("website-build"));
/// assert!(ArtifactPatterns::new(["unit-tests/*"]).matches("unit-tests/artifacts.zip"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactPatterns {
    patterns: Vec<String>,
}

/// The default `results.artifacts`: the names CI templates give test reports.
pub const DEFAULT_ARTIFACT_PATTERNS: &[&str] = &[
    "*junit*",
    "*test-result*",
    "*test_result*",
    "*test-report*",
    "*surefire*",
    "*nextest*",
    "*.xml",
    "*coverage*",
    "*lcov*",
];

impl ArtifactPatterns {
    /// These patterns.
    pub fn new<S: Into<String>>(patterns: impl IntoIterator<Item = S>) -> Self {
        ArtifactPatterns {
            patterns: patterns.into_iter().map(Into::into).collect(),
        }
    }

    /// The patterns.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether an artifact named `name` holds reports.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        self.patterns
            .iter()
            .any(|p| flowspec_core::glob::glob_match(&p.to_lowercase(), &name))
    }
}

impl Default for ArtifactPatterns {
    fn default() -> Self {
        ArtifactPatterns::new(DEFAULT_ARTIFACT_PATTERNS.iter().copied())
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ResultsRaw {
    quarantine: Vec<EntryRaw>,
    flaky: FlakyOptions,
    auto_retry: AutoRetryPolicy,
    artifacts: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EntryRaw {
    Short(String),
    Full(EntryFull),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFull {
    test: String,
    #[serde(default)]
    reason: Option<String>,
}

impl ResultsConfig {
    /// Reads the section (`node` from `Settings::section("results")`); `None` gives
    /// the defaults.
    pub fn from_node(
        node: Option<&Node>,
        file: &Path,
        text: Option<Arc<str>>,
    ) -> Result<Self, ConfigError> {
        let Some(node) = node else {
            return Ok(ResultsConfig::default());
        };
        let raw: ResultsRaw = from_node_in(node, SECTION, file, text)?;
        let entries = raw
            .quarantine
            .into_iter()
            .map(|e| match e {
                EntryRaw::Short(test) => QuarantineEntry::new(test, None, QuarantineSource::Config),
                EntryRaw::Full(f) => {
                    QuarantineEntry::new(f.test, f.reason, QuarantineSource::Config)
                }
            })
            .collect();
        Ok(ResultsConfig {
            quarantine: Quarantine::new(entries),
            flaky: raw.flaky,
            auto_retry: raw.auto_retry,
            artifacts: raw.artifacts.map(ArtifactPatterns::new).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<ResultsConfig, ConfigError> {
        let node = Node::parse(yaml).unwrap();
        let section = match &node.value {
            flowspec_core::config::Value::Map(entries) => entries[0].1.clone(),
            _ => panic!(),
        };
        ResultsConfig::from_node(
            Some(&section),
            Path::new("flowspec.yaml"),
            Some(Arc::from(yaml)),
        )
    }

    #[test]
    fn should_read_quarantine_entries_in_both_forms() {
        let config = parse(
            "results:\n  quarantine:\n    - test: a.B::c\n      reason: flaky net\n    - \"tests.net::*\"\n  auto_retry:\n    enabled: true\n",
        )
        .unwrap();
        assert!(config.quarantine.matching("a.B::c").is_some());
        assert!(config.quarantine.matching("tests.net::test_dns").is_some());
        assert!(config.quarantine.matching("tests.other::x").is_none());
        assert!(config.auto_retry.enabled);
        assert_eq!(config.auto_retry.max_retries, 1);
    }

    #[test]
    fn should_read_artifact_patterns_or_default_them() {
        let config = parse("results:\n  artifacts: [\"unit-tests/*\"]\n").unwrap();
        assert!(config.artifacts.matches("unit-tests/artifacts.zip"));
        assert!(!config.artifacts.matches("junit"));
        let defaults = parse("results:\n  flaky:\n    window: 3\n").unwrap();
        assert!(defaults.artifacts.matches("test-results-linux"));
        assert!(defaults.artifacts.matches("TEST-com.example.xml"));
    }

    #[test]
    fn should_locate_a_misspelled_key() {
        let err = parse("results:\n  flaky:\n    windw: 3\n").unwrap_err();
        assert_eq!(err.line_column(), Some((3, 5)));
        assert_eq!(err.hint_text(), Some("did you mean `window`?"));
    }
}
