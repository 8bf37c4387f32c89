//! What readers see of real lore mail: forms the generator lacks, as lore.kernel.org's lists
//! carry them (folded Message-Id, several References headers, bare ids, encoded words).

use crate::kit::*;

fn archive_of(messages: &[Vec<u8>]) -> (Archive, TestServer) {
    let archive = Archive::new();
    let mbox = archive.dir.path().join("lore.mbox");
    write_mbox(&mbox, messages);
    archive.import(None, &[&mbox]);
    let server = archive.serve();
    (archive, server)
}

fn raw(headers: &str, body: &str) -> Vec<u8> {
    format!("From: A <a@example.org>\nTo: list-0@lists.example.org\nList-Id: <list-0.lists.example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n{headers}\n{body}").into_bytes()
}

/// `Message-Id:` with the id on a continuation line (patchwork, Outlook) is served on one
/// line: pullers read the id from it (RFC 5536 §3.1.3).
#[test]
fn a_folded_message_id_is_served_on_one_line() {
    let (_a, server) = archive_of(&[raw("Subject: folded\nMessage-Id: \n <folded@lore.example>\n", "body\n")]);
    let mut c = server.client();
    let (_, head) = c.expect_text("HEAD <folded@lore.example>", 221);
    let at = head.iter().position(|l| l.to_ascii_lowercase().starts_with("message-id:")).expect("a Message-ID line");
    assert_eq!(head[at], "Message-Id: <folded@lore.example>");
    assert!(head.get(at + 1).is_none_or(|l| !l.starts_with([' ', '\t'])), "no continuation: {head:?}");
    for name in ["Path:", "Newsgroups:", "Xref:"] {
        let at = head.iter().position(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name} in {head:?}"));
        assert!(head.get(at + 1).is_none_or(|l| !l.starts_with([' ', '\t'])), "{name} on one line: {head:?}");
    }
}

/// Two References headers: the overview, the thread links and XTHREAD use both (merged,
/// each id once), the article keeps them as sent.
#[test]
fn several_references_headers_are_merged() {
    let (_a, server) = archive_of(&[
        raw("Subject: root\nMessage-ID: <root@l>\n", "r\n"),
        raw("Subject: [PATCH 1/2] a\nMessage-ID: <p1@l>\nReferences: <root@l>\n", "1\n"),
        raw(
            "Subject: Re: a\nMessage-ID: <r@l>\nReferences: <root@l>\nIn-Reply-To: p1@l\nReferences: <root@l> <p1@l>\n",
            "x\n",
        ),
    ]);
    let mut c = server.client();
    c.group("example.list-0");
    let (_, over) = c.expect_text("OVER <r@l>", 224);
    assert_eq!(over[0].split('\t').nth(5), Some("<root@l> <p1@l>"), "merged: {over:?}");
    let (_, thread) = c.expect_text("XTHREAD <r@l>", 224);
    let tree: Vec<(&str, &str)> =
        thread.iter().map(|l| (l.split('\t').nth(4).unwrap(), l.split('\t').nth(9).unwrap())).collect();
    assert_eq!(tree, [("<root@l>", "Parent: "), ("<p1@l>", "Parent: <root@l>"), ("<r@l>", "Parent: <p1@l>")]);
    let (_, head) = c.expect_text("HEAD <r@l>", 221);
    assert_eq!(head.iter().filter(|l| l.starts_with("References:")).count(), 2, "as sent: {head:?}");
}

/// XPAT matches the decoded text of encoded words (RFC 2047, adjacent words joined) as well
/// as the value as stored: a newsreader's search sends the words the user typed.
#[test]
fn xpat_finds_words_inside_encoded_words() {
    let (_a, server) = archive_of(&[
        raw("Subject: =?UTF-8?Q?r=C3=A9sum=C3=A9?= of the week\nMessage-ID: <e1@l>\n", "1\n"),
        raw("Subject: =?ISO-8859-1?Q?caf=E9?= =?UTF-8?B?IGNyw6htZQ==?=\nMessage-ID: <e2@l>\n", "2\n"),
        raw("Subject: plain resume\nMessage-ID: <e3@l>\n", "3\n"),
    ]);
    let mut c = server.client();
    let (count, _, _) = c.group("example.list-0");
    assert_eq!(count, 3);
    let hits = |c: &mut Client, pattern: &str| -> Vec<String> {
        c.expect_text(&format!("XPAT Subject 1- {pattern}"), 221)
            .1
            .iter()
            .map(|l| l.split(' ').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(hits(&mut c, "*[Rr]ésumé*"), ["1"]);
    assert_eq!(hits(&mut c, "*café crème*"), ["2"], "adjacent encoded words are joined");
    assert_eq!(hits(&mut c, "*=?UTF-8?Q?r=C3=A9*"), ["1"], "the stored form still matches");
    assert_eq!(hits(&mut c, "*resume*"), ["3"]);
}
