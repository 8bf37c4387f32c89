//! Every newsreader and puller of docs/nntp-notes.md §3, one test each: the client's own
//! command sequence (casing, spacing and pipelining included) replayed over a socket against
//! the sample archive, asserting what that client parses. Expected values come from the
//! server's other answers or from the sample mbox, never from hard-coded counts.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::common::*;

pub(crate) fn sample_server() -> (Archive, TestServer) {
    let archive = Archive::new();
    archive.import(None, &[&sample_mbox()]);
    let server = archive.serve();
    (archive, server)
}

pub(crate) fn text(line: &[u8]) -> String {
    String::from_utf8_lossy(line).into_owned()
}

pub(crate) fn group_names(archive: &Archive) -> Vec<String> {
    archive.config.groups.iter().map(|g| g.name.clone()).collect()
}

/// `211 count low high group` -> (count, low, high).
pub(crate) fn group_status(status: &str, group: &str) -> (u64, u64, u64) {
    let f: Vec<&str> = status.split(' ').collect();
    assert!(f.len() >= 5 && f[0] == "211" && f[4] == group, "GROUP {group}: {status}");
    let n = |s: &str| s.parse::<u64>().unwrap_or_else(|_| panic!("GROUP {group}: {status}"));
    (n(f[1]), n(f[2]), n(f[3]))
}

pub(crate) fn select(c: &mut Client, group: &str) -> (u64, u64, u64) {
    let status = c.cmd(&format!("GROUP {group}"));
    group_status(&status, group)
}

/// The TAB fields of an overview line, checked the way clients parse them: Thunderbird and
/// leafnode drop lines with fewer than 8 fields, Gnus wants `^[0-9]+\t`.
pub(crate) fn overview_fields(line: &[u8], who: &str) -> Vec<String> {
    let f: Vec<String> = text(line).split('\t').map(str::to_string).collect();
    assert!(f.len() >= 8, "{who}: overview line with fewer than 8 fields: {:?}", text(line));
    assert!(
        !f[0].is_empty() && f[0].bytes().all(|b| b.is_ascii_digit()),
        "{who}: overview line not matching ^[0-9]+\\t: {:?}",
        text(line)
    );
    f
}

/// `XOVER range` (or another verb) answered 224, as fields.
pub(crate) fn overview(c: &mut Client, command: &str, who: &str) -> Vec<Vec<String>> {
    let (s, lines) = c.multi(command, 224);
    assert_eq!(code(&s), 224, "{who}: {command}: {s}");
    lines.iter().map(|l| overview_fields(l, who)).collect()
}

pub(crate) fn num(f: &[String]) -> u64 {
    f[0].parse().unwrap()
}

/// The `Xref:` extra field of an overview line, without its name.
pub(crate) fn over_xref(f: &[String]) -> String {
    let x = f[8..].iter().find(|x| x.starts_with("Xref: ")).unwrap_or_else(|| panic!("no Xref field in {f:?}"));
    x["Xref: ".len()..].to_string()
}

/// `HOST g:n g:n` -> the (group, number) pairs; the host must be ours.
pub(crate) fn xref_pairs(value: &str) -> Vec<(String, u64)> {
    let mut words = value.split_whitespace();
    assert_eq!(words.next(), Some(HOST), "Xref host: {value:?}");
    words
        .map(|w| {
            let (g, n) = w.rsplit_once(':').unwrap_or_else(|| panic!("Xref entry {w:?}"));
            (g.to_string(), n.parse().unwrap_or_else(|_| panic!("Xref entry {w:?}")))
        })
        .collect()
}

/// Header lines of an article (up to the blank line).
pub(crate) fn head_of(article: &[Vec<u8>]) -> Vec<String> {
    let blank = article.iter().position(|l| l.is_empty()).expect("blank line after the headers");
    article[..blank].iter().map(|l| text(l)).collect()
}

/// Every occurrence of header `name` as (value unfolded, number of lines it took).
fn header_fields(head: &[String], name: &str) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    let mut current: Option<usize> = None;
    for line in head {
        if line.starts_with([' ', '\t']) {
            if let Some(i) = current {
                out[i].0.push_str(line);
                out[i].1 += 1;
            }
            continue;
        }
        current = None;
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            out.push((v.trim_start().to_string(), 1));
            current = Some(out.len() - 1);
        }
    }
    out
}

fn one_header(head: &[String], name: &str) -> String {
    let all = header_fields(head, name);
    assert_eq!(all.len(), 1, "exactly one {name} header in {head:#?}");
    all[0].0.trim().to_string()
}

/// `n value` lines (XHDR/XPAT/HDR) -> (n, value).
pub(crate) fn numbered(lines: &[String]) -> Vec<(u64, String)> {
    lines
        .iter()
        .map(|l| {
            let (n, v) = l.split_once(' ').unwrap_or((l.as_str(), ""));
            (n.parse().unwrap_or_else(|_| panic!("not `n value`: {l:?}")), v.to_string())
        })
        .collect()
}

pub(crate) fn server_date(c: &mut Client) -> chrono::NaiveDateTime {
    let s = c.cmd("DATE");
    assert!(code(&s) == 111 && s.len() == 18, "DATE: {s}");
    chrono::NaiveDateTime::parse_from_str(&s[4..], "%Y%m%d%H%M%S").unwrap_or_else(|e| panic!("DATE {s}: {e}"))
}

/// Thunderbird's case-insensitive search pattern for a term: `foo` -> `*[Ff][Oo][Oo]*`.
fn case_classes(term: &str) -> String {
    let mut p = String::from("*");
    for ch in term.chars() {
        if ch.is_ascii_alphabetic() {
            p.push('[');
            p.push(ch.to_ascii_uppercase());
            p.push(ch.to_ascii_lowercase());
            p.push(']');
        } else {
            p.push(ch);
        }
    }
    p.push('*');
    p
}

/// A word of at least 5 letters found in some but at most half of `values`.
fn discriminating_word(values: &[String]) -> String {
    let lower: Vec<String> = values.iter().map(|v| v.to_ascii_lowercase()).collect();
    for v in &lower {
        for w in v.split(|c: char| !c.is_ascii_alphabetic()) {
            let hits = lower.iter().filter(|x| x.contains(w)).count();
            if w.len() >= 5 && hits >= 2 && hits <= values.len() / 2 {
                return w.to_string();
            }
        }
    }
    panic!("no discriminating word in {values:?}")
}

fn has_wildmat_special(s: &str) -> bool {
    s.contains(['*', '?', '[', ']', '\\'])
}

pub(crate) fn sample_messages() -> Vec<Vec<u8>> {
    split_mbox(&std::fs::read(sample_mbox()).expect("read sample"))
}

