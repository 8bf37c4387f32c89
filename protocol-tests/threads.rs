//! Whole threads over NNTP (XTHREAD) and `listnews thread`.

use crate::kit::*;

/// A thread spanning two groups, with a reply to a message never seen.
fn thread_archive() -> Archive {
    let archive = Archive::new();
    let mbox = archive.dir.path().join("thread.mbox");
    write_mbox(
        &mbox,
        &[
            message("<cover@t>", 0, "[PATCH 0/2] series", "References: <lost@t>\n", "cover\n"),
            message("<p1@t>", 0, "[PATCH 1/2] one", "In-Reply-To: <cover@t>\nReferences: <lost@t> <cover@t>\n", "1\n"),
            message("<p2@t>", 0, "[PATCH 2/2] two", "References: <lost@t> <cover@t>\n", "2\n"),
            message("<other@t>", 2, "unrelated", "", "x\n"),
            // A review that went to another list.
            message("<r1@t>", 1, "Re: [PATCH 1/2] one", "References: <lost@t> <cover@t> <p1@t>\n", "r\n"),
            message("<r2@t>", 0, "Re: [PATCH 1/2] one", "References: <cover@t> <p1@t> <r1@t>\n", "rr\n"),
        ],
    );
    archive.import(None, &[&mbox]);
    archive
}

fn fields(line: &str) -> Vec<&str> {
    line.split('\t').collect()
}

#[test]
fn xthread_returns_the_whole_thread_in_order() {
    let archive = thread_archive();
    let server = archive.serve();
    let mut c = server.client();
    let (_, caps) = c.expect_text("CAPABILITIES", 101);
    assert!(caps.contains(&"XTHREAD".to_string()));
    c.expect("GROUP example.list-0", 211);
    // Asked from any member: the same whole thread.
    let (_, lines) = c.expect_text("XTHREAD <r2@t>", 224);
    let (_, by_number) = c.expect_text("XTHREAD 1", 224);
    assert_eq!(by_number, lines);
    let ids: Vec<&str> = lines.iter().map(|l| fields(l)[4]).collect();
    assert_eq!(ids, ["<lost@t>", "<cover@t>", "<p1@t>", "<r1@t>", "<r2@t>", "<p2@t>"]);
    let parents: Vec<&str> = lines.iter().map(|l| fields(l)[9].trim_start_matches("Parent:").trim()).collect();
    assert_eq!(parents, ["", "<lost@t>", "<cover@t>", "<p1@t>", "<r1@t>", "<cover@t>"]);
    let depths: Vec<&str> = lines.iter().map(|l| fields(l)[10]).collect();
    assert_eq!(depths, ["Depth: 0", "Depth: 1", "Depth: 2", "Depth: 3", "Depth: 4", "Depth: 2"]);
    // The unseen root is a placeholder line.
    assert_eq!(lines[0], "0\t\t\t\t<lost@t>\t\t0\t0\tXref:\tParent: \tDepth: 0");
    // Articles carry the current group's number, or 0 and their Xref when elsewhere.
    assert!(lines[1].starts_with("1\t[PATCH 0/2] series\t"));
    let r1 = fields(&lines[3]);
    assert_eq!(r1[0], "0");
    assert_eq!(r1[8], format!("Xref: {HOST} example.list-1:1"));
    assert_eq!(fields(&lines[4])[0], "4");
    // Every article line is an overview line: the same fields OVER gives.
    let (_, over) = c.expect_text("OVER <p2@t>", 224);
    assert_eq!(fields(&over[0])[..9], fields(&lines[5])[..9]);
    // Errors.
    c.expect("XTHREAD <nope@t>", 430);
    // A placeholder's id works too: a reader can follow References to a missing parent.
    let (_, from_placeholder) = c.expect_text("XTHREAD <lost@t>", 224);
    assert_eq!(from_placeholder, lines);
    c.expect("XTHREAD 99", 423);
    c.expect("GROUP example.empty", 211);
    c.expect("XTHREAD", 420);
    let mut fresh = server.client();
    fresh.expect("XTHREAD 1", 412);
    let (_, single) = fresh.expect_text("XTHREAD <other@t>", 224);
    assert_eq!(single.len(), 1);
    assert!(single[0].starts_with("0\tunrelated\t"));
}

#[test]
fn thread_command_prints_a_tree_from_the_store_or_the_server() {
    let archive = thread_archive();
    let run = || {
        let out = listnews(&["thread", "--config"]).arg(archive.config_path()).arg("<p2@t>").output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let offline = run();
    let lines: Vec<&str> = offline.lines().collect();
    assert_eq!(lines.len(), 6, "{offline}");
    assert_eq!(lines[0], "<lost@t> (not in the archive)");
    assert!(lines[1].starts_with("└─ [PATCH 0/2] series  — Tester <tester@example.org>"), "{offline}");
    assert!(
        lines[3].starts_with("   │  └─ Re: [PATCH 1/2] one") && lines[3].ends_with("[example.list-1:1]"),
        "{offline}"
    );
    assert!(lines[5].starts_with("   └─ [PATCH 2/2] two"), "{offline}");
    // With the server holding the store, the command asks it over NNTP: same tree. The
    // config's listen port is 0, so point a copy at the server's real port.
    let server = archive.serve();
    let text = std::fs::read_to_string(archive.config_path()).unwrap().replace("127.0.0.1:0", &server.addr.to_string());
    std::fs::write(archive.config_path(), text).unwrap();
    assert_eq!(run(), offline);
}
