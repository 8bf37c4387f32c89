//! Fixtures: the sample archive, mbox writing and reading, list messages, header lookup and
//! public-inbox epochs built with git.

use std::path::{Path, PathBuf};

/// The sample archive shipped in `config/`.
pub fn sample_mbox() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sample.mbox")
}

/// Writes an mbox (mboxrd) of messages.
pub fn write_mbox(path: &Path, messages: &[Vec<u8>]) {
    let mut out = Vec::new();
    for m in messages {
        out.extend_from_slice(b"From test@example Mon Jan  1 00:00:00 2024\n");
        for line in m.split_inclusive(|&b| b == b'\n') {
            let quotes = line.iter().take_while(|&&b| b == b'>').count();
            if line[quotes..].starts_with(b"From ") {
                out.push(b'>');
            }
            out.extend_from_slice(line);
        }
        if !m.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    std::fs::write(path, out).expect("write mbox");
}

/// A plain list message; `extra` holds more header lines.
pub fn message(id: &str, list: usize, subject: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Tester <tester@example.org>\nTo: list-{list}@lists.example.org\nSubject: {subject}\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: {id}\nList-Id: <list-{list}.lists.example.org>\n{extra}\n{body}"
    )
    .into_bytes()
}

/// Splits an mbox the simple way (the reference reader for comparisons): separators are
/// `From ` lines after a blank line, `>From` unquoted one level, LF kept.
pub fn split_mbox(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut prev_blank = true;
    for line in data.split_inclusive(|&b| b == b'\n') {
        if prev_blank && line.starts_with(b"From ") {
            if let Some(last) = out.last_mut()
                && last.ends_with(b"\n\n")
            {
                last.pop();
            }
            out.push(Vec::new());
            prev_blank = false;
            continue;
        }
        prev_blank = line == b"\n" || line == b"\r\n";
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        let line = if quotes > 0 && line[quotes..].starts_with(b"From ") { &line[1..] } else { line };
        if let Some(last) = out.last_mut() {
            last.extend_from_slice(line);
        }
    }
    if let Some(last) = out.last_mut()
        && last.ends_with(b"\n\n")
    {
        last.pop();
    }
    out
}

/// The value of the first header `name` in a raw message (unfolded, trimmed).
pub fn header(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\n\n").next().unwrap_or("").replace("\r\n", "\n");
    let mut found: Option<String> = None;
    for line in head.lines() {
        if let Some(v) = found.as_mut() {
            if line.starts_with([' ', '\t']) {
                v.push_str(line);
                continue;
            }
            break;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            found = Some(v.to_string());
        }
    }
    found.map(|v| v.trim().to_string())
}

/// Runs git in `dir`, failing the test on error.
pub fn git(dir: &Path, args: &[&str], input: Option<&[u8]>) -> String {
    use std::io::Write;
    let mut cmd = std::process::Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    cmd.env("GIT_AUTHOR_NAME", "t").env("GIT_AUTHOR_EMAIL", "t@example.org");
    cmd.env("GIT_COMMITTER_NAME", "t").env("GIT_COMMITTER_EMAIL", "t@example.org");
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("git");
    if let Some(input) = input {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

pub fn init_epoch(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    git(path, &["init", "-q", "--bare", "-b", "master"], None);
}

/// Appends a public-inbox commit holding one blob named `name` (`m`: a message added, `d`:
/// that message removed).
pub fn pi_add(repo: &Path, name: &str, raw: &[u8]) {
    let blob = git(repo, &["hash-object", "-w", "--stdin"], Some(raw));
    let tree = git(repo, &["mktree"], Some(format!("100644 blob {blob}\t{name}\n").as_bytes()));
    let has_head = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "--verify", "-q", "HEAD"])
        .output()
        .is_ok_and(|o| o.status.success());
    let parent = if has_head { Some(git(repo, &["rev-parse", "HEAD"], None)) } else { None };
    let mut args = vec!["commit-tree", tree.as_str(), "-m", "msg"];
    if let Some(p) = &parent {
        args.extend(["-p", p.as_str()]);
    }
    let commit = git(repo, &args, None);
    git(repo, &["update-ref", "HEAD", &commit], None);
}
/// The sample's messages, split the simple way.
pub fn sample_messages() -> Vec<Vec<u8>> {
    split_mbox(&std::fs::read(sample_mbox()).expect("read sample"))
}

/// `<...>` tokens of a header value.
pub fn msg_ids(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else { break };
        out.push(rest[start..start + len + 1].to_string());
        rest = &rest[start + len + 1..];
    }
    out
}

/// Bytes as text (lossy), for comparing lines.
pub fn text(line: &[u8]) -> String {
    String::from_utf8_lossy(line).into_owned()
}