/// `<...>` tokens of a header value.
pub(crate) fn msg_ids(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else { break };
        out.push(rest[start..start + len + 1].to_string());
        rest = &rest[start + len + 1..];
    }
    out
}

/// The ids a message's own headers place above it: References, else In-Reply-To's first id.
fn ancestors(raw: &[u8], own: &str) -> Vec<String> {
    let refs = header(raw, "References").map(|v| msg_ids(&v)).unwrap_or_default();
    let anc = if refs.is_empty() {
        header(raw, "In-Reply-To").map(|v| msg_ids(&v)).unwrap_or_default().into_iter().take(1).collect()
    } else {
        refs
    };
    anc.into_iter().filter(|a| a != own).collect()
}

/// Thunderbird (NntpClient.sys.mjs): MODE READER and no CAPABILITIES; LIST; NEWGROUPS with
/// an 8-digit year and GMT, 180 days back; GROUP then only `XOVER a-b`; XHDR for filter
/// headers; ARTICLE by number and by id; the search's `XPAT SUBJECT  1- *[Ff][Oo][Oo]*`
/// (two spaces); LISTGROUP.
#[test]
fn thunderbird() {
    let (archive, server) = sample_server();
    let mut c = server.client();
    assert!(c.greeting.starts_with("201 "), "greeting 200/201 (read-only: 201): {}", c.greeting);
    assert_eq!(code(&c.cmd("MODE READER")), 201, "502 would be an error dialog");

    let (s, active) = c.text_block("LIST", 215);
    assert_eq!(code(&s), 215);
    let listed: BTreeSet<String> = active.iter().map(|l| l.split(' ').next().unwrap().to_string()).collect();
    let configured: BTreeSet<String> = group_names(&archive).into_iter().collect();
    assert_eq!(listed, configured, "LIST shows every configured group");

    // New groups since 180 days back: all of them, the import created them just now.
    let now = server_date(&mut c);
    let since = now - chrono::Duration::days(180);
    let (s, new) = c.text_block(&format!("NEWGROUPS {} GMT", since.format("%Y%m%d %H%M%S")), 231);
    assert_eq!(code(&s), 231, "{s}");
    let new: BTreeSet<String> = new.iter().map(|l| l.split(' ').next().unwrap().to_string()).collect();
    assert_eq!(new, configured);
    let later = now + chrono::Duration::days(1);
    let (_, none) = c.text_block(&format!("NEWGROUPS {} GMT", later.format("%Y%m%d %H%M%S")), 231);
    assert!(none.is_empty(), "no group is newer than tomorrow: {none:?}");

    assert_eq!(code(&c.cmd("XPAT SUBJECT  1- *[Ff][Oo][Oo]*")), 412, "a search before any group");

    // Opening a group: GROUP, then XOVER a-b (the only overview command it sends).
    let group = "example.list-0";
    let (count, low, high) = select(&mut c, group);
    let over = overview(&mut c, &format!("XOVER {low}-{high}"), "Thunderbird");
    assert_eq!(over.len() as u64, count, "one line per article");
    let nums: Vec<u64> = over.iter().map(|f| num(f)).collect();
    assert!(nums.windows(2).all(|w| w[0] < w[1]) && nums[0] >= low && nums[nums.len() - 1] <= high);

    // Filter headers: XHDR h a-b, 221, `n value` for every article.
    let (s, from) = c.text_block(&format!("XHDR From {low}-{high}"), 221);
    assert_eq!(code(&s), 221, "XHDR answers 221: {s}");
    let expected: Vec<String> = over.iter().map(|f| format!("{} {}", f[0], f[2])).collect();
    assert_eq!(from, expected, "XHDR From agrees with the overview");

    // Reading: ARTICLE n, and ARTICLE <id> from a message link, give the same article.
    let f = &over[over.len() / 2];
    let (s, by_num) = c.multi(&format!("ARTICLE {}", f[0]), 220);
    assert!(s.starts_with(&format!("220 {} {}", f[0], f[4])), "{s}");
    let (s, by_id) = c.multi(&format!("ARTICLE {}", f[4]), 220);
    assert_eq!(code(&s), 220, "{s}");
    assert_eq!(by_id, by_num);
    let head = head_of(&by_num);
    assert_eq!(one_header(&head, "Message-ID"), f[4]);
    assert_eq!(one_header(&head, "Subject").replace('\t', " "), f[1], "Subject as the overview showed it");

    // Search: XPAT with two spaces, SUBJECT in capitals, an open range and character classes.
    let (_, subjects) = c.text_block(&format!("XHDR Subject {low}-{high}"), 221);
    let values: Vec<String> = numbered(&subjects).into_iter().map(|(_, v)| v).collect();
    let word = discriminating_word(&values);
    for term in ["foo", word.as_str()] {
        let command = format!("XPAT SUBJECT  1- {}", case_classes(term));
        let (s, hits) = c.text_block(&command, 221);
        assert_eq!(code(&s), 221, "{command}: {s}");
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
    let (_, hits) = c.text_block(&format!("XPAT SUBJECT  1- *{upper}*"), 221);
    let expected: Vec<String> =
        subjects.iter().zip(&values).filter(|(_, v)| v.contains(&upper)).map(|(l, _)| l.clone()).collect();
    assert_eq!(hits, expected, "XPAT *{upper}* is case-sensitive");

    let (s, listed) = c.text_block(&format!("LISTGROUP {group}"), 211);
    assert_eq!(group_status(&s, group), (count, low, high));
    assert_eq!(listed, nums.iter().map(u64::to_string).collect::<Vec<_>>());
    assert_eq!(code(&c.cmd("QUIT")), 205);
}

/// slrn 1.0: MODE READER; probes of a bare XOVER and `XHDR Path` before any group (500 would
/// turn them off, anything else must be one line); LIST OVERVIEW.FMT in the `Bytes:` form;
/// LIST NEWSGROUPS; pipelined GROUPs; XOVER, `XHDR h n`, `XPAT References a-b *<id>*`;
/// ARTICLE/HEAD/BODY/NEXT; slrnpull's `XHDR Message-ID a-b`.
#[test]
fn slrn() {
    let (archive, server) = sample_server();
    let mut c = server.client();
    assert_eq!(code(&c.cmd("MODE READER")), 201, "502 is fatal for slrn");

    c.send(b"XOVER\r\nXHDR Path\r\nDATE\r\n");
    let probe = c.line();
    assert_eq!(code(&probe), 412, "bare XOVER before GROUP: {probe}");
    let probe = c.line();
    assert_eq!(code(&probe), 412, "XHDR Path before GROUP: {probe}");
    assert_eq!(code(&c.line()), 111, "the probes were single lines: DATE answers next");

    let (s, fmt) = c.text_block("LIST OVERVIEW.FMT", 215);
    assert_eq!(code(&s), 215);
    assert_eq!(fmt[..7], ["Subject:", "From:", "Date:", "Message-ID:", "References:", "Bytes:", "Lines:"]);
    assert!(!fmt.iter().any(|l| l.starts_with(':')), "no :bytes before CAPABILITIES (slrn turns XOVER off): {fmt:?}");

    let (s, ng) = c.text_block("LIST NEWSGROUPS", 215);
    assert_eq!(code(&s), 215, "slrn's first run fails without LIST NEWSGROUPS");
    for g in &archive.config.groups {
        assert!(ng.contains(&format!("{}\t{}", g.name, g.description)), "{} in {ng:?}", g.name);
    }
    let now = server_date(&mut c);
    let since = now - chrono::Duration::days(30);
    let (s, new) = c.text_block(&format!("NEWGROUPS {} GMT", since.format("%y%m%d %H%M%S")), 231);
    assert_eq!(code(&s), 231);
    assert_eq!(new.len(), archive.config.groups.len(), "six-digit year: {new:?}");

    // One GROUP per subscribed group, pipelined in one write.
    let mut names = group_names(&archive);
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
    let (_, act) = c.text_block("LIST ACTIVE example.list-*", 215);
    assert_eq!(act.len(), 3, "{act:?}");
    for line in &act {
        let f: Vec<&str> = line.split(' ').collect();
        let (_, low, high) = selected[f[0]];
        assert_eq!((f[1], f[2]), (high.to_string().as_str(), low.to_string().as_str()), "{line}");
    }

    let group = "example.list-1";
    let (count, low, high) = select(&mut c, group);
    let over = overview(&mut c, &format!("XOVER {low}-{high}"), "slrn");
    assert_eq!(over.len() as u64, count);
    let f = &over[2];
    let (s, one) = c.text_block(&format!("XHDR Subject {}", f[0]), 221);
    assert_eq!(code(&s), 221, "{s}");
    assert_eq!(one, [format!("{} {}", f[0], f[1])]);

    // Reference search: XPAT References a-b *<id>* for an id that others reference.
    let (_, refs) = c.text_block(&format!("XHDR References {low}-{high}"), 221);
    let target = refs
        .iter()
        .flat_map(|l| msg_ids(l))
        .find(|id| !has_wildmat_special(id))
        .expect("some article in the group has References");
    let command = format!("XPAT References {low}-{high} *{target}*");
    let (s, hits) = c.text_block(&command, 221);
    assert_eq!(code(&s), 221, "{command}: {s}");
    let expected: Vec<String> = refs.iter().filter(|l| l.contains(&target)).cloned().collect();
    assert!(!expected.is_empty());
    assert_eq!(hits, expected, "{command}");

    // Reading.
    let f = &over[1];
    let (s, article) = c.multi(&format!("ARTICLE {}", f[0]), 220);
    assert!(s.starts_with(&format!("220 {} {}", f[0], f[4])), "{s}");
    let (s, head) = c.multi(&format!("HEAD {}", f[0]), 221);
    assert!(s.starts_with(&format!("221 {} {}", f[0], f[4])), "{s}");
    let (s, body) = c.multi(&format!("BODY {}", f[4]), 222);
    assert_eq!(code(&s), 222);
    let mut joined = head.clone();
    joined.push(Vec::new());
    joined.extend(body);
    assert_eq!(joined, article, "HEAD + blank line + BODY = ARTICLE");
    let next = &over[2];
    let s = c.cmd("NEXT");
    assert!(s.starts_with(&format!("223 {} {}", next[0], next[4])), "NEXT after article {}: {s}", f[0]);

    // slrnpull.
    let (s, ids) = c.text_block(&format!("XHDR Message-ID {low}-{high}"), 221);
    assert_eq!(code(&s), 221);
    assert_eq!(ids, over.iter().map(|f| format!("{} {}", f[0], f[4])).collect::<Vec<_>>());
    assert_eq!(code(&c.cmd("QUIT")), 205);
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
    let (s, caps) = c.text_block("CAPABILITIES", 101);
    assert_eq!(code(&s), 101);
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
        let (s, _) = c.multi(&format!("LIST {kw}"), 215);
        assert_eq!(code(&s), 215, "LIST {kw} is advertised, so it must work: {s}");
    }
    // Advertised only when kept; asked anyway, a keyword without data is 503 (RFC 6048).
    for kw in ["DISTRIB.PATS", "DISTRIBUTIONS"] {
        assert!(!list.iter().any(|k| k == kw), "{kw} has no data, not advertised: {list:?}");
        assert_eq!(code(&c.cmd(&format!("LIST {kw}"))), 503, "LIST {kw}");
    }
    let (_, motd) = c.text_block("LIST MOTD", 215);
    let configured = archive.config.server.motd.as_deref().expect("the harness sets a motd");
    assert_eq!(motd, configured.lines().collect::<Vec<_>>(), "tin shows the MOTD");

    let (s, counts) = c.text_block("LIST COUNTS", 215);
    assert_eq!(code(&s), 215);
    let mut by_group: HashMap<String, (u64, u64, u64)> = HashMap::new();
    for line in &counts {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 5, "LIST COUNTS line `group high low count status`: {line:?}");
        assert_eq!(f[4], "n", "read-only archive: {line}");
        let n = |s: &str| s.parse::<u64>().unwrap_or_else(|_| panic!("{line}"));
        by_group.insert(f[0].to_string(), (n(f[3]), n(f[2]), n(f[1])));
    }
    assert_eq!(by_group.keys().cloned().collect::<BTreeSet<_>>(), group_names(&archive).into_iter().collect());
    let (_, some) = c.text_block("LIST COUNTS example.list-*", 215);
    assert_eq!(some.len(), 3, "wildmat: {some:?}");
    let (_, times) = c.text_block("LIST ACTIVE.TIMES example.list-*,!example.list-1", 215);
    let timed: Vec<&str> = times.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(timed, ["example.list-0", "example.list-2"], "LIST ACTIVE.TIMES wildmat: {times:?}");
    let (_, subs) = c.text_block("LIST SUBSCRIPTIONS", 215);
    let wanted: Vec<String> = archive.config.groups.iter().filter(|g| g.subscribe).map(|g| g.name.clone()).collect();
    assert!(!wanted.is_empty());
    assert_eq!(subs, wanted, "LIST SUBSCRIPTIONS: the groups configured subscribe = true");
    let (_, ng) = c.text_block("LIST NEWSGROUPS example.list-1", 215);
    assert_eq!(ng, ["example.list-1\tList one"]);

    // Entering a group: LISTGROUP g n-, answered like GROUP; counts agree with LIST COUNTS.
    for (g, &(count, low, high)) in &by_group {
        assert_eq!(select(&mut c, g), (count, low, high), "LIST COUNTS agrees with GROUP for {g}");
    }
    let group = "example.list-1";
    let (count, low, high) = by_group[group];
    let from = high.saturating_sub(9).max(low);
    let (s, nums) = c.text_block(&format!("LISTGROUP {group} {from}-"), 211);
    assert_eq!(group_status(&s, group), (count, low, high));

    let (_, fmt) = c.text_block("LIST OVERVIEW.FMT", 215);
    assert_eq!(fmt[5..7], [":bytes", ":lines"], "after CAPABILITIES: {fmt:?}");
    assert!(fmt.iter().any(|l| l == "Xref:full"), "{fmt:?}");
    let over = overview(&mut c, &format!("OVER {low}-{high}"), "tin");
    assert_eq!(over.len() as u64, count);
    let tail: Vec<String> = over.iter().filter(|f| num(f) >= from).map(|f| f[0].clone()).collect();
    assert_eq!(nums, tail, "LISTGROUP {group} {from}-");

    let (s, headers) = c.text_block("LIST HEADERS RANGE", 215);
    assert_eq!(code(&s), 215);
    assert!(headers.iter().any(|h| h == ":" || h.eq_ignore_ascii_case("Xref")), "Xref is available: {headers:?}");
    let (s, xrefs) = c.text_block(&format!("HDR XREF {low}-{high}"), 225);
    assert_eq!(code(&s), 225, "HDR answers 225: {s}");
    assert_eq!(xrefs, over.iter().map(|f| format!("{} {}", f[0], over_xref(f))).collect::<Vec<_>>());
    for (n, value) in numbered(&xrefs) {
        assert!(xref_pairs(&value).contains(&(group.to_string(), n)), "{n} {value}");
    }
    let path = format!("{HOST}!not-for-mail");
    let (s, paths) = c.text_block(&format!("HDR Path {low}-{high}"), 225);
    assert_eq!(code(&s), 225);
    assert_eq!(paths, over.iter().map(|f| format!("{} {path}", f[0])).collect::<Vec<_>>());
    let (s, xpat) = c.text_block(&format!("XPAT Path {low}-{high} *"), 221);
    assert_eq!(code(&s), 221, "XPAT answers 221: {s}");
    assert_eq!(xpat, paths);

    // A message-id from another group (a reference tin follows).
    let mut other = server.client();
    let (_, olow, ohigh) = select(&mut other, "example.list-2");
    let elsewhere = overview(&mut other, &format!("XOVER {olow}-{ohigh}"), "tin");
    let f = elsewhere.iter().find(|f| !xref_pairs(&over_xref(f)).iter().any(|(g, _)| g == group)).unwrap();
    let id = &f[4];
    let (s, _) = c.multi("LIST HEADERS MSGID", 215);
    assert_eq!(code(&s), 215);
    let (s, h) = c.text_block(&format!("HDR Xref {id}"), 225);
    assert_eq!(code(&s), 225, "{s}");
    assert_eq!(h, [format!("0 {}", over_xref(f))], "0: not in the current group");
    let (s, article) = c.multi(&format!("ARTICLE {id}"), 220);
    assert!(s.starts_with(&format!("220 0 {id}")), "{s}");
    let head = head_of(&article);
    assert_eq!(one_header(&head, "Xref"), over_xref(f), "tin places an article fetched by id with Xref");
    let newsgroups = one_header(&head, "Newsgroups");
    let groups: BTreeSet<String> = xref_pairs(&over_xref(f)).into_iter().map(|(g, _)| g).collect();
    assert_eq!(newsgroups.split(',').map(|g| g.trim().to_string()).collect::<BTreeSet<_>>(), groups);
    let (s, ng) = c.text_block(&format!("XPAT Newsgroups {id} *"), 221);
    assert_eq!(code(&s), 221, "{s}");
    assert_eq!(ng, [format!("{id} {newsgroups}")]);
    assert!(c.cmd("STAT").starts_with(&format!("223 {low} ")), "fetching by id left the current article alone");
    assert_eq!(code(&c.cmd("XPAT Newsgroups <not-here@example.org> *")), 430);

    // Fallbacks.
    let f = &over[0];
    let (s, _) = c.multi(&format!("HEAD {}", f[0]), 221);
    assert!(s.starts_with(&format!("221 {} {}", f[0], f[4])));
    assert!(c.cmd("NEXT").starts_with(&format!("223 {} {}", over[1][0], over[1][4])));
    assert!(c.cmd(&format!("STAT {}", over[2][0])).starts_with(&format!("223 {} {}", over[2][0], over[2][4])));
}

