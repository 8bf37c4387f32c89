//! Every reader command with its codes and state rules (RFC 3977), against the sample archive.

use std::collections::HashSet;

use crate::common::*;

fn sample_server() -> (Archive, TestServer) {
    let archive = Archive::new();
    archive.import(None, &[&sample_mbox()]);
    let server = archive.serve();
    (archive, server)
}

#[test]
fn greeting_capabilities_and_mode_reader() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    assert!(c.greeting.starts_with("201 "), "read-only greeting: {}", c.greeting);
    let (status, caps) = c.text_block("CAPABILITIES", 101);
    assert_eq!(code(&status), 101);
    assert_eq!(caps[0], "VERSION 2", "VERSION comes first (RFC 3977 §5.2)");
    for needed in ["READER", "OVER MSGID", "HDR", "NEWNEWS"] {
        assert!(caps.iter().any(|c| c == needed), "{needed} missing from {caps:?}");
    }
    assert!(caps.iter().any(|c| c.starts_with("IMPLEMENTATION listnews ")));
    assert!(caps.iter().any(|c| c.starts_with("LIST ") && c.contains("ACTIVE") && c.contains("NEWSGROUPS")));
    assert!(!caps.iter().any(|c| c == "POST" || c.starts_with("IHAVE") || c == "MODE-READER"));
    let unique: HashSet<&String> = caps.iter().collect();
    assert_eq!(unique.len(), caps.len(), "no capability twice");
    assert_eq!(code(&c.cmd("MODE READER")), 201);
    assert_eq!(code(&c.cmd("mode reader")), 201, "keywords are case-insensitive");
    assert_eq!(code(&c.cmd("QUIT")), 205);
}

#[test]
fn group_sets_state_and_counts_match_listgroup_and_over() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    assert_eq!(code(&c.cmd("STAT")), 412, "no group selected yet");
    assert_eq!(code(&c.cmd("NEXT")), 412);
    assert_eq!(code(&c.cmd("GROUP no.such.group")), 411);
    assert_eq!(code(&c.cmd("STAT")), 412, "a failed GROUP changes nothing");
    for group in ["example.list-0", "example.list-1", "example.list-2"] {
        let status = c.cmd(&format!("GROUP {group}"));
        let f: Vec<&str> = status.split(' ').collect();
        assert_eq!(f[0], "211");
        assert_eq!(f[4], group);
        let (count, low, high): (u64, u64, u64) = (f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap());
        assert!(count > 0 && low == 1 && high == count, "{status}");
        // The current article is the first one.
        let stat = c.cmd("STAT");
        assert!(stat.starts_with(&format!("223 {low} <")), "{stat}");
        let (_, nums) = c.text_block("LISTGROUP", 211);
        assert_eq!(nums.len() as u64, count);
        let (_, over) = c.multi(&format!("OVER {low}-{high}"), 224);
        assert_eq!(over.len() as u64, count);
        let (_, xover) = c.multi("XOVER 1-", 224);
        assert_eq!(xover, over, "open range = whole group");
    }
}

#[test]
fn empty_group_answers_in_the_preferred_form() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    let status = c.cmd("GROUP example.empty");
    assert_eq!(status, "211 0 1 0 example.empty", "211 0 L L-1 with L >= 1");
    assert_eq!(code(&c.cmd("STAT")), 420, "no current article in an empty group");
    assert_eq!(code(&c.cmd("NEXT")), 420);
    let (s, lines) = c.text_block("LISTGROUP", 211);
    assert!(s.starts_with("211 0 1 0 example.empty"));
    assert!(lines.is_empty());
    assert_eq!(code(&c.cmd("OVER 1-")), 423);
    let (s, lines) = c.multi("XOVER 1-", 224);
    assert_eq!(code(&s), 224, "XOVER answers an empty range with an empty 224, as INN does");
    assert!(lines.is_empty());
}

#[test]
fn listgroup_forms_and_errors() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    assert_eq!(code(&c.cmd("LISTGROUP")), 412);
    assert_eq!(code(&c.cmd("LISTGROUP nope")), 411);
    let (status, nums) = c.text_block("LISTGROUP example.list-2 3-5", 211);
    assert!(status.starts_with("211 ") && status.contains(" example.list-2"), "{status}");
    assert_eq!(nums, vec!["3", "4", "5"]);
    // LISTGROUP selects the group and points at its first article.
    assert!(c.cmd("STAT").starts_with("223 1 "));
    let (_, nums) = c.text_block("LISTGROUP example.list-2 5-3", 211);
    assert!(nums.is_empty(), "m < n is an empty range");
    let (_, nums) = c.text_block("LISTGROUP example.list-2 40-", 211);
    assert_eq!(nums.first().map(String::as_str), Some("40"));
    assert_eq!(code(&c.cmd("LISTGROUP example.list-2 x-y")), 501);
}

