//! Jest `--json`, mocha JSON, RSpec JSON and `dart test --reporter json`: the first
//! byte chooses the reader, the rest is the file.
#![no_main]

mod common;

use flowspec_results::junit::Limits;
use libfuzzer_sys::fuzz_target;

use flowspec_results::dart::DartReader;
use flowspec_results::json_reports::{read_jest, read_mocha, read_rspec};

fuzz_target!(|data: &[u8]| {
    let Some((&which, file)) = data.split_first() else {
        return;
    };
    let limits = Limits::default();
    let read = match which % 4 {
        0 => read_jest(file, limits),
        1 => read_mocha(file, limits),
        2 => read_rspec(file, limits),
        _ => {
            let mut reader = DartReader::new(file, limits);
            common::drain(|| reader.next_case());
            return;
        }
    };
    if let Ok(cases) = read {
        let mut cases = cases.into_iter();
        common::drain(|| Ok(cases.next()));
    }
});
