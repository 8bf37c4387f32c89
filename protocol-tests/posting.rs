//! Posting from a newsreader: POST relayed to the list as mail, through a real SMTP server
//! (aiosmtpd) on loopback; who may post, what is refused and why; the relay's answers passed
//! on; the DMARC rewrite against a real DNS server (dnsmasq); the mail fed back through
//! `listnews deliver` appears threaded.

use std::io::Write;
use std::process::Stdio;

use crate::kit::*;

/// Groups beyond the harness's lists: one that refuses posts, one without a list address, a
/// private one, and two whose list addresses the test relay refuses.
const MORE_GROUPS: &str = r#"
[[group]]
name = "example.readonly"
address = "readonly@lists.example.org"
post = false

[[group]]
name = "example.noaddress"

[[group]]
name = "example.private"
address = "private@lists.example.org"
readers = ["carol"]

[[group]]
name = "example.rejecting"
address = "reject-all@lists.example.org"

[[group]]
name = "example.greylisting"
address = "tempfail@lists.example.org"
"#;

/// The harness archive with posting configured (`server` lines added to `[server]`), users
/// alice (two addresses), bob (none) and carol (reader of example.private).
fn posting_archive(server: &str) -> Archive {
    let users = format!(
        r#"
[[user]]
name = "alice"
password_hash = "{}"
addresses = ["alice@example.org", "Alice.Two@Example.org"]

[[user]]
name = "bob"
password_hash = "{}"

[[user]]
name = "carol"
password_hash = "{}"
addresses = ["carol@example.org"]
"#,
        hash("alice-pw"),
        hash("bob-pw"),
        hash("carol-pw")
    );
    Archive::with_config(|text| {
        text.replacen("[server]\n", &format!("[server]\nallow_plaintext_auth = true\n{server}\n"), 1)
            + MORE_GROUPS
            + &users
    })
}

/// An article: From, Newsgroups, Subject, then `extra` header lines (each ending CRLF), an
/// empty line and the body.
fn article(from: &str, groups: &str, subject: &str, extra: &str, body: &str) -> Vec<u8> {
    format!("From: {from}\r\nNewsgroups: {groups}\r\nSubject: {subject}\r\n{extra}\r\n{body}").into_bytes()
}

/// The message-id a `240` names.
fn posted_id(status: &str) -> String {
    status.split(' ').nth(3).filter(|id| id.starts_with('<')).unwrap_or_else(|| panic!("no id in {status:?}")).into()
}

/// LIST ACTIVE as (group, flag).
fn flags(c: &mut Client) -> Vec<(String, String)> {
    c.expect_text("LIST ACTIVE", 215)
        .1
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[0].to_string(), f[3].to_string())
        })
        .collect()
}

fn flag_of(flags: &[(String, String)], group: &str) -> Option<String> {
    flags.iter().find(|(g, _)| g == group).map(|(_, f)| f.clone())
}

