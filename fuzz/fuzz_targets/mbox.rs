//! Any bytes as an mbox, in both formats: every message comes out with offsets inside the
//! input, in order, and nothing panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use listnews::import::mbox::{MboxFormat, MboxReader};

fuzz_target!(|data: &[u8]| {
    for format in [MboxFormat::Mboxrd, MboxFormat::Mboxo] {
        let mut last = 0;
        for msg in MboxReader::new(data, format, 0) {
            let msg = msg.expect("reading from memory cannot fail");
            assert!(msg.start >= last && msg.end >= msg.start && msg.end <= data.len() as u64);
            assert!(msg.raw.len() as u64 <= msg.end - msg.start);
            last = msg.end;
        }
    }
});
