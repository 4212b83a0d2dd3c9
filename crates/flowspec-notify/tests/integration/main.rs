//! Integration tests of flowspec-notify: one module per service.

mod service_support;

mod azure_devops;
mod datadog;
mod github_projects;
mod jira;
mod linear;
mod new_relic;
mod opsgenie;
mod pagerduty;
mod sentry;
