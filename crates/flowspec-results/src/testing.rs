//! Proptest strategies for report models (feature `proptest`): valid test cases
//! whose JUnit XML round trip is exact.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use crate::model::{FailureDetail, FailureKind, Property, Rerun, RerunKind, Status, TestCase};

/// Text without XML-invalid characters, trimmed, possibly multi-line, with
/// characters that need escaping.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 <>&\"'\\n\\t:./()\\[\\]{}=é€😀-]{1,60}".prop_map(|s| {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            "x".to_owned()
        } else {
            trimmed.to_owned()
        }
    })
}

/// A single line (names, messages of attributes).
fn line() -> impl Strategy<Value = String> {
    text()
        .prop_map(|s| s.replace(['\n', '\t'], " ").trim().to_owned())
        .prop_filter("non-empty", |s| !s.is_empty())
}

fn failure() -> impl Strategy<Value = FailureDetail> {
    (
        prop_oneof![Just(FailureKind::Failure), Just(FailureKind::Error)],
        option::of(line()),
        text(),
        option::of(text()),
    )
        .prop_map(|(kind, failure_type, message, stack)| FailureDetail {
            kind,
            failure_type,
            message: Some(message),
            stack,
        })
}

fn rerun(flaky: bool) -> impl Strategy<Value = Rerun> {
    let kinds = if flaky {
        prop_oneof![Just(RerunKind::FlakyFailure), Just(RerunKind::FlakyError)].boxed()
    } else {
        prop_oneof![Just(RerunKind::RerunFailure), Just(RerunKind::RerunError)].boxed()
    };
    (kinds, option::of(line()), text(), option::of(text())).prop_map(
        |(kind, failure_type, message, stack)| Rerun {
            kind,
            failure_type,
            message: Some(message),
            stack,
        },
    )
}

/// A valid test case of `suite`, named `name`: its status, failure, reruns and
/// attempts agree the way a JUnit report lets them.
pub fn test_case(suite: String, name: String) -> impl Strategy<Value = TestCase> {
    let outcome = prop_oneof![
        Just((Status::Passed, None, Vec::new())).boxed(),
        vec(rerun(true), 1..3)
            .prop_map(|r| (Status::Passed, None, r))
            .boxed(),
        (failure(), vec(rerun(false), 0..3))
            .prop_map(|(f, r)| (f.kind.status(), Some(f), r))
            .boxed(),
        Just((Status::Skipped, None, Vec::new())).boxed(),
    ];
    (
        outcome,
        option::of(line()),
        option::of(0u32..100_000u32),
        option::of(line()),
        option::of(1u32..5000),
        option::of(text()),
        option::of(text()),
        vec((line(), line()), 0..3),
        option::of(line()),
    )
        .prop_map(
            move |(
                (status, failure, reruns),
                classname,
                millis,
                file,
                line,
                out,
                err,
                props,
                skip,
            )| {
                let mut case = TestCase::new(suite.clone(), name.clone());
                case.flaky = status == Status::Passed && !reruns.is_empty();
                case.attempts = 1 + reruns.len() as u32;
                case.status = status;
                case.failure = failure;
                case.reruns = reruns;
                case.classname = classname;
                case.time = millis.map(|m| m as f64 / 1000.0);
                case.line = file.as_ref().and(line);
                case.file = file;
                case.system_out = out;
                case.system_err = err;
                case.properties = props
                    .into_iter()
                    .map(|(name, value)| Property { name, value })
                    .collect();
                case.skip_message = if status == Status::Skipped {
                    skip
                } else {
                    None
                };
                case
            },
        )
}

/// Suites (name, cases) with unique suite names and unique case names per suite.
pub fn suites() -> impl Strategy<Value = Vec<(String, Vec<TestCase>)>> {
    vec(1usize..6, 1..4).prop_flat_map(|sizes| {
        sizes
            .into_iter()
            .enumerate()
            .map(|(s, n)| {
                let suite = format!("suite{s}");
                let cases: Vec<_> = (0..n)
                    .map(|c| test_case(suite.clone(), format!("case{c}")))
                    .collect();
                (Just(suite), cases)
            })
            .collect::<Vec<_>>()
    })
}
