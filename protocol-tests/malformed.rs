//! Malformed mail: every message of mail-parser's test corpus (`resources/eml`: malformed,
//! legacy, thirdparty, rfc) and of CPython's `test_email/data` (its test suite) is either
//! stored, with a valid overview line and served as it came (CRLF line ends), or set aside
//! with a reason. Nothing is lost, nothing panics.

use std::path::PathBuf;
use std::process::Command;

use listnews::import::{Importer, Outcome};
use listnews::store::Store;

use crate::kit::*;

/// mail-parser's sources, found through cargo (the crate is a dependency, so it is there).
fn mail_parser_resources() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .output()
        .expect("cargo metadata");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    // The package whose manifest lives in a `mail-parser-<version>` folder.
    let key = "\"manifest_path\":\"";
    let manifest = text
        .match_indices(key)
        .map(|(at, _)| {
            let start = at + key.len();
            &text[start..start + text[start..].find('"').unwrap_or(0)]
        })
        .find(|path| path.contains("/mail-parser-"))
        .expect("mail-parser's manifest in cargo metadata");
    PathBuf::from(manifest).parent().expect("crate dir").join("resources/eml")
}

/// CPython's `test/test_email/data`, found by asking `python3` where its test package is
/// (Debian's python3 needs libpython3.X-testsuite; the README's test command installs it).
fn cpython_email_data() -> PathBuf {
    let script = "import os, test.test_email as t; print(os.path.join(os.path.dirname(t.__file__), 'data'))";
    let out = Command::new("python3").args(["-c", script]).output().expect("python3");
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        out.status.success() && dir.is_dir(),
        "python3 has no test.test_email data ({}): install its test suite (Debian: libpython3.X-testsuite)",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    dir
}

fn files(dir: &std::path::Path, keep: &dyn Fn(&std::path::Path) -> bool, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, keep, out);
        } else if keep(&path) {
            out.push(path);
        }
    }
}

/// What a client should get as the body: the raw body with line ends made CRLF (and NUL a
/// space), as the README's wire rules say.
fn expected_body(raw: &[u8]) -> Vec<Vec<u8>> {
    let norm = listnews::protocol::article::to_crlf(raw);
    let text = norm.strip_prefix(b"\r\n".as_slice()).unwrap_or(&norm);
    let body = match text.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => &text[i + 4..],
        None => &[][..],
    };
    let mut lines: Vec<Vec<u8>> =
        body.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec()).collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

#[test]
fn mail_parser_corpus_is_stored_or_set_aside() {
    let dir = mail_parser_resources();
    let mut paths = Vec::new();
    files(&dir, &|p| p.extension().is_some_and(|e| e == "eml"), &mut paths);
    assert!(paths.len() > 100, "{} files under {}", paths.len(), dir.display());
    let (stored, set_aside, bodies) = check_corpus(paths);
    assert!(bodies > 100, "{bodies} bodies compared");
    println!("mail-parser corpus: {stored} stored ({bodies} bodies compared), {set_aside} set aside");
}

#[test]
fn cpython_email_corpus_is_stored_or_set_aside() {
    let dir = cpython_email_data();
    let mut paths = Vec::new();
    // Every file: the messages, and the images and sounds beside them (not mail: set aside).
    files(&dir, &|_| true, &mut paths);
    assert!(paths.len() > 50, "{} files under {}", paths.len(), dir.display());
    let (stored, set_aside, bodies) = check_corpus(paths);
    assert!(bodies > 40, "{bodies} bodies compared");
    println!("CPython email corpus: {stored} stored ({bodies} bodies compared), {set_aside} set aside");
}

/// Imports every file, then checks each over NNTP; returns (stored, set aside, bodies compared).
fn check_corpus(mut paths: Vec<PathBuf>) -> (usize, usize, usize) {
    paths.sort();

    let archive = Archive::new();
    let mut outcomes = Vec::new();
    {
        let store = Store::open(&archive.config.server.data_dir).unwrap();
        let mut importer = Importer::new(&store, &archive.config, None).unwrap();
        for (i, path) in paths.iter().enumerate() {
            let raw = std::fs::read(path).unwrap();
            let outcome = importer.add_one("eml", i as u64, raw.clone(), Some("example.list-0")).unwrap();
            outcomes.push((path.clone(), raw, outcome));
        }
        importer.finish().unwrap();
    }
    let set_aside = outcomes.iter().filter(|(_, _, o)| matches!(o, Outcome::SetAside { .. })).count();
    {
        let store = Store::open(&archive.config.server.data_dir).unwrap();
        let reasons: Vec<String> = store.rejects().map(|r| r.unwrap().reason).collect();
        assert_eq!(reasons.len(), set_aside, "every message set aside is kept with its reason");
        assert!(reasons.iter().all(|r| !r.is_empty()));
    }

    let server = archive.serve();
    let mut c = server.client();
    c.expect("GROUP example.list-0", 211);
    let mut stored = 0;
    let mut bodies_checked = 0;
    for (path, raw, outcome) in &outcomes {
        let Outcome::Stored { message_id, new } = outcome else { continue };
        stored += 1;
        let (_, over) = c.expect_block(&format!("OVER {message_id}"), 224);
        let fields: Vec<&[u8]> = over[0].split(|&b| b == b'\t').collect();
        assert_eq!(fields.len(), 9, "{}: overview {:?}", path.display(), String::from_utf8_lossy(&over[0]));
        assert_eq!(fields[4], message_id.as_bytes());
        let (_, article) = c.expect_block(&format!("ARTICLE {message_id}"), 220);
        let blank = article.iter().position(|l| l.is_empty()).expect("blank line");
        let size: usize = article.iter().map(|l| l.len() + 2).sum::<usize>()
            - article[..3].iter().map(|l| l.len() + 2).sum::<usize>();
        assert_eq!(String::from_utf8_lossy(fields[6]), size.to_string(), "{}: :bytes", path.display());
        assert_eq!(
            String::from_utf8_lossy(fields[7]),
            (article.len() - blank - 1).to_string(),
            "{}: :lines",
            path.display()
        );
        if *new {
            // A message stored now (not a duplicate of an earlier file): its body as sent.
            assert_eq!(article[blank + 1..].to_vec(), expected_body(raw), "{}: body", path.display());
            bodies_checked += 1;
        }
    }
    assert_eq!(stored + set_aside, outcomes.len(), "each message is stored or set aside");
    (stored, set_aside, bodies_checked)
}