/// Runs `listnews deliver` with one message (through the running server); asserts exit 0.
fn deliver(archive: &Archive, raw: &[u8]) {
    let mut child = listnews(&["deliver", "--config"])
        .arg(archive.config_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("listnews deliver");
    child.stdin.take().unwrap().write_all(raw).unwrap();
    assert!(child.wait().unwrap().success(), "listnews deliver failed");
}

/// A reader replies from the newsreader: `480` until AUTHINFO, then POST is offered (greeting
/// flags, CAPABILITIES, MODE READER, LIST ACTIVE's `y`), the reply reaches the relay as a mail
/// to the list with the envelope and headers the issue asks for, `240` names its id, and the
/// mail delivered back appears threaded under the article it answers.
#[test]
fn a_reply_reaches_the_list_and_comes_back_threaded() {
    let sink = SmtpSink::start(&[]);
    let archive = posting_archive(&format!(
        "post_policy = \"users\"\npost_relay = \"{}\"\npost_from_rewrite = \"never\"",
        sink.url()
    ));
    archive.import(None, &[&sample_mbox()]);
    let server = archive.serve_live();
    let mut c = server.client();
    assert_eq!(code(&c.greeting), 201, "{}", c.greeting);
    assert!(!c.capabilities().iter().any(|l| l == "POST"));
    assert!(flags(&mut c).iter().all(|(_, f)| f == "n"));
    c.expect("MODE READER", 201);
    c.expect("POST", 480);

    c.login_ok(("alice", "alice-pw"));
    assert!(c.capabilities().iter().any(|l| l == "POST"));
    c.expect("MODE READER", 200);
    let flags = flags(&mut c);
    assert_eq!(flag_of(&flags, "example.list-0").as_deref(), Some("y"));
    assert_eq!(flag_of(&flags, "example.readonly").as_deref(), Some("n"));
    assert_eq!(flag_of(&flags, "example.noaddress").as_deref(), Some("n"));
    assert_eq!(flag_of(&flags, "example.private"), None, "alice does not read example.private");

    // Answer a reply in the sample: its References grow by its own id.
    c.group("example.list-0");
    let (_, over) = c.expect_text("XOVER 1-", 224);
    let parent: Vec<String> = over
        .iter()
        .map(|l| l.split('\t').map(String::from).collect::<Vec<_>>())
        .find(|f| !f[5].is_empty())
        .expect("a reply in the sample");
    let (parent_id, parent_refs) = (parent[4].clone(), parent[5].clone());
    let references = format!("{parent_refs} {parent_id}");
    let reply = article(
        "Alice Example <alice@example.org>",
        "example.list-0",
        "Re: the question",
        &format!(
            "References: {references}\r\nPath: not-for-mail\r\nNNTP-Posting-Host: 192.0.2.1\r\nUser-Agent: listnews-test\r\n"
        ),
        "A reply from a newsreader.\r\n.A line starting with a dot.\r\n",
    );
    let status = c.post_expect(&reply, 240);
    let id = posted_id(&status);

    let mail = sink.wait_for(1).remove(0);
    assert_eq!(mail.mail_from, "alice@example.org");
    assert_eq!(mail.rcpt_tos, ["list-0@lists.example.org"]);
    assert_eq!(mail.header("To").as_deref(), Some("list-0@lists.example.org"));
    assert_eq!(mail.header("From").as_deref(), Some("Alice Example <alice@example.org>"));
    assert_eq!(mail.header("Message-ID"), Some(id.clone()));
    assert_eq!(mail.header("References"), Some(references.clone()));
    assert_eq!(mail.header("In-Reply-To"), Some(parent_id.clone()));
    assert_eq!(mail.header("User-Agent").as_deref(), Some("listnews-test"));
    assert!(mail.header("Date").is_some());
    let trace = mail.header("X-Posted-Via").expect("a trace header");
    assert!(trace.starts_with(HOST) && trace.contains("user=\"alice\""), "{trace}");
    for gone in ["Newsgroups", "Path", "NNTP-Posting-Host", "Xref"] {
        assert_eq!(mail.header(gone), None, "{gone} left in the mail:\n{}", mail.head());
    }
    assert!(
        mail.data.ends_with(b"\r\n\r\nA reply from a newsreader.\r\n.A line starting with a dot.\r\n"),
        "{:?}",
        String::from_utf8_lossy(&mail.data)
    );

    // Nothing entered the archive; the list's copy, delivered back, does, under its parent.
    let (_, _, high) = c.group("example.list-0");
    c.expect(&format!("STAT {id}"), 430);
    deliver(&archive, &mail.data);
    let (_, _, now) = c.group("example.list-0");
    assert_eq!(now, high + 1);
    let (_, over) = c.expect_text(&format!("XOVER {now}"), 224);
    assert!(over[0].contains(&id) && over[0].contains("Re: the question"), "{over:?}");
    let (_, thread) = c.expect_text(&format!("XTHREAD {id}"), 224);
    let line = thread.iter().find(|l| l.contains(&format!("\t{id}\t"))).expect("the reply in its thread");
    assert!(line.contains(&format!("Parent: {parent_id}")), "{line}");
    assert!(thread.iter().any(|l| l.contains(&format!("\t{parent_id}\t"))), "{thread:?}");
    c.expect("QUIT", 205);
}

/// `240` only after the relay's `250`; a relay that refuses (5xx), defers (4xx) or is down
/// gives `441` with its reason, and no mail. A crosspost is one mail to both lists.
#[test]
fn the_relay_decides_and_its_reason_reaches_the_poster() {
    let sink = SmtpSink::start(&[]);
    let archive = posting_archive(&format!(
        "post_policy = \"open\"\npost_relay = \"{}\"\npost_from_rewrite = \"never\"",
        sink.url()
    ));
    let server = archive.serve();
    let mut c = server.client();
    assert_eq!(code(&c.greeting), 200, "anyone may post: {}", c.greeting);
    assert!(c.capabilities().iter().any(|l| l == "POST"));
    let bob = "Bob <bob@example.net>";

    let refused = c.post_expect(&article(bob, "example.rejecting", "hello", "", "Hi.\r\n"), 441);
    assert!(refused.contains("550") && refused.contains("rejected by the test relay"), "{refused}");
    let deferred = c.post_expect(
        &article(bob, "example.greylisting", "hello", "Message-ID: <retry@example.net>\r\n", "Hi.\r\n"),
        441,
    );
    assert!(deferred.contains("451") && deferred.contains("greylisted"), "{deferred}");
    assert!(sink.received().is_empty(), "a refused post was delivered");

    // The failed post's id may be posted again; a crosspost goes once, to both lists.
    let status = c.post_expect(
        &article(bob, "example.list-0,example.list-1", "hello", "Message-ID: <retry@example.net>\r\n", "Hi.\r\n"),
        240,
    );
    assert_eq!(posted_id(&status), "<retry@example.net>");
    let mail = sink.wait_for(1).remove(0);
    assert_eq!(mail.rcpt_tos, ["list-0@lists.example.org", "list-1@lists.example.org"]);
    assert_eq!(mail.header("To").as_deref(), Some("list-0@lists.example.org, list-1@lists.example.org"));
    assert_eq!(mail.mail_from, "bob@example.net");
    assert!(mail.header("X-Posted-Via").unwrap().contains("user=-"));
    c.expect("QUIT", 205);
    drop(server);

    // A relay that is down.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let archive = posting_archive(&format!(
        "post_policy = \"open\"\npost_relay = \"smtp://127.0.0.1:{closed}\"\npost_from_rewrite = \"never\""
    ));
    let server = archive.serve();
    let mut c = server.client();
    let down = c.post_expect(&article(bob, "example.list-0", "hello", "", "Hi.\r\n"), 441);
    assert!(down.contains("did not take it") && down.to_lowercase().contains("connection"), "{down}");
    c.expect("DATE", 111);
}

