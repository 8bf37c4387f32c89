//! Any bytes as each kind of store record (article record, group counters, Message-ID record
//! and the two it merged, checkpoint, set-aside message, log tail, overview block): a damaged store
//! gives errors, never a panic or an allocation the bytes do not justify.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = listnews::store::decode_any_record(data);
    assert!(decoded <= 11);
});