#[test]
fn next_and_last_walk_the_group() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    c.cmd("GROUP example.list-2");
    assert_eq!(code(&c.cmd("LAST")), 422, "no article before the first");
    let next = c.cmd("NEXT");
    assert!(next.starts_with("223 2 <"), "{next}");
    assert!(c.cmd("STAT").starts_with("223 2 "), "NEXT moves the current article");
    assert!(c.cmd("LAST").starts_with("223 1 <"));
    let high: u64 = c.cmd("GROUP example.list-2").split(' ').nth(3).unwrap().parse().unwrap();
    assert_eq!(code(&c.cmd(&format!("STAT {high}"))), 223);
    assert_eq!(code(&c.cmd("NEXT")), 421);
}

#[test]
fn article_head_body_stat_by_number_and_message_id() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    assert_eq!(code(&c.cmd("ARTICLE 1")), 412, "a number needs a group");
    c.cmd("GROUP example.list-1");
    let stat = c.cmd("STAT 3");
    let id = stat.split(' ').nth(2).unwrap().to_string();
    assert!(stat.starts_with("223 3 <"));

    let (status, article) = c.multi("ARTICLE 3", 220);
    assert_eq!(status.split(' ').take(3).collect::<Vec<_>>(), ["220", "3", id.as_str()]);
    let blank = article.iter().position(|l| l.is_empty()).expect("blank line after headers");
    let head: Vec<String> = article[..blank].iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect();
    assert!(head.contains(&format!("Path: {HOST}!not-for-mail")));
    assert!(
        head.contains(&"Newsgroups: example.list-1".to_string())
            || head.iter().any(|h| h.starts_with("Newsgroups: ") && h.contains("example.list-1"))
    );
    assert!(head.iter().any(|h| h.starts_with(&format!("Xref: {HOST} ")) && h.contains("example.list-1:3")));
    assert!(head.iter().any(|h| h.eq_ignore_ascii_case(&format!("Message-ID: {id}"))
        || h.to_ascii_lowercase() == format!("message-id: {}", id.to_ascii_lowercase())));

    let (s, headers) = c.multi("HEAD 3", 221);
    assert!(s.starts_with("221 3 "));
    assert_eq!(headers, article[..blank].to_vec());
    let (s, body) = c.multi("BODY 3", 222);
    assert!(s.starts_with("222 3 "));
    assert_eq!(body, article[blank + 1..].to_vec());

    // By message-id: same article; the state does not change.
    c.cmd("STAT 1");
    let (s, by_id) = c.multi(&format!("ARTICLE {id}"), 220);
    assert!(s.starts_with(&format!("220 3 {id}")), "number shown when in the current group: {s}");
    assert_eq!(by_id, article);
    assert!(c.cmd("STAT").starts_with("223 1 "), "fetch by message-id keeps the current article");
    c.cmd("GROUP example.list-2");
    let s = c.cmd(&format!("STAT {id}"));
    assert!(s.starts_with(&format!("223 0 {id}")) || s.starts_with("223 "), "{s}");

    assert_eq!(code(&c.cmd("ARTICLE <no-such-id@example.org>")), 430);
    assert_eq!(code(&c.cmd("HEAD 99999")), 423);
    assert_eq!(code(&c.cmd("BODY 0")), 423);
    assert_eq!(code(&c.cmd("STAT abc")), 501);
}

