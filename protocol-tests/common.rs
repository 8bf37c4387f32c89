//! Test harness: a temp store filled by the real importer, the real server on 127.0.0.1:0,
//! and a small blocking NNTP client.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use listnews::config::Config;
use listnews::import::{ImportStats, Importer, mbox::MboxFormat};
use listnews::server::Server;
use listnews::store::Store;

pub const HOST: &str = "news.test.example";

/// The sample archive shipped in `config/`.
pub fn sample_mbox() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sample.mbox")
}

pub fn config_text(data_dir: &Path) -> String {
    format!(
        r#"
[server]
listen = ["127.0.0.1:0"]
hostname = "{HOST}"
data_dir = "{}"
motd = "Welcome to the listnews test archive.\nRead-only: post by mail."

[[group]]
name = "example.list-0"
description = "List zero"
address = "list-0@lists.example.org"
list_id = "list-0.lists.example.org"
subscribe = true

[[group]]
name = "example.list-1"
description = "List one"
address = "list-1@lists.example.org"
list_id = "list-1.lists.example.org"

[[group]]
name = "example.list-2"
description = "List two"
address = "list-2@lists.example.org"
list_id = "list-2.lists.example.org"

[[group]]
name = "example.empty"
description = "Nothing here"
address = "empty@lists.example.org"
"#,
        data_dir.display()
    )
}

/// A temp folder with a config file whose store lives inside it.
pub struct Archive {
    pub dir: tempfile::TempDir,
    pub config: Config,
}

impl Archive {
    pub fn new() -> Archive {
        Archive::with_config(|text| text)
    }

    /// An archive whose config text is first passed through `edit`.
    pub fn with_config(edit: impl FnOnce(String) -> String) -> Archive {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("listnews.toml");
        std::fs::write(&path, edit(config_text(&dir.path().join("data")))).expect("write config");
        let config = Config::load(&path).expect("config");
        Archive { dir, config }
    }

    /// Starts everything `listnews serve` runs: server, store writer, control socket.
    pub fn serve_live(&self) -> LiveServer {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let store = Store::open(&self.config.server.data_dir).expect("open store");
        let service = rt.block_on(listnews::live::Service::start(&self.config, store)).expect("service");
        let addr = service.server.addrs[0];
        LiveServer { rt, service: Some(service), addr }
    }

    pub fn config_path(&self) -> PathBuf {
        self.config.path.clone()
    }

    /// Imports sources with the library importer (what `listnews import` runs).
    pub fn import(&self, group: Option<&str>, sources: &[&Path]) -> ImportStats {
        let store = Store::open(&self.config.server.data_dir).expect("open store");
        let mut importer = Importer::new(&store, &self.config, group).expect("importer");
        for s in sources {
            importer.import_path(s, MboxFormat::Mboxrd).expect("import");
        }
        let stats = importer.finish().expect("finish");
        drop(store);
        wait_for_store_release(&self.config.server.data_dir);
        stats
    }

    /// Starts the server on this archive.
    pub fn serve(&self) -> TestServer {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let store = Store::open(&self.config.server.data_dir).expect("open store");
        let server = rt.block_on(Server::start(&self.config, store)).expect("server");
        let addr = server.addrs[0];
        let tls_addrs = server.tls_addrs.clone();
        TestServer { rt, server: Some(server), addr, tls_addrs }
    }
}

pub struct TestServer {
    rt: tokio::runtime::Runtime,
    server: Option<Server>,
    pub addr: SocketAddr,
    /// The implicit-TLS listeners (`listen_tls`), in config order.
    pub tls_addrs: Vec<SocketAddr>,
}

impl TestServer {
    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.stop());
        }
    }
}

pub struct LiveServer {
    rt: tokio::runtime::Runtime,
    service: Option<listnews::live::Service>,
    pub addr: SocketAddr,
}

impl LiveServer {
    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        if let Some(s) = self.service.take() {
            self.rt.block_on(s.stop());
        }
    }
}

