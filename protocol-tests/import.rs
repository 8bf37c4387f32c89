//! Importing: mbox and public-inbox sources, routing, dedupe, set-aside, re-import and
//! resuming after a killed import. Checked over NNTP against the real server.

use std::path::Path;
use std::time::Duration;

use listnews::store::Store;

use crate::kit::*;

fn listgroup(c: &mut Client, group: &str) -> Vec<String> {
    c.expect_text(&format!("LISTGROUP {group}"), 211).1
}

#[test]
fn mbox_routing_dedupe_and_set_aside() {
    let archive = Archive::new();
    let mbox = archive.dir.path().join("in.mbox");
    let cross = b"From: X <x@example.org>\nTo: list-0@lists.example.org\nCc: list-1@lists.example.org\nSubject: both lists\nMessage-ID: <cross@example.org>\n\nhello both\n".to_vec();
    let messages = vec![
        message("<a@example.org>", 0, "first", "", "body a\n"),
        message("<b@example.org>", 0, "Re: first", "In-Reply-To: <a@example.org>\n", "body b\n.leading dot\nFrom the start\n"),
        message("<a@example.org>", 0, "first", "", "body a\n"), // exact duplicate
        message("<a@example.org>", 0, "other content", "", "reused id\n"), // same id, other content
        cross,
        b"From: nobody@example.org\nTo: elsewhere@example.org\nSubject: stray\nMessage-ID: <stray@example.org>\n\nnot for us\n".to_vec(),
        b"this is not a mail message at all\n".to_vec(),
        message("<c@example.org>", 1, "list one", "", "c\n").into_iter().collect(),
    ];
    // The last message has no Message-ID at all.
    let mut no_id = message("<x@x>", 2, "no id", "", "anonymous\n");
    let text = String::from_utf8(no_id.clone()).unwrap().replace("Message-ID: <x@x>\n", "");
    no_id = text.into_bytes();
    let mut all = messages;
    all.push(no_id);
    write_mbox(&mbox, &all);

    let stats = archive.import(None, &[&mbox]);
    assert_eq!(stats.read, 9);
    assert_eq!(stats.stored, 6, "{stats:?}");
    assert_eq!(stats.in_several, 1, "the message to both lists: {stats:?}");
    assert_eq!(stats.cross_posted, 0, "no copy came later: {stats:?}");
    assert_eq!(stats.duplicates, 1);
    assert_eq!(stats.renamed, 1);
    assert_eq!(stats.rejected, 2, "unroutable + unreadable are set aside");
    {
        let store = Store::open(&archive.config.server.data_dir).unwrap();
        let reasons: Vec<String> = store.rejects().map(|r| r.unwrap().reason).collect();
        assert_eq!(reasons.len(), 2);
        assert!(reasons.iter().any(|r| r.contains("no configured group")), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("no header block")), "{reasons:?}");
    }

    let server = archive.serve();
    let mut c = server.client();
    assert_eq!(c.group("example.list-0"), (4, 1, 4));
    assert_eq!(c.group("example.list-1"), (2, 1, 2));
    assert_eq!(c.group("example.list-2"), (1, 1, 1));

    // The reused id keeps its first content; the second message is there under a derived id.
    let (_, body) = c.expect_text("BODY <a@example.org>", 222);
    assert_eq!(body, vec!["body a"]);
    c.expect("GROUP example.list-0", 211);
    let (_, over) = c.expect_text("XOVER 1-", 224);
    let renamed = over.iter().find(|l| l.contains("other content")).expect("renamed article");
    let id = renamed.split('\t').nth(4).unwrap();
    assert!(id.starts_with("<dup-") && id.ends_with(".a@example.org>"), "{id}");
    let (_, head) = c.expect_text(&format!("HEAD {id}"), 221);
    assert!(head.contains(&format!("Message-ID: {id}")));
    assert!(head.contains(&"X-Listnews-Original-Message-ID: <a@example.org>".to_string()));

    // A cross-post is one article with a number in each group.
    let (_, head) = c.expect_text("HEAD <cross@example.org>", 221);
    assert!(head.contains(&"Newsgroups: example.list-0,example.list-1".to_string()), "{head:?}");
    assert!(head.contains(&format!("Xref: {HOST} example.list-0:4 example.list-1:1")), "{head:?}");
    let (_, xref) = c.expect_text("XHDR Xref 1", 221);
    c.expect("GROUP example.list-1", 211);
    let (_, x1) = c.expect_text("XHDR Xref 1", 221);
    assert_eq!(x1, vec![format!("1 {HOST} example.list-0:4 example.list-1:1")]);
    assert!(!xref.is_empty());

    // References built from In-Reply-To; dot-stuffed and From-quoted lines survive.
    let (_, over_b) = c.expect_text("OVER <b@example.org>", 224);
    assert_eq!(over_b[0].split('\t').nth(5), Some("<a@example.org>"));
    let (_, body) = c.expect_text("BODY <b@example.org>", 222);
    assert_eq!(body, vec!["body b", ".leading dot", "From the start"]);

    // The message without an id got a stable generated one.
    c.expect("GROUP example.list-2", 211);
    let (_, over2) = c.expect_text("XOVER 1", 224);
    let gen_id = over2[0].split('\t').nth(4).unwrap().to_string();
    assert!(gen_id.ends_with("@listnews.invalid>"), "{gen_id}");
    drop(c);
    drop(server);

    // Re-running the same import adds nothing and changes no number.
    let again = archive.import(None, &[&mbox]);
    assert_eq!(again.stored, 0, "{again:?}");
    let again_forced = {
        let store = Store::open(&archive.config.server.data_dir).unwrap();
        // Forget the checkpoint: dedupe alone must keep it idempotent.
        drop(store);
        let copy = archive.dir.path().join("copy.mbox");
        std::fs::copy(&mbox, &copy).unwrap();
        archive.import(None, &[&copy])
    };
    assert_eq!(again_forced.stored, 0, "{again_forced:?}");
    assert_eq!(again_forced.duplicates, 7, "{again_forced:?}");
    let server = archive.serve();
    let mut c = server.client();
    assert_eq!(c.group("example.list-0"), (4, 1, 4));
    let (_, over_again) = c.expect_text("XOVER 1-", 224);
    c.expect("GROUP example.list-0", 211);
    let (_, over0) = c.expect_text("XOVER 1-", 224);
    assert_eq!(over0, over);
    assert!(!over_again.is_empty());
}