#[test]
fn articles_are_served_as_imported() {
    // Every message of the sample, fetched by Message-ID, has the body it was imported with
    // (CRLF line ends, dot-stuffing undone by the client).
    let (_a, server) = sample_server();
    let mut c = server.client();
    let data = std::fs::read(sample_mbox()).unwrap();
    let mut checked = 0;
    let mut seen = HashSet::new();
    for raw in split_mbox(&data) {
        let Some(id) = header(&raw, "Message-ID") else { continue };
        if !seen.insert(id.clone()) {
            continue; // a reused id: the first holder keeps it
        }
        let (status, body) = c.multi(&format!("BODY {id}"), 222);
        assert_eq!(code(&status), 222, "{id}: {status}");
        let raw = String::from_utf8_lossy(&raw).replace("\r\n", "\n").into_bytes();
        let expected_body = raw.split(|&b| b == b'\n').skip_while(|l| !l.is_empty()).skip(1).collect::<Vec<_>>();
        let mut expected: Vec<Vec<u8>> = expected_body.iter().map(|l| l.to_vec()).collect();
        if expected.last().is_some_and(|l| l.is_empty()) {
            expected.pop();
        }
        let got: Vec<Vec<u8>> = body.iter().map(|l| String::from_utf8_lossy(l).into_owned().into_bytes()).collect();
        let expected: Vec<Vec<u8>> =
            expected.iter().map(|l| String::from_utf8_lossy(l).into_owned().into_bytes()).collect();
        assert_eq!(got, expected, "{id}");
        checked += 1;
    }
    assert!(checked > 250, "checked {checked}");
}

#[test]
fn over_fields_and_forms() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    let s = c.cmd("XOVER");
    assert_eq!(code(&s), 412, "bare XOVER before GROUP: a single 412 line (slrn, tin)");
    assert_eq!(code(&c.cmd("OVER 1-5")), 412);
    c.cmd("GROUP example.list-0");
    let (s, lines) = c.multi("OVER 1-5", 224);
    assert_eq!(code(&s), 224);
    assert_eq!(lines.len(), 5);
    for (i, line) in lines.iter().enumerate() {
        let f: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
        assert_eq!(f.len(), 9, "8 fields + Xref: {:?}", String::from_utf8_lossy(line));
        assert_eq!(f[0], (i + 1).to_string().as_bytes());
        assert!(f[4].starts_with(b"<") && f[4].ends_with(b">"));
        assert!(f[8].starts_with(format!("Xref: {HOST} ").as_bytes()));
        // :bytes is the article's size with CRLF line ends (as served, minus the
        // Path/Newsgroups/Xref lines the server adds); :lines counts body lines.
        let num = i + 1;
        let (_, article) = c.multi(&format!("ARTICLE {num}"), 220);
        let blank = article.iter().position(|l| l.is_empty()).unwrap();
        let added: usize = article[..3].iter().map(|l| l.len() + 2).sum();
        let size: usize = article.iter().map(|l| l.len() + 2).sum::<usize>() - added;
        assert_eq!(String::from_utf8_lossy(f[6]), size.to_string(), "bytes of {num}");
        assert_eq!(String::from_utf8_lossy(f[7]), (article.len() - blank - 1).to_string(), "lines of {num}");
    }
    // No argument: the current article.
    c.cmd("STAT 2");
    let (_, cur) = c.multi("OVER", 224);
    assert_eq!(cur, vec![lines[1].clone()]);
    // By message-id.
    let id = String::from_utf8_lossy(lines[2].split(|&b| b == b'\t').nth(4).unwrap()).into_owned();
    let (s, by_id) = c.multi(&format!("OVER {id}"), 224);
    assert_eq!(code(&s), 224);
    assert_eq!(by_id, vec![lines[2].clone()], "number shown when in the current group");
    c.cmd("GROUP example.list-2");
    let (_, by_id) = c.multi(&format!("OVER {id}"), 224);
    assert!(by_id[0].starts_with(b"0\t"), "0 outside the current group");
    assert_eq!(code(&c.cmd("OVER <nope@example.org>")), 430);
    assert_eq!(code(&c.cmd("OVER 100000-")), 423);
    assert_eq!(code(&c.cmd("OVER x")), 501);
}

