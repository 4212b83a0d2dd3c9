//! Go cover profiles (`go test -coverprofile`) as the Go cover reader reads them.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

use flowspec_results::coverage::read_go_cover;

fuzz_target!(|data: &[u8]| {
    let parsed = read_go_cover(data);
    common::check_coverage(&parsed);
});