/// Polls `check` every 50 ms until it is true or `secs` pass; returns whether it became true.
pub fn wait_until(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    pub greeting: String,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        let writer = stream.try_clone().expect("clone");
        let mut c = Client { reader: BufReader::new(stream), writer, greeting: String::new() };
        c.greeting = c.line();
        c
    }

    pub fn send(&mut self, raw: &[u8]) {
        self.writer.write_all(raw).expect("write");
    }

    /// One response line without CRLF; panics on a line not ending in CRLF.
    pub fn line(&mut self) -> String {
        String::from_utf8_lossy(&self.raw_line()).into_owned()
    }

    pub fn raw_line(&mut self) -> Vec<u8> {
        let mut buf = Vec::new();
        self.reader.read_until(b'\n', &mut buf).expect("read");
        assert!(buf.ends_with(b"\r\n"), "response line without CRLF: {:?}", String::from_utf8_lossy(&buf));
        buf.truncate(buf.len() - 2);
        buf
    }

    /// Sends a command and returns its status line.
    pub fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.line()
    }

    /// Reads a multi-line block up to `.`, undoing dot-stuffing.
    pub fn block(&mut self) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        loop {
            let l = self.raw_line();
            if l == b"." {
                return lines;
            }
            lines.push(if l.starts_with(b"..") { l[1..].to_vec() } else { l });
        }
    }

    /// Sends a command expecting a multi-line answer when the status is `ok`.
    pub fn multi(&mut self, line: &str, ok: u16) -> (String, Vec<Vec<u8>>) {
        let status = self.cmd(line);
        if code(&status) == ok {
            let block = self.block();
            (status, block)
        } else {
            (status, Vec::new())
        }
    }

    pub fn text_block(&mut self, line: &str, ok: u16) -> (String, Vec<String>) {
        let (status, block) = self.multi(line, ok);
        (status, block.into_iter().map(|l| String::from_utf8_lossy(&l).into_owned()).collect())
    }
}

pub fn code(status: &str) -> u16 {
    status.get(..3).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("bad status line {status:?}"))
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

/// Appends a public-inbox commit holding one blob named `name` (`m` or `d`).
pub fn pi_commit(repo: &Path, name: &str, raw: &[u8]) {
    let blob = git(repo, &["hash-object", "-w", "--stdin"], Some(raw));
    let tree = git(repo, &["mktree"], Some(format!("100644 blob {blob}\t{name}\n").as_bytes()));
    let parent = git(repo, &["rev-parse", "--verify", "-q", "HEAD"], None);
    let mut args = vec!["commit-tree", tree.as_str(), "-m", "msg"];
    if !parent.is_empty() && parent != "HEAD" {
        args.extend(["-p", parent.as_str()]);
    }
    let commit = git(repo, &args, None);
    git(repo, &["update-ref", "HEAD", &commit], None);
}

pub fn rev_parse_ok(repo: &Path) -> bool {
    std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "--verify", "-q", "HEAD"])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn init_epoch(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    git(path, &["init", "-q", "--bare", "-b", "master"], None);
}

pub fn pi_add(repo: &Path, name: &str, raw: &[u8]) {
    // commit-tree with no parent for the first commit.
    if !rev_parse_ok(repo) {
        let blob = git(repo, &["hash-object", "-w", "--stdin"], Some(raw));
        let tree = git(repo, &["mktree"], Some(format!("100644 blob {blob}\t{name}\n").as_bytes()));
        let commit = git(repo, &["commit-tree", &tree, "-m", "first"], None);
        git(repo, &["update-ref", "HEAD", &commit], None);
    } else {
        pi_commit(repo, name, raw);
    }
}

/// sled lets go of its file lock from a background thread shortly after the last handle
/// drops (sled #1289). A test that next runs a `listnews` process on the store waits for that,
/// as a second command would after a first one had exited.
pub fn wait_for_store_release(data_dir: &Path) {
    use fs2::FileExt;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        match std::fs::OpenOptions::new().read(true).write(true).open(data_dir.join("db").join("db")) {
            Ok(file) if file.try_lock_exclusive().is_ok() => return,
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            Err(_) => return,
        }
    }
    panic!("the store in {} stayed locked for 10 s", data_dir.display());
}

/// A server process started by a test: killed and reaped when dropped, so a failing
/// assertion never leaves it running (a test that stops it itself does so first).
pub struct ServerProcess(pub std::process::Child);

impl std::ops::Deref for ServerProcess {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for ServerProcess {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // `kill` does nothing once the child has been waited for (no stale PID is signalled).
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