#[test]
fn hdr_and_xhdr() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    assert_eq!(code(&c.cmd("HDR Subject 1-2")), 412);
    c.cmd("GROUP example.list-0");
    let (_, over) = c.multi("XOVER 1-3", 224);
    let (s, subjects) = c.multi("HDR Subject 1-3", 225);
    assert_eq!(code(&s), 225);
    for (line, o) in subjects.iter().zip(&over) {
        let f: Vec<&[u8]> = o.split(|&b| b == b'\t').collect();
        let mut expected = f[0].to_vec();
        expected.push(b' ');
        expected.extend_from_slice(f[1]);
        assert_eq!(line, &expected);
    }
    let (s, x) = c.multi("XHDR subject 1-3", 221);
    assert_eq!(code(&s), 221, "XHDR answers 221 (RFC 2980)");
    assert_eq!(x, subjects);
    // Any header, not only overview fields; a missing one still gets a line.
    let (_, ua) = c.text_block("XHDR X-No-Such-Header 1-3", 221);
    assert_eq!(ua, vec!["1 ", "2 ", "3 "]);
    let (_, ret) = c.text_block("HDR Return-Path 1", 225);
    assert!(ret[0].starts_with("1 <"), "{ret:?}");
    let (_, xref) = c.text_block("XHDR Xref 1", 221);
    assert_eq!(xref[0], format!("1 {HOST} example.list-0:1"));
    let (_, path) = c.text_block("XHDR Path 1", 221);
    assert_eq!(path[0], format!("1 {HOST}!not-for-mail"));
    let (_, lines) = c.text_block("HDR :lines 1", 225);
    let f: Vec<String> = over[0].split(|&b| b == b'\t').map(|f| String::from_utf8_lossy(f).into_owned()).collect();
    assert_eq!(lines[0], format!("1 {}", f[7]));
    // Message-id forms.
    let id = &f[4];
    let (_, h) = c.text_block(&format!("HDR Subject {id}"), 225);
    assert_eq!(h[0], format!("0 {}", f[1]));
    let (_, h) = c.text_block(&format!("XHDR Subject {id}"), 221);
    assert_eq!(h[0], format!("{id} {}", f[1]));
    // Current article.
    c.cmd("STAT 2");
    let (_, h) = c.text_block("HDR Message-ID", 225);
    assert!(h[0].starts_with("2 <"));
    assert_eq!(code(&c.cmd("HDR Subject <nope@x>")), 430);
    assert_eq!(code(&c.cmd("HDR")), 501);
}

#[test]
fn list_variants() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    let (s, active) = c.text_block("LIST", 215);
    assert_eq!(code(&s), 215);
    assert_eq!(active.len(), 4);
    let l0 = active.iter().find(|l| l.starts_with("example.list-0 ")).unwrap();
    let f: Vec<&str> = l0.split(' ').collect();
    let g = c.cmd("GROUP example.list-0");
    let gf: Vec<&str> = g.split(' ').collect();
    assert_eq!((f[1], f[2], f[3]), (gf[3], gf[2], "n"), "LIST ACTIVE is `group high low status`");
    let (_, some) = c.text_block("LIST ACTIVE example.list-*,!example.list-1", 215);
    assert_eq!(some.len(), 2);
    assert!(some.iter().all(|l| !l.starts_with("example.list-1 ")));
    let (_, ng) = c.text_block("LIST NEWSGROUPS example.list-1", 215);
    assert_eq!(ng, vec!["example.list-1\tList one"]);
    let (_, fmt) = c.text_block("LIST OVERVIEW.FMT", 215);
    assert_eq!(
        fmt,
        ["Subject:", "From:", "Date:", "Message-ID:", "References:", "Bytes:", "Lines:", "Xref:full"],
        "slrn's form before CAPABILITIES"
    );
    c.multi("CAPABILITIES", 101);
    let (_, fmt) = c.text_block("LIST OVERVIEW.FMT", 215);
    assert_eq!(fmt, ["Subject:", "From:", "Date:", "Message-ID:", "References:", ":bytes", ":lines", "Xref:full"]);
    let (_, headers) = c.text_block("LIST HEADERS", 215);
    assert!(headers.contains(&":".to_string()) && headers.contains(&":bytes".to_string()));
    assert_eq!(code(&c.multi("LIST HEADERS RANGE", 215).0), 215);
    assert_eq!(code(&c.cmd("LIST FOO")), 501, "unknown LIST keyword");
    assert_eq!(code(&c.cmd("LIST HEADERS BAD")), 501);
}

