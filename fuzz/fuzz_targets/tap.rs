//! TAP 12/13/14 output (YAML diagnostics, subtests, `Bail out!`) as the TAP reader reads it.
#![no_main]

mod common;

use flowspec_results::junit::Limits;
use libfuzzer_sys::fuzz_target;

use flowspec_results::tap::TapReader;

fuzz_target!(|data: &[u8]| {
    let mut reader = TapReader::new(data, Limits::default());
    common::drain(|| reader.next_case());
});
