//! Newsreaders: Thunderbird, slrn, tin and Gnus.

use std::collections::{BTreeSet, HashMap};

use super::*;
use crate::kit::*;

/// Thunderbird (NntpClient.sys.mjs): MODE READER and no CAPABILITIES; LIST; NEWGROUPS with
/// an 8-digit year and GMT, 180 days back; GROUP then only `XOVER a-b`; XHDR for filter
/// headers; ARTICLE by number and by id; the search's `XPAT SUBJECT  1- *[Ff][Oo][Oo]*`
/// (two spaces); LISTGROUP.
#[test]
fn thunderbird() {
    let (archive, server) = sample_server();
    let mut c = server.client();
    assert!(c.greeting.starts_with("201 "), "greeting 200/201 (read-only: 201): {}", c.greeting);
    c.expect("MODE READER", 201); // "502 would be an error dialog"

    let (_, active) = c.expect_text("LIST", 215);
    let listed: BTreeSet<String> = active.iter().map(|l| l.split(' ').next().unwrap().to_string()).collect();
    let configured: BTreeSet<String> = archive.group_names().into_iter().collect();
    assert_eq!(listed, configured, "LIST shows every configured group");

    // New groups since 180 days back: all of them, the import created them just now.
    let now = server_date(&mut c);
    let since = now - chrono::Duration::days(180);
    let (_, new) = c.expect_text(&format!("NEWGROUPS {} GMT", since.format("%Y%m%d %H%M%S")), 231);
    let new: BTreeSet<String> = new.iter().map(|l| l.split(' ').next().unwrap().to_string()).collect();
    assert_eq!(new, configured);
    let later = now + chrono::Duration::days(1);
    let (_, none) = c.expect_text(&format!("NEWGROUPS {} GMT", later.format("%Y%m%d %H%M%S")), 231);
    assert!(none.is_empty(), "no group is newer than tomorrow: {none:?}");

    c.expect("XPAT SUBJECT  1- *[Ff][Oo][Oo]*", 412); // "a search before any group"

    // Opening a group: GROUP, then XOVER a-b (the only overview command it sends).
    let group = "example.list-0";
    let (count, low, high) = c.group(group);
    let over = overview(&mut c, &format!("XOVER {low}-{high}"), "Thunderbird");
    assert_eq!(over.len() as u64, count, "one line per article");
    let nums: Vec<u64> = over.iter().map(|f| num(f)).collect();
    assert!(nums.windows(2).all(|w| w[0] < w[1]) && nums[0] >= low && nums[nums.len() - 1] <= high);

    // Filter headers: XHDR h a-b, 221, `n value` for every article.
    let (_, from) = c.expect_text(&format!("XHDR From {low}-{high}"), 221);
    let expected: Vec<String> = over.iter().map(|f| format!("{} {}", f[0], f[2])).collect();
    assert_eq!(from, expected, "XHDR From agrees with the overview");

    // Reading: ARTICLE n, and ARTICLE <id> from a message link, give the same article.
    let f = &over[over.len() / 2];
    let (s, by_num) = c.expect_block(&format!("ARTICLE {}", f[0]), 220);
    assert!(s.starts_with(&format!("220 {} {}", f[0], f[4])), "{s}");
    let (_, by_id) = c.expect_block(&format!("ARTICLE {}", f[4]), 220);
    assert_eq!(by_id, by_num);
    let head = head_of(&by_num);
    assert_eq!(one_header(&head, "Message-ID"), f[4]);
    assert_eq!(one_header(&head, "Subject").replace('\t', " "), f[1], "Subject as the overview showed it");

    // Search: XPAT with two spaces, SUBJECT in capitals, an open range and character classes.
    let (_, subjects) = c.expect_text(&format!("XHDR Subject {low}-{high}"), 221);
    let values: Vec<String> = numbered(&subjects).into_iter().map(|(_, v)| v).collect();
    let word = discriminating_word(&values);
    for term in ["foo", word.as_str()] {
        let command = format!("XPAT SUBJECT  1- {}", case_classes(term));
        let (_, hits) = c.expect_text(&command, 221);
        let expected: Vec<String> = subjects
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.to_ascii_lowercase().contains(term))
            .map(|(l, _)| l.clone())
            .collect();
        assert_eq!(hits, expected, "{command}");
        if term == word {
            assert!(!hits.is_empty() && hits.len() < subjects.len(), "{command} should select some: {hits:?}");
        }
    }
    // Matching is case-sensitive (uwildmat): hence Thunderbird's classes.
    let upper = word.to_ascii_uppercase();
    let (_, hits) = c.expect_text(&format!("XPAT SUBJECT  1- *{upper}*"), 221);
    let expected: Vec<String> =
        subjects.iter().zip(&values).filter(|(_, v)| v.contains(&upper)).map(|(l, _)| l.clone()).collect();
    assert_eq!(hits, expected, "XPAT *{upper}* is case-sensitive");

    let (s, listed) = c.expect_text(&format!("LISTGROUP {group}"), 211);
    assert_eq!(group_status(&s, group), (count, low, high));
    assert_eq!(listed, nums.iter().map(u64::to_string).collect::<Vec<_>>());
    c.expect("QUIT", 205);
}

