//! # flowspec-providers
//!
//! One `CiProvider` per CI platform, each in its own file with the same shape
//! (`XConfig`, `XProvider`, a `Factory` registered in `BUILTIN`):
//!
//! | module | platform |
//! |---|---|
//! | `github` | GitHub Actions (github.com and Enterprise), via octocrab |
//! | `gitlab` | GitLab CI (gitlab.com and self-hosted), via the gitlab crate |
//! | `jenkins` | Jenkins remote access API |
//! | `circleci` | CircleCI API v2 |
//! | `custom` | any HTTP CI described by URL templates and JSON pointers |
//!
//! The trait lives in `flowspec-core`; HTTP goes through `flowspec-http`.
//! (The providers arrive with the CI issue; this crate reserves their place.)
#![deny(missing_docs)]
