//! A pattern and a text (split at the first NUL): matching never panics or runs away.
#![no_main]
use libfuzzer_sys::fuzz_target;
use listnews::protocol::Wildmat;

fuzz_target!(|data: &[u8]| {
    let (pattern, text) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let pattern = String::from_utf8_lossy(pattern);
    let text = String::from_utf8_lossy(text);
    let _ = Wildmat::parse(&pattern).matches(&text);
    let _ = Wildmat::simple(&pattern).matches(&text);
});
