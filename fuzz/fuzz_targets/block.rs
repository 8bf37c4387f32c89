//! Any bytes as a block a client sends (POST's article) and as an answer a server sends, cut
//! at any point: the readers never panic, never keep more than their cap, and agree on where
//! a block ends.
#![no_main]
use libfuzzer_sys::fuzz_target;
use listnews::protocol::block::{BlockReader, Fed};
use listnews::protocol::client;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, data)) = data.split_first() else { return };
    let cut = (cut as usize).min(data.len());
    let mut reader = BlockReader::new(1024);
    let first = reader.feed(&data[..cut]);
    let fed = match first {
        Fed::Done { .. } => first,
        _ => reader.feed(&data[cut..]),
    };
    if let Fed::Done { used } = fed {
        assert!(used <= data.len());
        // The client reader finds the end too, and the same block when it fitted.
        let read = client::read_block(&mut &data[..], 1 << 20).expect("the client reader finds the end too");
        if let Some(text) = reader.into_text() {
            assert!(text.len() <= 1024);
            assert_eq!(read, text);
        }
    }
});
