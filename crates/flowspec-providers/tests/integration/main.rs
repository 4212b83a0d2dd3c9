//! Integration tests of the providers against wiremock servers that follow
//! `contracts.md`: one module per platform.

mod support;

mod circleci;
mod custom;
mod jenkins;
