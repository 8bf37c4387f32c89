//! Every reader command with its codes and state rules (RFC 3977), against the sample archive.
//! Expected counts come from the configuration and from the server's other answers.

use std::collections::{BTreeSet, HashSet};

use crate::kit::*;

#[test]
fn greeting_capabilities_and_mode_reader() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    assert!(c.greeting.starts_with("201 "), "read-only greeting: {}", c.greeting);
    let caps = c.capabilities();
    assert_eq!(caps[0], "VERSION 2", "VERSION comes first (RFC 3977 §5.2)");
    for needed in ["READER", "OVER MSGID", "HDR", "NEWNEWS"] {
        assert!(caps.iter().any(|c| c == needed), "{needed} missing from {caps:?}");
    }
    assert!(caps.iter().any(|c| c.starts_with("IMPLEMENTATION listnews ")));
    assert!(caps.iter().any(|c| c.starts_with("LIST ") && c.contains("ACTIVE") && c.contains("NEWSGROUPS")));
    assert!(!caps.iter().any(|c| c == "POST" || c.starts_with("IHAVE") || c == "MODE-READER"));
    let unique: HashSet<&String> = caps.iter().collect();
    assert_eq!(unique.len(), caps.len(), "no capability twice");
    c.expect("MODE READER", 201);
    c.expect("mode reader", 201); // keywords are case-insensitive
    c.expect("QUIT", 205);
}

/// HELP lists what CAPABILITIES offers, one line per command and LIST keyword, and nothing
/// this server, as configured, does not answer.
#[test]
fn help_agrees_with_capabilities() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    let (_, help) = c.expect_text("HELP", 100);
    // Each line's command words (the verb and any keyword), without its arguments.
    let commands: BTreeSet<String> = help
        .iter()
        .map(|l| {
            let words = l.split_whitespace().take_while(|w| w.bytes().all(|b| b.is_ascii_uppercase() || b == b'.'));
            words.collect::<Vec<_>>().join(" ")
        })
        .collect();
    assert_eq!(commands.len(), help.len(), "one line per command: {help:?}");
    let caps = c.capabilities();
    let list = caps.iter().find(|l| l.starts_with("LIST ")).expect("LIST capability");
    for keyword in list.split(' ').skip(1) {
        assert!(commands.contains(&format!("LIST {keyword}")), "LIST {keyword} advertised but not in HELP: {help:?}");
    }
    for command in ["ARTICLE", "OVER", "XOVER", "HDR", "XPAT", "XTHREAD", "COMPRESS DEFLATE", "MODE READER"] {
        assert!(commands.contains(command), "{command} in {help:?}");
    }
    // No certificate, no users, no posting in the harness config: none of these is offered.
    for absent in ["STARTTLS", "AUTHINFO", "IHAVE", "POST"] {
        assert!(!commands.iter().any(|c| c.split(' ').next() == Some(absent)), "{absent} in {help:?}");
        assert!(!caps.iter().any(|c| c.split(' ').next() == Some(absent)), "{absent} in {caps:?}");
    }
    let xover = help.iter().find(|l| l.trim_start().starts_with("XOVER ")).expect("XOVER");
    assert!(xover.contains("message-id"), "XOVER takes a message-id too: {xover}");
    // Everything HELP names is answered (an argument-less probe is never 500).
    for command in &commands {
        if command.starts_with("QUIT") || command.starts_with("COMPRESS") {
            continue;
        }
        let status = c.expect_one_of(command, &[100, 101, 111, 201, 215, 412, 420, 501, 503]);
        if [100, 101, 215].contains(&code(&status)) {
            c.block();
        }
    }
}

