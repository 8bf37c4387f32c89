//! Any bytes as a PROXY protocol header: parsed, incomplete or invalid, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use listnews::protocol::proxy::{ProxyHeader, parse};

fuzz_target!(|data: &[u8]| {
    if let ProxyHeader::Parsed { len, .. } = parse(data) {
        assert!(len <= data.len());
    }
});
