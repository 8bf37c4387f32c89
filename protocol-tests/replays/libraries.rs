//! Client libraries: Python's nntplib and Perl's Net::NNTP.

use std::collections::{BTreeSet, HashMap};

use super::*;
use crate::kit::*;

/// Python's nntplib: CAPABILITIES (so no MODE READER, READER being listed); LIST
/// OVERVIEW.FMT validated; OVER (advertised) with extra fields named; GROUP; LIST NEWSGROUPS
/// and XGTITLE; NEWNEWS and NEWGROUPS with 8-digit years and no GMT; STAT/ARTICLE/HEAD/BODY.
#[test]
fn python_nntplib() {
    let (archive, server) = sample_server();
    let mut c = server.client();
    let (_, caps) = c.expect_text("CAPABILITIES", 101);
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
    let (_, fmt) = c.expect_text("LIST OVERVIEW.FMT", 215);
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
    let (count, low, high) = c.group(group);
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
    let (_, ng) = c.expect_text("LIST NEWSGROUPS example.*", 215);
    assert_eq!(ng.len(), archive.config.groups.len());
    let (_, xg) = c.expect_text("XGTITLE example.*", 282);
    assert_eq!(xg, ng, "XGTITLE lists what LIST NEWSGROUPS does");
    for g in &archive.config.groups {
        assert!(xg.contains(&format!("{}\t{}", g.name, g.description)), "{xg:?}");
    }

    let now = server_date(&mut c);
    let day = chrono::Duration::days(1);
    let (_, news) = c.expect_text(&format!("NEWNEWS {group} {}", (now - day).format("%Y%m%d %H%M%S")), 230);
    let ids: BTreeSet<String> = over.iter().map(|f| f[4].clone()).collect();
    assert_eq!(news.iter().cloned().collect::<BTreeSet<_>>(), ids);
    assert_eq!(news.len(), ids.len());
    let (_, none) = c.expect_text(&format!("NEWNEWS {group} {}", (now + day).format("%Y%m%d %H%M%S")), 230);
    assert!(none.is_empty(), "{none:?}");
    let (_, new) = c.expect_text(&format!("NEWGROUPS {}", (now - day).format("%Y%m%d %H%M%S")), 231);
    assert_eq!(new.len(), archive.config.groups.len());

    // _statparse: `code number message-id`.
    let f = &over[3];
    let s = c.expect(&format!("STAT {}", f[0]), 223);
    assert_eq!(s.split_whitespace().take(3).collect::<Vec<_>>(), ["223", f[0].as_str(), f[4].as_str()]);
    let (s, article) = c.expect_block(&format!("ARTICLE {}", f[0]), 220);
    assert_eq!(s.split_whitespace().take(3).collect::<Vec<_>>(), ["220", f[0].as_str(), f[4].as_str()]);
    let (_, head) = c.expect_block(&format!("HEAD {}", f[4]), 221);
    assert_eq!(head, article[..head.len()].to_vec());
    let (_, body) = c.expect_block(&format!("BODY {}", f[0]), 222);
    assert_eq!(body, article[head.len() + 1..].to_vec());
    assert_eq!(body.len().to_string(), f[7], ":lines counts the body lines");
    let (_, subjects) = c.expect_text(&format!("XHDR subject {}-{}", low, low + 2), 221);
    assert_eq!(subjects, over[..3].iter().map(|f| format!("{} {}", f[0], f[1])).collect::<Vec<_>>());
    c.expect("QUIT", 205);
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
    c.expect("MODE READER", 201); // "postok is then false"
    let (_, list) = c.expect_text("LIST", 215);
    assert!(list.iter().all(|l| l.split_whitespace().count() == 4), "{list:?}");

    let group = "example.list-0";
    let (count, low, high) = c.group(group);
    let over = overview(&mut c, &format!("XOVER {low}-{high}"), "Net::NNTP");
    assert_eq!(over.len() as u64, count);
    let (_, subjects) = c.expect_text(&format!("XHDR Subject {low}-{high}"), 221);

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
    let (_, hits) = c.expect_text(&command, 221);
    let expected: Vec<String> =
        subjects.iter().filter(|l| l.split_once(' ').unwrap().1.contains(&phrase)).cloned().collect();
    assert!(!expected.is_empty());
    assert_eq!(hits, expected, "{command}");
    // `,` and `!` are plain characters in XPAT (uwildmat_simple).
    let (_, froms) = c.expect_text(&format!("XHDR From {low}-{high}"), 221);
    let (_, commas) = c.expect_text(&format!("XPAT From {low}-{high} *,*"), 221);
    let expected: Vec<String> = froms.iter().filter(|l| l.split_once(' ').unwrap().1.contains(',')).cloned().collect();
    assert!(!expected.is_empty() && expected.len() < froms.len(), "the sample has From names with commas");
    assert_eq!(commas, expected, "`,` is literal, not a pattern separator");
    let (_, bang) = c.expect_text(&format!("XPAT Path {low}-{high} *!not-for-mail"), 221);
    assert_eq!(bang.len() as u64, count);

    // xpath($id): `223 group/n group/n`.
    let cross = over.iter().find(|f| xref_pairs(&over_xref(f)).len() > 1).expect("a cross-posted article");
    for f in [&over[0], cross] {
        let s = c.expect(&format!("XPATH {}", f[4]), 223);
        assert_eq!(code(&s), 223, "XPATH {}: {s}", f[4]);
        let mut got: Vec<String> = s[4..].split_whitespace().map(str::to_string).collect();
        let mut want: Vec<String> = xref_pairs(&over_xref(f)).iter().map(|(g, n)| format!("{g}/{n}")).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "XPATH {}", f[4]);
    }
    c.expect("XPATH <no-such@example.org>", 430);
    c.expect("XPATH 5", 501); // "not a message-id"

    // xrover: the References each article carries in the overview.
    let (_, rover) = c.expect_text(&format!("XROVER {low}-{high}"), 224);
    assert_eq!(
        rover,
        over.iter().map(|f| format!("{} {}", f[0], f[5])).collect::<Vec<_>>(),
        "XROVER gives the overview's References field"
    );

    let (_, xg) = c.expect_text("XGTITLE example.list-*", 282);
    let titled: Vec<String> = xg.iter().map(|l| l.split('\t').next().unwrap().to_string()).collect();
    assert_eq!(titled, archive.names_with_prefix("example.list-"));
    let (_, times) = c.expect_text("LIST ACTIVE.TIMES", 215);
    assert_eq!(times.len(), archive.config.groups.len());
    for line in &times {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 3, "`group time creator`: {line}");
        let t: u64 = f[1].parse().unwrap_or_else(|_| panic!("{line}"));
        assert!(t >= before.saturating_sub(1) && t <= after + 1, "created by the import ({before}..{after}): {line}");
    }
    let (_, subs) = c.expect_text("LIST SUBSCRIPTIONS", 215);
    let wanted: Vec<String> = archive.config.groups.iter().filter(|g| g.subscribe).map(|g| g.name.clone()).collect();
    assert_eq!(subs, wanted, "the groups configured subscribe = true");
    c.expect("LIST DISTRIBUTIONS", 503);
    c.expect("LIST DISTRIB.PATS", 503);

    // _timestr plus an empty distributions argument: a trailing space.
    let now = server_date(&mut c);
    let since = (now - chrono::Duration::days(1)).format("%y%m%d %H%M%S");
    let (_, new) = c.expect_text(&format!("NEWGROUPS {since} GMT "), 231);
    assert_eq!(new.len(), archive.config.groups.len());
    let (_, news) = c.expect_text(&format!("NEWNEWS {group} {since} GMT "), 230);
    assert_eq!(news.len() as u64, count);

    let f = &over[4];
    let (_, article) = c.expect_block(&format!("ARTICLE {}", f[4]), 220);
    assert_eq!(one_header(&head_of(&article), "Message-ID"), f[4]);
    let s = c.expect(&format!("STAT {}", f[0]), 223);
    assert!(s.contains(&f[4]), "nntpstat takes the id from the reply: {s}");
    c.expect("QUIT", 205);
}