#[test]
fn group_sets_state_and_counts_match_listgroup_and_over() {
    let (archive, server) = sample_server();
    let mut c = server.client();
    c.expect("STAT", 412); // no group selected yet
    c.expect("NEXT", 412);
    c.expect("GROUP no.such.group", 411);
    c.expect("STAT", 412); // a failed GROUP changes nothing
    for group in archive.list_names() {
        let (count, low, high) = c.group(&group);
        assert!(count > 0 && low == 1 && high == count, "{group}: {count} {low} {high}");
        // The current article is the first one.
        let stat = c.expect("STAT", 223);
        assert!(stat.starts_with(&format!("223 {low} <")), "{stat}");
        let (_, nums) = c.expect_text("LISTGROUP", 211);
        assert_eq!(nums, (low..=high).map(|n| n.to_string()).collect::<Vec<_>>());
        let (_, over) = c.expect_block(&format!("OVER {low}-{high}"), 224);
        assert_eq!(over.len() as u64, count);
        let (_, xover) = c.expect_block("XOVER 1-", 224);
        assert_eq!(xover, over, "open range = whole group");
    }
}

#[test]
fn empty_group_answers_in_the_preferred_form() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    let status = c.expect("GROUP example.empty", 211);
    assert_eq!(status, "211 0 1 0 example.empty", "211 0 L L-1 with L >= 1");
    c.expect("STAT", 420); // no current article in an empty group
    c.expect("NEXT", 420);
    let (s, lines) = c.expect_text("LISTGROUP", 211);
    assert_eq!(s, "211 0 1 0 example.empty list follows");
    assert!(lines.is_empty());
    c.expect("OVER 1-", 423);
    // XOVER answers an empty range with an empty 224, as INN does.
    let (_, lines) = c.expect_block("XOVER 1-", 224);
    assert!(lines.is_empty());
}

#[test]
fn listgroup_forms_and_errors() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    c.expect("LISTGROUP", 412);
    c.expect("LISTGROUP nope", 411);
    let (count, low, high) = {
        let mut o = server.client();
        o.group("example.list-2")
    };
    let (status, nums) = c.expect_text("LISTGROUP example.list-2 3-5", 211);
    assert_eq!(status, format!("211 {count} {low} {high} example.list-2 list follows"));
    assert_eq!(nums, vec!["3", "4", "5"]);
    // LISTGROUP selects the group and points at its first article.
    assert!(c.expect("STAT", 223).starts_with(&format!("223 {low} ")));
    let (_, nums) = c.expect_text("LISTGROUP example.list-2 5-3", 211);
    assert!(nums.is_empty(), "m < n is an empty range");
    let from = high - 5;
    let (_, nums) = c.expect_text(&format!("LISTGROUP example.list-2 {from}-"), 211);
    assert_eq!(nums, (from..=high).map(|n| n.to_string()).collect::<Vec<_>>());
    c.expect("LISTGROUP example.list-2 x-y", 501);
}

#[test]
fn next_and_last_walk_the_group() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    let (_, _, high) = c.group("example.list-2");
    c.expect("LAST", 422); // no article before the first
    let next = c.expect("NEXT", 223);
    assert!(next.starts_with("223 2 <"), "{next}");
    assert!(c.expect("STAT", 223).starts_with("223 2 "), "NEXT moves the current article");
    assert!(c.expect("LAST", 223).starts_with("223 1 <"));
    c.expect(&format!("STAT {high}"), 223);
    c.expect("NEXT", 421);
}

