//! COMPRESS DEFLATE (RFC 8054).

use super::*;
use crate::kit::*;

fn check_compressed_session(c: &mut Client, group: &str) {
    let caps = c.capabilities();
    assert!(!caps.iter().any(|c| c.starts_with("COMPRESS")), "not advertised once active: {caps:?}");
    assert!(caps.iter().any(|c| c == "READER"), "{caps:?}");
    assert_eq!(c.expect(&format!("GROUP {group}"), 211), format!("211 3 1 3 {group}"));
    let (_, over) = c.expect_text("XOVER 1-", 224);
    assert_eq!(over.len(), 3, "{over:?}");
    assert!(over[2].contains("<cross-1@sec.example>"), "{over:?}");
    let (_, article) = c.expect_text("ARTICLE 3", 220);
    assert_eq!(article.last().map(String::as_str), Some("to both lists"), "{article:?}");
    // Many pipelined commands in one compressed write, answered in order.
    let mut batch = String::new();
    for _ in 0..50 {
        batch.push_str("STAT 1\r\nDATE\r\n");
    }
    c.send(batch.as_bytes());
    for _ in 0..50 {
        c.status(223);
        c.status(111);
    }
    c.expect("COMPRESS DEFLATE", 502); // "already active"
    c.expect("STARTTLS", 502); // "no STARTTLS under compression"
}

/// COMPRESS DEFLATE (RFC 8054): 503 for another algorithm, 206, then raw DEFLATE both ways
/// with every response flushed (each is read without sending anything more), 502 once
/// active; over plain TCP and over TLS after AUTHINFO.
#[test]
fn compress_deflate_over_plain_and_tls() {
    let cert = TestCert::new("a");
    let archive = secure_archive("", Some(&cert));
    let server = archive.serve();

    let mut c = Client::connect(server.addr);
    c.set_timeout(10);
    let caps = c.capabilities();
    assert!(has(&caps, "COMPRESS DEFLATE"), "{caps:?}");
    c.expect("COMPRESS ZLIB", 503); // "an unknown algorithm"
    c.expect("DATE", 111); // "still uncompressed after 503"
    c.compress();
    check_compressed_session(&mut c, "example.list-0");
    // The private group still asks for authentication under compression.
    c.expect("GROUP example.list-1", 480);
    c.expect("QUIT", 205);
    c.assert_closed("after QUIT");

    let mut c = Client::tls(server.tls_addrs[0], &client_config(&[&cert]));
    c.set_timeout(10);
    assert_eq!(code(&c.login(ALICE)), 281);
    c.compress();
    check_compressed_session(&mut c, "example.list-1");
    c.expect("QUIT", 205);

    // STARTTLS, then COMPRESS on the plain listener.
    let mut c = Client::connect(server.addr);
    c.set_timeout(10);
    c.starttls(&client_config(&[&cert]));
    c.compress();
    check_compressed_session(&mut c, "example.list-0");
}

/// `max_compressed_connections`: past it COMPRESS gets 403 (RFC 8054: unable to activate) and
/// the session goes on uncompressed; a slot frees when a compressed client leaves.
#[test]
fn compressed_connections_are_capped() {
    let Secure { archive: _, server, .. } = secure_server("max_compressed_connections = 1\n");
    let mut first = Client::connect(server.addr);
    first.compress();
    let mut second = Client::connect(server.addr);
    assert_eq!(
        second.expect("COMPRESS DEFLATE", 403),
        "403 Unable to activate compression: too many compressed connections"
    );
    second.expect("GROUP example.list-0", 211); // still plain
    first.expect("QUIT", 205);
    drop(first);
    assert!(
        wait_until(5, || {
            let mut c = Client::connect(server.addr);
            c.send(b"COMPRESS DEFLATE\r\n");
            code(&c.line()) == 206
        }),
        "the slot frees when the compressed client leaves"
    );
}
