//! Connection caps, the PROXY protocol and stalled handshakes.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::*;
use crate::kit::*;

/// What a refused connection gets: one `400` line (read as the greeting), then the close.
fn assert_refused(mut c: Client, what: &str) {
    assert!(c.greeting.starts_with("400 "), "{what}: {}", c.greeting);
    c.set_timeout(5);
    c.assert_closed(what);
}

/// Waits up to `secs` for the server to close `stream` without sending anything; returns
/// how long that took.
fn closed_within(stream: &mut impl Read, secs: u64) -> Result<Duration, String> {
    let t = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(t.elapsed()),
            Ok(n) => return Err(format!("unexpected bytes {:?}", String::from_utf8_lossy(&buf[..n]))),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(t.elapsed()),
            Err(e) if t.elapsed() < Duration::from_secs(secs) && e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("still open after {:?} ({e})", t.elapsed())),
        }
    }
}

/// `max_connections_per_ip`: the connection over the cap gets 400 and is closed, plain and
/// TLS listeners count together, the others keep working, a slot frees when one leaves.
/// `max_connections`: the same for the total.
#[test]
fn connection_limits() {
    let Secure { cert: _, archive: _, server, config } = secure_server("max_connections_per_ip = 2\n");
    let mut c1 = Client::connect(server.addr);
    let mut c2 = Client::tls(server.tls_addrs[0], &config);
    assert!(c1.greeting.starts_with("201") && c2.greeting.starts_with("201"));
    assert_refused(Client::connect(server.addr), "third plain connection from 127.0.0.1");
    assert_refused(Client::tls(server.tls_addrs[0], &config), "third connection, over TLS");
    c1.expect("DATE", 111); // "earlier connections keep working"
    c2.expect("DATE", 111);
    c2.expect("QUIT", 205);
    drop(c2);
    assert!(
        wait_until(5, || Client::connect(server.addr).greeting.starts_with("201")),
        "a slot frees when a client leaves"
    );
    drop(server);

    let archive = secure_archive("max_connections = 2\n", None);
    let server = archive.serve();
    let mut c1 = Client::connect(server.addr);
    let c2 = Client::connect(server.addr);
    assert!(c1.greeting.starts_with("201") && c2.greeting.starts_with("201"));
    assert_refused(Client::connect(server.addr), "third connection with max_connections = 2");
    c1.expect("GROUP example.list-0", 211);
    drop(c2);
    assert!(wait_until(5, || Client::connect(server.addr).greeting.starts_with("201")), "a slot frees");
}

/// A config with these plain listeners (port 0: any), this TLS one, and the PROXY protocol
/// on `proxied` ports.
fn listeners(text: &str, plain: &[u16], tls: Option<u16>, proxied: &[u16]) -> String {
    let list = |ports: &[u16]| ports.iter().map(|p| format!("\"127.0.0.1:{p}\"")).collect::<Vec<_>>().join(", ");
    let mut server = format!("listen = [{}]\nproxy_protocol = [{}]", list(plain), list(proxied));
    if let Some(tls) = tls {
        server.push_str(&format!("\nlisten_tls = [{}]", list(&[tls])));
    }
    text.replacen("listen = [\"127.0.0.1:0\"]", &server, 1).replacen("listen_tls = [\"127.0.0.1:0\"]\n", "", 1)
}

fn proxy_v1(src: &str, dst_port: u16) -> Vec<u8> {
    format!("PROXY TCP4 {src} 127.0.0.1 40000 {dst_port}\r\n").into_bytes()
}

fn proxy_v2(src: [u8; 4], dst_port: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend_from_slice(&[0x21, 0x11, 0, 12]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&[127, 0, 0, 1]);
    h.extend_from_slice(&40000u16.to_be_bytes());
    h.extend_from_slice(&dst_port.to_be_bytes());
    h
}

/// A connection to the proxied listener that has sent `header` (and `after`, in the same write).
fn proxied_raw(addr: SocketAddr, header: &[u8], after: &[u8]) -> TcpStream {
    let mut sock = tcp(addr);
    sock.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    sock.write_all(&[header, after].concat()).expect("write");
    sock
}

/// [`proxied_raw`], greeted.
fn proxied(addr: SocketAddr, header: &[u8], after: &[u8]) -> Client {
    Client::over(Io::Plain(proxied_raw(addr, header, after)))
}