#[test]
fn article_head_body_stat_by_number_and_message_id() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    c.expect("ARTICLE 1", 412); // a number needs a group
    c.group("example.list-1");
    let stat = c.expect("STAT 3", 223);
    let id = stat.split(' ').nth(2).unwrap().to_string();
    assert!(stat.starts_with("223 3 <"));
    let (_, xref) = c.expect_text("XHDR Xref 3", 221);
    let xref = xref[0].strip_prefix("3 ").expect("XHDR line for 3").to_string();
    let groups: Vec<&str> =
        xref.split(' ').skip(1).map(|pair| pair.rsplit_once(':').expect("group:number").0).collect();

    let (status, article) = c.expect_block("ARTICLE 3", 220);
    assert_eq!(status, format!("220 3 {id} article"));
    let blank = article.iter().position(|l| l.is_empty()).expect("blank line after headers");
    let head: Vec<String> = article[..blank].iter().map(|l| text(l)).collect();
    assert_eq!(
        head[..3],
        [format!("Path: {HOST}!not-for-mail"), format!("Newsgroups: {}", groups.join(",")), format!("Xref: {xref}")]
    );
    assert!(xref.contains("example.list-1:3"), "{xref}");
    let ids: Vec<&String> = head.iter().filter(|h| h.to_ascii_lowercase().starts_with("message-id:")).collect();
    assert_eq!(ids.len(), 1, "{head:?}");
    assert_eq!(ids[0].split_once(':').unwrap().1.trim(), id);

    let (s, headers) = c.expect_block("HEAD 3", 221);
    assert_eq!(s, format!("221 3 {id} head"));
    assert_eq!(headers, article[..blank].to_vec());
    let (s, body) = c.expect_block("BODY 3", 222);
    assert_eq!(s, format!("222 3 {id} body"));
    assert_eq!(body, article[blank + 1..].to_vec());

    // By message-id: same article; the state does not change.
    c.expect("STAT 1", 223);
    let (s, by_id) = c.expect_block(&format!("ARTICLE {id}"), 220);
    assert_eq!(s, format!("220 3 {id} article"), "number shown when in the current group");
    assert_eq!(by_id, article);
    assert!(c.expect("STAT", 223).starts_with("223 1 "), "fetch by message-id keeps the current article");
    // From another group: its number there if it is cross-posted to it, else 0.
    c.group("example.list-2");
    let there = xref.split(' ').find_map(|p| p.strip_prefix("example.list-2:")).unwrap_or("0");
    assert_eq!(c.expect(&format!("STAT {id}"), 223), format!("223 {there} {id} status"));

    c.expect("ARTICLE <no-such-id@example.org>", 430);
    c.expect("HEAD 99999", 423);
    c.expect("BODY 0", 423);
    c.expect("STAT abc", 501);
}

#[test]
fn articles_are_served_as_imported() {
    // Every message of the sample, fetched by Message-ID, has the body it was imported with
    // (CRLF line ends, dot-stuffing undone by the client).
    let (_a, server) = sample_server();
    let mut c = server.client();
    let messages = sample_messages();
    let mut checked = 0;
    let mut seen = HashSet::new();
    for raw in &messages {
        let Some(id) = header(raw, "Message-ID") else { continue };
        if !seen.insert(id.clone()) {
            continue; // a reused id: the first holder keeps it
        }
        let (_, body) = c.expect_block(&format!("BODY {id}"), 222);
        let raw = String::from_utf8_lossy(raw).replace("\r\n", "\n").into_bytes();
        let mut expected: Vec<Vec<u8>> =
            raw.split(|&b| b == b'\n').skip_while(|l| !l.is_empty()).skip(1).map(|l| l.to_vec()).collect();
        if expected.last().is_some_and(|l| l.is_empty()) {
            expected.pop();
        }
        let got: Vec<String> = body.iter().map(|l| text(l)).collect();
        let expected: Vec<String> = expected.iter().map(|l| text(l)).collect();
        assert_eq!(got, expected, "{id}");
        checked += 1;
    }
    assert_eq!(checked, seen.len(), "every message with an id");
    assert!(checked * 10 > messages.len() * 9, "checked {checked} of {}", messages.len());
}

