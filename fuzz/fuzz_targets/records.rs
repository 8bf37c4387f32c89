//! Any bytes as each kind of store record (article record, group counters, Message-ID entry,
//! checkpoint, set-aside message, thread node, log tail, overview block): a damaged store
//! gives errors, never a panic or an allocation the bytes do not justify.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = listnews::store::decode_any_record(data);
    assert!(decoded <= 10);
});
