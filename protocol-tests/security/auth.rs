//! AUTHINFO USER/PASS (RFC 4643), `listnews passwd` and private groups.

use std::io::Write;
use std::process::Stdio;

use super::*;
use crate::kit::*;

/// AUTHINFO USER/PASS codes (RFC 4643): 482 out of sequence, 481 for a bad password or an
/// unknown user, 281, then 502; 483 over plaintext unless allowed.
#[test]
fn authinfo_user_pass() {
    let Secure { cert: _, archive: _, server, config } = secure_server("");

    let mut c = Client::tls(server.tls_addrs[0], &config);
    c.expect("AUTHINFO PASS wonderland", 482); // "PASS without USER"
    assert_eq!(code(&c.login(("alice", "wrong"))), 481, "bad password");
    assert_eq!(code(&c.login(("mallory", "wonderland"))), 481, "unknown user");
    c.expect("AUTHINFO PASS wonderland", 482); // "the USER of a failed attempt is used up"
    assert_eq!(code(&c.login(ALICE)), 281);
    c.expect("AUTHINFO USER alice", 502); // "already authenticated"
    c.expect("AUTHINFO PASS wonderland", 502); // "already authenticated"
    let caps = c.capabilities();
    assert!(!caps.iter().any(|c| c.starts_with("AUTHINFO")), "{caps:?}");

    // Plaintext without allow_plaintext_auth: 483, and the password is never taken.
    let mut p = Client::connect(server.addr);
    let caps = p.capabilities();
    assert!(has(&caps, "AUTHINFO"), "{caps:?}");
    p.expect("AUTHINFO USER alice", 483);
    p.expect("AUTHINFO PASS wonderland", 483);
    p.expect("GROUP example.list-1", 480); // "still anonymous"
    drop(server);

    // With allow_plaintext_auth = true the plain listener takes AUTHINFO.
    let archive = secure_archive("allow_plaintext_auth = true\n", None);
    let server = archive.serve();
    let mut p = Client::connect(server.addr);
    let caps = p.capabilities();
    assert!(has(&caps, "AUTHINFO USER"), "{caps:?}");
    assert_eq!(code(&p.login(BOB)), 281);
    p.expect("GROUP example.list-1", 411); // "bob is not a reader of list-1"
}