#[test]
fn over_fields_and_forms() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    c.expect("XOVER", 412); // bare XOVER before GROUP: a single 412 line (slrn, tin)
    c.expect("OVER 1-5", 412);
    c.group("example.list-0");
    let (_, lines) = c.expect_block("OVER 1-5", 224);
    assert_eq!(lines.len(), 5);
    for (i, line) in lines.iter().enumerate() {
        let f: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
        assert_eq!(f.len(), 9, "8 fields + Xref: {:?}", text(line));
        assert_eq!(f[0], (i + 1).to_string().as_bytes());
        assert!(f[4].starts_with(b"<") && f[4].ends_with(b">"));
        assert!(f[8].starts_with(format!("Xref: {HOST} ").as_bytes()));
        // :bytes is the article's size with CRLF line ends (as served, minus the
        // Path/Newsgroups/Xref lines the server adds); :lines counts body lines.
        let num = i + 1;
        let (_, article) = c.expect_block(&format!("ARTICLE {num}"), 220);
        let blank = article.iter().position(|l| l.is_empty()).unwrap();
        let added: usize = article[..3].iter().map(|l| l.len() + 2).sum();
        let size: usize = article.iter().map(|l| l.len() + 2).sum::<usize>() - added;
        assert_eq!(text(f[6]), size.to_string(), "bytes of {num}");
        assert_eq!(text(f[7]), (article.len() - blank - 1).to_string(), "lines of {num}");
    }
    // No argument: the current article.
    c.expect("STAT 2", 223);
    let (_, cur) = c.expect_block("OVER", 224);
    assert_eq!(cur, vec![lines[1].clone()]);
    // By message-id.
    let id = text(lines[2].split(|&b| b == b'\t').nth(4).unwrap());
    let (_, by_id) = c.expect_block(&format!("OVER {id}"), 224);
    assert_eq!(by_id, vec![lines[2].clone()], "number shown when in the current group");
    c.group("example.list-2");
    let (_, by_id) = c.expect_block(&format!("OVER {id}"), 224);
    assert!(by_id[0].starts_with(b"0\t"), "0 outside the current group");
    assert_eq!(by_id[0][1..], lines[2][1..], "the rest of the line is the same");
    c.expect("OVER <nope@example.org>", 430);
    c.expect("OVER 100000-", 423);
    c.expect("OVER x", 501);
}

#[test]
fn hdr_and_xhdr() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    c.expect("HDR Subject 1-2", 412);
    c.group("example.list-0");
    let (_, over) = c.expect_block("XOVER 1-3", 224);
    let (_, subjects) = c.expect_block("HDR Subject 1-3", 225);
    assert_eq!(subjects.len(), over.len());
    for (line, o) in subjects.iter().zip(&over) {
        let f: Vec<&[u8]> = o.split(|&b| b == b'\t').collect();
        let mut expected = f[0].to_vec();
        expected.push(b' ');
        expected.extend_from_slice(f[1]);
        assert_eq!(line, &expected);
    }
    let (_, x) = c.expect_block("XHDR subject 1-3", 221);
    assert_eq!(x, subjects);
    // Any header, not only overview fields; a missing one still gets a line.
    let (_, ua) = c.expect_text("XHDR X-No-Such-Header 1-3", 221);
    assert_eq!(ua, vec!["1 ", "2 ", "3 "]);
    let (_, ret) = c.expect_text("HDR Return-Path 1", 225);
    assert!(ret[0].starts_with("1 <"), "{ret:?}");
    let f: Vec<String> = over[0].split(|&b| b == b'\t').map(text).collect();
    let (_, xref) = c.expect_text("XHDR Xref 1", 221);
    assert_eq!(xref, [format!("1 {}", &f[8]["Xref: ".len()..])], "XHDR Xref is the overview's Xref");
    let (_, path) = c.expect_text("XHDR Path 1", 221);
    assert_eq!(path, [format!("1 {HOST}!not-for-mail")]);
    let (_, lines) = c.expect_text("HDR :lines 1", 225);
    assert_eq!(lines, [format!("1 {}", f[7])]);
    // Message-id forms.
    let id = &f[4];
    let (_, h) = c.expect_text(&format!("HDR Subject {id}"), 225);
    assert_eq!(h, [format!("0 {}", f[1])]);
    let (_, h) = c.expect_text(&format!("XHDR Subject {id}"), 221);
    assert_eq!(h, [format!("{id} {}", f[1])]);
    // Current article.
    c.expect("STAT 2", 223);
    let (_, h) = c.expect_text("HDR Message-ID", 225);
    let second: Vec<String> = over[1].split(|&b| b == b'\t').map(text).collect();
    assert_eq!(h, [format!("2 {}", second[4])]);
    c.expect("HDR Subject <nope@x>", 430);
    c.expect("HDR", 501);
}