/// slrn 1.0: MODE READER; probes of a bare XOVER and `XHDR Path` before any group (500 would
/// turn them off, anything else must be one line); LIST OVERVIEW.FMT in the `Bytes:` form;
/// LIST NEWSGROUPS; pipelined GROUPs; XOVER, `XHDR h n`, `XPAT References a-b *<id>*`;
/// ARTICLE/HEAD/BODY/NEXT; slrnpull's `XHDR Message-ID a-b`.
#[test]
fn slrn() {
    let (archive, server) = sample_server();
    let mut c = server.client();
    c.expect("MODE READER", 201); // "502 is fatal for slrn"

    c.send(b"XOVER\r\nXHDR Path\r\nDATE\r\n");
    let probe = c.line();
    assert_eq!(code(&probe), 412, "bare XOVER before GROUP: {probe}");
    let probe = c.line();
    assert_eq!(code(&probe), 412, "XHDR Path before GROUP: {probe}");
    c.status(111); // "the probes were single lines: DATE answers next"

    let (_, fmt) = c.expect_text("LIST OVERVIEW.FMT", 215);
    assert_eq!(fmt[..7], ["Subject:", "From:", "Date:", "Message-ID:", "References:", "Bytes:", "Lines:"]);
    assert!(!fmt.iter().any(|l| l.starts_with(':')), "no :bytes before CAPABILITIES (slrn turns XOVER off): {fmt:?}");

    let (_, ng) = c.expect_text("LIST NEWSGROUPS", 215);
    for g in &archive.config.groups {
        assert!(ng.contains(&format!("{}\t{}", g.name, g.description)), "{} in {ng:?}", g.name);
    }
    let now = server_date(&mut c);
    let since = now - chrono::Duration::days(30);
    let (_, new) = c.expect_text(&format!("NEWGROUPS {} GMT", since.format("%y%m%d %H%M%S")), 231);
    assert_eq!(new.len(), archive.config.groups.len(), "six-digit year: {new:?}");

    // One GROUP per subscribed group, pipelined in one write.
    let mut names = archive.group_names();
    names.push("no.such.group".to_string());
    let batch: String = names.iter().map(|g| format!("GROUP {g}\r\n")).collect();
    c.send(batch.as_bytes());
    let mut selected = HashMap::new();
    for g in &names {
        let s = c.line();
        if g == "no.such.group" {
            assert_eq!(code(&s), 411, "{s}");
        } else {
            selected.insert(g.clone(), group_status(&s, g));
        }
    }
    let (_, act) = c.expect_text("LIST ACTIVE example.list-*", 215);
    let listed: Vec<String> = act.iter().map(|l| l.split(' ').next().unwrap().to_string()).collect();
    assert_eq!(listed, archive.names_with_prefix("example.list-"), "{act:?}");
    for line in &act {
        let f: Vec<&str> = line.split(' ').collect();
        let (_, low, high) = selected[f[0]];
        assert_eq!((f[1], f[2]), (high.to_string().as_str(), low.to_string().as_str()), "{line}");
    }

    let group = "example.list-1";
    let (count, low, high) = c.group(group);
    let over = overview(&mut c, &format!("XOVER {low}-{high}"), "slrn");
    assert_eq!(over.len() as u64, count);
    let f = &over[2];
    let (_, one) = c.expect_text(&format!("XHDR Subject {}", f[0]), 221);
    assert_eq!(one, [format!("{} {}", f[0], f[1])]);

    // Reference search: XPAT References a-b *<id>* for an id that others reference.
    let (_, refs) = c.expect_text(&format!("XHDR References {low}-{high}"), 221);
    let target = refs
        .iter()
        .flat_map(|l| msg_ids(l))
        .find(|id| !has_wildmat_special(id))
        .expect("some article in the group has References");
    let command = format!("XPAT References {low}-{high} *{target}*");
    let (_, hits) = c.expect_text(&command, 221);
    let expected: Vec<String> = refs.iter().filter(|l| l.contains(&target)).cloned().collect();
    assert!(!expected.is_empty());
    assert_eq!(hits, expected, "{command}");

    // Reading.
    let f = &over[1];
    let (s, article) = c.expect_block(&format!("ARTICLE {}", f[0]), 220);
    assert!(s.starts_with(&format!("220 {} {}", f[0], f[4])), "{s}");
    let (s, head) = c.expect_block(&format!("HEAD {}", f[0]), 221);
    assert!(s.starts_with(&format!("221 {} {}", f[0], f[4])), "{s}");
    let (_, body) = c.expect_block(&format!("BODY {}", f[4]), 222);
    let mut joined = head.clone();
    joined.push(Vec::new());
    joined.extend(body);
    assert_eq!(joined, article, "HEAD + blank line + BODY = ARTICLE");
    let next = &over[2];
    let s = c.expect("NEXT", 223);
    assert!(s.starts_with(&format!("223 {} {}", next[0], next[4])), "NEXT after article {}: {s}", f[0]);

    // slrnpull.
    let (_, ids) = c.expect_text(&format!("XHDR Message-ID {low}-{high}"), 221);
    assert_eq!(ids, over.iter().map(|f| format!("{} {}", f[0], f[4])).collect::<Vec<_>>());
    c.expect("QUIT", 205);
}

