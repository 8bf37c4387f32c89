//! Real client programs against the real server: Python's nntplib and Perl's Net::NNTP (the
//! scripts in `protocol-tests/clients/`, which print what the library parsed) and Debian's
//! `suck` pulling whole groups into files. Each program gets the harness server's port; its
//! output is checked against the server's own answers and the sample mbox.
//!
//! A missing program fails the test saying what to install (`.ci/run` installs them).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::kit::*;
use crate::replays::*;

/// Fails unless `program args` runs and prints `expect` (stdout or stderr).
fn require(program: &str, args: &[&str], expect: &str, install: &str) {
    match Command::new(program).args(args).output() {
        Ok(out) if String::from_utf8_lossy(&[out.stdout.as_slice(), &out.stderr].concat()).contains(expect) => {}
        Ok(out) => panic!(
            "`{program} {}` does not work here ({}): {install}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!("`{program}` is not installed ({e}): {install}"),
    }
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("protocol-tests/clients").join(name)
}

/// Runs a client to completion (each has its own network timeout) and fails with its
/// output unless it succeeded.
fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The scripts' TAB-separated records: kind, then fields.
struct Records(Vec<Vec<String>>);

impl Records {
    fn parse(out: &Output) -> Records {
        let text = String::from_utf8_lossy(&out.stdout);
        Records(text.lines().map(|l| l.split('\t').map(str::to_string).collect()).collect())
    }

    fn all(&self, kind: &str) -> Vec<&[String]> {
        self.0.iter().filter(|r| r[0] == kind).map(|r| &r[1..]).collect()
    }

    fn one(&self, kind: &str) -> &[String] {
        let all = self.all(kind);
        assert_eq!(all.len(), 1, "one `{kind}` record in the client's output: {all:?}");
        all[0]
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A multi-line answer as a client library hands it over: lines with `end` after each.
fn joined(lines: &[Vec<u8>], end: &[u8]) -> Vec<u8> {
    lines.iter().flat_map(|l| [l.as_slice(), end].concat()).collect()
}

/// Python 3's nntplib (`clients/nntplib_client.py`): CAPABILITIES, LIST, descriptions, GROUP,
/// OVER with its LIST OVERVIEW.FMT check, ARTICLE/HEAD/BODY/STAT/NEXT, XHDR, DATE, NEWNEWS and
/// NEWGROUPS without GMT, and its error classes.
#[test]
fn nntplib_script() {
    require(
        "python3",
        &["-c", "import warnings; warnings.simplefilter('ignore'); import nntplib; print('nntplib ok')"],
        "nntplib ok",
        "install Python 3 with nntplib (Debian: apt-get install python3; nntplib is in the standard library up to 3.12, \
         on 3.13+ pip install standard-nntplib)",
    );
    let (archive, server) = sample_server();
    let group = "example.list-1";
    let dir = tempfile::tempdir().unwrap();
    let out = run(Command::new("python3").arg(script("nntplib_client.py")).args([
        "127.0.0.1",
        &server.addr.port().to_string(),
        group,
        dir.path().to_str().unwrap(),
    ]));
    let r = Records::parse(&out);

    let mut c = server.client();
    assert_eq!(r.one("welcome")[0], c.greeting);
    let (_, caps) = c.expect_text("CAPABILITIES", 101);
    let parsed: Vec<String> = r.all("cap").iter().map(|f| f.join(" ")).collect();
    assert_eq!(parsed.iter().collect::<BTreeSet<_>>(), caps.iter().collect::<BTreeSet<_>>());

    let (_, list) = c.expect_text("LIST", 215);
    let want: BTreeSet<Vec<String>> = list.iter().map(|l| l.split(' ').map(str::to_string).collect()).collect();
    assert_eq!(r.all("list").iter().map(|f| f.to_vec()).collect::<BTreeSet<_>>(), want);
    let described: Vec<String> = r.all("description").iter().map(|f| f.join("\t")).collect();
    let (_, ng) = c.expect_text("LIST NEWSGROUPS example.*", 215);
    assert_eq!(described.iter().collect::<BTreeSet<_>>(), ng.iter().collect::<BTreeSet<_>>());

    let (count, low, high) = c.group(group);
    assert_eq!(r.one("group"), strings(&[&count.to_string(), &low.to_string(), &high.to_string(), group]));
    let over = overview(&mut c, &format!("XOVER {low}-{high}"), "nntplib");
    let parsed = r.all("over");
    assert_eq!(parsed.len(), over.len(), "nntplib parsed every OVER line");
    for (p, f) in parsed.iter().zip(&over) {
        assert_eq!(p[..8], f[..8], "nntplib's fields for article {}", f[0]);
        assert_eq!(p[8], over_xref(f), "nntplib strips the `Xref: ` name");
    }
    assert_eq!(r.one("over-id"), [over[0][0].clone(), over[0][4].clone()], "OVER <id> in the current group");
    let xover: Vec<Vec<String>> = over[..3].iter().map(|f| vec![f[0].clone(), f[4].clone()]).collect();
    assert_eq!(r.all("xover").iter().map(|f| f.to_vec()).collect::<Vec<_>>(), xover);

    let file = |name: &str| std::fs::read(dir.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (_, article) = c.expect_block(&format!("ARTICLE {low}"), 220);
    assert_eq!(r.one("article"), [low.to_string(), over[0][4].clone(), article.len().to_string()]);
    assert_eq!(file(&format!("article-{low}")), joined(&article, b"\r\n"), "ARTICLE {low} as nntplib read it");
    let by_id = r.one("article-id");
    assert_eq!(by_id[1], over[0][4]);
    assert!(by_id[0] == "0" || by_id[0] == over[0][0], "the number in the current group, or 0: {by_id:?}");
    assert_eq!(file("article-id"), joined(&article, b"\r\n"), "ARTICLE <id> as nntplib read it");
    let last = &over[over.len() - 1];
    let (_, head) = c.expect_block(&format!("HEAD {high}"), 221);
    let (_, body) = c.expect_block(&format!("BODY {high}"), 222);
    assert_eq!(r.one("head"), [last[0].clone(), last[4].clone()]);
    assert_eq!(r.one("body"), [last[0].clone(), last[4].clone()]);
    assert_eq!(file(&format!("head-{high}")), joined(&head, b"\r\n"));
    assert_eq!(file(&format!("body-{high}")), joined(&body, b"\r\n"));
    assert_eq!(r.one("stat"), [over[1][0].clone(), over[1][4].clone()]);
    assert_eq!(r.one("next"), [over[2][0].clone(), over[2][4].clone()], "NEXT after STAT {}", over[1][0]);
    let xhdr: Vec<Vec<String>> = over.iter().map(|f| vec![f[0].clone(), f[1].clone()]).collect();
    assert_eq!(r.all("xhdr").iter().map(|f| f.to_vec()).collect::<Vec<_>>(), xhdr);

    let date = &r.one("date")[0];
    assert!(date.len() == 14 && date.bytes().all(|b| b.is_ascii_digit()), "{date}");
    let news: BTreeSet<String> = r.all("newnews").iter().map(|f| f[0].clone()).collect();
    assert_eq!(news, over.iter().map(|f| f[4].clone()).collect::<BTreeSet<_>>(), "NEWNEWS without GMT");
    assert_eq!(r.one("newnews-later"), ["0"]);
    let new: BTreeSet<String> = r.all("newgroup").iter().map(|f| f[0].clone()).collect();
    assert_eq!(new, archive.group_names().into_iter().collect::<BTreeSet<_>>());
    let errors: HashMap<String, u16> = r.all("error").iter().map(|f| (f[0].clone(), code(&f[1]))).collect();
    assert_eq!(errors["group"], 411);
    assert_eq!(errors["article"], 430);
    assert_eq!(code(&r.one("quit")[0]), 205);
}

/// Perl's Net::NNTP (`clients/net_nntp_client.pl`): MODE READER, list, group, xover, xhdr,
/// xpat with a list of words, xpath, xrover, article, nntpstat, overview_fmt, listgroup,
/// xgtitle, newsgroups, active_times, subscriptions, distributions, date, newgroups, newnews.
#[test]
fn net_nntp_script() {
    require(
        "perl",
        &["-MNet::NNTP", "-e", "print qq(Net::NNTP ok\\n)"],
        "Net::NNTP ok",
        "install perl with Net::NNTP (Debian: apt-get install perl; Net::NNTP is part of libnet in perl-modules)",
    );
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let (archive, server) = sample_server();
    let after = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let group = "example.list-0";
    let dir = tempfile::tempdir().unwrap();
    let out = run(Command::new("perl").arg(script("net_nntp_client.pl")).args([
        "127.0.0.1",
        &server.addr.port().to_string(),
        group,
        dir.path().to_str().unwrap(),
    ]));
    let r = Records::parse(&out);
    assert!(r.all("fail").is_empty(), "Net::NNTP calls that failed: {:#?}", r.all("fail"));
    assert_eq!(r.one("mode"), ["201", "0"], "MODE READER: 201, posting not allowed");

    let mut c = server.client();
    let (_, list) = c.expect_text("LIST", 215);
    let want: BTreeSet<Vec<String>> = list.iter().map(|l| l.split(' ').map(str::to_string).collect()).collect();
    assert_eq!(r.all("list").iter().map(|f| f.to_vec()).collect::<BTreeSet<_>>(), want);
    let (count, low, high) = c.group(group);
    assert_eq!(r.one("group"), strings(&[&count.to_string(), &low.to_string(), &high.to_string(), group]));
    let (_, raw_over) = c.expect_block(&format!("XOVER {low}-{high}"), 224);
    let over: Vec<Vec<String>> = raw_over.iter().map(|l| overview_fields(l, "Net::NNTP")).collect();
    let parsed: Vec<String> = r.all("xover").iter().map(|f| f.join("\t")).collect();
    assert_eq!(parsed, raw_over.iter().map(|l| text(l)).collect::<Vec<_>>(), "Net::NNTP's xover fields");
    let (_, subjects) = c.expect_text(&format!("XHDR Subject {low}-{high}"), 221);
    let parsed: Vec<String> = r.all("xhdr").iter().map(|f| f.join(" ")).collect();
    assert_eq!(parsed, subjects);

    let pattern = &r.one("xpat-pattern")[0];
    let phrase = pattern.trim_matches('*');
    assert!(phrase.contains(' '), "a pattern of several words: {pattern}");
    let parsed: Vec<String> = r.all("xpat").iter().map(|f| f.join(" ")).collect();
    let expected: Vec<String> =
        subjects.iter().filter(|l| l.split_once(' ').unwrap().1.contains(phrase)).cloned().collect();
    assert!(!expected.is_empty());
    assert_eq!(parsed, expected, "xpat Subject {pattern:?}");

    let xpaths = r.all("xpath");
    assert!(xpaths.len() > 1, "the first article and the cross-posted ones: {xpaths:?}");
    let by_id: HashMap<&str, &Vec<String>> = over.iter().map(|f| (f[4].as_str(), f)).collect();
    for x in &xpaths {
        let f = by_id[x[0].as_str()];
        let mut want: Vec<String> = xref_pairs(&over_xref(f)).iter().map(|(g, n)| format!("{g}/{n}")).collect();
        let mut got = x[1..].to_vec();
        want.sort();
        got.sort();
        assert_eq!(got, want, "xpath {}", x[0]);
    }
    assert_eq!(r.one("xpath-missing"), ["430", "0"]);
    let rover: Vec<Vec<String>> = r.all("xrover").iter().map(|f| f.to_vec()).collect();
    assert_eq!(rover, over.iter().map(|f| vec![f[0].clone(), f[5].clone()]).collect::<Vec<_>>(), "xrover: References");

    let file = |name: &str| std::fs::read(dir.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (_, article) = c.expect_block(&format!("ARTICLE {low}"), 220);
    assert_eq!(file(&format!("article-{low}")), joined(&article, b"\n"), "Net::NNTP article({low})");
    assert_eq!(file("article-id"), joined(&article, b"\n"), "Net::NNTP article(<id>)");
    assert_eq!(r.one("stat"), [over[1][0].clone(), over[1][4].clone()]);

    let (_, fmt) = c.expect_text("LIST OVERVIEW.FMT", 215);
    assert_eq!(r.one("overview_fmt"), fmt.as_slice());
    let numbers: Vec<String> = over.iter().map(|f| f[0].clone()).collect();
    assert_eq!(r.one("listgroup"), numbers.as_slice());
    let (_, ng) = c.expect_text("LIST NEWSGROUPS example.*", 215);
    let ng: Vec<String> = ng.into_iter().map(|l| l.replacen('\t', " ", 1)).collect();
    assert_eq!(r.all("xgtitle").iter().map(|f| f.join(" ")).collect::<Vec<_>>(), ng, "xgtitle");
    assert_eq!(r.all("newsgroups").iter().map(|f| f.join(" ")).collect::<Vec<_>>(), ng, "newsgroups");
    let times = r.all("active_times");
    assert_eq!(
        times.iter().map(|f| f[0].clone()).collect::<BTreeSet<_>>(),
        archive.group_names().into_iter().collect::<BTreeSet<_>>()
    );
    for t in &times {
        let created: u64 = t[1].parse().unwrap_or_else(|_| panic!("active_times {t:?}"));
        assert!(created + 1 >= before && created <= after + 1, "{t:?} created by the import ({before}..{after})");
        assert!(!t[2].is_empty(), "a creator: {t:?}");
    }
    let subscribed: Vec<String> =
        archive.config.groups.iter().filter(|g| g.subscribe).map(|g| g.name.clone()).collect();
    assert_eq!(r.one("subscriptions"), subscribed.as_slice());
    assert_eq!(r.one("distributions"), ["503", "none"]);

    let date: i64 = r.one("date")[0].parse().unwrap();
    assert!((date - chrono::Utc::now().timestamp()).abs() < 300, "DATE read as UTC: {date}");
    let new: BTreeSet<String> = r.all("newgroup").iter().map(|f| f[0].clone()).collect();
    assert_eq!(new, archive.group_names().into_iter().collect::<BTreeSet<_>>());
    let news: BTreeSet<String> = r.all("newnews").iter().map(|f| f[0].clone()).collect();
    assert_eq!(news, over.iter().map(|f| f[4].clone()).collect::<BTreeSet<_>>(), "newnews of the current group");
    assert_eq!(r.one("quit"), ["205"]);
}

/// The importer's stored form of a sample message, as suck writes it to a file: line ends
/// normalised (the server sends CRLF, a bare CR or LF becoming CRLF and NUL a space; suck
/// writes LF), a final newline; incoming Path/Newsgroups/Xref renamed `X-Original-*`; a
/// message given a new id (`new_id`) gets it on top, its own Message-ID headers renamed
/// `X-Listnews-Original-Message-ID` (README, "Import rules" and "Wire form").
fn expected_file(raw: &[u8], new_id: Option<&str>) -> Vec<u8> {
    let mut wire = Vec::with_capacity(raw.len() + 64);
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\r' if raw.get(i + 1) == Some(&b'\n') => {
                wire.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => wire.extend_from_slice(b"\r\n"),
            0 => wire.push(b' '),
            b => wire.push(b),
        }
        i += 1;
    }
    if !wire.ends_with(b"\r\n") {
        wire.extend_from_slice(b"\r\n");
    }
    let (head, body): (&[u8], &[u8]) = match wire.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(p) => (&wire[..p + 2], &wire[p + 2..]),
        None => (&wire[..], b"\r\n"),
    };
    let mut out = Vec::with_capacity(wire.len() + 128);
    if let Some(id) = new_id {
        out.extend_from_slice(format!("Message-ID: {id}\r\n").as_bytes());
    }
    for line in head.split_inclusive(|&b| b == b'\n') {
        let name = match line.iter().position(|&b| b == b':') {
            Some(p) if !line.starts_with(b" ") && !line.starts_with(b"\t") => &line[..p],
            _ => &b""[..],
        };
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if is("Path") || is("Newsgroups") || is("Xref") {
            out.extend_from_slice(b"X-Original-");
            out.extend_from_slice(line);
        } else if new_id.is_some() && is("Message-ID") {
            out.extend_from_slice(b"X-Listnews-Original-Message-ID");
            out.extend_from_slice(&line[name.len()..]);
        } else {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(body);
    let mut lf = Vec::with_capacity(out.len());
    let mut i = 0;
    while i < out.len() {
        if out[i] == b'\r' && out.get(i + 1) == Some(&b'\n') {
            i += 1;
        }
        lf.push(out[i]);
        i += 1;
    }
    lf
}

/// A file with the values of its display headers (Subject, From, To, Cc, Reply-To, Sender)
/// decoded by mail-parser, unfolded: the server sends raw UTF-8 in them as RFC 2047 encoded
/// words when the message declares another charset (README, "Wire form"), which decode to
/// the same text.
fn readable(file: &[u8]) -> Vec<u8> {
    let split = file.windows(2).position(|w| w == b"\n\n").map_or(file.len(), |p| p + 1);
    let (head, body) = file.split_at(split);
    let mut out = Vec::with_capacity(file.len());
    let mut lines = head.split_inclusive(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let mut field = line.to_vec();
        while let Some(next) = lines.peek().filter(|l| matches!(l.first(), Some(b' ' | b'\t'))) {
            field.extend_from_slice(next);
            lines.next();
        }
        let colon = field.iter().position(|&b| b == b':').unwrap_or(0);
        let name = String::from_utf8_lossy(&field[..colon]).to_ascii_lowercase();
        if ["subject", "from", "to", "cc", "reply-to", "sender"].contains(&name.as_str()) {
            let value: Vec<u8> = field[colon + 1..].iter().copied().filter(|&b| b != b'\n').collect();
            let header = [b"Subject:".as_slice(), &value, b"\n\n"].concat();
            let parsed = mail_parser::MessageParser::new().parse_headers(&header);
            let text =
                parsed.as_ref().and_then(|m| m.subject()).map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "));
            out.extend_from_slice(format!("{name}: {}\n", text.unwrap_or_default()).as_bytes());
        } else {
            out.extend_from_slice(&field);
        }
    }
    out.extend_from_slice(body);
    out
}

fn usable_id(id: &str) -> bool {
    id.len() >= 3
        && id.len() <= 250
        && id.starts_with('<')
        && id.ends_with('>')
        && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The first line that differs, for a readable failure.
fn first_difference(got: &[u8], want: &[u8]) -> String {
    let (g, w): (Vec<&[u8]>, Vec<&[u8]>) =
        (got.split(|&b| b == b'\n').collect(), want.split(|&b| b == b'\n').collect());
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        if a != b {
            return format!("line {}: got {:?}, want {:?}", i + 1, text(a), text(b));
        }
    }
    format!("{} lines, want {}", g.len(), w.len())
}

/// Debian's suck (multifile mode, `-M` for mode reader): pulls every group from article 1;
/// each file, less the Path/Newsgroups/Xref lines the server writes on top, is byte for
/// byte the sample message it was imported from; every sample message is there.
#[test]
fn suck_pull() {
    require("suck", &["-V"], "Suck version", "install suck (Debian: apt-get install suck)");
    let (archive, server) = sample_server();

    // What the server holds: (group, number) -> Message-ID.
    let mut c = server.client();
    let mut held: HashMap<(String, u64), String> = HashMap::new();
    let mut highs = Vec::new();
    let mut ids = BTreeSet::new();
    for g in archive.group_names() {
        let (count, low, high) = c.group(&g);
        highs.push((g.clone(), high));
        if count == 0 {
            continue;
        }
        let (_, lines) = c.expect_text(&format!("XHDR Message-ID {low}-{high}"), 221);
        for (n, id) in numbered(&lines) {
            ids.insert(id.clone());
            held.insert((g.clone(), n), id);
        }
    }

    let dir = tempfile::tempdir().unwrap();
    for sub in ["d", "t", "m"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    let newsrc: String = highs.iter().map(|(g, _)| format!("{g} 0\n")).collect();
    std::fs::write(dir.path().join("d/sucknewsrc"), newsrc).unwrap();
    let port = server.addr.port().to_string();
    run(Command::new("suck").current_dir(dir.path()).args([
        "127.0.0.1",
        "-N",
        &port,
        "-M",
        "-m",
        "-dd",
        "d",
        "-dt",
        "t",
        "-dm",
        "m",
        "-H",
        "-K",
        "-q",
        "-T",
        "30",
    ]));
    let newrc = std::fs::read_to_string(dir.path().join("t/suck.newrc")).expect("suck.newrc");
    for (g, high) in &highs {
        assert!(newrc.lines().any(|l| l == format!("{g} {high}")), "suck's new high mark for {g}: {newrc}");
    }

    // The sample by Message-ID; messages without a usable one.
    let messages = sample_messages();
    let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
    let mut no_id = Vec::new();
    for (i, raw) in messages.iter().enumerate() {
        match header(raw, "Message-ID") {
            Some(id) if usable_id(&id) => by_id.entry(id).or_default().push(i),
            _ => no_id.push(i),
        }
    }

    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.path().join("m")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), ids.len(), "one file per article (suck fetches a cross-posted one once)");
    let mut matched = vec![false; messages.len()];
    let mut pulled = BTreeSet::new();
    let path = format!("Path: {HOST}!not-for-mail");
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let mut parts = bytes.splitn(4, |&b| b == b'\n');
        let (l1, l2, l3) = (text(parts.next().unwrap()), text(parts.next().unwrap()), text(parts.next().unwrap()));
        let rest = parts.next().unwrap_or_default();
        let what = file.display();
        assert_eq!(l1, path, "{what}");
        let newsgroups: BTreeSet<&str> =
            l2.strip_prefix("Newsgroups: ").unwrap_or_else(|| panic!("{what}: {l2}")).split(',').collect();
        let xref = xref_pairs(l3.strip_prefix("Xref: ").unwrap_or_else(|| panic!("{what}: {l3}")));
        let id = header(rest, "Message-ID").unwrap_or_else(|| panic!("{what}: no Message-ID"));
        assert_eq!(newsgroups, xref.iter().map(|(g, _)| g.as_str()).collect::<BTreeSet<_>>(), "{what}");
        for (g, n) in &xref {
            assert_eq!(held.get(&(g.clone(), *n)), Some(&id), "{what}: Xref {g}:{n}");
        }
        assert!(pulled.insert(id.clone()), "{what}: {id} pulled twice");

        // The sample message it came from: the first holder of its id, a later one with the
        // same id and other content (stored under a derived id), or one without a usable id.
        let (candidates, new_id): (Vec<usize>, Option<&str>) = match by_id.get(&id) {
            Some(list) => (vec![list[0]], None),
            None => match header(rest, "X-Listnews-Original-Message-ID") {
                Some(orig) if by_id.contains_key(&orig) => (by_id[&orig][1..].to_vec(), Some(id.as_str())),
                _ => (no_id.clone(), Some(id.as_str())),
            },
        };
        assert!(!candidates.is_empty(), "{what}: {id} comes from no sample message");
        let got = readable(rest);
        let found = candidates.iter().copied().find(|&i| readable(&expected_file(&messages[i], new_id)) == got);
        match found {
            Some(i) => matched[i] = true,
            None => panic!(
                "{what} ({id}) differs from the sample message it was imported from: {}",
                first_difference(&got, &readable(&expected_file(&messages[candidates[0]], new_id)))
            ),
        }
    }
    assert_eq!(pulled, ids, "suck pulled every article the server lists");
    for (i, raw) in messages.iter().enumerate() {
        if matched[i] {
            continue;
        }
        let id = header(raw, "Message-ID");
        let repeat = id.as_ref().and_then(|id| by_id.get(id)).is_some_and(|list| list[0] != i);
        assert!(repeat, "sample message {i} ({id:?}) is not among the pulled articles");
    }
}
