//! Clients that never read, SIGTERM and SIGHUP.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::*;
use crate::kit::*;

// A client that does not read; signals

/// Clients ask for many large XOVERs in one write and never read, over plain TCP, over TLS
/// and under COMPRESS DEFLATE: the server's memory stays bounded (it writes a chunk and
/// waits on the socket), and other clients are still served quickly.
#[test]
fn stuck_readers_keep_server_memory_bounded() {
    const ARTICLES: usize = 4000;
    const REPEATS: usize = 200;
    let cert = TestCert::new("a");
    let config = client_config(&[&cert]);
    let archive = big_archive(ARTICLES, Some(&cert));
    let mut served = archive.spawn();
    let (addr, tls) = (served.plain[0], served.tls[0]);

    // Warm up (store cache, allocator, TLS, DEFLATE) with full XOVERs read normally; the
    // size of one answer is what each repeat asks for.
    let mut over_bytes = 0;
    let t = Instant::now();
    for mut warm in [Client::connect(addr), Client::tls(tls, &config), {
        let mut c = Client::connect(addr);
        c.compress();
        c
    }] {
        warm.expect("GROUP example.list-0", 211);
        let (s, over) = warm.expect_text("XOVER 1-", 224);
        assert_eq!((code(&s), over.len()), (224, ARTICLES));
        over_bytes = over.iter().map(|l| l.len() + 2).sum::<usize>() + 3;
    }
    let warm_up = t.elapsed();
    let before = served.rss_kib();
    let mut request = b"GROUP example.list-0\r\n".to_vec();
    for _ in 0..REPEATS {
        request.extend_from_slice(b"XOVER 1-\r\n");
    }
    let requested_kib = (over_bytes * REPEATS / 1024) as u64;

    let mut stuck = Vec::new();
    let mut last = before;
    for kind in ["plain", "TLS", "DEFLATE"] {
        let mut c = match kind {
            "plain" => Client::connect(addr),
            "TLS" => Client::tls(tls, &config),
            _ => {
                let mut c = Client::connect(addr);
                c.compress();
                c
            }
        };
        c.send(&request);
        // Let the server fill the socket buffers and block; sample the RSS meanwhile.
        let mut peak = last;
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(2) {
            peak = peak.max(served.rss_kib());
            std::thread::sleep(Duration::from_millis(100));
        }
        let growth = peak.saturating_sub(last);
        println!(
            "stuck {kind} reader: RSS {last} KiB -> peak {peak} KiB (+{growth} KiB) for {requested_kib} KiB requested ({REPEATS} x XOVER of {ARTICLES} articles, {over_bytes} octets each)"
        );
        assert!(growth < 32 * 1024, "{kind}: RSS grew by {growth} KiB while a client did not read");
        assert!(growth * 10 < requested_kib, "{kind}: RSS grew by {growth} KiB for {requested_kib} KiB requested");
        last = served.rss_kib();
        stuck.push(c);
    }
    let total = last.saturating_sub(before);
    println!(
        "three stuck readers: RSS {before} KiB -> {last} KiB (+{total} KiB); warm-up of 3 XOVERs took {warm_up:?}"
    );
    assert!(total < 48 * 1024, "RSS grew by {total} KiB with three clients not reading");

    // Another client is answered quickly meanwhile.
    let t = Instant::now();
    let mut other = Client::connect(addr);
    other.expect("GROUP example.list-0", 211);
    let (s, over) = other.expect_text("XOVER 1-20", 224);
    assert_eq!((code(&s), over.len()), (224, 20));
    let (s, over) = other.expect_text("XOVER 3990-", 224);
    assert_eq!((code(&s), over.len()), (224, 11));
    assert!(t.elapsed() < Duration::from_secs(2), "answered in {:?} while clients are stuck", t.elapsed());

    // What the stuck clients did get is well-formed: the GROUP answer, then whole XOVERs.
    for c in &mut stuck {
        c.status(211);
        for _ in 0..2 {
            let (status, lines) = read_over(c);
            assert_eq!(lines, Some(ARTICLES), "{status}");
        }
    }
    drop(stuck);
    served.signal("TERM");
    let status = served.wait_exit(30).expect("the server exits after SIGTERM");
    assert!(status.success(), "{status}");
}

