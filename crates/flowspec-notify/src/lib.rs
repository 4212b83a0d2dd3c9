//! # flowspec-notify
//!
//! Tells people and systems what happened: one [`Notifier`](flowspec_core::Notifier)
//! per service, each in its own folder with the same shape, registered in [`BUILTIN`]
//! and configured under `integrations:` in `.flowspec/flowspec.yaml`.
//!
//! | kind | service | routing key | default secrets |
//! |---|---|---|---|
//! | `slack` | Slack incoming webhook (text + Block Kit) | `notify_on` | `SLACK_WEBHOOK_URL` |
//! | `teams` | Microsoft Teams Workflows webhook (Adaptive Card) | `notify_on` | `TEAMS_WEBHOOK_URL` |
//! | `discord` | Discord webhook (content + embed) | `notify_on` | `DISCORD_WEBHOOK_URL` |
//! | `email` | SMTP (STARTTLS / implicit TLS), text + HTML | `notify_on` or `recipients` | `SMTP_HOST`, `SMTP_USER`, `SMTP_PASSWORD` |
//! | `webhooks` | custom HTTPS endpoints, signed (HMAC, Standard Webhooks) | endpoint `events` | per endpoint `${VAR}` |
//! | `jira` | Jira Cloud issue per spec: ADF, custom fields, transitions, PR links | `notify_on` | `JIRA_BASE_URL`, `JIRA_EMAIL`, `JIRA_API_TOKEN` |
//! | `linear` | Linear issue per spec (GraphQL): labels, workflow states | `notify_on` | `LINEAR_API_KEY` |
//! | `azure_devops` | Azure DevOps work item per spec (JSON Patch) | `notify_on` | `AZURE_DEVOPS_ORG`, `AZURE_DEVOPS_PROJECT`, `AZURE_DEVOPS_PAT` |
//! | `github_projects` | GitHub Projects v2 item and Status (GraphQL) | `notify_on` | `GITHUB_TOKEN`, `GITHUB_REPOSITORY_OWNER` |
//! | `pagerduty` | PagerDuty Events API v2: trigger and resolve | `alert_on` | `PAGERDUTY_ROUTING_KEY` |
//! | `opsgenie` | Opsgenie alerts: create and close (US/EU) | `alert_on` | `OPSGENIE_API_KEY` |
//! | `datadog` | Datadog events and metrics (any site) | `notify_on` | `DATADOG_API_KEY` (`DATADOG_APP_KEY` unused) |
//! | `new_relic` | New Relic custom events (US/EU) | `notify_on` | `NEW_RELIC_API_KEY` |
//! | `sentry` | Sentry events via envelope, from the DSN | `report_on` | `SENTRY_DSN` |
//!
//! ## Pieces
//! - [`config`]: `integrations:` and `notifications:` → [`config::Integration`]s, with
//!   located errors; secrets only as `${VAR}`, or the default variables above.
//! - [`events`]: the event names of `notify_on` lists (`implementation_failed`) and
//!   their dotted types.
//! - [`template`]: default messages and minijinja overrides, checked at load time.
//! - [`http`]: the JSON POST and error mapping HTTP notifiers share.
//! - [`registry()`]: kind → factory ([`NotifierRegistry`]): [`BUILTIN`], to which an
//!   embedder adds its own with [`NotifierRegistry::register`].
//! - `testing` (feature `testing`): the conformance suite every notifier passes.
//!
//! ## Adding a notifier
//! One folder `src/<kind>/`, the same four files as every other service:
//! - `mod.rs`: the implementation, `XNotifier` (implements `Notifier`: one attempt,
//!   classified errors), and its unit tests;
//! - `config.rs`: `XConfig` (the `integrations.<kind>` options, deserialized with
//!   `deny_unknown_fields`) and the [`SecretVar`](flowspec_core::notifier::SecretVar)s
//!   read by default;
//! - `wire.rs`: what the service is sent and answers (payloads, wire types, its error
//!   bodies mapped to [`NotifyError`](flowspec_core::NotifyError)s);
//! - `factory.rs`: `pub struct Factory` (implements `NotifierFactory`, with an
//!   [`example`](flowspec_core::NotifierFactory::example) of the service's answer);
//!
//! plus one line in [`BUILTIN`]. The registry-wide tests and the conformance suite
//! then cover it; add a wiremock test file under `tests/integration/`.
//!
//! ## Features
//! One per service, named as its kind, all on by default: `slack`, `teams`, `discord`,
//! `email` (SMTP through lettre), `webhooks`, `jira`, `linear`, `azure_devops`,
//! `github_projects`, `pagerduty`, `opsgenie`, `datadog`, `new_relic`, `sentry`; and
//! `state` (default): rate limits, disabled integrations and dead letters kept in the
//! flowspec store (SQL), else in memory. Configuring a kind compiled out of the build
//! fails with "the `email` notifier is not built in: enable the crate feature `email`"
//! ([`registry()`] records the missing ones, see [`ALL_KINDS`]). The `testing` feature
//! adds the conformance suite.
//!
//! Sending without YAML: `SlackNotifier::new(webhook_url)`, `TeamsNotifier::new` and
//! `DiscordNotifier::new` build a notifier directly.
//!
//! Minimum supported Rust version: 1.89.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod action;
pub mod config;
pub mod delivery;
pub mod events;
pub mod http;
pub mod signature;
pub mod state;
pub mod template;
#[cfg(any(test, feature = "testing"))]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

