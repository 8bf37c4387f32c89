//! Pullers: leafnode's fetchnews, suck, INN's pullnews; and 1,000 commands in one write.

use super::*;
use crate::kit::*;

/// leafnode's fetchnews 2.x: MODE READER must be 200/201 or it aborts; DATE; NEWGROUPS with
/// LIST NEWSGROUPS g; GROUP; XOVER a-b (8 fields) or `XHDR message-id a-b`; `STAT <id>`;
/// pipelined `ARTICLE <id>`, needing Path and a one-line Message-ID.
#[test]
fn leafnode_fetchnews() {
    let (archive, server) = sample_server();
    let mut c = server.client();
    assert!(c.greeting.starts_with("200 ") || c.greeting.starts_with("201 "), "{}", c.greeting);
    let s = c.expect("MODE READER", 201);
    assert_eq!(code(&s), 201, "fetchnews aborts unless 200/201: {s}");
    let date = server_date(&mut c);
    let drift = (date.and_utc().timestamp() - chrono::Utc::now().timestamp()).abs();
    assert!(drift < 300, "DATE is UTC: {date} ({drift} s off)");

    let (s, new) =
        c.expect_text(&format!("NEWGROUPS {} GMT", (date - chrono::Duration::days(1)).format("%y%m%d %H%M%S")), 231);
    assert_eq!(code(&s), 231);
    assert_eq!(new.len(), archive.config.groups.len());
    for g in &archive.config.groups {
        let (_, desc) = c.expect_text(&format!("LIST NEWSGROUPS {}", g.name), 215);
        assert_eq!(desc, [format!("{}\t{}", g.name, g.description)]);
    }

    let group = "example.list-0";
    let (count, low, high) = c.group(group);
    let over = overview(&mut c, &format!("XOVER {low}-{high}"), "fetchnews");
    assert_eq!(over.len() as u64, count);
    let (_, ids) = c.expect_text(&format!("XHDR message-id {low}-{high}"), 221);
    assert_eq!(ids, over.iter().map(|f| format!("{} {}", f[0], f[4])).collect::<Vec<_>>());
    let (_, nothing) = c.expect_block(&format!("XOVER {}-{}", high + 1, high + 100), 224);
    assert!(nothing.is_empty());

    // STAT <id> for each, then every ARTICLE <id> in one write.
    let stats: String = over.iter().map(|f| format!("STAT {}\r\n", f[4])).collect();
    c.send(stats.as_bytes());
    for f in &over {
        let s = c.line();
        assert!(s.starts_with("223 ") && s.split(' ').nth(2) == Some(f[4].as_str()), "STAT {}: {s}", f[4]);
    }
    c.expect("STAT <gone@example.org>", 430);
    let batch: String = over.iter().map(|f| format!("ARTICLE {}\r\n", f[4])).collect();
    c.send(batch.as_bytes());
    let path = format!("{HOST}!not-for-mail");
    for f in &over {
        let s = c.line();
        assert_eq!(code(&s), 220, "ARTICLE {}: {s}", f[4]);
        let article = c.block();
        let head = head_of(&article);
        assert_eq!(one_header(&head, "Path"), path, "leafnode needs Path");
        let ids = header_fields(&head, "Message-ID");
        assert_eq!(ids.len(), 1, "one Message-ID in {}", f[4]);
        assert_eq!(ids[0].1, 1, "Message-ID on one line in {}", f[4]);
        assert_eq!(ids[0].0.trim(), f[4]);
        assert!(one_header(&head, "Newsgroups").split(',').any(|g| g.trim() == group));
        assert_eq!(article.len() - head.len() - 1, f[7].parse::<usize>().unwrap(), ":lines of {}", f[4]);
    }
    c.expect("QUIT", 205);
}

/// suck 4.3: lowercase commands; `mode reader` (-M); `group g`; `xhdr Message-ID a-b` (221),
/// ids ending in `>`; pipelined `article <id>`; `xover` with -Z.
#[test]
fn suck() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    c.expect("mode reader", 201);
    let group = "example.list-2";
    let s = c.expect(&format!("group {group}"), 211);
    let (count, low, high) = group_status(&s, group);
    let (_, lines) = c.expect_text(&format!("xhdr Message-ID {low}-{high}"), 221);
    assert_eq!(lines.len() as u64, count);
    let ids: Vec<(u64, String)> = numbered(&lines);
    for (n, id) in &ids {
        assert!(id.starts_with('<') && id.ends_with('>'), "suck checks the closing `>`: {n} {id:?}");
    }
    let batch: String = ids.iter().map(|(_, id)| format!("article {id}\r\n")).collect();
    c.send(batch.as_bytes());
    for (n, id) in &ids {
        let s = c.line();
        assert!(s.starts_with(&format!("220 {n} {id}")), "article {id}: {s}");
        assert_eq!(one_header(&head_of(&c.block()), "Message-ID"), *id);
    }
    let over = overview(&mut c, &format!("xover {low}-{high}"), "suck -Z");
    assert_eq!(over.iter().map(|f| (num(f), f[4].clone())).collect::<Vec<_>>(), ids);
    c.expect("quit", 205);
}