/// tin 2.6: CAPABILITIES first (a 101 without READER makes it give up; MODE READER only if
/// MODE-READER is listed); LIST MOTD/DISTRIB.PATS/DISTRIBUTIONS if advertised; LIST COUNTS;
/// `LISTGROUP g n-`; LIST OVERVIEW.FMT and OVER; LIST HEADERS RANGE and `HDR XREF a-b`;
/// HDR Path / `XPAT Path a-b *`; by message-id LIST HEADERS MSGID, `HDR Xref <id>`,
/// `XPAT Newsgroups <id> *` and ARTICLE with Xref.
#[test]
fn tin() {
    let (archive, server) = sample_server();
    let mut c = server.client();
    let (_, caps) = c.expect_text("CAPABILITIES", 101);
    assert_eq!(caps[0], "VERSION 2");
    assert!(caps.iter().any(|l| l == "READER"), "tin gives up without READER: {caps:?}");
    assert!(!caps.iter().any(|l| l == "MODE-READER"), "so tin sends no MODE READER: {caps:?}");
    assert!(caps.iter().any(|l| l == "XPAT"), "tin reads the XPAT label: {caps:?}");
    assert!(caps.iter().any(|l| l == "HDR") && caps.iter().any(|l| l.split(' ').next() == Some("OVER")));
    let list: Vec<String> = caps
        .iter()
        .find(|l| l.starts_with("LIST "))
        .expect("LIST capability")
        .split(' ')
        .skip(1)
        .map(str::to_string)
        .collect();
    for kw in ["ACTIVE", "ACTIVE.TIMES", "COUNTS", "HEADERS", "MOTD", "NEWSGROUPS", "OVERVIEW.FMT", "SUBSCRIPTIONS"] {
        assert!(list.iter().any(|k| k == kw), "LIST {kw} advertised: {list:?}");
    }
    for kw in &list {
        let (_, _) = c.expect_block(&format!("LIST {kw}"), 215);
    }
    // Advertised only when kept; asked anyway, a keyword without data is 503 (RFC 6048).
    for kw in ["DISTRIB.PATS", "DISTRIBUTIONS"] {
        assert!(!list.iter().any(|k| k == kw), "{kw} has no data, not advertised: {list:?}");
        c.expect(&format!("LIST {kw}"), 503); // "LIST {kw}"
    }
    let (_, motd) = c.expect_text("LIST MOTD", 215);
    let configured = archive.config.server.motd.as_deref().expect("the harness sets a motd");
    assert_eq!(motd, configured.lines().collect::<Vec<_>>(), "tin shows the MOTD");

    let (_, counts) = c.expect_text("LIST COUNTS", 215);
    let mut by_group: HashMap<String, (u64, u64, u64)> = HashMap::new();
    for line in &counts {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 5, "LIST COUNTS line `group high low count status`: {line:?}");
        assert_eq!(f[4], "n", "read-only archive: {line}");
        let n = |s: &str| s.parse::<u64>().unwrap_or_else(|_| panic!("{line}"));
        by_group.insert(f[0].to_string(), (n(f[3]), n(f[2]), n(f[1])));
    }
    assert_eq!(by_group.keys().cloned().collect::<BTreeSet<_>>(), archive.group_names().into_iter().collect());
    let (_, some) = c.expect_text("LIST COUNTS example.list-*", 215);
    let counted: Vec<String> = some.iter().map(|l| l.split(' ').next().unwrap().to_string()).collect();
    assert_eq!(counted, archive.names_with_prefix("example.list-"), "wildmat: {some:?}");
    let (_, times) = c.expect_text("LIST ACTIVE.TIMES example.list-*,!example.list-1", 215);
    let timed: Vec<&str> = times.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(timed, ["example.list-0", "example.list-2"], "LIST ACTIVE.TIMES wildmat: {times:?}");
    let (_, subs) = c.expect_text("LIST SUBSCRIPTIONS", 215);
    let wanted: Vec<String> = archive.config.groups.iter().filter(|g| g.subscribe).map(|g| g.name.clone()).collect();
    assert!(!wanted.is_empty());
    assert_eq!(subs, wanted, "LIST SUBSCRIPTIONS: the groups configured subscribe = true");
    let (_, ng) = c.expect_text("LIST NEWSGROUPS example.list-1", 215);
    assert_eq!(ng, ["example.list-1\tList one"]);

    // Entering a group: LISTGROUP g n-, answered like GROUP; counts agree with LIST COUNTS.
    for (g, &(count, low, high)) in &by_group {
        assert_eq!(c.group(g), (count, low, high), "LIST COUNTS agrees with GROUP for {g}");
    }
    let group = "example.list-1";
    let (count, low, high) = by_group[group];
    let from = high.saturating_sub(9).max(low);
    let (s, nums) = c.expect_text(&format!("LISTGROUP {group} {from}-"), 211);
    assert_eq!(group_status(&s, group), (count, low, high));

    let (_, fmt) = c.expect_text("LIST OVERVIEW.FMT", 215);
    assert_eq!(fmt[5..7], [":bytes", ":lines"], "after CAPABILITIES: {fmt:?}");
    assert!(fmt.iter().any(|l| l == "Xref:full"), "{fmt:?}");
    let over = overview(&mut c, &format!("OVER {low}-{high}"), "tin");
    assert_eq!(over.len() as u64, count);
    let tail: Vec<String> = over.iter().filter(|f| num(f) >= from).map(|f| f[0].clone()).collect();
    assert_eq!(nums, tail, "LISTGROUP {group} {from}-");

    let (_, headers) = c.expect_text("LIST HEADERS RANGE", 215);
    assert!(headers.iter().any(|h| h == ":" || h.eq_ignore_ascii_case("Xref")), "Xref is available: {headers:?}");
    let (_, xrefs) = c.expect_text(&format!("HDR XREF {low}-{high}"), 225);
    assert_eq!(xrefs, over.iter().map(|f| format!("{} {}", f[0], over_xref(f))).collect::<Vec<_>>());
    for (n, value) in numbered(&xrefs) {
        assert!(xref_pairs(&value).contains(&(group.to_string(), n)), "{n} {value}");
    }
    let path = format!("{HOST}!not-for-mail");
    let (_, paths) = c.expect_text(&format!("HDR Path {low}-{high}"), 225);
    assert_eq!(paths, over.iter().map(|f| format!("{} {path}", f[0])).collect::<Vec<_>>());
    let (_, xpat) = c.expect_text(&format!("XPAT Path {low}-{high} *"), 221);
    assert_eq!(xpat, paths);

    // A message-id from another group (a reference tin follows).
    let mut other = server.client();
    let (_, olow, ohigh) = other.group("example.list-2");
    let elsewhere = overview(&mut other, &format!("XOVER {olow}-{ohigh}"), "tin");
    let f = elsewhere.iter().find(|f| !xref_pairs(&over_xref(f)).iter().any(|(g, _)| g == group)).unwrap();
    let id = &f[4];
    let (_, _) = c.expect_block("LIST HEADERS MSGID", 215);
    let (_, h) = c.expect_text(&format!("HDR Xref {id}"), 225);
    assert_eq!(h, [format!("0 {}", over_xref(f))], "0: not in the current group");
    let (s, article) = c.expect_block(&format!("ARTICLE {id}"), 220);
    assert!(s.starts_with(&format!("220 0 {id}")), "{s}");
    let head = head_of(&article);
    assert_eq!(one_header(&head, "Xref"), over_xref(f), "tin places an article fetched by id with Xref");
    let newsgroups = one_header(&head, "Newsgroups");
    let groups: BTreeSet<String> = xref_pairs(&over_xref(f)).into_iter().map(|(g, _)| g).collect();
    assert_eq!(newsgroups.split(',').map(|g| g.trim().to_string()).collect::<BTreeSet<_>>(), groups);
    let (_, ng) = c.expect_text(&format!("XPAT Newsgroups {id} *"), 221);
    assert_eq!(ng, [format!("{id} {newsgroups}")]);
    assert!(c.expect("STAT", 223).starts_with(&format!("223 {low} ")), "fetching by id left the current article alone");
    c.expect("XPAT Newsgroups <not-here@example.org> *", 430);

    // Fallbacks.
    let f = &over[0];
    let (s, _) = c.expect_block(&format!("HEAD {}", f[0]), 221);
    assert!(s.starts_with(&format!("221 {} {}", f[0], f[4])));
    assert!(c.expect("NEXT", 223).starts_with(&format!("223 {} {}", over[1][0], over[1][4])));
    assert!(c.expect(&format!("STAT {}", over[2][0]), 223).starts_with(&format!("223 {} {}", over[2][0], over[2][4])));
}