/// Gnus (nntp.el): CAPABILITIES, MODE READER; pipelined `LIST ACTIVE g` (falling back to GROUP
/// on an empty answer); one write of hundreds of `XOVER a-b` and `ARTICLE n` (lines must match
/// `^[0-9]+\t`); an article fetched by id with number 0 is placed by its Xref.
#[test]
fn gnus() {
    let (archive, server) = sample_server();
    let mut c = server.client();
    assert!(c.greeting.starts_with('2'), "{}", c.greeting);
    let (s, caps) = c.text_block("CAPABILITIES", 101);
    assert_eq!(code(&s), 101);
    assert!(!caps.iter().any(|l| l == "STARTTLS" || l.starts_with("AUTHINFO")), "{caps:?}");
    assert_eq!(code(&c.cmd("MODE READER")), 201);

    // What Gnus knows from its last session: the active file.
    let active: HashMap<String, (u64, u64)> = {
        let mut o = server.client();
        let (_, lines) = o.text_block("LIST ACTIVE", 215);
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
    let mut names = group_names(&archive);
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

    assert_eq!(code(&c.cmd("GROUP no.such.group")), 411, "the fallback after an empty LIST ACTIVE");

    // By message-id from a group it is not in: number 0, and Gnus places it by Xref.
    let (id, xref) = crossposted.expect("the sample has cross-posted messages");
    let pairs = xref_pairs(&xref);
    let outside = group_names(&archive).into_iter().find(|g| !pairs.iter().any(|(p, _)| p == g)).unwrap();
    select(&mut c, &outside);
    let (s, article) = c.multi(&format!("ARTICLE {id}"), 220);
    assert!(s.starts_with(&format!("220 0 {id}")), "{s}");
    let head = head_of(&article);
    assert_eq!(xref_pairs(&one_header(&head, "Xref")), pairs);
    let newsgroups: BTreeSet<String> =
        one_header(&head, "Newsgroups").split(',').map(|g| g.trim().to_string()).collect();
    assert_eq!(newsgroups, pairs.iter().map(|(g, _)| g.clone()).collect::<BTreeSet<_>>());

    let (s, _) = c.multi("LIST NEWSGROUPS", 215);
    assert_eq!(code(&s), 215);
    let now = server_date(&mut c);
    let (s, new) =
        c.text_block(&format!("NEWGROUPS {} GMT", (now - chrono::Duration::days(1)).format("%y%m%d %H%M%S")), 231);
    assert_eq!(code(&s), 231);
    assert_eq!(new.len(), archive.config.groups.len());
    let (s, nums) = c.text_block("LISTGROUP example.list-2", 211);
    let (count, _, _) = group_status(&s, "example.list-2");
    assert_eq!(nums.len() as u64, count);
}

/// Python's nntplib: CAPABILITIES (so no MODE READER, READER being listed); LIST
/// OVERVIEW.FMT validated; OVER (advertised) with extra fields named; GROUP; LIST NEWSGROUPS
/// and XGTITLE; NEWNEWS and NEWGROUPS with 8-digit years and no GMT; STAT/ARTICLE/HEAD/BODY.
#[test]
fn python_nntplib() {
    let (archive, server) = sample_server();
    let mut c = server.client();
    let (s, caps) = c.text_block("CAPABILITIES", 101);
    assert_eq!(code(&s), 101);
    let caps: HashMap<String, Vec<String>> = caps
        .iter()
        .map(|l| {
            let mut w = l.split_whitespace().map(str::to_string);
            (w.next().unwrap(), w.collect())
        })
        .collect();
    assert_eq!(caps["VERSION"], ["2"], "nntplib then sends 8-digit years");
    assert!(caps.contains_key("READER") && caps.contains_key("OVER"));

    // _parse_overview_fmt: the first 7 names (with Bytes:/Lines: as alternatives) are fixed.
    let (_, fmt) = c.text_block("LIST OVERVIEW.FMT", 215);
    let names: Vec<String> = fmt
        .iter()
        .map(|l| {
            let name = match l.strip_prefix(':') {
                Some(meta) => format!(":{}", meta.split(':').next().unwrap()),
                None => l.split(':').next().unwrap().to_string(),
            }
            .to_ascii_lowercase();
            match name.as_str() {
                "bytes" => ":bytes".to_string(),
                "lines" => ":lines".to_string(),
                _ => name,
            }
        })
        .collect();
    assert_eq!(names[..7], ["subject", "from", "date", "message-id", "references", ":bytes", ":lines"]);

    let group = "example.list-2";
    let (count, low, high) = select(&mut c, group);
    let over = overview(&mut c, &format!("OVER {low}-{high}"), "nntplib");
    assert_eq!(over.len() as u64, count);
    for f in &over {
        for (i, token) in f.iter().enumerate().skip(8) {
            let Some(name) = names.get(i - 1) else { continue };
            let prefix = format!("{name}: ");
            assert!(
                token.is_empty() || token.to_ascii_lowercase().starts_with(&prefix),
                "nntplib raises NNTPDataError: field {i} {token:?} lacks `{prefix}`"
            );
        }
    }

    // descriptions(): LIST NEWSGROUPS pattern, else XGTITLE pattern.
    let (s, ng) = c.text_block("LIST NEWSGROUPS example.*", 215);
    assert_eq!(code(&s), 215);
    assert_eq!(ng.len(), archive.config.groups.len());
    let (s, xg) = c.text_block("XGTITLE example.*", 282);
    assert_eq!(code(&s), 282, "XGTITLE: {s}");
    assert_eq!(xg, ng, "XGTITLE lists what LIST NEWSGROUPS does");
    for g in &archive.config.groups {
        assert!(xg.contains(&format!("{}\t{}", g.name, g.description)), "{xg:?}");
    }

    let now = server_date(&mut c);
    let day = chrono::Duration::days(1);
    let (s, news) = c.text_block(&format!("NEWNEWS {group} {}", (now - day).format("%Y%m%d %H%M%S")), 230);
    assert_eq!(code(&s), 230, "NEWNEWS without GMT: {s}");
    let ids: BTreeSet<String> = over.iter().map(|f| f[4].clone()).collect();
    assert_eq!(news.iter().cloned().collect::<BTreeSet<_>>(), ids);
    assert_eq!(news.len(), ids.len());
    let (_, none) = c.text_block(&format!("NEWNEWS {group} {}", (now + day).format("%Y%m%d %H%M%S")), 230);
    assert!(none.is_empty(), "{none:?}");
    let (s, new) = c.text_block(&format!("NEWGROUPS {}", (now - day).format("%Y%m%d %H%M%S")), 231);
    assert_eq!(code(&s), 231);
    assert_eq!(new.len(), archive.config.groups.len());

    // _statparse: `code number message-id`.
    let f = &over[3];
    let s = c.cmd(&format!("STAT {}", f[0]));
    assert_eq!(s.split_whitespace().take(3).collect::<Vec<_>>(), ["223", f[0].as_str(), f[4].as_str()]);
    let (s, article) = c.multi(&format!("ARTICLE {}", f[0]), 220);
    assert_eq!(s.split_whitespace().take(3).collect::<Vec<_>>(), ["220", f[0].as_str(), f[4].as_str()]);
    let (s, head) = c.multi(&format!("HEAD {}", f[4]), 221);
    assert_eq!(code(&s), 221);
    assert_eq!(head, article[..head.len()].to_vec());
    let (_, body) = c.multi(&format!("BODY {}", f[0]), 222);
    assert_eq!(body, article[head.len() + 1..].to_vec());
    assert_eq!(body.len().to_string(), f[7], ":lines counts the body lines");
    let (s, subjects) = c.text_block(&format!("XHDR subject {}-{}", low, low + 2), 221);
    assert_eq!(code(&s), 221);
    assert_eq!(subjects, over[..3].iter().map(|f| format!("{} {}", f[0], f[1])).collect::<Vec<_>>());
    assert_eq!(code(&c.cmd("QUIT")), 205);
}

/// Net::NNTP: MODE READER (Reader => 1); LIST; GROUP; xover/xhdr/xpat (pattern words joined
/// with spaces, after the range); xpath; xrover; xgtitle; LIST ACTIVE.TIMES, SUBSCRIPTIONS,
/// DISTRIBUTIONS; NEWGROUPS/NEWNEWS `yymmdd hhmmss GMT` with the trailing space Net::Cmd
/// leaves for an empty distributions argument; DATE; ARTICLE and STAT.
#[test]
fn perl_net_nntp() {
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let (archive, server) = sample_server();
    let after = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut c = server.client();
    assert_eq!(code(&c.cmd("MODE READER")), 201, "postok is then false");
    let (s, list) = c.text_block("LIST", 215);
    assert_eq!(code(&s), 215);
    assert!(list.iter().all(|l| l.split_whitespace().count() == 4), "{list:?}");

    let group = "example.list-0";
    let (count, low, high) = select(&mut c, group);
    let over = overview(&mut c, &format!("XOVER {low}-{high}"), "Net::NNTP");
    assert_eq!(over.len() as u64, count);
    let (s, subjects) = c.text_block(&format!("XHDR Subject {low}-{high}"), 221);
    assert_eq!(code(&s), 221);

    // xpat($header, [@words], [$low, $high]): the words joined by one space, after the range.
    let phrase = numbered(&subjects)
        .into_iter()
        .find_map(|(_, v)| {
            let words: Vec<&str> = v.split(' ').collect();
            words
                .windows(2)
                .filter(|w| !w[0].is_empty() && !w[1].is_empty())
                .map(|w| format!("{} {}", w[0], w[1]))
                .find(|p| !has_wildmat_special(p))
        })
        .expect("a subject with two words");
    let command = format!("XPAT Subject {low}-{high} *{phrase}*");
    let (s, hits) = c.text_block(&command, 221);
    assert_eq!(code(&s), 221, "{command}: {s}");
    let expected: Vec<String> =
        subjects.iter().filter(|l| l.split_once(' ').unwrap().1.contains(&phrase)).cloned().collect();
    assert!(!expected.is_empty());
    assert_eq!(hits, expected, "{command}");
    // `,` and `!` are plain characters in XPAT (uwildmat_simple).
    let (_, froms) = c.text_block(&format!("XHDR From {low}-{high}"), 221);
    let (s, commas) = c.text_block(&format!("XPAT From {low}-{high} *,*"), 221);
    assert_eq!(code(&s), 221);
    let expected: Vec<String> = froms.iter().filter(|l| l.split_once(' ').unwrap().1.contains(',')).cloned().collect();
    assert!(!expected.is_empty() && expected.len() < froms.len(), "the sample has From names with commas");
    assert_eq!(commas, expected, "`,` is literal, not a pattern separator");
    let (_, bang) = c.text_block(&format!("XPAT Path {low}-{high} *!not-for-mail"), 221);
    assert_eq!(bang.len() as u64, count);

    // xpath($id): `223 group/n group/n`.
    let cross = over.iter().find(|f| xref_pairs(&over_xref(f)).len() > 1).expect("a cross-posted article");
    for f in [&over[0], cross] {
        let s = c.cmd(&format!("XPATH {}", f[4]));
        assert_eq!(code(&s), 223, "XPATH {}: {s}", f[4]);
        let mut got: Vec<String> = s[4..].split_whitespace().map(str::to_string).collect();
        let mut want: Vec<String> = xref_pairs(&over_xref(f)).iter().map(|(g, n)| format!("{g}/{n}")).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "XPATH {}", f[4]);
    }
    assert_eq!(code(&c.cmd("XPATH <no-such@example.org>")), 430);
    assert_eq!(code(&c.cmd("XPATH 5")), 501, "not a message-id");

    // xrover: the References each article carries in the overview.
    let (s, rover) = c.text_block(&format!("XROVER {low}-{high}"), 224);
    assert_eq!(code(&s), 224, "XROVER: {s}");
    assert_eq!(
        rover,
        over.iter().map(|f| format!("{} {}", f[0], f[5])).collect::<Vec<_>>(),
        "XROVER gives the overview's References field"
    );

    let (s, xg) = c.text_block("XGTITLE example.list-*", 282);
    assert_eq!(code(&s), 282, "{s}");
    assert_eq!(xg.len(), 3);
    let (s, times) = c.text_block("LIST ACTIVE.TIMES", 215);
    assert_eq!(code(&s), 215);
    assert_eq!(times.len(), archive.config.groups.len());
    for line in &times {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 3, "`group time creator`: {line}");
        let t: u64 = f[1].parse().unwrap_or_else(|_| panic!("{line}"));
        assert!(t >= before.saturating_sub(1) && t <= after + 1, "created by the import ({before}..{after}): {line}");
    }
    let (_, subs) = c.text_block("LIST SUBSCRIPTIONS", 215);
    let wanted: Vec<String> = archive.config.groups.iter().filter(|g| g.subscribe).map(|g| g.name.clone()).collect();
    assert_eq!(subs, wanted, "the groups configured subscribe = true");
    assert_eq!(code(&c.cmd("LIST DISTRIBUTIONS")), 503);
    assert_eq!(code(&c.cmd("LIST DISTRIB.PATS")), 503);

    // _timestr plus an empty distributions argument: a trailing space.
    let now = server_date(&mut c);
    let since = (now - chrono::Duration::days(1)).format("%y%m%d %H%M%S");
    let (s, new) = c.text_block(&format!("NEWGROUPS {since} GMT "), 231);
    assert_eq!(code(&s), 231, "{s}");
    assert_eq!(new.len(), archive.config.groups.len());
    let (s, news) = c.text_block(&format!("NEWNEWS {group} {since} GMT "), 230);
    assert_eq!(code(&s), 230, "{s}");
    assert_eq!(news.len() as u64, count);

    let f = &over[4];
    let (s, article) = c.multi(&format!("ARTICLE {}", f[4]), 220);
    assert_eq!(code(&s), 220);
    assert_eq!(one_header(&head_of(&article), "Message-ID"), f[4]);
    let s = c.cmd(&format!("STAT {}", f[0]));
    assert!(s.contains(&f[4]), "nntpstat takes the id from the reply: {s}");
    assert_eq!(code(&c.cmd("QUIT")), 205);
}

