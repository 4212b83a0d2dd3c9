//! # flowspec-notify
//!
//! One `Notifier` per service, each in its own file with the same shape
//! (`XConfig`, `XNotifier`, a `Factory` registered in `BUILTIN`): Slack, Microsoft
//! Teams, Discord, email (SMTP), Jira, Linear, Azure DevOps, GitHub Projects,
//! PagerDuty, Opsgenie, Datadog, New Relic, Sentry and signed webhooks.
//!
//! The trait lives in `flowspec-core`; HTTP goes through `flowspec-http`.
//! (The notifiers arrive with the notifications issue; this crate reserves their place.)
#![deny(missing_docs)]
