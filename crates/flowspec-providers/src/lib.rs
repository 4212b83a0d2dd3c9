//! # flowspec-providers
//!
//! One [`CiProvider`](flowspec_core::CiProvider) per CI platform, each in its own
//! folder with the same inner layout:
//!
//! - `mod.rs`: `XProvider`, the [`CiProvider`](flowspec_core::CiProvider)
//!   implementation;
//! - `config.rs`: `XConfig`, the validated `config:` and its raw shape;
//! - `wire.rs`: the API's wire types and the mapping of its statuses to the
//!   normalized [`RunStatus`](flowspec_core::provider::RunStatus);
//! - `api.rs`: the requests the provider sends (one method per API call);
//! - `factory.rs`: the [`ProviderFactory`] (kind, description, example
//!   configuration and variables), registered in [`BUILTIN`].
//!
//!
//! | module | `provider:` | platform |
//! |---|---|---|
//! | `github` | `github` | GitHub Actions (github.com and Enterprise), via octocrab |
//! | `gitlab` | `gitlab` | GitLab CI (gitlab.com and self-hosted), via the gitlab crate |
//! | [`jenkins`] | `jenkins` | Jenkins remote access API (queue, stages, progressive console) |
//! | [`circleci`] | `circleci` | CircleCI API v2 (pipelines, workflows, jobs, test metadata) |
//! | [`custom`] | `custom` | any CI with an HTTP API, configured by URL templates and JSON pointers |
//!
//! Shared pieces: [`common`] (tokens, `api_url`, git defaults, HTTP errors,
//! pagination), [`config`] (the `ci:` section of flowspec.yaml with profiles,
//! re-exported from [`flowspec_core::provider::config`]), [`wait`] (adaptive polling
//! until a run ends), [`download`] (streaming; safe zip unpacking re-exported from
//! [`flowspec_core::provider::unzip`]), [`action`] (the `ci:` hook action). Test
//! results through a provider (`ci results`, `--retry-flaky`, the `retry_flaky:`
//! hook action, `ci fix`) live in `flowspec_results::ci`. The trait and model live
//! in [`flowspec_core::provider`]; HTTP goes through `flowspec-http`.
//!
//! ## Features
//! One per platform, all on by default: `github` (octocrab), `gitlab` (the gitlab
//! crate), `jenkins`, `circleci`, `custom`; `forge` (pull and merge requests) needs
//! `github` or `gitlab`. A `provider:` whose platform is compiled out fails with
//! "the `jenkins` CI provider is not built in: enable the crate feature `jenkins`"
//! ([`registry()`] records the missing ones, see [`ALL_KINDS`]).
//!
//! ## Example
//! ```no_run
//! use flowspec_core::config::Vars;
//! use flowspec_core::provider::{ProviderRegistry, TriggerRequest};
//! use flowspec_core::settings::Settings;
//! use flowspec_providers::config::CiSettings;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let root = std::path::Path::new(".");
//! let settings = Settings::load(&root.join(".flowspec/flowspec.yaml"))?;
//! let ci = CiSettings::from_settings(&settings)?.expect("a `ci:` section");
//! let registry = ProviderRegistry::from_static(flowspec_providers::BUILTIN);
//! let provider = ci.build(None, &registry, &Vars::from_process(None)?, root)?;
//! let run = provider.trigger(&TriggerRequest::new("ci.yml").input("feature", "auth")).await?;
//! println!("started run {}", run.id);
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod action;
#[cfg(feature = "circleci")]
#[cfg_attr(docsrs, doc(cfg(feature = "circleci")))]
pub mod circleci;
pub mod common;
pub use flowspec_core::provider::config;
#[cfg(feature = "custom")]
#[cfg_attr(docsrs, doc(cfg(feature = "custom")))]
pub mod custom;
pub mod download;
#[cfg(any(feature = "github", feature = "gitlab"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "github", feature = "gitlab"))))]
pub mod forge;
#[cfg(feature = "github")]
#[cfg_attr(docsrs, doc(cfg(feature = "github")))]
pub mod github;
#[cfg(feature = "gitlab")]
#[cfg_attr(docsrs, doc(cfg(feature = "gitlab")))]
pub mod gitlab;
#[cfg(feature = "jenkins")]
#[cfg_attr(docsrs, doc(cfg(feature = "jenkins")))]
pub mod jenkins;
pub mod wait;

use flowspec_core::provider::ProviderFactory;

/// Every provider compiled in. Adding a platform = one folder + one line here.
pub static BUILTIN: &[&dyn ProviderFactory] = &[
    #[cfg(feature = "github")]
    &github::Factory,
    #[cfg(feature = "gitlab")]
    &gitlab::Factory,
    #[cfg(feature = "jenkins")]
    &jenkins::Factory,
    #[cfg(feature = "circleci")]
    &circleci::Factory,
    #[cfg(feature = "custom")]
    &custom::Factory,
];

/// Every built-in platform, whether compiled in or not: each is behind the crate
/// feature of the same name, so a build without one can say which feature a
/// `provider:` needs.
pub const ALL_KINDS: &[&str] = &["github", "gitlab", "jenkins", "circleci", "custom"];

/// The built-in providers as a registry (embedders add theirs with
/// [`ProviderRegistry::register`](flowspec_core::provider::ProviderRegistry::register)).
/// The platforms of [`ALL_KINDS`] compiled out of this build are recorded as such:
/// configuring one names the crate feature it needs.
///
/// ```
/// let registry = flowspec_providers::registry();
/// assert!(registry.get("github").is_some());
/// assert_eq!(registry.compiled_out("github"), None);
/// ```
pub fn registry() -> flowspec_core::provider::ProviderRegistry {
    ALL_KINDS.iter().fold(
        flowspec_core::provider::ProviderRegistry::from_static(BUILTIN),
        |registry, kind| {
            registry.not_built_in(
                kind,
                format!(
                    "the `{kind}` CI provider is not built in: enable the crate feature `{kind}`"
                ),
            )
        },
    )
}

#[cfg(test)]
mod registry_tests {
    use std::collections::HashSet;
    use std::path::Path;

    use flowspec_core::config::{Node, Vars};

    use super::*;
    use crate::config::CiSettings;

    #[test]
    fn should_have_unique_snake_case_kinds() {
        let mut seen = HashSet::new();
        for f in BUILTIN {
            let kind = f.kind();
            assert!(seen.insert(kind), "duplicate kind {kind}");
            assert!(
                !kind.is_empty()
                    && kind
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "kind `{kind}` is not snake_case"
            );
            assert!(!f.describe().is_empty(), "{kind} has no description");
        }
    }

    #[test]
    fn should_parse_and_build_every_example() {
        let registry = registry();
        for f in BUILTIN {
            let root = Node::parse(f.example_yaml())
                .unwrap_or_else(|e| panic!("{}: example is not YAML: {e}", f.kind()));
            let ci = root
                .get("ci")
                .unwrap_or_else(|| panic!("{}: example has no `ci:` section", f.kind()));
            let settings = CiSettings::parse(ci, None, None)
                .unwrap_or_else(|e| panic!("{}: example does not parse: {e}", f.kind()));
            for profile in settings.profiles() {
                assert_eq!(profile.provider, f.kind(), "example uses another provider");
                let provider = settings
                    .build(
                        Some(&profile.name),
                        &registry,
                        &Vars::from_pairs(f.example_vars().iter().copied()),
                        Path::new("/nonexistent"),
                    )
                    .unwrap_or_else(|e| panic!("{}: example does not build: {e}", f.kind()));
                assert_eq!(provider.kind(), f.kind());
            }
        }
    }
}
