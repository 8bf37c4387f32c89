//! The HTTP face: public-inbox's URL layout over the same store. The real `b4` pulls a patch
//! series with its trailers; raw messages, the thread mbox and Atom are read back by
//! Python's mailbox and an XML parser; caching, ids, privacy and removal; Chromium renders a
//! thread page.

use std::path::Path;
use std::process::Command;

use crate::kit::*;

/// The harness archive with an HTTP listener (and `extra` config text appended).
fn web_archive(extra: &str) -> Archive {
    Archive::with_config(|text| text.replacen("[server]\n", "[server]\nhttp_listen = [\"127.0.0.1:0\"]\n", 1) + extra)
}

/// Runs a command, asserting success; returns stdout.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A patch series as `git format-patch` writes it (cover letter and three patches to
/// list-0), plus replies carrying trailers: a Reviewed-by for patch 2, an Acked-by for the
/// series on the cover letter. Returns (repository, base commit, mbox, cover id, patch ids).
fn patch_series(dir: &Path) -> (std::path::PathBuf, String, Vec<u8>, String, Vec<String>) {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let g = |args: &[&str]| {
        run(Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z")
            .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z"))
    };
    g(&["init", "-q", "-b", "main"]);
    g(&["config", "user.name", "Pat Cher"]);
    g(&["config", "user.email", "pat@example.org"]);
    std::fs::write(repo.join("driver.c"), "int probe(void)\n{\n\treturn 0;\n}\n").unwrap();
    g(&["add", "."]);
    g(&["commit", "-q", "-m", "driver: start"]);
    let base = g(&["rev-parse", "HEAD"]).trim().to_string();
    for (i, (line, what)) in [
        ("\t/* check the device */\n", "check the device"),
        ("\tint err;\n", "declare err"),
        ("\terr = 0;\n", "set err"),
    ]
    .iter()
    .enumerate()
    {
        let mut text = std::fs::read_to_string(repo.join("driver.c")).unwrap();
        text = text.replacen("{\n", &format!("{{\n{line}"), 1);
        std::fs::write(repo.join("driver.c"), text).unwrap();
        g(&["commit", "-q", "-am", &format!("driver: {what}\n\nStep {} of the series.", i + 1)]);
    }
    let out = dir.join("patches");
    g(&[
        "format-patch",
        "-q",
        "--cover-letter",
        "--thread=shallow",
        "--to=list-0@lists.example.org",
        "-o",
        out.to_str().unwrap(),
        &format!("{base}..HEAD"),
    ]);
    let mut files: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut mbox = Vec::new();
    let mut ids = Vec::new();
    for f in &files {
        let mail = std::fs::read(f).unwrap();
        ids.push(header(&mail, "Message-ID").expect("format-patch writes a Message-ID"));
        // The cover letter's placeholders, filled as its author would.
        let mail = String::from_utf8(mail)
            .unwrap()
            .replace("*** SUBJECT HERE ***", "driver: error handling")
            .replace("*** BLURB HERE ***", "Three small steps.");
        mbox.extend_from_slice(mail.as_bytes());
        mbox.extend_from_slice(b"\n");
    }
    let cover = ids.remove(0);
    let reply = |from: &str, id: &str, parent: &str, refs: &str, subject: &str, trailer: &str| {
        format!(
            "From reviewer@example.org Thu Jan  1 00:00:00 1970\nFrom: {from}\nTo: list-0@lists.example.org\n\
Subject: Re: {subject}\nDate: Sat, 3 Jan 2026 10:00:00 +0000\nMessage-ID: {id}\nIn-Reply-To: {parent}\nReferences: {refs}\n\n\
> Step of the series.\n\nLooks right.\n\n{trailer}\n\n"
        )
    };
    mbox.extend_from_slice(
        reply(
            "Rev Iewer <rev@example.org>",
            "<review-2@example.org>",
            &ids[1],
            &format!("{cover} {}", ids[1]),
            "[PATCH 2/3] driver: declare err",
            "Reviewed-by: Rev Iewer <rev@example.org>",
        )
        .as_bytes(),
    );
    mbox.extend_from_slice(
        reply(
            "Ack Er <ack@example.org>",
            "<ack-0@example.org>",
            &cover,
            &cover,
            "[PATCH 0/3] driver: error handling",
            "Acked-by: Ack Er <ack@example.org>",
        )
        .as_bytes(),
    );
    (repo, base, mbox, cover, ids)
}

/// `b4 am` of the series' cover letter, with its midmask pointed at listnews, writes the three
/// patches in order with the trailers collected from the replies; `git am` of them rebuilds
/// the series' tree exactly.
#[test]
fn b4_am_pulls_a_series_with_its_trailers() {
    let archive = web_archive("");
    let work = archive.dir.path();
    let (repo, base, mbox, cover, patches) = patch_series(work);
    std::fs::write(work.join("series.mbox"), &mbox).unwrap();
    let stats = archive.import(None, &[&work.join("series.mbox")]);
    assert_eq!(stats.stored, 6, "{stats:?}");
    let server = archive.serve();
    let web = server.http_addrs[0];

    let home = work.join("b4home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("gitconfig"),
        format!("[user]\n\tname = Tester\n\temail = tester@example.org\n[b4]\n\tmidmask = http://{web}/all/%s\n\tlinkmask = http://{web}/all/%s\n"),
    )
    .unwrap();
    let out = work.join("b4out");
    let bare = cover.trim_start_matches('<').trim_end_matches('>');
    let said = Command::new("b4")
        .args(["am", "--no-cache", "--add-link", "-o"])
        .arg(&out)
        .arg(bare)
        .current_dir(&home)
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("GIT_CONFIG_GLOBAL", home.join("gitconfig"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("b4 (pip install b4; the README's test command installs it)");
    let log = format!("{}{}", String::from_utf8_lossy(&said.stdout), String::from_utf8_lossy(&said.stderr));
    assert!(said.status.success(), "b4 am failed:\n{log}");
    let mbx = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "mbx"))
        .unwrap_or_else(|| panic!("b4 wrote no .mbx:\n{log}"));
    let am = std::fs::read_to_string(&mbx).unwrap();
    let subjects: Vec<&str> = am.lines().filter(|l| l.starts_with("Subject: ")).collect();
    assert_eq!(
        subjects,
        [
            "Subject: [PATCH 1/3] driver: check the device",
            "Subject: [PATCH 2/3] driver: declare err",
            "Subject: [PATCH 3/3] driver: set err"
        ],
        "{log}"
    );
    let parts: Vec<&str> = am.split("\nSubject: [PATCH ").skip(1).collect();
    for (i, part) in parts.iter().enumerate() {
        assert!(part.contains("Acked-by: Ack Er <ack@example.org>"), "patch {} lacks the series' Acked-by", i + 1);
        assert_eq!(part.contains("Reviewed-by: Rev Iewer <rev@example.org>"), i == 1, "patch {}'s Reviewed-by", i + 1);
        assert!(part.contains(&format!("Link: http://{web}/all/{}", patches[i].trim_matches(['<', '>']))), "{part}");
    }
    // The patches apply and give the series' tree.
    let clone = work.join("clone");
    run(Command::new("git").args(["clone", "-q"]).arg(&repo).arg(&clone));
    let g = |args: &[&str]| {
        run(Command::new("git")
            .args(["-c", "user.name=T", "-c", "user.email=t@example.org"])
            .args(args)
            .current_dir(&clone))
    };
    g(&["checkout", "-q", &base]);
    g(&["am", "-q", mbx.to_str().unwrap()]);
    let want = run(Command::new("git").args(["rev-parse", "HEAD^{tree}"]).current_dir(&repo));
    assert_eq!(g(&["rev-parse", "HEAD^{tree}"]), want);
    println!("b4 am:\n{log}");
}

/// Python reads a `t.mbox.gz` (gunzipped) with mailbox.mbox: one line per message with its
/// Message-ID and the SHA-256 of its bytes as stored in the file, mboxrd quoting undone.
const READ_MBOX: &str = r#"
import gzip, hashlib, mailbox, re, sys
open(sys.argv[2], "wb").write(gzip.decompress(open(sys.argv[1], "rb").read()))
for key, msg in mailbox.mbox(sys.argv[2]).items():
    raw = re.sub(rb"(?m)^>(>*From )", rb"\1", mailbox.mbox(sys.argv[2]).get_bytes(key))
    print(msg["Message-ID"].strip(), hashlib.sha256(raw).hexdigest())
"#;

/// Python checks an Atom feed against RFC 4287's required elements; prints each entry's title.
const READ_ATOM: &str = r#"
import datetime, sys, xml.etree.ElementTree as ET
A = "{http://www.w3.org/2005/Atom}"
feed = ET.parse(sys.argv[1]).getroot()
assert feed.tag == A + "feed", feed.tag
for name in ("id", "title", "updated"):
    assert feed.find(A + name) is not None and feed.find(A + name).text, "feed lacks " + name
datetime.datetime.fromisoformat(feed.find(A + "updated").text.replace("Z", "+00:00"))
assert feed.find(A + "link[@rel='self']") is not None
for entry in feed.findall(A + "entry"):
    for name in ("id", "title", "updated"):
        assert entry.find(A + name) is not None and entry.find(A + name).text, "entry lacks " + name
    datetime.datetime.fromisoformat(entry.find(A + "updated").text.replace("Z", "+00:00"))
    assert entry.find(A + "author/" + A + "name").text
    assert entry.find(A + "link").get("href").startswith("http://")
    print(entry.find(A + "title").text)
"#;

fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Raw messages byte for byte, the thread as mboxrd and Atom read back by real parsers,
/// pages, ETags and 304, HEAD, ids in every spelling, redirects, compression only where it
/// belongs, search refused clearly, private groups and removed messages 404.
#[test]
fn messages_threads_and_feeds_as_public_inbox_serves_them() {
    let archive = web_archive(&format!(
        "\n[[group]]\nname = \"example.private\"\nlist_id = \"private.lists.example.org\"\nreaders = [\"alice\"]\n\n\
[[user]]\nname = \"alice\"\npassword_hash = \"{}\"\n",
        hash("pw")
    ));
    archive.import(None, &[&sample_mbox()]);
    let secret =
        message("<secret@example.org>", 9, "private matter", "List-Id: <private.lists.example.org>\n", "Hush.\n");
    let secret = String::from_utf8(secret).unwrap().replace("List-Id: <list-9.lists.example.org>\n", "").into_bytes();
    write_mbox(&archive.dir.path().join("private.mbox"), &[secret]);
    archive.import(None, &[&archive.dir.path().join("private.mbox")]);
    let originals: std::collections::HashMap<String, Vec<u8>> = split_mbox(&std::fs::read(sample_mbox()).unwrap())
        .into_iter()
        .filter_map(|m| Some((header(&m, "Message-ID")?, m)))
        .collect();
    let server = archive.serve_live();
    let web = server.http_addrs[0];
    let mut c = server.client();

    // The biggest thread of list-0, as XTHREAD sees it.
    c.group("example.list-0");
    let (_, over) = c.expect_text("XOVER 1-", 224);
    let ids: Vec<String> = over.iter().map(|l| l.split('\t').nth(4).unwrap().to_string()).collect();
    let mut best = (0, String::new(), Vec::new());
    for id in &ids {
        let (_, thread) = c.expect_text(&format!("XTHREAD {id}"), 224);
        let members: Vec<String> = thread
            .iter()
            .filter(|l| !l.starts_with("0\t"))
            .map(|l| l.split('\t').nth(4).unwrap().to_string())
            .collect();
        if members.len() > best.0 {
            best = (members.len(), id.clone(), members);
        }
    }
    let (count, root, members) = best;
    assert!(count >= 3, "the sample has threads");
    let path = |id: &str| id.trim_matches(['<', '>']).replace('/', "%2F");

    // Raw: the message as it came in.
    let raw = get(web, &format!("/list-0/{}/raw", path(&root)), 200);
    assert!(raw.header("content-type").unwrap().starts_with("text/plain"));
    assert_eq!(raw.body, originals[&root], "raw differs from the imported message");
    let etag = raw.header("etag").expect("an ETag").to_string();
    assert_eq!(raw.header("cache-control"), Some("no-cache"));
    assert_eq!(http(web, "GET", &format!("/list-0/{}/raw", path(&root)), &[("If-None-Match", &etag)]).status, 304);
    let head = http(web, "HEAD", &format!("/list-0/{}/raw", path(&root)), &[]);
    assert_eq!((head.status, head.body.len()), (200, 0));
    // Every spelling of the id, and through /all/.
    let bare = root.trim_matches(['<', '>']);
    for spelled in [
        format!("/list-0/%3C{}%3E/raw", path(&root)),
        format!("/list-0/{}/raw", path(&root).replace('@', "%40")),
        format!("/all/{}/raw", path(&root)),
    ] {
        assert_eq!(get(web, &spelled, 200).body, raw.body, "{spelled}");
    }
    let moved = get(web, &format!("/{}", path(&root)), 302);
    assert_eq!(moved.header("location"), Some(format!("/list-0/{}/", path(bare)).as_str()));
    assert_eq!(get(web, &format!("/all/{}", path(&root)), 302).header("location"), moved.header("location"));
    get(web, "/list-0/no-such-id@example.org/raw", 404);
    get(web, "/no-such-list/", 404);

    // The thread as gzipped mboxrd: no Content-Encoding (b4 gunzips it), every message intact.
    let mbox = http(web, "GET", &format!("/list-0/{}/t.mbox.gz", path(&root)), &[("Accept-Encoding", "gzip")]);
    assert_eq!(mbox.status, 200);
    assert_eq!(mbox.header("content-type"), Some("application/gzip"));
    assert_eq!(mbox.header("content-encoding"), None);
    let dir = archive.dir.path();
    std::fs::write(dir.join("t.mbox.gz"), &mbox.body).unwrap();
    let read = run(Command::new("python3").args(["-c", READ_MBOX]).arg(dir.join("t.mbox.gz")).arg(dir.join("t.mbox")));
    let got: Vec<(String, String)> =
        read.lines().map(|l| l.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string())).unwrap()).collect();
    assert_eq!(got.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(), members);
    for (id, digest) in &got {
        assert_eq!(digest, &sha256(&originals[id]), "{id} changed in t.mbox.gz");
    }

    // Atom: the thread and the list's newest, valid against RFC 4287's required elements.
    for feed in [format!("/list-0/{}/t.atom", path(&root)), "/list-0/new.atom".to_string(), "/all/new.atom".into()] {
        let atom = get(web, &feed, 200);
        assert_eq!(atom.header("content-type"), Some("application/atom+xml"));
        std::fs::write(dir.join("feed.xml"), &atom.body).unwrap();
        let titles = run(Command::new("python3").args(["-c", READ_ATOM]).arg(dir.join("feed.xml")));
        let n = titles.lines().count();
        assert!(if feed.ends_with("t.atom") { n == count } else { n == 25.min(ids.len()) }, "{feed}: {n} entries");
    }

    // Pages: the message with its thread and the reply instructions; the whole thread.
    let page = http(web, "GET", &format!("/list-0/{}/", path(&root)), &[("Accept-Encoding", "gzip")]);
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-encoding"), Some("gzip"), "HTML is compressed when asked");
    let page = get(web, &format!("/list-0/{}/", path(&root)), 200).text();
    assert!(page.contains("git send-email --in-reply-to=") && page.contains("--to=list-0@lists.example.org"));
    assert!(page.contains(&format!("nntp://{HOST}/example.list-0")));
    for m in &members {
        assert!(page.contains(&format!("/list-0/{}/", path(m))), "thread lacks {m}");
    }
    let whole = get(web, &format!("/list-0/{}/T/", path(&root)), 200).text();
    assert_eq!(whole.matches("<article ").count(), count);
    let index = get(web, "/list-0/", 200).text();
    assert!(index.contains("example.list-0") && index.contains("/T/\">"));
    assert_eq!(get(web, "/list-0/?q=s:driver&x=m", 501).status, 501);

    // A private group's message is not there, whatever the path.
    get(web, "/all/secret@example.org/raw", 404);
    get(web, "/secret@example.org", 404);
    get(web, "/private/", 404);

    // Removed: gone at once, even for a client holding its ETag.
    let out = listnews(&["remove", "--config"]).arg(archive.config_path()).arg(&root).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(http(web, "GET", &format!("/list-0/{}/raw", path(&root)), &[("If-None-Match", &etag)]).status, 404);
}