#[test]
fn list_variants() {
    let (archive, server) = sample_server();
    let mut c = server.client();
    let (_, active) = c.expect_text("LIST", 215);
    let listed: BTreeSet<&str> = active.iter().map(|l| l.split(' ').next().unwrap()).collect();
    let configured = archive.group_names();
    assert_eq!(listed, configured.iter().map(String::as_str).collect(), "every configured group");
    let l0 = active.iter().find(|l| l.starts_with("example.list-0 ")).unwrap();
    let f: Vec<&str> = l0.split(' ').collect();
    let (_, low, high) = c.group("example.list-0");
    assert_eq!(
        (f[1], f[2], f[3]),
        (high.to_string().as_str(), low.to_string().as_str(), "n"),
        "`group high low status`"
    );
    let (_, some) = c.expect_text("LIST ACTIVE example.list-*,!example.list-1", 215);
    let expected: Vec<&String> =
        configured.iter().filter(|g| g.starts_with("example.list-") && *g != "example.list-1").collect();
    assert_eq!(some.iter().map(|l| l.split(' ').next().unwrap()).collect::<Vec<_>>(), expected);
    let (_, ng) = c.expect_text("LIST NEWSGROUPS example.list-1", 215);
    let one = archive.config.group("example.list-1").unwrap();
    assert_eq!(ng, vec![format!("example.list-1\t{}", one.description)]);
    let (_, fmt) = c.expect_text("LIST OVERVIEW.FMT", 215);
    assert_eq!(
        fmt,
        ["Subject:", "From:", "Date:", "Message-ID:", "References:", "Bytes:", "Lines:", "Xref:full"],
        "slrn's form before CAPABILITIES"
    );
    c.capabilities();
    let (_, fmt) = c.expect_text("LIST OVERVIEW.FMT", 215);
    assert_eq!(fmt, ["Subject:", "From:", "Date:", "Message-ID:", "References:", ":bytes", ":lines", "Xref:full"]);
    let (_, headers) = c.expect_text("LIST HEADERS", 215);
    assert_eq!(headers, [":", ":bytes", ":lines"]);
    let (_, range) = c.expect_text("LIST HEADERS RANGE", 215);
    assert_eq!(range, headers);
    c.expect("LIST FOO", 501); // unknown LIST keyword
    c.expect("LIST HEADERS BAD", 501);
}

#[test]
fn newnews_newgroups_and_date() {
    let (archive, server) = sample_server();
    let mut c = server.client();
    let date = c.expect("DATE", 111);
    assert!(date.len() == 18 && date[4..].chars().all(|c| c.is_ascii_digit()), "{date}");
    // Every article, once, whatever groups it is in.
    let mut every = BTreeSet::new();
    let mut per_group = Vec::new();
    for g in archive.list_names() {
        c.group(&g);
        let (_, over) = c.expect_text("XOVER 1-", 224);
        let ids: BTreeSet<String> = over.iter().map(|l| l.split('\t').nth(4).unwrap().to_string()).collect();
        every.extend(ids.iter().cloned());
        per_group.push((g, ids));
    }
    let (_, all) = c.expect_text("NEWNEWS * 19700101 000000 GMT", 230);
    let unique: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(unique.len(), all.len(), "no id twice");
    assert_eq!(unique, every);
    let (g, ids) = per_group.iter().find(|(g, _)| g == "example.list-2").unwrap();
    let (_, one) = c.expect_text(&format!("NEWNEWS {g} 700101 000000"), 230);
    assert_eq!(one.into_iter().collect::<BTreeSet<_>>(), *ids, "six-digit date without GMT (nntplib)");
    let (_, none) = c.expect_text("NEWNEWS * 20991231 235959 GMT", 230);
    assert!(none.is_empty());
    let (_, groups) = c.expect_text("NEWGROUPS 19700101 000000 GMT", 231);
    assert_eq!(
        groups.iter().map(|l| l.split(' ').next().unwrap().to_string()).collect::<BTreeSet<_>>(),
        archive.group_names().into_iter().collect()
    );
    let (_, groups) = c.expect_text("NEWGROUPS 20991231 235959", 231);
    assert!(groups.is_empty());
    c.expect("NEWGROUPS yesterday", 501);
    c.expect("NEWNEWS * 2024 000000", 501);
}

