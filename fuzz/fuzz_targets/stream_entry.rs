//! Stream entries as `flowspec subscribe` reads them: anyone who can write to the Redis
//! stream chooses the fields and their bytes.
#![no_main]

use flowspec_transport::Entry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Fields split on 0xff: name, value, name, value...
    let parts: Vec<&[u8]> = data.split(|b| *b == 0xff).collect();
    let fields = parts
        .chunks(2)
        .map(|kv| {
            let name = String::from_utf8_lossy(kv[0]).into_owned();
            (name, kv.get(1).map_or_else(Vec::new, |v| v.to_vec()))
        })
        .collect();
    let entry = Entry { id: "1-0".into(), fields: Some(fields) };
    if let Ok(event) = entry.event() {
        // What a subscriber runs is an event that reads back unchanged.
        let json = event.to_json();
        assert_eq!(flowspec_core::Event::from_json(json.clone()).unwrap().to_json(), json);
    }
});