/// Every abuse case is refused with its code, and the session goes on.
#[test]
fn abuse_is_refused() {
    let sink = SmtpSink::start(&[]);
    let archive = posting_archive(&format!(
        "post_policy = \"users\"\npost_relay = \"{}\"\npost_per_hour = 3\npost_max_bytes = 4096\npost_from_rewrite = \"never\"",
        sink.url()
    ));
    archive.import(None, &[&sample_mbox()]);
    let server = archive.serve();
    let alice = "Alice <alice@example.org>";
    let hi = |from: &str, groups: &str, extra: &str| article(from, groups, "hello", extra, "Hi.\r\n");

    // A user without addresses may not post at all.
    let mut c = server.client();
    c.login_ok(("bob", "bob-pw"));
    let status = c.expect("POST", 440);
    assert!(status.contains("no From address is configured for user \"bob\""), "{status}");
    assert!(flags(&mut c).iter().all(|(_, f)| f == "n"));

    let mut c = server.client();
    c.login_ok(("alice", "alice-pw"));
    let status = c.post_expect(&hi("Bob <bob@example.org>", "example.list-0", ""), 441);
    assert!(status.contains("may not post as bob@example.org"), "{status}");
    // Addresses compare without case.
    c.post_expect(&hi("Alice <alice.two@example.org>", "example.list-0", ""), 240);
    for (groups, why) in [
        ("example.nothing", "no such newsgroup here: example.nothing"),
        ("example.list-0,example.readonly", "example.readonly does not take posts"),
        ("example.noaddress", "example.noaddress has no list address"),
        ("example.private", "no such newsgroup here: example.private"),
    ] {
        let status = c.post_expect(&hi(alice, groups, ""), 441);
        assert!(status.contains(why), "{groups}: {status}");
    }
    // A Message-ID already in the archive, or posted here already.
    let (_, low, _) = c.group("example.list-0");
    let (_, over) = c.expect_text(&format!("XOVER {low}"), 224);
    let archived = over[0].split('\t').nth(4).expect("a Message-ID").to_string();
    let status = c.post_expect(&hi(alice, "example.list-0", &format!("Message-ID: {archived}\r\n")), 441);
    assert!(status.contains("already in the archive"), "{status}");
    c.post_expect(&hi(alice, "example.list-0", "Message-ID: <once@example.org>\r\n"), 240);
    let status = c.post_expect(&hi(alice, "example.list-0", "Message-ID: <once@example.org>\r\n"), 441);
    assert!(status.contains("posted here recently"), "{status}");
    // Malformed, and too large: refused, read to the end, and the session goes on.
    let status = c.post_expect(&article(alice, "example.list-0", "", "", "Hi.\r\n"), 441);
    assert!(status.contains("the Subject header is empty"), "{status}");
    let big = article(alice, "example.list-0", "big", "", &"0123456789abcdef\r\n".repeat(300));
    let status = c.post_expect(&big, 441);
    assert!(status.contains("larger than 4096 octets"), "{status}");
    c.expect("DATE", 111);
    // The third post within the hour is the last.
    c.post_expect(&hi(alice, "example.list-1", ""), 240);
    let status = c.expect("POST", 440);
    assert!(status.contains("3 posts an hour"), "{status}");
    // Another connection of the same user is limited too.
    let mut again = server.client();
    again.login_ok(("alice", "alice-pw"));
    again.expect("POST", 440);
    c.expect("IHAVE <x@example.org>", 435);
    assert_eq!(sink.wait_for(3).len(), 3);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(sink.received().len(), 3, "only the three accepted posts were relayed");

    // A private group takes posts from its readers.
    let mut c = Client::connect_from(server.addr, "127.0.0.2".parse().unwrap());
    c.login_ok(("carol", "carol-pw"));
    assert_eq!(flag_of(&flags(&mut c), "example.private").as_deref(), Some("y"));
    c.post_expect(&hi("Carol <carol@example.org>", "example.private", ""), 240);
    assert_eq!(sink.wait_for(4)[3].rcpt_tos, ["private@lists.example.org"]);
}