#[test]
fn posting_is_refused_with_the_list_address() {
    let (archive, server) = sample_server();
    let mut c = server.client();
    c.expect("POST", 440);
    c.group("example.list-1");
    let s = c.expect("POST", 440);
    let address = archive.config.group("example.list-1").unwrap().address.clone().unwrap();
    assert!(s.contains(&address), "{s}");
    c.expect("IHAVE <a@b.example>", 435);
    c.expect("IHAVE", 501);
}

#[test]
fn errors_leave_the_session_usable() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    c.expect("FROBNICATE", 500);
    c.expect("GROUP", 501);
    let long = format!("GROUP {}", "x".repeat(600));
    c.expect(&long, 501); // over 512 octets
    // A line of 512 octets including CRLF is still fine.
    let exact = format!("XHDR {} 1", "a".repeat(512 - 2 - 7));
    assert_eq!(exact.len() + 2, 512);
    c.expect(&exact, 412);
    // Over-long without any LF for a while, then more commands.
    c.send(&vec![b'A'; 5000]);
    c.send(b"\r\n");
    c.status(501);
    c.send(b"HEAD \xff\xfe\r\n");
    c.status(501); // invalid UTF-8 argument
    c.send(b"DATE\0\r\n");
    c.status(500); // `DATE\0` is not a verb
    c.expect("DATE", 111);
    c.expect("QUIT", 205);
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let (_a, server) = sample_server();
    let present: BTreeSet<u64> = {
        let mut o = server.client();
        o.group("example.list-0");
        o.expect_text("LISTGROUP", 211).1.iter().map(|n| n.parse().unwrap()).collect()
    };
    let top = present.last().copied().unwrap() + 5;
    let mut c = server.client();
    let mut batch = Vec::new();
    batch.extend_from_slice(b"GROUP example.list-0\r\n");
    let asked: Vec<u64> = (1..=300u64).map(|n| n % top + 1).collect();
    for n in &asked {
        batch.extend_from_slice(format!("STAT {n}\r\nXOVER {n}\r\n").as_bytes());
    }
    batch.extend_from_slice(b"DATE\r\n");
    c.send(&batch);
    c.status(211);
    for n in asked {
        if present.contains(&n) {
            assert!(c.status(223).starts_with(&format!("223 {n} ")));
            c.status(224);
            let over = c.block();
            assert_eq!(over.len(), 1);
            assert!(over[0].starts_with(format!("{n}\t").as_bytes()));
        } else {
            c.status(423);
            c.status(224);
            assert!(c.block().is_empty(), "XOVER {n}: nothing");
        }
    }
    c.status(111);
}

#[test]
fn many_clients_at_once() {
    let (archive, server) = sample_server();
    let groups = archive.list_names();
    let counts: Vec<u64> = {
        let mut o = server.client();
        groups.iter().map(|g| o.group(g).0).collect()
    };
    let addr = server.addr;
    let handles: Vec<_> = (0..64)
        .map(|i| {
            let g = groups[i % groups.len()].clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                c.group(&g);
                c.expect_block("XOVER 1-", 224).1.len() as u64
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), counts[i % groups.len()], "client {i}");
    }
}
