//! Any bytes as a mail message: it is either refused with a reason, or normalised into a
//! wire form that obeys RFC 3977 (CRLF only, dot-stuffed, a blank line after the head) with
//! an overview line of exactly seven fields.
#![no_main]
use libfuzzer_sys::fuzz_target;
use listnews::import::message::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = Message::parse(data) else { return };
    let w = msg.wire();
    assert!(w.wire.ends_with(b"\r\n"));
    assert_eq!(&w.wire[w.header_len..w.header_len + 2], b"\r\n");
    for (i, &b) in w.wire.iter().enumerate() {
        assert_ne!(b, 0, "NUL in wire form");
        if b == b'\n' {
            assert!(i > 0 && w.wire[i - 1] == b'\r', "bare LF");
        }
        if b == b'\r' {
            assert_eq!(w.wire.get(i + 1), Some(&b'\n'), "bare CR");
        }
    }
    for line in w.wire.split(|&b| b == b'\n') {
        assert!(line != b".\r" , "an unstuffed lone dot would end the article early");
    }
    assert_eq!(w.overview.split(|&b| b == b'\t').count(), 7);
    assert!(!w.overview.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0));
    assert!(listnews::protocol::command::is_message_id(&w.message_id), "{}", w.message_id);
});