/// With the default `post_from_rewrite = "dmarc"`, From is rewritten for domains whose DMARC
/// policy is quarantine or reject (asked of a real DNS server), with Reply-To the poster; the
/// envelope sender is `post_envelope_from` when set.
#[test]
fn from_is_rewritten_where_dmarc_would_refuse_it() {
    let dns = Dns::start(&[
        ("_dmarc.strict.example", "v=DMARC1; p=reject; rua=mailto:d@strict.example"),
        ("_dmarc.quarantine.example", "v=DMARC1; p=quarantine"),
        ("_dmarc.relaxed.example", "v=DMARC1; p=none"),
    ]);
    let sink = SmtpSink::start(&[]);
    let archive = posting_archive(&format!(
        "post_policy = \"open\"\npost_relay = \"{}\"\npost_dns = \"127.0.0.1:{}\"\npost_from_address = \"posts@{HOST}\"\npost_envelope_from = \"bounces@{HOST}\"",
        sink.url(),
        dns.port
    ));
    let server = archive.serve();
    let mut c = server.client();
    let cases = [
        ("Bob Strict <bob@strict.example>", true),
        ("Quinn <quinn@quarantine.example>", true),
        ("dave@lists.strict.example", true),
        ("Carol <carol@relaxed.example>", false),
        ("Erin <erin@norecord.example>", false),
    ];
    for (from, _) in cases {
        c.post_expect(&article(from, "example.list-0", "hello", "", "Hi.\r\n"), 240);
    }
    let mails = sink.wait_for(cases.len());
    for ((from, rewritten), mail) in cases.iter().zip(&mails) {
        assert_eq!(mail.mail_from, format!("bounces@{HOST}"));
        let shown = mail.header("From").unwrap();
        if *rewritten {
            let name = from.split(" <").next().filter(|_| from.contains('<')).unwrap_or("dave");
            assert_eq!(shown, format!("\"{name} via {HOST}\" <posts@{HOST}>"), "{from}");
            assert_eq!(mail.header("Reply-To").as_deref(), Some(*from));
        } else {
            assert_eq!(shown, *from);
            assert_eq!(mail.header("Reply-To"), None, "{from}");
        }
    }
}

