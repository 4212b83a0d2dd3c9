//! # flowspec-results
//!
//! CI results for [flowspec](https://github.com/flowspec/flowspec): test reports and
//! coverage read into one normalized model, stored per CI run, and analysed for
//! flaky and broken tests.
//!
//! ## Overview
//! - [`junit::JunitReader`]: a streaming JUnit XML parser (quick-xml pull parser, no
//!   DOM) for the dialects people really produce — Maven Surefire/Failsafe, Gradle,
//!   pytest, Jest, Mocha, Go, cargo-nextest, PHPUnit, .NET — in constant memory,
//!   refusing entity expansion, keeping what it read before a syntax error.
//! - [`trx::TrxReader`] (.NET TRX: MSTest, xUnit and NUnit adapters) and
//!   [`gotest::GoTestReader`] (`go test -json`), [`nunit::NunitReader`] (NUnit 3
//!   and 2.5 XML) and [`xunit::XunitReader`] (xUnit.net v2 XML), streamed the same
//!   way; each file's format is detected from its content ([`Format::sniff`]).
//! - [`tap::TapReader`]: TAP 13/14 output (YAML diagnostics, subtests, `Bail out!`).
//! - [`json_reports`]: Jest `--json`, mocha's and RSpec's JSON reports;
//!   [`dart::DartReader`]: `dart test --reporter json` events.
//! - [`ctrf`]: CTRF JSON, read ([`ctrf::stream`], [`ctrf::CtrfReader`]) and written ([`ctrf::write`]).
//! - [`coverage`]: Cobertura XML, LCOV, JaCoCo XML and Go cover profiles, per file
//!   and in total.
//! - [`ReportBuilder`] → [`Report`]: several files into totals (a retry of a failed
//!   test merged into it, other repeats counted as executions of their own),
//!   failures, slowest tests, suites, coverage; warnings where a suite's declared
//!   counts disagree with its test cases.
//! - [`store::ResultsStore`]: runs, suites, cases and coverage in the flowspec store
//!   (SQLite or PostgreSQL), keyed by provider run id, attempt, commit and branch.
//! - [`flaky`]: flaky (failed and passed on one commit, or passed on a rerun) versus
//!   broken (always fails) tests over recent runs, ignoring outages.
//! - [`quarantine`]: known-flaky tests whose failures alone do not fail a check;
//!   [`auto_retry::AutoRetryPolicy`]: whether to retry a failed CI run.
//! - [`context::FailureContext`]: the Markdown/JSON bundle a fixer receives.
//! - [`ci`]: all of the above through any
//!   [`CiProvider`](flowspec_core::provider::CiProvider): fetch a run's report
//!   artifacts into the store, judge a failed run against the quarantine, retry the
//!   failed jobs of a flaky run (and the `retry_flaky:` hook action), gather the
//!   failure-context bundle.
//! - [`config::ResultsConfig`]: the `results:` section of `.flowspec/flowspec.yaml`.
//!
//! ## Example
//! ```
//! use flowspec_results::{ParseOptions, ReportBuilder};
//!
//! let xml = r#"<?xml version="1.0"?>
//! <testsuites>
//!   <testsuite name="com.example.CalcTest" tests="2">
//!     <testcase classname="com.example.CalcTest" name="adds" time="0.003"/>
//!     <testcase classname="com.example.CalcTest" name="divides" time="0,120">
//!       <failure message="expected: &lt;2&gt; but was: &lt;3&gt;"
//!                type="org.opentest4j.AssertionFailedError">at CalcTest.divides(CalcTest.java:14)</failure>
//!     </testcase>
//!   </testsuite>
//! </testsuites>"#;
//! let mut builder = ReportBuilder::new(ParseOptions::default());
//! builder.add_junit(xml.as_bytes(), "TEST-CalcTest.xml");
//! let report = builder.finish();
//! assert_eq!(report.totals.tests, 2);
//! assert_eq!(report.failures[0].message.as_deref(), Some("expected: <2> but was: <3>"));
//! assert_eq!(report.slowest[0].time, 0.12);
//! assert!(!report.partial);
//! ```
//!
//! ## Features
//! - `store` (default): everything that needs SQL or flowspec-core (which carries the
//!   store): [`store`], [`ci`], [`quarantine`], [`auto_retry`] and [`config`], and the
//!   `Store`/`Schema` variants of [`ResultsError`]. Without it
//!   (`default-features = false`) the crate is a pure report parser (readers, writers,
//!   [`ReportBuilder`], [`flaky`] analysis, [`context`]) with no SQL dependency.
//! - `proptest`: [`proptest`](https://docs.rs/proptest) strategies for report models
//!   (`testing` module), for round-trip tests of writers and readers.
//!
//! Minimum supported Rust version: 1.89.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

#[cfg(feature = "store")]
#[cfg_attr(docsrs, doc(cfg(feature = "store")))]
pub mod auto_retry;
#[cfg(feature = "store")]
#[cfg_attr(docsrs, doc(cfg(feature = "store")))]
pub mod ci;
#[cfg(feature = "store")]
#[cfg_attr(docsrs, doc(cfg(feature = "store")))]
pub mod config;
pub mod context;
pub mod coverage;
pub mod ctrf;
pub mod dart;
mod error;
pub mod flaky;
mod format;
pub mod gotest;
mod json_doc;
pub mod json_reports;
pub mod junit;
mod lines;
pub mod model;
pub mod nunit;
#[cfg(feature = "store")]
#[cfg_attr(docsrs, doc(cfg(feature = "store")))]
pub mod quarantine;
mod queue;
mod report;
#[cfg(feature = "store")]
#[cfg_attr(docsrs, doc(cfg(feature = "store")))]
pub mod store;
pub mod tap;
#[cfg(any(test, feature = "proptest"))]
pub mod testing;
pub mod trx;
mod xml;
pub mod xunit;

pub use error::{ParseError, ParseErrorKind, ResultsError};
pub use report::{CaseSink, FileResult, Format, ParseOptions, Report, ReportBuilder, find_reports};