#[test]
fn group_option_puts_everything_in_one_group() {
    let archive = Archive::new();
    let stats = archive.import(Some("example.empty"), &[&sample_mbox()]);
    assert!(stats.stored > 250);
    let server = archive.serve();
    let mut c = server.client();
    let (count, low, high) = c.group("example.empty");
    assert_eq!((count, low, high), (stats.stored, 1, stats.stored));
    assert_eq!(c.expect("GROUP example.list-0", 211), "211 0 1 0 example.list-0");
}

#[test]
fn public_inbox_epochs_with_deletion() {
    let archive = Archive::new();
    let inbox = archive.dir.path().join("inbox");
    let e0 = inbox.join("git/0.git");
    let e1 = inbox.join("git/1.git");
    init_epoch(&e0);
    let a = message("<pa@example.org>", 0, "A", "", "a\n");
    let b = message("<pb@example.org>", 0, "B", "", "b\n");
    let c_ = message("<pc@example.org>", 0, "Re: A", "References: <pa@example.org>\n", "c\n");
    let d = message("<pd@example.org>", 0, "D", "", "d\n");
    pi_add(&e0, "m", &a);
    pi_add(&e0, "m", &b);
    pi_add(&e0, "m", &c_);
    pi_add(&e0, "d", &b); // spam removal
    pi_add(&e0, "m", &d);

    // One epoch on its own.
    let stats = archive.import(None, &[&e0]);
    assert_eq!((stats.stored, stats.removed), (4, 1), "{stats:?}");
    {
        let server = archive.serve();
        let mut c = server.client();
        assert_eq!(c.group("example.list-0"), (3, 1, 4));
        assert_eq!(listgroup(&mut c, "example.list-0"), vec!["1", "3", "4"], "a deleted article leaves a gap");
        c.expect("STAT <pb@example.org>", 430);
        c.expect("STAT 2", 423);
        let (_, over) = c.expect_text("OVER <pc@example.org>", 224);
        assert!(over[0].starts_with("3\t"));
    }

    // A new epoch, imported through the inbox folder; the first epoch is resumed past.
    init_epoch(&e1);
    pi_add(&e1, "m", &message("<pe@example.org>", 0, "E", "", "e\n"));
    pi_add(&e1, "m", &b); // the removed message again: stays removed
    let stats = archive.import(None, &[&inbox]);
    assert_eq!(stats.stored, 1, "{stats:?}");
    assert_eq!(stats.resumed_past, 5);
    let server = archive.serve();
    let mut c = server.client();
    assert_eq!(listgroup(&mut c, "example.list-0"), vec!["1", "3", "4", "5"]);
    c.expect("STAT <pb@example.org>", 430);
    drop(c);
    drop(server);
    let stats = archive.import(None, &[&inbox]);
    assert_eq!(stats.stored + stats.duplicates, 0, "nothing read twice: {stats:?}");
}