/// The relay over STARTTLS and over implicit TLS, with SMTP AUTH, trusting the relay's CA.
#[test]
fn the_relay_is_reached_over_tls_with_auth() {
    let cert = TestCert::new("relay");
    let certs = tempfile::tempdir().unwrap();
    cert.install(certs.path());
    let (crt, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    std::fs::write(certs.path().join("relay-password"), "relay-secret\n").unwrap();
    for (option, scheme) in [("--starttls", "smtp+starttls"), ("--tls", "smtps")] {
        let sink = SmtpSink::start(&[
            option,
            crt.to_str().unwrap(),
            key.to_str().unwrap(),
            "--auth",
            "relayuser:relay-secret",
        ]);
        let archive = posting_archive(&format!(
            "post_policy = \"open\"\npost_relay = \"{scheme}://localhost:{}\"\npost_relay_ca = \"{}\"\npost_relay_user = \"relayuser\"\npost_relay_password_file = \"{}\"\npost_from_rewrite = \"never\"",
            sink.port,
            certs.path().join("ca.pem").display(),
            certs.path().join("relay-password").display()
        ));
        let server = archive.serve();
        let mut c = server.client();
        c.post_expect(&article("Bob <bob@example.net>", "example.list-0", scheme, "", "Hi.\r\n"), 240);
        let mail = sink.wait_for(1).remove(0);
        assert!(mail.tls, "{scheme}: the mail came in the clear");
        assert_eq!(mail.auth_user.as_deref(), Some("relayuser"), "{scheme}");
    }
}

/// Real clients post replies with users' credentials: Python's nntplib and Perl's Net::NNTP
/// (as scripts would), tin under tmux answering a thread with its editor (a script), and
/// Thunderbird's POST sequence replayed with its headers. Each mail reaches the relay with
/// the reply's References and In-Reply-To.
#[test]
fn real_clients_post_replies() {
    let sink = SmtpSink::start(&[]);
    let archive = posting_archive(&format!(
        "post_policy = \"users\"\npost_relay = \"{}\"\npost_from_rewrite = \"never\"",
        sink.url()
    ));
    archive.import(None, &[&sample_mbox()]);
    let server = archive.serve();
    let port = server.addr.port().to_string();
    let mut c = server.client();
    let (_, low, _) = c.group("example.list-0");
    let (_, over) = c.expect_text(&format!("XOVER {low}"), 224);
    let first: Vec<&str> = over[0].split('\t').collect();
    let (parent, parent_refs) = (first[4].to_string(), first[5].to_string());
    let references = format!("{parent_refs} {parent}").trim().to_string();
    let dir = archive.dir.path();
    let reply = |from: &str, agent: &str| {
        article(
            from,
            "example.list-0",
            "Re: first",
            &format!("References: {references}\r\n"),
            &format!("Sent by {agent}.\r\n"),
        )
    };

    std::fs::write(dir.join("nntplib.txt"), reply("Alice <alice@example.org>", "nntplib")).unwrap();
    let out = std::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/protocol-tests/clients/post_nntplib.py"))
        .args(["127.0.0.1", &port, "alice", "alice-pw"])
        .arg(dir.join("nntplib.txt"))
        .output()
        .expect("python3");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.starts_with("240 "),
        "nntplib: {said} {}",
        String::from_utf8_lossy(&out.stderr)
    );

    std::fs::write(dir.join("perl.txt"), reply("Alice <alice@example.org>", "Net::NNTP")).unwrap();
    let out = std::process::Command::new("perl")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/protocol-tests/clients/post_net_nntp.pl"))
        .args(["127.0.0.1", &port, "alice", "alice-pw"])
        .arg(dir.join("perl.txt"))
        .output()
        .expect("perl");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.starts_with("240 "),
        "Net::NNTP: {said} {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Thunderbird: POST at once; on 480 it logs in and posts again. Its headers, format=flowed.
    let mut tb = server.client();
    tb.expect("POST", 480);
    tb.login_ok(("alice", "alice-pw"));
    let thunderbird = format!(
        "Message-ID: <0f6c2d1e-3b4a-4c5d-8e9f-a0b1c2d3e4f5@example.org>\r\nDate: Thu, 3 Dec 2026 10:00:00 +0100\r\n\
MIME-Version: 1.0\r\nUser-Agent: Mozilla Thunderbird\r\nContent-Language: en-US\r\n\
Newsgroups: example.list-0\r\nReferences: {references}\r\nFrom: Alice Example <alice@example.org>\r\n\
Subject: Re: first\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\
\r\nSent by Thunderbird, with a flowed line \r\nand a dot:\r\n.\r\n"
    );
    let status = tb.post_expect(thunderbird.as_bytes(), 240);
    assert_eq!(posted_id(&status), "<0f6c2d1e-3b4a-4c5d-8e9f-a0b1c2d3e4f5@example.org>");
    tb.expect("QUIT", 205);

    // tin: reads with AUTHINFO from ~/.newsauth, answers the first thread with `f`, edits
    // with the script, posts with `p`.
    let home = dir.join("home");
    std::fs::create_dir_all(home.join(".tin")).unwrap();
    std::fs::write(home.join(".newsrc"), "example.list-0:\n").unwrap();
    std::fs::write(home.join(".tin/tinrc"), "mail_address=alice@example.org\n").unwrap();
    std::fs::write(home.join(".newsauth"), "127.0.0.1 alice-pw alice\n").unwrap();
    let editor = home.join("editor.sh");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\nfor f; do :; done\nprintf '\\nSent by tin.\\n' >> \"$f\"\ntouch {}\n",
            home.join("edited").display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod").args(["700"]).arg(&editor).status().unwrap();
    std::process::Command::new("chmod").args(["600"]).arg(home.join(".newsauth")).status().unwrap();
    let tin = Terminal::start(
        "tin-post",
        &format!(
            "env HOME={} LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm EDITOR={} tin -A -r -p {port} -g 127.0.0.1",
            home.display(),
            editor.display()
        ),
    );
    tin.wait_for("example.list-0");
    tin.press_until("Enter", "example.list-0 (");
    tin.press_until("Enter", "Newsgroups: example.list-0");
    tin.press_until("f", "p=post");
    // A first post shows tin's advice before the editor: `e` edits.
    if !home.join("edited").exists() {
        tin.keys(&["e"]);
        assert!(wait_until(20, || home.join("edited").exists()), "tin never ran the editor:\n{}", tin.screen());
        tin.wait_for("p=post");
    }
    tin.keys(&["p"]);
    tin.wait_for("Article posted");

    let mails = sink.wait_for(4);
    let by = |agent: &str| {
        mails
            .iter()
            .find(|m| String::from_utf8_lossy(&m.data).contains(&format!("Sent by {agent}")))
            .unwrap_or_else(|| panic!("no mail from {agent}"))
    };
    for agent in ["nntplib", "Net::NNTP", "Thunderbird", "tin"] {
        let mail = by(agent);
        assert_eq!(mail.rcpt_tos, ["list-0@lists.example.org"], "{agent}");
        assert_eq!(mail.mail_from, "alice@example.org", "{agent}");
        assert_eq!(mail.header("In-Reply-To"), Some(parent.clone()), "{agent}:\n{}", mail.head());
        let refs = mail.header("References").unwrap_or_default();
        assert_eq!(
            refs.split_whitespace().collect::<Vec<_>>(),
            references.split_whitespace().collect::<Vec<_>>(),
            "{agent}"
        );
    }
    let tb = by("Thunderbird");
    for (name, value) in [
        ("Content-Type", "text/plain; charset=UTF-8; format=flowed"),
        ("User-Agent", "Mozilla Thunderbird"),
        ("Message-ID", "<0f6c2d1e-3b4a-4c5d-8e9f-a0b1c2d3e4f5@example.org>"),
        ("Date", "Thu, 3 Dec 2026 10:00:00 +0100"),
    ] {
        assert_eq!(tb.header(name).as_deref(), Some(value), "{}", tb.head());
    }
    assert!(
        tb.data.ends_with(b"with a flowed line \r\nand a dot:\r\n.\r\n"),
        "{:?}",
        String::from_utf8_lossy(&tb.data)
    );
    assert!(by("tin").header("User-Agent").is_some_and(|a| a.starts_with("tin/")));
}