/// SIGTERM while a client is in the middle of large XOVERs: every answer it gets is
/// complete (the one under way finishes), then 400 or EOF; the process exits 0.
#[test]
fn sigterm_finishes_the_response_under_way() {
    const ARTICLES: usize = 4000;
    const REPEATS: usize = 24;
    let archive = big_archive(ARTICLES, None);
    let mut served = archive.spawn();
    let addr = served.plain[0];

    let mut c = Client::connect(addr);
    c.expect("GROUP example.list-0", 211);
    let mut request = Vec::new();
    for _ in 0..REPEATS {
        request.extend_from_slice(b"XOVER 1-\r\n");
    }
    c.send(&request);
    // Read the start of the first answer, so the server is mid-response, then SIGTERM.
    c.status(224);
    for _ in 0..10 {
        c.next_line().expect("an overview line");
    }
    std::thread::sleep(Duration::from_millis(300));
    served.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(served.child.try_wait().expect("try_wait").is_none(), "the server waits for the response under way");
    // Meanwhile it takes no new connections.
    let refused = match TcpStream::connect(addr) {
        Err(_) => true,
        Ok(sock) => {
            sock.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
            let mut line = String::new();
            let _ = BufReader::new(sock).read_line(&mut line);
            !line.starts_with("201")
        }
    };
    assert!(refused, "a new connection is not served while draining");

    // The rest of the first answer, then whole answers, then 400 or EOF.
    let mut rest = 10;
    while c.next_line().expect("the rest of the answer under way") != b"." {
        rest += 1;
    }
    assert_eq!(rest, ARTICLES, "the answer under way at SIGTERM is complete");
    let mut complete = 1;
    let end = loop {
        match read_over(&mut c) {
            (_, Some(n)) => {
                assert_eq!(n, ARTICLES, "answer {} is complete", complete + 1);
                complete += 1;
            }
            (status, None) => break status,
        }
    };
    assert!(end == "EOF" || end.starts_with("400 "), "after the answers: {end}");
    if end != "EOF" {
        c.assert_closed("after 400");
    }
    println!("SIGTERM: {complete} of {REPEATS} XOVER answers complete, then {end:?}");
    let status = served.wait_exit(30).expect("the server exits after SIGTERM");
    assert!(status.success(), "exit status {status}");
    // And it no longer accepts connections.
    assert!(TcpStream::connect(addr).is_err(), "nothing listens after exit");
}

/// SIGHUP: the config file and the certificate are reloaded; connections stay up, new TLS
/// connections get the new certificate, a group added to the file is listed.
#[test]
fn sighup_reloads_config_and_certificate() {
    let old = TestCert::new("old");
    let new = TestCert::new("new");
    let archive = secure_archive("", Some(&old));
    let config_path = archive.config_path();
    let mut served = archive.spawn();
    let tls = served.tls[0];
    let trust_both = client_config(&[&old, &new]);

    let mut c = served.client();
    c.expect("GROUP example.list-0", 211);
    let mut t = Client::tls(tls, &trust_both);
    assert_eq!(t.peer_cert().as_deref(), Some(old.cert_der.as_ref()));
    assert_eq!(code(&t.login(ALICE)), 281);
    t.expect("GROUP example.list-1", 211);

    // A SIGHUP with nothing changed drops nobody.
    served.signal("HUP");
    std::thread::sleep(Duration::from_millis(300));
    c.expect("STAT", 223); // "the session keeps its state across SIGHUP"
    t.expect("STAT 1", 223);

    // A broken key or a broken config file: the running configuration stays.
    let text = std::fs::read_to_string(&config_path).expect("config");
    std::fs::write(archive.dir.path().join("key.pem"), "not a key\n").expect("key.pem");
    served.signal("HUP");
    std::thread::sleep(Duration::from_millis(500));
    let mut k = Client::tls(tls, &trust_both);
    assert_eq!(k.peer_cert().as_deref(), Some(old.cert_der.as_ref()), "a bad key keeps the old certificate");
    k.expect("DATE", 111);
    new.install(archive.dir.path());
    std::fs::write(&config_path, format!("{text}\n[[group]]\nname = \"bad name\"\n")).expect("config");
    served.signal("HUP");
    std::thread::sleep(Duration::from_millis(500));
    assert!(served.child.try_wait().expect("try_wait").is_none(), "a bad config file does not stop the server");
    c.expect("STAT", 223); // "a bad config file drops nobody"
    let (_, active) = served.client().expect_text("LIST ACTIVE", 215);
    let listed: Vec<String> = active.iter().map(|l| l.split(' ').next().unwrap().to_string()).collect();
    assert_eq!(listed, archive.public_names(), "the running (public) groups stay: {active:?}");

    std::fs::write(
        &config_path,
        format!(
            "{text}\n[[group]]\nname = \"example.added\"\ndescription = \"Added by reload\"\naddress = \"added@lists.example.org\"\n"
        ),
    )
    .expect("config");
    served.signal("HUP");
    let reloaded =
        wait_until(10, || Client::tls(tls, &trust_both).peer_cert().as_deref() == Some(new.cert_der.as_ref()));
    assert!(reloaded, "a new TLS connection presents the new certificate after SIGHUP");
    // Only the new CA is needed now.
    let mut n = Client::tls(tls, &client_config(&[&new]));
    assert!(n.greeting.starts_with("201"));
    assert!(
        wait_until(10, || {
            let mut fresh = served.client();
            let (_, active) = fresh.expect_text("LIST ACTIVE", 215);
            active.iter().any(|l| l.starts_with("example.added "))
        }),
        "the added group is listed for new connections"
    );
    let (_, newsgroups) = n.expect_text("LIST NEWSGROUPS example.added", 215);
    assert_eq!(newsgroups, ["example.added\tAdded by reload"]);
    assert_eq!(n.expect("GROUP example.added", 211), "211 0 1 0 example.added");

    // The connections from before both reloads still work, with their state.
    c.expect("STAT", 223);
    c.expect("DATE", 111);
    t.expect("STAT 2", 223); // "still authenticated, still in the private group"
    let (_, _) = t.expect_text("BODY 1", 222);

    served.signal("TERM");
    let status = served.wait_exit(30).expect("exit after SIGTERM");
    assert!(status.success(), "{status}");
}
