//! xUnit.net v2 XML as the xUnit reader reads it.
#![no_main]

mod common;

use flowspec_results::junit::Limits;
use libfuzzer_sys::fuzz_target;

use flowspec_results::xunit::XunitReader;

fuzz_target!(|data: &[u8]| {
    let mut reader = XunitReader::new(data, Limits::default());
    common::drain(|| reader.next_case());
});
