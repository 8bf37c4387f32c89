//! Any bytes as one command line: the parser answers Ok or an error, never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    let _ = listnews::protocol::command::parse(line);
    if let Ok(s) = std::str::from_utf8(line) {
        let _ = listnews::protocol::command::article_range(s);
    }
});