/// leafnode's fetchnews 2.x: MODE READER must be 200/201 or it aborts; DATE; NEWGROUPS with
/// LIST NEWSGROUPS g; GROUP; XOVER a-b (8 fields) or `XHDR message-id a-b`; `STAT <id>`;
/// pipelined `ARTICLE <id>`, needing Path and a one-line Message-ID.
#[test]
fn leafnode_fetchnews() {
    let (archive, server) = sample_server();
    let mut c = server.client();
    assert!(c.greeting.starts_with("200 ") || c.greeting.starts_with("201 "), "{}", c.greeting);
    let s = c.cmd("MODE READER");
    assert_eq!(code(&s), 201, "fetchnews aborts unless 200/201: {s}");
    let date = server_date(&mut c);
    let drift = (date.and_utc().timestamp() - chrono::Utc::now().timestamp()).abs();
    assert!(drift < 300, "DATE is UTC: {date} ({drift} s off)");

    let (s, new) =
        c.text_block(&format!("NEWGROUPS {} GMT", (date - chrono::Duration::days(1)).format("%y%m%d %H%M%S")), 231);
    assert_eq!(code(&s), 231);
    assert_eq!(new.len(), archive.config.groups.len());
    for g in &archive.config.groups {
        let (s, desc) = c.text_block(&format!("LIST NEWSGROUPS {}", g.name), 215);
        assert_eq!(code(&s), 215);
        assert_eq!(desc, [format!("{}\t{}", g.name, g.description)]);
    }

    let group = "example.list-0";
    let (count, low, high) = select(&mut c, group);
    let over = overview(&mut c, &format!("XOVER {low}-{high}"), "fetchnews");
    assert_eq!(over.len() as u64, count);
    let (s, ids) = c.text_block(&format!("XHDR message-id {low}-{high}"), 221);
    assert_eq!(code(&s), 221, "{s}");
    assert_eq!(ids, over.iter().map(|f| format!("{} {}", f[0], f[4])).collect::<Vec<_>>());
    let (s, nothing) = c.multi(&format!("XOVER {}-{}", high + 1, high + 100), 224);
    assert_eq!(code(&s), 224, "nothing new since the last high mark: an empty 224: {s}");
    assert!(nothing.is_empty());

    // STAT <id> for each, then every ARTICLE <id> in one write.
    let stats: String = over.iter().map(|f| format!("STAT {}\r\n", f[4])).collect();
    c.send(stats.as_bytes());
    for f in &over {
        let s = c.line();
        assert!(s.starts_with("223 ") && s.split(' ').nth(2) == Some(f[4].as_str()), "STAT {}: {s}", f[4]);
    }
    assert_eq!(code(&c.cmd("STAT <gone@example.org>")), 430);
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
    assert_eq!(code(&c.cmd("QUIT")), 205);
}