/// Headless Chromium (Debian's) renders a thread page of the sample: the DOM it built holds
/// every message of the thread with its quoted text marked, and it draws a screenshot.
#[test]
fn chromium_renders_a_thread_page() {
    let archive = web_archive("");
    archive.import(None, &[&sample_mbox()]);
    let server = archive.serve();
    let web = server.http_addrs[0];
    let mut c = server.client();
    c.group("example.list-0");
    let (_, over) = c.expect_text("XOVER 1-", 224);
    // A reply (it quotes its parent) and its thread.
    let reply = over.iter().map(|l| l.split('\t').collect::<Vec<_>>()).find(|f| !f[5].is_empty()).expect("a reply");
    let id = reply[4].trim_matches(['<', '>']).replace('/', "%2F");
    let (_, thread) = c.expect_text(&format!("XTHREAD {}", reply[4]), 224);
    let members = thread.iter().filter(|l| !l.starts_with("0\t")).count();
    let url = format!("http://{web}/list-0/{id}/T/");
    let dir = archive.dir.path();
    let chromium = |args: &[&str]| {
        let out = Command::new("chromium")
            .args(["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars"])
            .arg("--window-size=1100,1400")
            .arg(format!("--user-data-dir={}", dir.join("chromium").display()))
            .args(args)
            .arg(&url)
            .output()
            .expect("chromium (Debian's; the README's test command installs it)");
        assert!(out.status.success(), "chromium: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dom = chromium(&["--dump-dom"]);
    assert_eq!(dom.matches("<article ").count(), members, "{dom}");
    assert!(dom.contains("<span class=\"q\">&gt; "), "quoted text is marked");
    let shot = dir.join("thread.png");
    chromium(&[&format!("--screenshot={}", shot.display())]);
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{} bytes", png.len());
}