/// PROXY v1 and v2 on a listener marked for it: the per-IP cap counts the address in the
/// header, bytes after the header are commands, a malformed header closes the connection.
#[test]
fn proxy_protocol_addresses_and_caps() {
    let [port, tls_port] = free_ports();
    let cert = TestCert::new("a");
    let mut archive = secure_archive("max_connections_per_ip = 1\n", Some(&cert));
    archive.edit_config(|text| listeners(&text, &[port], Some(tls_port), &[port, tls_port]));
    let server = archive.serve();
    let (addr, tls_addr) = (server.addr, server.tls_addrs[0]);
    assert_eq!((addr.port(), tls_addr.port()), (port, tls_port));
    let config = client_config(&[&cert]);

    // v1 from 192.0.2.1, with a command right behind the header in the same write.
    let mut a = proxied(addr, &proxy_v1("192.0.2.1", port), b"DATE\r\n");
    assert!(a.greeting.starts_with("201 "), "{}", a.greeting);
    a.status(111); // the command after the header is read as a command
    // v2 from 198.51.100.7: its own quota, though every TCP peer here is 127.0.0.1.
    let mut b = proxied(addr, &proxy_v2([198, 51, 100, 7], port), b"");
    assert!(b.greeting.starts_with("201 "), "{}", b.greeting);
    b.expect("GROUP example.list-0", 211);
    // A second connection from each of those addresses is over the cap of 1.
    assert_refused(proxied(addr, &proxy_v1("192.0.2.1", port), b""), "second v1 connection from 192.0.2.1");
    assert_refused(proxied(addr, &proxy_v2([198, 51, 100, 7], port), b""), "second v2 connection from 198.51.100.7");
    // A third address (v1, then v2 from yet another) is admitted.
    let c = proxied(addr, &proxy_v2([203, 0, 113, 9], port), b"");
    assert!(c.greeting.starts_with("201 "), "{}", c.greeting);
    let d = proxied(addr, &proxy_v1("203.0.113.10", port), b"");
    assert!(d.greeting.starts_with("201 "), "{}", d.greeting);

    // On the TLS listener the header comes first, then the handshake; the cap is shared
    // with the plain listener and counts the proxied address.
    let tls_via_proxy = |src: [u8; 4]| {
        let mut sock = tcp(tls_addr);
        sock.write_all(&proxy_v2(src, tls_port)).expect("header");
        Client::over(Io::Tls(handshake(sock, &config).expect("TLS handshake after the PROXY header")))
    };
    let mut e = tls_via_proxy([192, 0, 2, 50]);
    assert!(e.greeting.starts_with("201 "), "{}", e.greeting);
    e.login_ok(ALICE); // AUTHINFO under TLS behind the proxy
    assert_refused(tls_via_proxy([192, 0, 2, 1]), "TLS connection from 192.0.2.1, which has a plain one");

    // Malformed headers: closed without a greeting.
    for (bad, what) in [
        (b"GROUP example.list-0\r\n".to_vec(), "no header at all"),
        (b"PROXY TCP4 not-an-address 127.0.0.1 1 2\r\n".to_vec(), "bad v1 address"),
        (b"PROXY TCP4 ::1 127.0.0.1 1 2\r\n".to_vec(), "v1 family mismatch"),
        ([b"\r\n\r\n\0\r\nQUIT\n".as_slice(), &[0x11, 0x11, 0, 0]].concat(), "v2 bad version"),
        ([b"PROXY ".as_slice(), &[b'x'; 200], b"\r\n"].concat(), "v1 too long"),
    ] {
        let mut sock = proxied_raw(addr, &bad, b"");
        closed_within(&mut sock, 5).unwrap_or_else(|e| panic!("{what}: {e}"));
    }

    // The admitted connections still work; leaving frees the proxied address's slot.
    a.expect("DATE", 111);
    b.expect("QUIT", 205);
    drop(b);
    assert!(
        wait_until(5, || { proxied(addr, &proxy_v2([198, 51, 100, 7], port), b"").greeting.starts_with("201") }),
        "198.51.100.7's slot frees"
    );
}

/// A client that connects and then stalls (no TLS ClientHello on the NNTPS listener, none
/// after `382`, no PROXY header) is cut off like the implicit-TLS handshake is (10 s in the
/// server), rather than holding its connection slot forever.
#[test]
fn stalled_handshakes_are_cut_off() {
    let [proxy_port] = free_ports();
    let cert = TestCert::new("a");
    let mut archive = secure_archive("", Some(&cert));
    archive.edit_config(|text| listeners(&text, &[0, proxy_port], Some(0), &[proxy_port]));
    let server = archive.serve();
    let proxy_addr = SocketAddr::from(([127, 0, 0, 1], proxy_port));

    // Each stalled client waits up to 14 s for the server to close; returns how long it took.
    let stall = |mut sock: TcpStream| {
        sock.set_read_timeout(Some(Duration::from_secs(14))).expect("timeout");
        closed_within(&mut sock, 14)
    };
    let (implicit, starttls, proxy) = std::thread::scope(|s| {
        let implicit = s.spawn(|| stall(tcp(server.tls_addrs[0])));
        let starttls = s.spawn(|| {
            let mut c = Client::connect(server.addr);
            c.expect("STARTTLS", 382);
            let Io::Plain(sock) = c.take_io() else { unreachable!("a plain connection") };
            stall(sock)
        });
        let proxy = s.spawn(|| stall(tcp(proxy_addr)));
        (implicit.join().unwrap(), starttls.join().unwrap(), proxy.join().unwrap())
    });
    println!("stalled: implicit TLS {implicit:?}, after STARTTLS {starttls:?}, PROXY header {proxy:?}");
    assert!(implicit.is_ok(), "no ClientHello on the NNTPS listener: {implicit:?}");
    assert!(proxy.is_ok(), "no PROXY header: {proxy:?}");
    assert!(starttls.is_ok(), "no ClientHello after 382: {starttls:?}");
}

/// At shutdown every client waiting for its next command, idle or between commands, hears
/// `400 Server shutting down` before the close (idle sessions wait on the server's shared
/// idle clock, which fires at shutdown; the clock's timeouts are tested in `server::idle`).
#[test]
fn idle_sessions_hear_of_shutdown() {
    let (_archive, server) = sample_server();
    let mut idle = server.client();
    let mut busy = server.client();
    for c in [&mut idle, &mut busy] {
        c.set_timeout(10);
    }
    busy.expect("GROUP example.list-0", 211);
    busy.expect("DATE", 111);
    drop(server);
    for (c, who) in [(&mut idle, "an idle client"), (&mut busy, "a client between commands")] {
        let line = c.line();
        assert!(line.starts_with("400 Server shutting down"), "{who} at shutdown: {line}");
        c.assert_closed("after shutdown");
    }
}