fn big_messages(n: usize) -> Vec<Vec<u8>> {
    let mut messages = Vec::with_capacity(n);
    for i in 0..n {
        let list = i % 3;
        let refs =
            if i >= 3 && i % 4 != 0 { format!("References: <m{}@resume.example>\n", i - 3) } else { String::new() };
        let body = format!(
            "message {i}\n{}\n",
            "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n".repeat(20 + i % 40)
        );
        messages.push(message(&format!("<m{i}@resume.example>"), list, &format!("subject {i}"), &refs, &body));
        if i % 97 == 0 {
            messages.push(message(&format!("<m{i}@resume.example>"), list, &format!("subject {i}"), &refs, &body));
        }
    }
    messages
}

fn big_mbox(path: &Path, n: usize) {
    write_mbox(path, &big_messages(n));
}

/// A public-inbox epoch holding `messages` in one pack, as lore's are: one commit a message,
/// written with `git fast-import`.
fn packed_epoch(path: &Path, messages: &[Vec<u8>]) {
    init_epoch(path);
    let mut stream = Vec::new();
    for (i, raw) in messages.iter().enumerate() {
        stream.extend_from_slice(format!("blob\nmark :{}\ndata {}\n", i + 1, raw.len()).as_bytes());
        stream.extend_from_slice(raw);
        stream.extend_from_slice(
            format!(
                "\ncommit refs/heads/master\ncommitter a <a@example> {} +0000\ndata 3\nmsg\ndeleteall\nM 100644 :{} m\n\n",
                1_600_000_000 + i,
                i + 1
            )
            .as_bytes(),
        );
    }
    git(path, &["fast-import", "--quiet"], Some(&stream));
    let packs = std::fs::read_dir(path.join("objects/pack")).unwrap().filter_map(Result::ok);
    assert_eq!(packs.filter(|e| e.path().extension().is_some_and(|x| x == "pack")).count(), 1, "one pack");
}