#[test]
fn newnews_newgroups_and_date() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    let date = c.cmd("DATE");
    assert!(date.starts_with("111 ") && date.len() == 18 && date[4..].chars().all(|c| c.is_ascii_digit()), "{date}");
    let (s, all) = c.text_block("NEWNEWS * 19700101 000000 GMT", 230);
    assert_eq!(code(&s), 230);
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len());
    let total: usize = ["example.list-0", "example.list-1", "example.list-2"]
        .iter()
        .map(|g| c.cmd(&format!("GROUP {g}")).split(' ').nth(1).unwrap().parse::<usize>().unwrap())
        .sum();
    assert!(all.len() <= total && all.len() > 250, "{} of {total}", all.len());
    let (_, one) = c.text_block("NEWNEWS example.list-2 700101 000000", 230);
    let l2: usize = c.cmd("GROUP example.list-2").split(' ').nth(1).unwrap().parse().unwrap();
    assert_eq!(one.len(), l2, "six-digit date without GMT (nntplib)");
    let (_, none) = c.text_block("NEWNEWS * 20991231 235959 GMT", 230);
    assert!(none.is_empty());
    let (s, groups) = c.text_block("NEWGROUPS 19700101 000000 GMT", 231);
    assert_eq!(code(&s), 231);
    assert_eq!(groups.len(), 4);
    let (_, groups) = c.text_block("NEWGROUPS 20991231 235959", 231);
    assert!(groups.is_empty());
    assert_eq!(code(&c.cmd("NEWGROUPS yesterday")), 501);
    assert_eq!(code(&c.cmd("NEWNEWS * 2024 000000")), 501);
}

#[test]
fn posting_is_refused_with_the_list_address() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    assert_eq!(code(&c.cmd("POST")), 440);
    c.cmd("GROUP example.list-1");
    let s = c.cmd("POST");
    assert!(s.starts_with("440 ") && s.contains("list-1@lists.example.org"), "{s}");
    assert_eq!(code(&c.cmd("IHAVE <a@b.example>")), 435);
    assert_eq!(code(&c.cmd("IHAVE")), 501);
}

#[test]
fn errors_leave_the_session_usable() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    assert_eq!(code(&c.cmd("FROBNICATE")), 500);
    assert_eq!(code(&c.cmd("GROUP")), 501);
    let long = format!("GROUP {}", "x".repeat(600));
    assert_eq!(code(&c.cmd(&long)), 501, "over 512 octets");
    // A line of 512 octets including CRLF is still fine.
    let exact = format!("XHDR {} 1", "a".repeat(512 - 2 - 7));
    assert_eq!(exact.len() + 2, 512);
    assert_eq!(code(&c.cmd(&exact)), 412);
    // Over-long without any LF for a while, then more commands.
    c.send(&vec![b'A'; 5000]);
    c.send(b"\r\n");
    assert_eq!(code(&c.line()), 501);
    c.send(b"HEAD \xff\xfe\r\n");
    assert_eq!(code(&c.line()), 501, "invalid UTF-8 argument");
    c.send(b"DATE\0\r\n");
    let s = c.line();
    assert!(code(&s) == 500 || code(&s) == 501, "{s}");
    assert_eq!(code(&c.cmd("DATE")), 111);
    let (s, help) = c.text_block("HELP", 100);
    assert_eq!(code(&s), 100);
    assert!(help.iter().any(|l| l.contains("XOVER")));
    assert_eq!(code(&c.cmd("QUIT")), 205);
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    let mut batch = Vec::new();
    batch.extend_from_slice(b"GROUP example.list-0\r\n");
    for n in 1..=300u32 {
        batch.extend_from_slice(format!("STAT {}\r\nXOVER {}\r\n", n % 150 + 1, n % 150 + 1).as_bytes());
    }
    batch.extend_from_slice(b"DATE\r\n");
    c.send(&batch);
    assert_eq!(code(&c.line()), 211);
    for n in 1..=300u32 {
        let want = n % 150 + 1;
        let s = c.line();
        assert!(s.starts_with(&format!("223 {want} ")) || (want > 145 && code(&s) == 423), "{n}: {s}");
        assert_eq!(code(&c.line()), 224);
        let over = c.block();
        assert!(over.len() <= 1);
        if let Some(l) = over.first() {
            assert!(l.starts_with(format!("{want}\t").as_bytes()));
        }
    }
    assert_eq!(code(&c.line()), 111);
}

#[test]
fn many_clients_at_once() {
    let (_a, server) = sample_server();
    let addr = server.addr;
    let handles: Vec<_> = (0..64)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                let g = format!("example.list-{}", i % 3);
                assert_eq!(code(&c.cmd(&format!("GROUP {g}"))), 211);
                let (_, over) = c.multi("XOVER 1-", 224);
                assert!(!over.is_empty());
                over.len()
            })
        })
        .collect();
    let counts: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(counts.len(), 64);
    assert!(counts.chunks(3).all(|c| c.len() < 3 || (c[0] != 0 && c[1] != 0 && c[2] != 0)));
}
