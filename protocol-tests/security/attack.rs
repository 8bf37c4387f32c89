//! AUTHINFO under attack: the server's memory stays within the password-check budget
//! whatever the number of attackers, another user still logs in at once, failures are
//! answered after a growing delay and a connection is closed after a few of them, and every
//! failure is logged on one line a tool like fail2ban can match.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::kit::*;

/// An archive with users alice and bob whose hashes `listnews passwd` made (argon2id at its
/// default cost, about 19 MiB a check), plaintext AUTHINFO allowed, and `server` lines.
fn attacked_archive(server: &str) -> Archive {
    let hash = |password: &str| {
        let out = listnews(&["passwd"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().expect("stdin").write_all(format!("{password}\n").as_bytes())?;
                child.wait_with_output()
            })
            .expect("listnews passwd");
        assert!(out.status.success());
        String::from_utf8(out.stdout).expect("utf-8").trim().to_string()
    };
    let (alice, bob) = (hash("alice-secret"), hash("bob-secret"));
    Archive::with_config(|text| {
        let text = text.replacen(
            "[server]\n",
            &format!("[server]\nallow_plaintext_auth = true\nmax_connections_per_ip = 1000\n{server}"),
            1,
        );
        format!(
            "{text}\n[[user]]\nname = \"alice\"\npassword_hash = \"{alice}\"\n\n[[user]]\nname = \"bob\"\npassword_hash = \"{bob}\"\n"
        )
    })
}

/// The `i`th attacking address: 127.0.1.2, 127.0.1.3, …
fn attacker_address(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 1 + (i / 250) as u8, 2 + (i % 250) as u8))
}