/// An epoch's import hands back the pack pages it has read every 1,024 commits (they would
/// otherwise count in its resident memory until it ends): the store is the same as the same
/// messages' import from an mbox, the releases happening while worker threads read the pack.
#[test]
fn a_packed_epoch_imports_the_same_as_its_mbox() {
    let messages = big_messages(3000);
    let from_mbox = Archive::new();
    let mbox = from_mbox.dir.path().join("big.mbox");
    write_mbox(&mbox, &messages);
    let from_epoch = Archive::new();
    let epoch = from_epoch.dir.path().join("inbox/git/0.git");
    packed_epoch(&epoch, &messages);
    for (archive, source) in [(&from_mbox, &mbox), (&from_epoch, &epoch)] {
        let status = run_import(&archive.config_path(), source).wait().unwrap();
        assert!(status.success(), "import of {}", source.display());
    }
    let expected = from_mbox.snapshot();
    assert!(expected.len() > 3000, "{} lines", expected.len());
    assert_eq!(from_epoch.snapshot(), expected);
}

fn run_import(config: &Path, mbox: &Path) -> std::process::Child {
    listnews(&["import", "--config"])
        .arg(config)
        .arg(mbox)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn listnews import")
}

#[test]
fn killed_import_resumes_to_the_same_store() {
    let reference = Archive::new();
    let mbox = reference.dir.path().join("big.mbox");
    big_mbox(&mbox, 6000);
    let status = run_import(&reference.config_path(), &mbox).wait().unwrap();
    assert!(status.success());
    let expected = reference.snapshot();
    assert!(expected.len() > 12000);

    let mut killed_midway = 0;
    for delay_ms in [60u64, 250, 700] {
        let archive = Archive::new();
        let mut child = run_import(&archive.config_path(), &mbox);
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            killed_midway += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // The lock of a killed process goes with it; re-run to completion.
        let status = run_import(&archive.config_path(), &mbox).wait().unwrap();
        assert!(status.success());
        assert_eq!(archive.snapshot(), expected, "killed after {delay_ms} ms");
    }
    assert!(killed_midway >= 2, "the imports finished before they could be killed");
}

/// `import_memory_mb` holds a standalone import's resident memory by shrinking the index's
/// page cache: under a limit no import can meet, the cache goes down to its floor, the
/// summary says so, and the store is the same as an import's without a limit.
#[test]
fn an_import_under_a_memory_limit_shrinks_its_cache_and_stores_the_same() {
    let reference = Archive::new();
    let mbox = reference.dir.path().join("big.mbox");
    big_mbox(&mbox, 6000);
    let summary = |archive: &Archive| {
        let out = listnews(&["import", "--config"])
            .arg(archive.config_path())
            .arg(&mbox)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run listnews import");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8 summary")
    };
    let free = summary(&reference);
    assert!(!free.contains("memory:"), "the default 256 MiB is not reached here: {free}");

    let limited = Archive::with_config(|t| t.replace("[server]\n", "[server]\nimport_memory_mb = 8\n"));
    assert_eq!(limited.config.server.import_memory_mb, 8);
    let said = summary(&limited);
    let line = said.lines().find(|l| l.starts_with("memory: ")).unwrap_or_else(|| panic!("no memory line: {said}"));
    assert!(line.contains("to 4.0 MiB at least (of 40 MiB)") && line.contains("import_memory_mb = 8"), "{line}");
    assert_eq!(limited.snapshot(), reference.snapshot());
}