/// Gnus (nntp.el): CAPABILITIES, MODE READER; pipelined `LIST ACTIVE g` (falling back to GROUP
/// on an empty answer); one write of hundreds of `XOVER a-b` and `ARTICLE n` (lines must match
/// `^[0-9]+\t`); an article fetched by id with number 0 is placed by its Xref.
#[test]
fn gnus() {
    let (archive, server) = sample_server();
    let mut c = server.client();
    assert!(c.greeting.starts_with('2'), "{}", c.greeting);
    let (_, caps) = c.expect_text("CAPABILITIES", 101);
    assert!(!caps.iter().any(|l| l == "STARTTLS" || l.starts_with("AUTHINFO")), "{caps:?}");
    c.expect("MODE READER", 201);

    // What Gnus knows from its last session: the active file.
    let active: HashMap<String, (u64, u64)> = {
        let mut o = server.client();
        let (_, lines) = o.expect_text("LIST ACTIVE", 215);
        lines
            .iter()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (f[0].to_string(), (f[1].parse().unwrap(), f[2].parse().unwrap()))
            })
            .collect()
    };

    // One write: `LIST ACTIVE g` for every group (and an unknown one); then for two groups
    // GROUP, XOVER per gap of 25 (the last past the end), ARTICLE for every article and one
    // past the end.
    const GAP: u64 = 25;
    let mut names = archive.group_names();
    names.push("no.such.group".to_string());
    let mut batch: String = names.iter().map(|g| format!("LIST ACTIVE {g}\r\n")).collect();
    let groups = ["example.list-0", "example.list-1"];
    let mut commands = names.len();
    for g in groups {
        let (high, low) = active[g];
        batch.push_str(&format!("GROUP {g}\r\n"));
        let mut a = low;
        while a <= high {
            batch.push_str(&format!("XOVER {a}-{}\r\n", a + GAP - 1));
            a += GAP;
            commands += 1;
        }
        for n in low..=high + 1 {
            batch.push_str(&format!("ARTICLE {n}\r\n"));
            commands += 1;
        }
        commands += 1;
    }
    assert!(commands > 200, "hundreds in one write: {commands}");
    c.send(batch.as_bytes());
    for g in &names {
        let s = c.line();
        assert_eq!(code(&s), 215, "LIST ACTIVE {g}: {s}");
        let lines: Vec<String> = c.block().iter().map(|l| text(l)).collect();
        if g == "no.such.group" {
            assert!(lines.is_empty(), "Gnus falls back to GROUP on an empty answer: {lines:?}");
            continue;
        }
        let (high, low) = active[g];
        assert_eq!(lines, [format!("{g} {high} {low} n")], "LIST ACTIVE {g}");
    }
    let mut crossposted: Option<(String, String)> = None;
    for g in groups {
        let (high, low) = active[g];
        let (count, glow, ghigh) = group_status(&c.line(), g);
        assert_eq!((glow, ghigh), (low, high));
        let mut ids: HashMap<u64, String> = HashMap::new();
        let mut a = low;
        while a <= high {
            let s = c.line();
            assert_eq!(code(&s), 224, "XOVER {a}-{}: {s}", a + GAP - 1);
            for line in c.block() {
                let f = overview_fields(&line, "Gnus");
                let n = num(&f);
                assert!(n >= a && n < a + GAP && n <= high, "XOVER {a}-{}: {n}", a + GAP - 1);
                assert!(ids.insert(n, f[4].clone()).is_none());
                if xref_pairs(&over_xref(&f)).len() > 1 && crossposted.is_none() {
                    crossposted = Some((f[4].clone(), over_xref(&f)));
                }
            }
            a += GAP;
        }
        assert_eq!(ids.len() as u64, count, "{g}: the gaps cover the group");
        for n in low..=high + 1 {
            let s = c.line();
            if n > high {
                assert_eq!(code(&s), 423, "ARTICLE {n} past the end: {s}");
                continue;
            }
            let id = &ids[&n];
            assert!(s.starts_with(&format!("220 {n} {id}")), "ARTICLE {n} in {g}: {s}");
            let head = head_of(&c.block());
            assert_eq!(one_header(&head, "Message-ID"), *id);
            let xref = xref_pairs(&one_header(&head, "Xref"));
            assert!(xref.contains(&(g.to_string(), n)), "{g}:{n} in {xref:?}");
        }
    }

    c.expect("GROUP no.such.group", 411); // "the fallback after an empty LIST ACTIVE"

    // By message-id from a group it is not in: number 0, and Gnus places it by Xref.
    let (id, xref) = crossposted.expect("the sample has cross-posted messages");
    let pairs = xref_pairs(&xref);
    let outside = archive.group_names().into_iter().find(|g| !pairs.iter().any(|(p, _)| p == g)).unwrap();
    c.group(&outside);
    let (s, article) = c.expect_block(&format!("ARTICLE {id}"), 220);
    assert!(s.starts_with(&format!("220 0 {id}")), "{s}");
    let head = head_of(&article);
    assert_eq!(xref_pairs(&one_header(&head, "Xref")), pairs);
    let newsgroups: BTreeSet<String> =
        one_header(&head, "Newsgroups").split(',').map(|g| g.trim().to_string()).collect();
    assert_eq!(newsgroups, pairs.iter().map(|(g, _)| g.clone()).collect::<BTreeSet<_>>());

    let (_, _) = c.expect_block("LIST NEWSGROUPS", 215);
    let now = server_date(&mut c);
    let (s, new) =
        c.expect_text(&format!("NEWGROUPS {} GMT", (now - chrono::Duration::days(1)).format("%y%m%d %H%M%S")), 231);
    assert_eq!(code(&s), 231);
    assert_eq!(new.len(), archive.config.groups.len());
    let (s, nums) = c.expect_text("LISTGROUP example.list-2", 211);
    let (count, _, _) = group_status(&s, "example.list-2");
    assert_eq!(nums.len() as u64, count);
}
