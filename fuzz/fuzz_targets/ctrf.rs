//! CTRF JSON as the CTRF reader reads it.
#![no_main]

mod common;

use flowspec_results::junit::Limits;
use libfuzzer_sys::fuzz_target;

use flowspec_results::ctrf::CtrfReader;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut reader) = CtrfReader::new(data, Limits::default()) {
        let _ = reader.tool();
        let _ = reader.count_mismatch().map(ToString::to_string);
        common::drain(|| Ok(reader.next_case()));
    }
});
