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

/// Three messages with 8-bit display headers: raw UTF-8 in a message declaring Latin-1,
/// encoded words, raw Latin-1 in a Latin-1 message.
fn eight_bit_messages() -> Vec<Vec<u8>> {
    let m = |headers: &[u8], body: &[u8]| -> Vec<u8> {
        [b"To: list-0@lists.example.org\nList-Id: <list-0.lists.example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMIME-Version: 1.0\n".as_slice(), headers, b"\n", body].concat()
    };
    vec![
        m(
            b"From: J\xc3\xbcrgen M\xc3\xbcller <jm@example.org>\nSubject: Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\nMessage-ID: <eight1@x>\nContent-Type: text/plain; charset=iso-8859-1\n",
            b"K\xf6ln\n",
        ),
        m(
            b"From: =?UTF-8?Q?Ren=C3=A9e?= <r@example.org>\nSubject: =?UTF-8?Q?caf=C3=A9_cr=C3=A8me?=\nMessage-ID: <eight2@x>\nContent-Type: text/plain; charset=utf-8\n",
            b"encoded words\n",
        ),
        m(
            b"From: Fran\xe7ois <f@example.org>\nSubject: Latin-1 subject: fran\xe7ais\nMessage-ID: <eight3@x>\nContent-Type: text/plain; charset=iso-8859-1\n",
            b"latin-1\n",
        ),
    ]
}

/// Raw UTF-8 in the display headers of a message that declares another charset is served
/// (in HEAD and in the overview) as RFC 2047 encoded words that decode to the same text;
/// `:bytes` counts what is served; other 8-bit headers are served as stored.
#[test]
fn raw_utf8_headers_are_served_as_encoded_words() {
    let (_a, server) = archive_of(&eight_bit_messages());
    let mut c = server.client();
    c.group("example.list-0");
    let (_, head) = c.expect_block("HEAD <eight1@x>", 221);
    let decode = |line: &[u8]| -> String {
        let header = [line, b"\n\n"].concat();
        let m = mail_parser::MessageParser::new().parse_headers(&header).expect("a header");
        let (name, _) = text(line).split_once(':').map(|(n, v)| (n.to_string(), v.to_string())).unwrap();
        match name.as_str() {
            "Subject" => m.subject().unwrap().to_string(),
            _ => {
                let from = m.from().and_then(|a| a.first()).expect("an address");
                format!("{} <{}>", from.name().unwrap_or(""), from.address().unwrap_or(""))
            }
        }
    };
    let subject = head.iter().find(|l| l.starts_with(b"Subject: ")).expect("Subject");
    let from = head.iter().find(|l| l.starts_with(b"From: ")).expect("From");
    assert!(subject.is_ascii() && from.is_ascii(), "{} / {}", text(subject), text(from));
    assert_eq!(decode(subject), "Grüße aus Köln");
    assert_eq!(decode(from), "Jürgen Müller <jm@example.org>");
    let (_, over) = c.expect_block("XOVER 1-3", 224);
    let fields: Vec<Vec<u8>> = over[0].split(|&b| b == b'\t').map(<[u8]>::to_vec).collect();
    assert_eq!([b"Subject: ".as_slice(), &fields[1]].concat(), *subject, "the overview carries what HEAD shows");
    let (_, article) = c.expect_block("ARTICLE <eight1@x>", 220);
    let served: usize = article.iter().skip(3).map(|l| l.len() + 2).sum();
    assert_eq!(text(&fields[6]), served.to_string(), ":bytes is what ARTICLE serves");
    // Latin-1 in a Latin-1 message, and encoded words: as stored.
    let (_, latin) = c.expect_block("HEAD <eight3@x>", 221);
    assert!(latin.iter().any(|l| l == b"Subject: Latin-1 subject: fran\xe7ais"), "{latin:?}");
    let (_, encoded) = c.expect_text("HEAD <eight2@x>", 221);
    assert!(encoded.contains(&"Subject: =?UTF-8?Q?caf=C3=A9_cr=C3=A8me?=".to_string()), "{encoded:?}");
}

/// tin and slrn under tmux show the 8-bit subjects and names right, in the thread list and in
/// the article (tin read raw UTF-8 in a Latin-1 message as Latin-1: `GrÃ¼Ã?e`).
#[test]
fn tin_and_slrn_show_eight_bit_headers() {
    let (archive, server) = archive_of(&eight_bit_messages());
    let port = server.addr.port();
    let home = archive.dir.path().join("home");
    std::fs::create_dir_all(home.join(".tin")).unwrap();
    std::fs::write(home.join(".newsrc"), "example.list-0:\n").unwrap();
    std::fs::write(home.join(".jnewsrc"), "example.list-0:\n").unwrap();
    std::fs::write(
        home.join(".slrnrc"),
        "set hostname \"example.org\"\nset username \"test\"\nset realname \"Test\"\nset charset \"UTF-8\"\n",
    )
    .unwrap();
    let env = format!("env HOME={} LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm", home.display());

    let tin = Terminal::start("tin", &format!("{env} tin -r -p {port} -g 127.0.0.1"));
    tin.wait_for("example.list-0");
    tin.keys(&["Enter"]);
    let list = tin.wait_for("Grüße aus Köln");
    for text in ["Jürgen Müller", "café crème", "Renée", "Latin-1 subject: français", "François"] {
        assert!(list.contains(text), "tin's thread list lacks {text:?}:\n{list}");
    }
    assert!(!list.contains('Ã'), "mojibake in tin:\n{list}");
    tin.keys(&["Enter"]);
    let article = tin.wait_for("Köln\n");
    assert!(article.contains("Jürgen Müller <jm@example.org>"), "tin's article view:\n{article}");
    println!("tin:\n{list}\n{article}");

    let slrn = Terminal::start(
        "slrn",
        &format!("{env} slrn -h 127.0.0.1:{port} -f {} --create", home.join(".jnewsrc").display()),
    );
    slrn.wait_for("example.list-0");
    slrn.keys(&["Enter"]);
    let list = slrn.wait_for("Grüße aus Köln");
    for text in ["Jürgen Mülle", "café crème", "Latin-1 subject: français", "François"] {
        assert!(list.contains(text), "slrn's thread list lacks {text:?}:\n{list}");
    }
    println!("slrn:\n{list}");
}