/// INN's pullnews (Net::NNTP): MODE READER; GROUP; XOVER (-L) from its saved high mark;
/// ARTICLE n; STAT n (-O); HEAD n (-B).
#[test]
fn inn_pullnews() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    c.expect("MODE READER", 201);
    let group = "example.list-1";
    let (_, low, high) = c.group(group);
    let mark = high - 5;
    assert!(mark >= low);
    let over = overview(&mut c, &format!("XOVER {}-{high}", mark + 1), "pullnews");
    assert_eq!(over.iter().map(|f| num(f)).collect::<Vec<_>>(), (mark + 1..=high).collect::<Vec<_>>());
    for f in &over {
        let s = c.expect(&format!("STAT {}", f[0]), 223);
        assert!(s.starts_with(&format!("223 {} {}", f[0], f[4])), "{s}");
        let (s, article) = c.expect_block(&format!("ARTICLE {}", f[0]), 220);
        assert!(s.starts_with(&format!("220 {} {}", f[0], f[4])), "{s}");
        let (s, head) = c.expect_block(&format!("HEAD {}", f[0]), 221);
        assert!(s.starts_with(&format!("221 {} {}", f[0], f[4])), "{s}");
        assert_eq!(head, article[..head.len()].to_vec());
        assert!(article[head.len()].is_empty());
        // :bytes is the stored article: as served, less the Path/Newsgroups/Xref lines on top.
        let added: usize = article[..3].iter().map(|l| l.len() + 2).sum();
        let bytes: usize = article.iter().map(|l| l.len() + 2).sum::<usize>() - added;
        assert_eq!(bytes.to_string(), f[6], ":bytes of {}", f[0]);
    }
    c.expect(&format!("ARTICLE {}", high + 1), 423);
    // The next run: nothing past the new mark.
    assert_eq!(c.group(group).2, high);
    assert!(overview(&mut c, &format!("XOVER {}-", high + 1), "pullnews").is_empty());
    c.expect("QUIT", 205);
}

/// 1,000 commands in one write: every answer arrives, complete and in order.
#[test]
fn thousand_pipelined_commands_in_one_write() {
    let (_a, server) = sample_server();
    let group = "example.list-0";
    let over = {
        let mut c = server.client();
        let (_, low, high) = c.group(group);
        overview(&mut c, &format!("XOVER {low}-{high}"), "pipelining")
    };
    let mut c = server.client();
    let mut commands = vec![format!("GROUP {group}")];
    for i in 1..999 {
        let f = &over[i % over.len()];
        commands.push(match i % 7 {
            0 => format!("STAT {}", f[0]),
            1 => format!("XHDR Subject {}", f[0]),
            2 => format!("HEAD {}", f[0]),
            3 => format!("XOVER {}", f[0]),
            4 => "DATE".to_string(),
            5 => format!("STAT {}", f[4]),
            _ => "FROBNICATE".to_string(),
        });
    }
    commands.push("QUIT".to_string());
    assert_eq!(commands.len(), 1000);
    let batch: String = commands.iter().map(|l| format!("{l}\r\n")).collect();
    c.send(batch.as_bytes());
    c.status(211);
    for i in 1..999 {
        let f = &over[i % over.len()];
        let s = c.line();
        let what = format!("answer {i} to {:?}", commands[i]);
        match i % 7 {
            0 => assert!(s.starts_with(&format!("223 {} {}", f[0], f[4])), "{what}: {s}"),
            1 => {
                assert_eq!(code(&s), 221, "{what}: {s}");
                assert_eq!(c.block(), [format!("{} {}", f[0], f[1]).into_bytes()], "{what}");
            }
            2 => {
                assert!(s.starts_with(&format!("221 {} {}", f[0], f[4])), "{what}: {s}");
                let head: Vec<String> = c.block().iter().map(|l| text(l)).collect();
                assert_eq!(one_header(&head, "Message-ID"), f[4], "{what}");
            }
            3 => {
                assert_eq!(code(&s), 224, "{what}: {s}");
                let lines = c.block();
                assert_eq!(lines.len(), 1, "{what}");
                assert_eq!(overview_fields(&lines[0], "pipelining")[..8], f[..8], "{what}");
            }
            4 => assert_eq!(code(&s), 111, "{what}: {s}"),
            5 => assert!(s.starts_with("223 ") && s.split(' ').nth(2) == Some(f[4].as_str()), "{what}: {s}"),
            _ => assert_eq!(code(&s), 500, "{what}: {s}"),
        }
    }
    c.status(205); // "QUIT, the 1000th, answered last"
}
