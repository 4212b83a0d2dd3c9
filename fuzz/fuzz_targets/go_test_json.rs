//! `go test -json` output (test2json events) as the Go test reader reads it.
#![no_main]

mod common;

use flowspec_results::junit::Limits;
use libfuzzer_sys::fuzz_target;

use flowspec_results::gotest::GoTestReader;

fuzz_target!(|data: &[u8]| {
    let mut reader = GoTestReader::new(data, Limits::default());
    common::drain(|| reader.next_case());
});