#[cfg(feature = "azure_devops")]
#[cfg_attr(docsrs, doc(cfg(feature = "azure_devops")))]
pub mod azure_devops;
#[cfg(feature = "datadog")]
#[cfg_attr(docsrs, doc(cfg(feature = "datadog")))]
pub mod datadog;
#[cfg(feature = "discord")]
#[cfg_attr(docsrs, doc(cfg(feature = "discord")))]
pub mod discord;
#[cfg(feature = "email")]
#[cfg_attr(docsrs, doc(cfg(feature = "email")))]
pub mod email;
#[cfg(feature = "github_projects")]
#[cfg_attr(docsrs, doc(cfg(feature = "github_projects")))]
pub mod github_projects;
#[cfg(feature = "jira")]
#[cfg_attr(docsrs, doc(cfg(feature = "jira")))]
pub mod jira;
#[cfg(feature = "linear")]
#[cfg_attr(docsrs, doc(cfg(feature = "linear")))]
pub mod linear;
#[cfg(feature = "new_relic")]
#[cfg_attr(docsrs, doc(cfg(feature = "new_relic")))]
pub mod new_relic;
#[cfg(feature = "opsgenie")]
#[cfg_attr(docsrs, doc(cfg(feature = "opsgenie")))]
pub mod opsgenie;
#[cfg(feature = "pagerduty")]
#[cfg_attr(docsrs, doc(cfg(feature = "pagerduty")))]
pub mod pagerduty;
#[cfg(feature = "sentry")]
#[cfg_attr(docsrs, doc(cfg(feature = "sentry")))]
pub mod sentry;
#[cfg(feature = "slack")]
#[cfg_attr(docsrs, doc(cfg(feature = "slack")))]
pub mod slack;
#[cfg(feature = "teams")]
#[cfg_attr(docsrs, doc(cfg(feature = "teams")))]
pub mod teams;
#[cfg(feature = "webhooks")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub mod webhooks;

pub use delivery::{
    Delivery, DeliveryReport, DeliveryRequest, DeliveryStatus, Notifications, Route,
};
pub use flowspec_core::notifier::NotifierRegistry;

use flowspec_core::notifier::NotifierFactory;

