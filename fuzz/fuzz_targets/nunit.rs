//! NUnit 3 and NUnit 2.5 XML as the NUnit reader reads it.
#![no_main]

mod common;

use flowspec_results::junit::Limits;
use libfuzzer_sys::fuzz_target;

use flowspec_results::nunit::NunitReader;

fuzz_target!(|data: &[u8]| {
    let mut reader = NunitReader::new(data, Limits::default());
    common::drain(|| reader.next_case());
});