/// Article texts are packed with compression dictionaries the store trains as it grows (the
/// first at about 1,000 articles, the next at ten times that). Every article reads back as
/// sent whichever packed it, and `listnews check` reads them all and says how they are packed.
#[test]
fn articles_read_back_whichever_dictionary_packed_them() {
    const WORDS: [&str; 8] =
        ["Signed-off-by:", "selinux_inode", "avc_has_perm", "return -EINVAL;", "}", "+", "-", "@@"];
    let archive = Archive::new();
    let mbox = archive.dir.path().join("grow.mbox");
    let n = 13_000;
    let body = |i: usize| -> String {
        (0..12 + i % 30)
            .map(|j| format!("{j} of {i}: {} {}\n", WORDS[(i * 7 + j) % 8], WORDS[(i + j * 3) % 8]))
            .collect()
    };
    let messages: Vec<Vec<u8>> =
        (0..n).map(|i| message(&format!("<g{i}@dict.example>"), i % 3, &format!("patch {i}"), "", &body(i))).collect();
    write_mbox(&mbox, &messages);
    let stats = archive.import(None, &[&mbox]);
    assert_eq!(stats.stored, n as u64, "{stats:?}");

    let out = listnews(&["check", "--config"]).arg(archive.config_path()).output().expect("run listnews check");
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let packed =
        said.lines().find_map(|l| l.strip_prefix("article texts packed: ")).unwrap_or_else(|| panic!("{said}"));
    let counts: Vec<(u64, &str)> = packed
        .split(", ")
        .map(|part| {
            let (count, how) = part.split_once(' ').expect("count and packing");
            (count.parse().expect("a count"), how)
        })
        .collect();
    assert_eq!(counts.iter().map(|(c, _)| c).sum::<u64>(), n as u64, "{packed}");
    for how in ["dictionary 1", "dictionary 2"] {
        assert!(counts.iter().any(|(c, h)| *h == how && *c > 0), "{how} packed some: {packed}");
    }

    let server = archive.serve();
    let mut c = server.client();
    for i in (0..n).step_by(97).chain([n - 1]) {
        let (_, lines) = c.expect_text(&format!("BODY <g{i}@dict.example>"), 222);
        assert_eq!(lines, body(i).lines().collect::<Vec<_>>(), "article {i}");
    }
}

#[test]
fn a_store_in_use_is_refused_clearly() {
    let archive = Archive::new();
    let _server = archive.serve();
    let out = listnews(&["import", "--config"]).arg(archive.config_path()).arg(sample_mbox()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by PID"), "{err}");
}

#[test]
fn thread_links_with_placeholders_filled_later() {
    let archive = Archive::new();
    let mbox = archive.dir.path().join("threads.mbox");
    // The reply and a grandchild arrive before the root; one parent never arrives.
    write_mbox(
        &mbox,
        &[
            message("<child@t>", 0, "Re: root", "References: <root@t>\n", "c\n"),
            message("<grand@t>", 0, "Re: root", "References: <root@t> <child@t>\n", "g\n"),
            message("<orphan@t>", 0, "Re: lost", "In-Reply-To: <lost@t>\n", "o\n"),
        ],
    );
    archive.import(None, &[&mbox]);
    {
        let store = Store::open(&archive.config.server.data_dir).unwrap();
        let root = store.thread_node("<root@t>").unwrap().expect("placeholder for the unseen root");
        assert!(root.is_placeholder());
        assert_eq!(store.thread_node("<grand@t>").unwrap().unwrap().parent.as_deref(), Some("<child@t>"));
        assert_eq!(store.thread_root("<grand@t>").unwrap().as_deref(), Some("<root@t>"));
        assert_eq!(store.children("<root@t>").unwrap(), vec!["<child@t>".to_string()]);
        assert!(store.thread_node("<lost@t>").unwrap().unwrap().is_placeholder());
    }
    // The root arrives, itself replying to an older message never seen: the placeholder is
    // filled and the thread's root moves up.
    let later = archive.dir.path().join("later.mbox");
    write_mbox(&later, &[message("<root@t>", 0, "root", "In-Reply-To: <older@t>\n", "r\n")]);
    archive.import(None, &[&later]);
    let store = Store::open(&archive.config.server.data_dir).unwrap();
    let root = store.thread_node("<root@t>").unwrap().unwrap();
    assert!(!root.is_placeholder(), "filled when it arrived");
    assert_eq!(root.parent.as_deref(), Some("<older@t>"));
    assert_eq!(store.thread_root("<grand@t>").unwrap().as_deref(), Some("<older@t>"));
    assert_eq!(store.children("<child@t>").unwrap(), vec!["<grand@t>".to_string()]);
}
