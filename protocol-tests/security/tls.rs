//! NNTPS, STARTTLS (RFC 4642) and the CVE-2011-0411 injection guard; nntplib over both.

use std::io::{ErrorKind, Read};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::kit::*;

/// NNTPS: the handshake verifies against the test CA, the session starts in TLS, STARTTLS is
/// neither advertised nor accepted, and AUTHINFO USER is offered.
#[test]
fn implicit_tls_listener() {
    let cert = TestCert::new("a");
    let archive = secure_archive("", Some(&cert));
    let server = archive.serve();
    assert_eq!(server.tls_addrs.len(), 1, "one TLS listener");
    let config = client_config(&[&cert]);

    let mut c = Client::tls(server.tls_addrs[0], &config);
    assert!(c.greeting.starts_with("201 "), "{}", c.greeting);
    assert_eq!(c.peer_cert().as_deref(), Some(cert.cert_der.as_ref()), "the configured certificate");
    assert!(c.tls_version().is_some());
    let caps = c.capabilities();
    assert!(!caps.iter().any(|c| c.starts_with("STARTTLS")), "{caps:?}");
    assert!(has(&caps, "AUTHINFO USER"), "{caps:?}");
    assert!(has(&caps, "COMPRESS DEFLATE"), "{caps:?}");
    c.expect("STARTTLS", 502); // "STARTTLS under TLS"
    let g = c.expect("GROUP example.list-0", 211);
    assert_eq!(g, "211 3 1 3 example.list-0");
    let (_, over) = c.expect_text("XOVER 1-", 224);
    assert_eq!(over.len(), 3, "{over:?}");
    c.expect("QUIT", 205);

    // A client that does not trust the CA cannot complete the handshake.
    let other = TestCert::new("stranger");
    let err = handshake(tcp(server.tls_addrs[0]), &client_config(&[&other]));
    assert!(err.is_err(), "a certificate from another CA must not verify");
    // The plain listener still speaks plaintext NNTP.
    let p = Client::connect(server.addr);
    assert!(p.greeting.starts_with("201 "), "{}", p.greeting);
}

/// STARTTLS (RFC 4642): 382, TLS, back to the just-greeted state, not advertised or accepted
/// again; AUTHINFO offered without USER before TLS and as AUTHINFO USER after.
#[test]
fn starttls_upgrades_and_resets_the_session() {
    let Secure { cert, archive: _, server, config } = secure_server("");

    let mut c = Client::connect(server.addr);
    let caps = c.capabilities();
    assert!(has(&caps, "STARTTLS"), "{caps:?}");
    assert!(has(&caps, "AUTHINFO"), "AUTHINFO without USER before TLS: {caps:?}");
    assert!(!has(&caps, "AUTHINFO USER"), "{caps:?}");
    assert_eq!(c.expect("GROUP example.list-0", 211), "211 3 1 3 example.list-0");
    c.expect("STAT", 223); // "an article is current before STARTTLS"

    c.starttls(&config);
    assert_eq!(c.peer_cert().as_deref(), Some(cert.cert_der.as_ref()));
    // RFC 4642 §2.2.2: no greeting again, and the state is that just after the greeting.
    c.expect("STAT", 412); // "no group selected after STARTTLS"
    let caps = c.capabilities();
    assert!(!has(&caps, "STARTTLS"), "STARTTLS not advertised under TLS: {caps:?}");
    assert!(has(&caps, "AUTHINFO USER"), "{caps:?}");
    c.expect("STARTTLS", 502); // "TLS already active"
    assert_eq!(code(&c.login(ALICE)), 281);
    assert_eq!(c.expect("GROUP example.list-1", 211), "211 3 1 3 example.list-1");
    let caps = c.capabilities();
    assert!(!caps.iter().any(|c| c.starts_with("AUTHINFO")), "no AUTHINFO once authenticated: {caps:?}");
    c.expect("QUIT", 205);
}

/// STARTTLS after a successful AUTHINFO (plaintext auth allowed) is 502; without a
/// certificate it is neither advertised nor possible (580).
#[test]
fn starttls_refused_after_authinfo_and_without_certificate() {
    let cert = TestCert::new("a");
    let archive = secure_archive("allow_plaintext_auth = true\n", Some(&cert));
    let server = archive.serve();
    let mut c = Client::connect(server.addr);
    let caps = c.capabilities();
    assert!(has(&caps, "AUTHINFO USER"), "plaintext auth allowed: {caps:?}");
    assert!(has(&caps, "STARTTLS"), "{caps:?}");
    assert_eq!(code(&c.login(ALICE)), 281, "AUTHINFO over plaintext when allowed");
    let caps = c.capabilities();
    assert!(!has(&caps, "STARTTLS"), "no STARTTLS after AUTHINFO: {caps:?}");
    c.expect("STARTTLS", 502); // "STARTTLS after AUTHINFO"
    assert_eq!(c.expect("GROUP example.list-1", 211), "211 3 1 3 example.list-1", "the session goes on");
    drop(server);

    let archive = secure_archive("", None);
    let server = archive.serve();
    let mut c = Client::connect(server.addr);
    let caps = c.capabilities();
    assert!(!has(&caps, "STARTTLS"), "no certificate, no STARTTLS: {caps:?}");
    c.expect("STARTTLS", 580); // "no certificate"
    c.expect("DATE", 111); // "the session goes on after 580"
}