/// The built-in notifier kinds: one line each.
pub const BUILTIN: &[&dyn NotifierFactory] = &[
    #[cfg(feature = "slack")]
    &slack::Factory,
    #[cfg(feature = "teams")]
    &teams::Factory,
    #[cfg(feature = "discord")]
    &discord::Factory,
    #[cfg(feature = "email")]
    &email::Factory,
    #[cfg(feature = "webhooks")]
    &webhooks::Factory,
    #[cfg(feature = "jira")]
    &jira::Factory,
    #[cfg(feature = "linear")]
    &linear::Factory,
    #[cfg(feature = "azure_devops")]
    &azure_devops::Factory,
    #[cfg(feature = "github_projects")]
    &github_projects::Factory,
    #[cfg(feature = "pagerduty")]
    &pagerduty::Factory,
    #[cfg(feature = "opsgenie")]
    &opsgenie::Factory,
    #[cfg(feature = "datadog")]
    &datadog::Factory,
    #[cfg(feature = "new_relic")]
    &new_relic::Factory,
    #[cfg(feature = "sentry")]
    &sentry::Factory,
    // Add new kinds here, one line each (and `pub mod <kind>;` above).
];

/// Every built-in notifier kind, whether compiled in or not: each is behind the crate
/// feature of the same name (`email` behind `email`), so a build without one can still
/// say which feature a configured kind needs ([`registry()`] records the missing ones).
pub const ALL_KINDS: &[&str] = &[
    "slack",
    "teams",
    "discord",
    "email",
    "webhooks",
    "jira",
    "linear",
    "azure_devops",
    "github_projects",
    "pagerduty",
    "opsgenie",
    "datadog",
    "new_relic",
    "sentry",
];

/// The built-in kinds ([`BUILTIN`]) as a registry, to which an embedder adds its own.
/// The kinds of [`ALL_KINDS`] compiled out of this build are recorded as such, so
/// configuring one says which crate feature it needs.
///
/// ```
/// let registry = flowspec_notify::registry();
/// assert!(registry.get("slack").is_some());
/// assert!(registry.kinds().contains(&"pagerduty"));
/// ```
pub fn registry() -> NotifierRegistry {
    ALL_KINDS
        .iter()
        .fold(NotifierRegistry::from_static(BUILTIN), |registry, kind| {
            registry.not_built_in(
                kind,
                format!("the `{kind}` notifier is not built in: enable the crate feature `{kind}`"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_have_unique_snake_case_kinds() {
        let mut kinds: Vec<&str> = BUILTIN.iter().map(|f| f.kind()).collect();
        for kind in &kinds {
            assert!(
                kind.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "`{kind}` is not snake_case"
            );
        }
        let n = kinds.len();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), n, "kinds must be unique");
    }

    #[test]
    fn should_list_every_builtin_kind_in_all_kinds() {
        for factory in BUILTIN {
            assert!(ALL_KINDS.contains(&factory.kind()), "{}", factory.kind());
        }
    }

    #[cfg(not(feature = "email"))]
    #[test]
    fn should_name_the_feature_of_a_compiled_out_kind() {
        let root =
            flowspec_core::config::Node::parse("integrations:\n  email:\n    enabled: true\n")
                .unwrap();
        let vars = flowspec_core::config::Vars::from_pairs::<&str, &str>([]);
        let err = config::parse(
            root.get("integrations"),
            None,
            None,
            None,
            &vars,
            &registry(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("the `email` notifier is not built in: enable the crate feature `email`"),
            "{err}"
        );
    }

    #[test]
    fn should_parse_every_example() {
        for factory in BUILTIN {
            let root = flowspec_core::config::Node::parse(factory.example_yaml())
                .unwrap_or_else(|e| panic!("{}: {e}", factory.kind()));
            let vars = flowspec_core::config::Vars::from_pairs(
                factory.secrets().iter().map(|s| (s.env, s.example)),
            );
            let config = config::parse(
                root.get("integrations"),
                root.get("notifications"),
                None,
                None,
                &vars,
                &registry(),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", factory.kind()));
            assert!(
                config.integrations.iter().any(|i| i.kind == factory.kind()),
                "{}: the example must configure its own kind",
                factory.kind()
            );
        }
    }

    #[tokio::test]
    async fn should_pass_the_conformance_suite() {
        for factory in registry().iter() {
            testing::Conformance::new(factory.clone()).run().await;
        }
    }
}