/// suck 4.3: lowercase commands; `mode reader` (-M); `group g`; `xhdr Message-ID a-b` (221),
/// ids ending in `>`; pipelined `article <id>`; `xover` with -Z.
#[test]
fn suck() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    assert_eq!(code(&c.cmd("mode reader")), 201);
    let group = "example.list-2";
    let s = c.cmd(&format!("group {group}"));
    let (count, low, high) = group_status(&s, group);
    let (s, lines) = c.text_block(&format!("xhdr Message-ID {low}-{high}"), 221);
    assert_eq!(code(&s), 221, "{s}");
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
    assert_eq!(code(&c.cmd("quit")), 205);
}

/// INN's pullnews (Net::NNTP): MODE READER; GROUP; XOVER (-L) from its saved high mark;
/// ARTICLE n; STAT n (-O); HEAD n (-B).
#[test]
fn inn_pullnews() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    assert_eq!(code(&c.cmd("MODE READER")), 201);
    let group = "example.list-1";
    let (_, low, high) = select(&mut c, group);
    let mark = high - 5;
    assert!(mark >= low);
    let over = overview(&mut c, &format!("XOVER {}-{high}", mark + 1), "pullnews");
    assert_eq!(over.iter().map(|f| num(f)).collect::<Vec<_>>(), (mark + 1..=high).collect::<Vec<_>>());
    for f in &over {
        let s = c.cmd(&format!("STAT {}", f[0]));
        assert!(s.starts_with(&format!("223 {} {}", f[0], f[4])), "{s}");
        let (s, article) = c.multi(&format!("ARTICLE {}", f[0]), 220);
        assert!(s.starts_with(&format!("220 {} {}", f[0], f[4])), "{s}");
        let (s, head) = c.multi(&format!("HEAD {}", f[0]), 221);
        assert!(s.starts_with(&format!("221 {} {}", f[0], f[4])), "{s}");
        assert_eq!(head, article[..head.len()].to_vec());
        assert!(article[head.len()].is_empty());
        // :bytes is the stored article: as served, less the Path/Newsgroups/Xref lines on top.
        let added: usize = article[..3].iter().map(|l| l.len() + 2).sum();
        let bytes: usize = article.iter().map(|l| l.len() + 2).sum::<usize>() - added;
        assert_eq!(bytes.to_string(), f[6], ":bytes of {}", f[0]);
    }
    assert_eq!(code(&c.cmd(&format!("ARTICLE {}", high + 1))), 423);
    // The next run: nothing past the new mark.
    assert_eq!(select(&mut c, group).2, high);
    assert!(overview(&mut c, &format!("XOVER {}-", high + 1), "pullnews").is_empty());
    assert_eq!(code(&c.cmd("QUIT")), 205);
}