/// `post_relay = "sendmail:/path"`: the mail goes through a sendmail-compatible program (here
/// msmtp, which speaks SMTP to the test relay) with the envelope on its command line; its
/// failure (exit status and what it printed) is the `441`.
#[test]
fn posts_go_through_a_sendmail_program() {
    let sink = SmtpSink::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let sendmail = dir.path().join("sendmail");
    let write_wrapper = |port: u16| {
        std::fs::write(
            &sendmail,
            format!("#!/bin/sh\nexec msmtp --host=127.0.0.1 --port={port} --auth=off --tls=off \"$@\"\n"),
        )
        .unwrap();
        std::process::Command::new("chmod").arg("755").arg(&sendmail).status().unwrap();
    };
    write_wrapper(sink.port);
    let archive = posting_archive(&format!(
        "post_policy = \"open\"\npost_relay = \"sendmail:{}\"\npost_from_rewrite = \"never\"",
        sendmail.display()
    ));
    let server = archive.serve();
    let mut c = server.client();
    let post = article("Bob <bob@example.net>", "example.list-2", "via sendmail", "", "Hi.\r\n");
    c.post_expect(&post, 240);
    let mail = sink.wait_for(1).remove(0);
    assert_eq!(mail.mail_from, "bob@example.net");
    assert_eq!(mail.rcpt_tos, ["list-2@lists.example.org"]);
    assert_eq!(mail.header("Subject").as_deref(), Some("via sendmail"));

    // The program fails (its relay is gone): 441 with what it said.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    write_wrapper(closed);
    let status = c.post_expect(&post, 441);
    assert!(status.contains("msmtp"), "{status}");
    assert_eq!(sink.received().len(), 1);
}