/// After `382` with plaintext pipelined behind STARTTLS, a client that goes on with the TLS
/// handshake (the victim of CVE-2011-0411) must never see an answer to the injected
/// command, neither in plaintext nor under TLS: the server closes the connection.
fn assert_injection_refused(mut c: Client, config: &Arc<rustls::ClientConfig>, what: &str) {
    c.status(382);
    // No NNTP after 382: the server either closed (perhaps with a TLS alert, when it took the
    // injected line for a ClientHello) or awaits a ClientHello.
    let mut after = c.buffered().to_vec();
    let Io::Plain(mut tcp) = c.take_io() else { unreachable!("a plain connection") };
    tcp.set_read_timeout(Some(Duration::from_secs(1))).expect("timeout");
    let closed = loop {
        let mut tmp = [0u8; 4096];
        match tcp.read(&mut tmp) {
            Ok(0) => break true,
            Ok(n) => after.extend_from_slice(&tmp[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break false,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break true,
            Err(e) => panic!("{what}: {e}"),
        }
    };
    assert!(
        after.is_empty() || (closed && after[0] == 0x15),
        "{what}: after 382 the server sent {:?}",
        String::from_utf8_lossy(&after)
    );
    if closed {
        return;
    }
    tcp.set_read_timeout(Some(Duration::from_secs(3))).expect("timeout");
    let Ok(mut tls) = handshake(tcp, config) else { return };
    let mut buf = [0u8; 512];
    match tls.read(&mut buf) {
        Ok(0) => {}
        Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof) => {}
        Ok(n) => {
            panic!("{what}: the injected command was answered under TLS: {:?}", String::from_utf8_lossy(&buf[..n]))
        }
        Err(e) => panic!("{what}: the connection was left open after the injection ({e})"),
    }
}

/// CVE-2011-0411: plaintext pipelined behind STARTTLS (in the same write) closes the
/// connection without an answer; the guard does not disturb a proper upgrade.
#[test]
fn plaintext_pipelined_behind_starttls_closes_the_connection() {
    let cert = TestCert::new("a");
    let config = client_config(&[&cert]);
    let archive = secure_archive("allow_plaintext_auth = true\n", Some(&cert));
    let server = archive.serve();

    for injected in ["AUTHINFO USER alice", "CAPABILITIES", "GROUP example.list-1", "DATE\r\nDATE"] {
        let mut c = Client::connect(server.addr);
        c.send(format!("STARTTLS\r\n{injected}\r\n").as_bytes());
        assert_injection_refused(c, &config, &format!("STARTTLS then {injected:?} in one write"));
    }
    // Commands before STARTTLS in the same write are answered; what follows it is not.
    let mut c = Client::connect(server.addr);
    c.send(b"DATE\r\nSTARTTLS\r\nAUTHINFO USER alice\r\n");
    c.status(111);
    assert_injection_refused(c, &config, "DATE, STARTTLS, AUTHINFO in one write");

    // In two writes, the second sent before 382 is read: it reaches the server before or
    // during its handshake; either way it is never answered.
    let mut c = Client::connect(server.addr);
    c.send(b"STARTTLS\r\n");
    c.send(b"AUTHINFO USER alice\r\n");
    assert_injection_refused(c, &config, "STARTTLS then AUTHINFO in a second write");

    // Other clients are not affected, and a proper upgrade still works.
    let mut c = Client::connect(server.addr);
    c.starttls(&config);
    c.expect("DATE", 111);
}

/// `clients/nntplib_tls.py`: nntplib.NNTP_SSL and NNTP.starttls() with an SSLContext that
/// trusts the test CA, AUTHINFO, and a private group read.
#[test]
fn nntplib_over_nntps_and_starttls() {
    let cert = TestCert::new("a");
    let archive = secure_archive("", Some(&cert));
    let server = archive.serve();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocol-tests/clients/nntplib_tls.py");
    let out = Command::new("python3")
        .arg(script)
        .arg("127.0.0.1")
        .arg(server.addr.port().to_string())
        .arg(server.tls_addrs[0].port().to_string())
        .arg(archive.dir.path().join("ca.pem"))
        .args([ALICE.0, ALICE.1, "example.list-1"])
        .output()
        .expect("python3 (install Python 3.11 with nntplib)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "nntplib_tls.py failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let records: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    let find = |mode: &str, kind: &str| -> Vec<&str> {
        records
            .iter()
            .find(|r| r[0] == mode && r[1] == kind)
            .unwrap_or_else(|| panic!("no {mode} {kind} record in:\n{stdout}"))[2..]
            .to_vec()
    };
    assert_eq!(find("untrusted", "connect"), ["refused"], "the default trust store refuses the test cert");
    for mode in ["nntps", "starttls"] {
        assert!(find(mode, "tls")[0].starts_with("TLSv1."), "{stdout}");
        assert_eq!(find(mode, "group-before-login"), ["480"], "{stdout}");
        assert_eq!(find(mode, "caps-before-login"), ["USER"], "AUTHINFO USER under TLS: {stdout}");
        assert_eq!(find(mode, "caps-after-login"), ["none"], "{stdout}");
        assert_eq!(find(mode, "group"), ["3", "1", "3", "example.list-1"]);
        let overs: Vec<&Vec<&str>> = records.iter().filter(|r| r[0] == mode && r[1] == "over").collect();
        let ids: Vec<&str> = overs.iter().map(|r| r[3]).collect();
        assert_eq!(ids, ["<priv-1@sec.example>", "<priv-2@sec.example>", "<cross-1@sec.example>"]);
        assert_eq!(overs[2][4], format!("{HOST} example.list-0:3 example.list-1:3"));
        assert_eq!(find(mode, "article"), ["1", "<priv-1@sec.example>", "private body one"]);
    }
    assert_eq!(find("starttls", "advertised"), ["True"]);
}