/// 1,000 commands in one write: every answer arrives, complete and in order.
#[test]
fn thousand_pipelined_commands_in_one_write() {
    let (_a, server) = sample_server();
    let group = "example.list-0";
    let over = {
        let mut c = server.client();
        let (_, low, high) = select(&mut c, group);
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
    assert_eq!(code(&c.line()), 211);
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
    assert_eq!(code(&c.line()), 205, "QUIT, the 1000th, answered last");
}

/// One XTHREAD line: the 8 overview fields, then Xref, Parent and Depth.
struct ThreadLine {
    f: Vec<String>,
    parent: String,
    depth: usize,
}

impl ThreadLine {
    fn id(&self) -> &str {
        &self.f[4]
    }
}

fn thread_lines(c: &mut Client, arg: &str) -> Vec<ThreadLine> {
    let command = if arg.is_empty() { "XTHREAD".to_string() } else { format!("XTHREAD {arg}") };
    let (s, lines) = c.multi(&command, 224);
    assert_eq!(code(&s), 224, "{command}: {s}");
    let lines: Vec<ThreadLine> = lines
        .iter()
        .map(|l| {
            let f: Vec<String> = text(l).split('\t').map(str::to_string).collect();
            assert_eq!(f.len(), 11, "{command}: 8 fields, Xref, Parent, Depth: {:?}", text(l));
            assert!(f[0].bytes().all(|b| b.is_ascii_digit()) && !f[0].is_empty(), "{command}: {:?}", text(l));
            assert!(f[8].starts_with("Xref:"), "{command}: {:?}", text(l));
            let parent =
                f[9].strip_prefix("Parent:").unwrap_or_else(|| panic!("{command}: {:?}", text(l))).trim().to_string();
            let depth = f[10].strip_prefix("Depth:").unwrap_or_else(|| panic!("{command}: {:?}", text(l))).trim();
            let depth = depth.parse().unwrap_or_else(|_| panic!("{command}: {:?}", text(l)));
            ThreadLine { f, parent, depth }
        })
        .collect();
    // Depth-first from the root: each line's parent is the nearest line above one level up.
    assert!(!lines.is_empty(), "{command}: an empty thread");
    assert_eq!((lines[0].depth, lines[0].parent.as_str()), (0, ""), "{command}: the root comes first");
    let mut path: Vec<&str> = vec![lines[0].id()];
    let mut seen = HashSet::new();
    for l in &lines {
        assert!(seen.insert(l.id().to_string()), "{command}: {} twice", l.id());
    }
    for l in &lines[1..] {
        assert!(l.depth >= 1 && l.depth <= path.len(), "{command}: {} at depth {} after {path:?}", l.id(), l.depth);
        path.truncate(l.depth);
        assert_eq!(l.parent, path[l.depth - 1], "{command}: parent of {}", l.id());
        path.push(l.id());
    }
    lines
}

/// XTHREAD (our extension): every message of the sample, by id, gets its whole thread; the
/// threads partition the archive; parents are what the message's own References say;
/// missing messages are placeholders; the number forms follow the current group.
#[test]
fn xthread() {
    let (_a, server) = sample_server();
    let mut c = server.client();
    let (_, caps) = c.text_block("CAPABILITIES", 101);
    assert!(caps.iter().any(|l| l == "XTHREAD"), "{caps:?}");
    assert_eq!(code(&c.cmd("XTHREAD <no-such-thread@example.org>")), 430);
    assert_eq!(code(&c.cmd("XTHREAD 1")), 412, "a number needs a group");

    // The sample: ids used once, in arrival order, with the parent their headers name.
    let messages = sample_messages();
    let mut uses: HashMap<String, usize> = HashMap::new();
    let mut referenced: HashSet<String> = HashSet::new();
    let mut facts: Vec<(String, Vec<String>)> = Vec::new();
    for raw in &messages {
        let Some(id) = header(raw, "Message-ID") else { continue };
        *uses.entry(id.clone()).or_default() += 1;
        let anc = ancestors(raw, &id);
        referenced.extend(anc.iter().cloned());
        facts.push((id, anc));
    }
    let mut position: HashMap<String, usize> = HashMap::new();
    let mut own_parent: HashMap<String, Option<String>> = HashMap::new();
    for (i, (id, anc)) in facts.iter().enumerate() {
        if uses[id] == 1 {
            position.insert(id.clone(), i);
            own_parent.insert(id.clone(), anc.last().cloned());
        }
    }

    // Everything the server holds, and its overview by id (no group: number 0).
    let mut held: HashMap<String, Vec<String>> = HashMap::new();
    {
        let mut o = server.client();
        for g in ["example.list-0", "example.list-1", "example.list-2"] {
            let (_, low, high) = select(&mut o, g);
            for f in overview(&mut o, &format!("XOVER {low}-{high}"), "XTHREAD") {
                held.entry(f[4].clone()).or_default();
            }
        }
        let ids: Vec<String> = held.keys().cloned().collect();
        let mut fresh = server.client();
        for id in ids {
            let f = overview(&mut fresh, &format!("OVER {id}"), "XTHREAD").remove(0);
            held.insert(id, f);
        }
    }

    let mut thread_of: HashMap<String, Vec<String>> = HashMap::new();
    let mut placeholders = 0;
    for id in position.keys() {
        let lines = thread_lines(&mut c, id);
        let ids: Vec<String> = lines.iter().map(|l| l.id().to_string()).collect();
        assert!(ids.contains(id), "XTHREAD {id} contains it: {ids:?}");
        let index: HashMap<&str, &ThreadLine> = lines.iter().map(|l| (l.id(), l)).collect();
        for l in &lines {
            match held.get(l.id()) {
                Some(over) => {
                    assert_eq!(l.f[..9], over[..9], "XTHREAD {id}: {} as OVER shows it", l.id());
                    if let Some(Some(p)) = own_parent.get(l.id()) {
                        assert_eq!(&l.parent, p, "XTHREAD {id}: {}'s own References name its parent", l.id());
                    }
                }
                None => {
                    placeholders += 1;
                    assert!(referenced.contains(l.id()), "XTHREAD {id}: placeholder {} is referenced", l.id());
                    assert_eq!(l.f[..4], ["0", "", "", ""], "XTHREAD {id}: placeholder {}", l.id());
                    assert_eq!(l.f[5..8], ["", "0", "0"], "XTHREAD {id}: placeholder {}", l.id());
                    assert_eq!(l.f[8].trim_end(), "Xref:", "XTHREAD {id}: placeholder {}", l.id());
                }
            }
        }
        // Complete: every message whose own parent is in the thread is in it too.
        for (child, parent) in &own_parent {
            if let Some(p) = parent
                && index.contains_key(p.as_str())
            {
                assert!(index.contains_key(child.as_str()), "XTHREAD {id}: {child} (a reply to {p}) missing");
            }
        }
        // Siblings: articles by arrival, placeholders after them.
        let mut children: HashMap<&str, Vec<&ThreadLine>> = HashMap::new();
        for l in &lines[1..] {
            children.entry(l.parent.as_str()).or_default().push(l);
        }
        for (parent, kids) in children {
            let order: Vec<Option<usize>> = kids
                .iter()
                .map(|k| {
                    if held.contains_key(k.id()) {
                        Some(position.get(k.id()).copied().unwrap_or(usize::MAX))
                    } else {
                        None
                    }
                })
                .collect();
            let real: Vec<usize> = order.iter().map_while(|o| *o).collect();
            assert!(
                order[real.len()..].iter().all(Option::is_none),
                "XTHREAD {id}: placeholders after articles under {parent}"
            );
            let known: Vec<usize> = real.into_iter().filter(|&p| p != usize::MAX).collect();
            assert!(known.windows(2).all(|w| w[0] < w[1]), "XTHREAD {id}: children of {parent} by arrival");
        }
        thread_of.insert(id.clone(), ids);
    }
    assert!(placeholders > 0, "the sample references messages it lacks");
    for (id, ids) in &thread_of {
        for other in ids {
            if let Some(t) = thread_of.get(other) {
                assert_eq!(t, ids, "{id} and {other} share one thread");
            }
        }
    }

    // The number forms: GROUP then XTHREAD n, and XTHREAD for the current article.
    let (deepest, _) = thread_of
        .iter()
        .max_by_key(|(id, ids)| (ids.len(), std::cmp::Reverse(id.to_string())))
        .map(|(id, ids)| (id.clone(), ids.clone()))
        .unwrap();
    let by_id = thread_lines(&mut c, &deepest);
    let (g, n) = xref_pairs(&over_xref(&held[&deepest]))[0].clone();
    select(&mut c, &g);
    let by_num = thread_lines(&mut c, &n.to_string());
    assert_eq!(by_num.iter().map(|l| l.id()).collect::<Vec<_>>(), by_id.iter().map(|l| l.id()).collect::<Vec<_>>());
    for l in &by_num {
        if held.contains_key(l.id()) {
            let over = overview(&mut c, &format!("OVER {}", l.id()), "XTHREAD");
            assert_eq!(l.f[0], over[0][0], "number of {} in {g}", l.id());
        }
    }
    assert!(c.cmd(&format!("STAT {n}")).starts_with("223 "));
    let current = thread_lines(&mut c, "");
    assert_eq!(current.iter().map(|l| l.id()).collect::<Vec<_>>(), by_num.iter().map(|l| l.id()).collect::<Vec<_>>());
    assert_eq!(code(&c.cmd("XTHREAD 999999")), 423);
}
