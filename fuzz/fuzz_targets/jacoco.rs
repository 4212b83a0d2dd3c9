//! JaCoCo XML coverage as the JaCoCo reader reads it.
#![no_main]

mod common;

use flowspec_results::junit::Limits;
use libfuzzer_sys::fuzz_target;

use flowspec_results::coverage::read_jacoco;

fuzz_target!(|data: &[u8]| {
    let parsed = read_jacoco(data, Limits::default());
    common::check_coverage(&parsed);
});