/// `listnews passwd` prints a hash the server accepts for that password only.
#[test]
fn passwd_command_makes_a_working_hash() {
    let mut child = listnews(&["passwd"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("listnews passwd");
    child.stdin.take().expect("stdin").write_all(b"correct horse\n").expect("password");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let hash = String::from_utf8(out.stdout).expect("utf-8").trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    let archive = Archive::with_config(|text| {
        format!(
            "{}\n[[user]]\nname = \"carol\"\npassword_hash = \"{hash}\"\n",
            text.replacen("[server]\n", "[server]\nallow_plaintext_auth = true\n", 1)
        )
    });
    let server = archive.serve();
    let mut c = Client::connect(server.addr);
    assert_eq!(code(&c.login(("carol", "correct horse"))), 281);
    let mut c = Client::connect(server.addr);
    assert_eq!(code(&c.login(("carol", "correct"))), 481);
}

fn xref_of(over_line: &str) -> &str {
    over_line.split('\t').find_map(|f| f.strip_prefix("Xref: ")).unwrap_or("")
}

/// A private group is 480 before AUTHINFO and invisible to anonymous clients everywhere
/// (LIST, LIST NEWSGROUPS, NEWGROUPS, NEWNEWS, XPATH, fetch by message-id, Xref and
/// Newsgroups of cross-posted articles); readable by its reader; 411 for another user.
#[test]
fn private_groups() {
    let Secure { cert: _, archive, server, config } = secure_server("");

    let mut anon = Client::connect(server.addr);
    anon.expect("GROUP example.list-1", 480);
    anon.expect("LISTGROUP example.list-1", 480);
    anon.expect("GROUP example.nonexistent", 411); // "480 only for a group that exists"
    let (_, active) = anon.expect_text("LIST ACTIVE", 215);
    let names: Vec<&str> = active.iter().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(names, archive.public_names(), "{active:?}");
    let (_, active) = anon.expect_text("LIST ACTIVE example.list-1", 215);
    assert!(active.is_empty(), "{active:?}");
    let (_, newsgroups) = anon.expect_text("LIST NEWSGROUPS", 215);
    assert!(!newsgroups.iter().any(|l| l.contains("list-1")), "{newsgroups:?}");
    assert_eq!(newsgroups.len(), archive.public_names().len(), "{newsgroups:?}");
    let (_, newgroups) = anon.expect_text("NEWGROUPS 19700101 000000 GMT", 231);
    assert!(!newgroups.iter().any(|l| l.contains("list-1")), "{newgroups:?}");
    let (_, counts) = anon.expect_text("LIST COUNTS", 215);
    assert!(!counts.iter().any(|l| l.contains("list-1")), "{counts:?}");
    let (_, mut news) = anon.expect_text("NEWNEWS * 19700101 000000 GMT", 230);
    news.sort();
    assert_eq!(
        news,
        ["<cross-1@sec.example>", "<other-1@sec.example>", "<pub-1@sec.example>", "<pub-2@sec.example>"],
        "NEWNEWS without the private-only articles"
    );
    let (_, news) = anon.expect_text("NEWNEWS example.list-1 19700101 000000 GMT", 230);
    assert!(news.is_empty(), "{news:?}");
    anon.expect("XPATH <priv-1@sec.example>", 430);
    assert_eq!(anon.expect("XPATH <cross-1@sec.example>", 223), "223 example.list-0/3");
    anon.expect("STAT <priv-1@sec.example>", 430);
    anon.expect("ARTICLE <priv-2@sec.example>", 430);
    let (_, head) = anon.expect_text("HEAD <cross-1@sec.example>", 221);
    assert!(head.contains(&"Newsgroups: example.list-0".to_string()), "{head:?}");
    assert!(head.contains(&format!("Xref: {HOST} example.list-0:3")), "{head:?}");
    anon.expect("GROUP example.list-0", 211);
    let (_, over) = anon.expect_text("XOVER 1-", 224);
    assert_eq!(over.len(), 3);
    assert_eq!(xref_of(&over[2]), format!("{HOST} example.list-0:3"), "{over:?}");
    let (_, over) = anon.expect_text("OVER <cross-1@sec.example>", 224);
    assert_eq!(xref_of(&over[0]), format!("{HOST} example.list-0:3"), "{over:?}");
    let (_, hdr) = anon.expect_text("HDR Xref 3", 225);
    assert_eq!(hdr, [format!("3 {HOST} example.list-0:3")]);
    let (_, hdr) = anon.expect_text("XHDR Newsgroups 1-3", 221);
    assert!(!hdr.iter().any(|l| l.contains("list-1")), "{hdr:?}");
    anon.expect("HDR Subject <priv-1@sec.example>", 430);
    let (_, thread) = anon.expect_text("XTHREAD <cross-1@sec.example>", 224);
    assert_eq!(thread.len(), 1, "{thread:?}");
    assert!(thread[0].contains(&format!("\tXref: {HOST} example.list-0:3\t")), "{thread:?}");
    anon.expect("XTHREAD <priv-2@sec.example>", 430);
    let (_, titles) = anon.expect_text("XGTITLE example.list-*", 282);
    assert!(!titles.iter().any(|l| l.contains("list-1")), "{titles:?}");
    let (_, times) = anon.expect_text("LIST ACTIVE.TIMES", 215);
    assert!(!times.iter().any(|l| l.contains("list-1")), "{times:?}");

    // alice, a reader of list-1.
    let mut alice = Client::tls(server.tls_addrs[0], &config);
    assert_eq!(code(&alice.login(ALICE)), 281);
    let (_, active) = alice.expect_text("LIST ACTIVE", 215);
    assert!(active.iter().any(|l| l.starts_with("example.list-1 3 1 ")), "{active:?}");
    assert_eq!(alice.expect("GROUP example.list-1", 211), "211 3 1 3 example.list-1");
    let (_, over) = alice.expect_text("XOVER 1-", 224);
    assert_eq!(over.len(), 3);
    assert_eq!(xref_of(&over[2]), format!("{HOST} example.list-0:3 example.list-1:3"), "{over:?}");
    let (s, body) = alice.expect_text("BODY 1", 222);
    assert!(s.contains("<priv-1@sec.example>"), "{s}");
    assert_eq!(body, ["private body one"]);
    assert_eq!(alice.expect("XPATH <cross-1@sec.example>", 223), "223 example.list-0/3 example.list-1/3");
    let (_, mut news) = alice.expect_text("NEWNEWS example.list-1 19700101 000000 GMT", 230);
    news.sort();
    assert_eq!(news, ["<cross-1@sec.example>", "<priv-1@sec.example>", "<priv-2@sec.example>"]);

    // bob, authenticated but not a reader: the group does not exist for him.
    let mut bob = Client::tls(server.tls_addrs[0], &config);
    assert_eq!(code(&bob.login(BOB)), 281);
    bob.expect("GROUP example.list-1", 411);
    bob.expect("LISTGROUP example.list-1", 411);
    bob.expect("XPATH <priv-2@sec.example>", 430);
    let (_, news) = bob.expect_text("NEWNEWS example.list-* 19700101 000000 GMT", 230);
    assert!(!news.iter().any(|l| l.starts_with("<priv-")), "{news:?}");
    bob.expect("ARTICLE <priv-1@sec.example>", 430);
    let (_, active) = bob.expect_text("LIST ACTIVE", 215);
    assert!(!active.iter().any(|l| l.contains("list-1")), "{active:?}");
}

/// Pipelined AUTHINFO USER and PASS (clients must not, some do) are answered in order with
/// the commands around them, the password check in between.
#[test]
fn pipelined_authinfo_is_answered_in_order() {
    let Secure { server, .. } = secure_server("allow_plaintext_auth = true\n");
    let mut c = Client::connect(server.addr);
    c.send(b"DATE\r\nAUTHINFO USER alice\r\nAUTHINFO PASS wonderland\r\nGROUP example.list-1\r\nAUTHINFO USER bob\r\n");
    c.status(111);
    c.status(381);
    c.status(281);
    assert_eq!(c.line(), "211 3 1 3 example.list-1", "the private group, once authenticated");
    c.status(502);
}
