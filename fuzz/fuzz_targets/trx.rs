//! .NET TRX (`dotnet test --logger trx`) as the TRX reader reads it.
#![no_main]

mod common;

use flowspec_results::junit::Limits;
use libfuzzer_sys::fuzz_target;

use flowspec_results::trx::TrxReader;

fuzz_target!(|data: &[u8]| {
    let mut reader = TrxReader::new(data, Limits::default());
    common::drain(|| reader.next_case());
});
