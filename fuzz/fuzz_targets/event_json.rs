//! Event JSON as `/events`, `flowspec emit --json` and the queue read it.
#![no_main]

use flowspec_core::Event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = Event::from_slice(data) {
        // What was accepted must survive the queue's round trip unchanged.
        let json = event.to_json();
        let again = Event::from_json(json.clone()).expect("an accepted event reads back");
        assert_eq!(again.to_json(), json);
    }
});