/// 200 connections from 50 addresses send wrong passwords for alice as fast as they are
/// answered. The server's RSS never grows past the 64 MiB password-check budget plus a
/// little, bob's correct password from another address is accepted within a second, and
/// every attacker's answer is 481 (or, on a connection with too many failures, 400 and the
/// close; or 403 when the check queue is full).
#[test]
fn many_attackers_keep_memory_bounded_and_a_user_gets_in() {
    let archive = attacked_archive("auth_memory_mb = 64\n");
    let server = archive.spawn();
    let addr = server.addr();
    // Warm up: one correct login starts the password threads; the idle figure is taken after.
    server.client().login_ok(("bob", "bob-secret"));
    std::thread::sleep(Duration::from_millis(300));
    let idle = server.rss_kib();

    let stop = AtomicBool::new(false);
    let answers = AtomicUsize::new(0);
    let unexpected = std::sync::Mutex::new(Vec::new());
    let (peak, login) = std::thread::scope(|s| {
        for i in 0..200 {
            let (stop, answers, unexpected) = (&stop, &answers, &unexpected);
            s.spawn(move || {
                let mut guess = 0;
                while !stop.load(Ordering::SeqCst) {
                    let mut c = Client::connect_from(addr, attacker_address(i % 50));
                    while !stop.load(Ordering::SeqCst) {
                        guess += 1;
                        c.send(format!("AUTHINFO USER alice\r\nAUTHINFO PASS wrong-{i}-{guess}\r\n").as_bytes());
                        let Some(first) = c.next_line() else { break };
                        let first = text(&first);
                        if first.starts_with("400 ") {
                            c.assert_closed("after 400");
                            break;
                        }
                        if !first.starts_with("381 ") {
                            unexpected.lock().unwrap().push(first);
                            break;
                        }
                        let second = c.line();
                        answers.fetch_add(1, Ordering::SeqCst);
                        if !matches!(code(&second), 481 | 403) {
                            unexpected.lock().unwrap().push(second);
                        }
                    }
                }
            });
        }
        // Sample the RSS while the attack runs; bob logs in from another address meanwhile.
        let mut peak = idle;
        let started = Instant::now();
        let mut login = None;
        while started.elapsed() < Duration::from_secs(6) {
            peak = peak.max(server.rss_kib());
            if login.is_none() && started.elapsed() > Duration::from_secs(3) {
                let t = Instant::now();
                let mut bob = Client::connect_from(addr, IpAddr::V4(Ipv4Addr::new(127, 0, 254, 1)));
                let status = bob.login(("bob", "bob-secret"));
                login = Some((status, t.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::SeqCst);
        (peak, login.expect("bob tried"))
    });
    let growth = peak.saturating_sub(idle);
    println!(
        "200 attackers from 50 addresses: RSS {idle} KiB idle, peak {peak} KiB (+{growth} KiB); {} answers; bob: {} in {:?}",
        answers.load(Ordering::SeqCst),
        login.0,
        login.1
    );
    assert!(
        unexpected.lock().unwrap().is_empty(),
        "answers other than 381/481/403/400: {:?}",
        unexpected.lock().unwrap()
    );
    assert!(answers.load(Ordering::SeqCst) > 0, "the attack was answered");
    assert!(growth < 80 * 1024, "RSS grew by {growth} KiB under the attack (budget 64 MiB)");
    assert_eq!(code(&login.0), 281, "bob's correct password during the attack: {}", login.0);
    assert!(login.1 < Duration::from_secs(1), "bob waited {:?} during the attack", login.1);
}

/// On one connection each failure is answered later than the one before; after the third
/// the next command gets 400 and the connection closes. An unknown user name gets the same
/// answer as a wrong password. Each failure is one log line with the address and user name.
#[test]
fn failures_are_slowed_then_the_connection_closes() {
    let archive = attacked_archive("");
    let server = archive.spawn_logging("info");
    let mut c = server.client();
    let mut waits = Vec::new();
    for (user, password) in [("alice", "nope"), ("mallory", "nope"), ("alice", "still-nope")] {
        c.expect(&format!("AUTHINFO USER {user}"), 381);
        let t = Instant::now();
        let status = c.expect(&format!("AUTHINFO PASS {password}"), 481);
        waits.push(t.elapsed());
        assert_eq!(status, "481 Authentication failed", "{user}: the same answer for any name");
    }
    println!("answers to three failures came after {waits:?}");
    // The server waits at least 0.5 s, 1 s and 2 s (doubling): the delay grows.
    for (i, wait) in waits.iter().enumerate() {
        assert!(*wait >= Duration::from_millis(500 << i), "failure {}: answered after {wait:?}", i + 1);
    }
    assert_eq!(c.expect("DATE", 400), "400 Too many authentication failures; closing connection");
    c.assert_closed("after 400");
    // Another connection (the same address) is served; its first failure waits longer still,
    // as the address has failed before.
    let mut d = server.client();
    d.expect("AUTHINFO USER alice", 381);
    let t = Instant::now();
    d.expect("AUTHINFO PASS nope", 481);
    assert!(t.elapsed() >= Duration::from_secs(4), "the address's fourth failure: {:?}", t.elapsed());
    d.login_ok(("bob", "bob-secret"));

    let log = std::fs::read_to_string(archive.dir.path().join("server.log")).expect("server log");
    let failed: Vec<&str> = log.lines().filter(|l| l.contains("auth: failed ")).collect();
    assert_eq!(failed.len(), 4, "one line per failure: {log}");
    assert!(failed[0].contains("auth: failed address=127.0.0.1 user=\"alice\" reason=bad-password"), "{log}");
    assert!(failed[1].contains("user=\"mallory\" reason=unknown-user"), "{log}");
    assert!(log.lines().any(|l| l.contains("auth: accepted address=127.0.0.1 user=\"bob\"")), "{log}");
    assert!(!log.contains('\u{1b}'), "no terminal colours in a log file");
}

/// An address past its failure budget is no longer checked: even the right password is
/// answered 481 (after the longest delay), while other addresses are unaffected.
#[test]
fn an_address_over_budget_is_not_checked() {
    let archive = attacked_archive("auth_failures_per_address = 2\nauth_failures_per_connection = 5\n");
    let server = archive.serve();
    let attacker = attacker_address(7);
    let mut c = Client::connect_from(server.addr, attacker);
    for _ in 0..2 {
        let status = c.login(("alice", "wrong"));
        assert_eq!(code(&status), 481);
    }
    let t = Instant::now();
    let status = c.login(("alice", "alice-secret"));
    assert_eq!(code(&status), 481, "the right password from a blocked address: {status}");
    assert!(t.elapsed() >= Duration::from_secs(8), "blocked attempts wait the longest delay: {:?}", t.elapsed());
    let mut other = Client::connect_from(server.addr, attacker_address(8));
    other.login_ok(("alice", "alice-secret"));
}
