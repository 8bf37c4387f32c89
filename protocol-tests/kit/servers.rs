//! Servers for tests, one way each: the server in this process on a store the real importer
//! filled ([`Archive::serve`], [`Archive::serve_live`] with the store writer and control
//! socket), or `listnews serve` as a child process ([`Archive::spawn`]). All listen on
//! 127.0.0.1 port 0 unless a test names a port, and all are stopped when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use listnews::config::Config;
use listnews::import::{ImportStats, Importer, mbox::MboxFormat};
use listnews::server::Server;
use listnews::store::Store;

use super::client::Client;
use super::fixtures::sample_mbox;

/// The host name the harness configures (Path, Xref, the greeting).
pub const HOST: &str = "news.test.example";

/// The harness configuration: three lists and an empty group; `data_dir` inside the test's
/// temp folder.
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
        let http_addrs = service.server.http_addrs.clone();
        LiveServer { rt, service: Some(service), addr, http_addrs }
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

    /// The configured group names, in config order.
    pub fn group_names(&self) -> Vec<String> {
        self.config.groups.iter().map(|g| g.name.clone()).collect()
    }

    /// The configured groups that are lists (have a List-Id), which the sample fills.
    pub fn list_names(&self) -> Vec<String> {
        self.config.groups.iter().filter(|g| g.list_id.is_some()).map(|g| g.name.clone()).collect()
    }

    /// The configured group names starting with `prefix`, sorted (what a wildmat `prefix*`
    /// lists).
    pub fn names_with_prefix(&self, prefix: &str) -> Vec<String> {
        let mut names: Vec<String> = self.group_names().into_iter().filter(|g| g.starts_with(prefix)).collect();
        names.sort();
        names
    }

    /// The configured groups anyone may read (no `readers`), sorted.
    pub fn public_names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.config.groups.iter().filter(|g| g.readers.is_empty()).map(|g| g.name.clone()).collect();
        names.sort();
        names
    }

    /// Serves the archive for a moment and lists every list group (GROUP, LISTGROUP, OVER):
    /// the store as clients see it, to compare two stores.
    pub fn snapshot(&self) -> Vec<String> {
        let server = self.serve();
        let mut c = server.client();
        self.list_names().iter().flat_map(|g| c.listing(g)).collect()
    }

    /// Rewrites the config file with `edit` and reads it again.
    pub fn edit_config(&mut self, edit: impl FnOnce(String) -> String) {
        let path = self.config_path();
        let text = std::fs::read_to_string(&path).expect("config");
        std::fs::write(&path, edit(text)).expect("write config");
        self.config = Config::load(&path).expect("config");
    }

    /// Starts `listnews serve` on this archive as a child process (logging warnings and
    /// errors to `server.log` beside the config).
    pub fn spawn(&self) -> Served {
        Served::start(&self.config_path(), "warn")
    }

    /// [`Archive::spawn`] with another log level (`RUST_LOG`).
    pub fn spawn_logging(&self, level: &str) -> Served {
        Served::start(&self.config_path(), level)
    }

    /// Starts the server on this archive.
    pub fn serve(&self) -> TestServer {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let store = Store::open(&self.config.server.data_dir).expect("open store");
        let server = rt.block_on(Server::start(&self.config, store)).expect("server");
        let addr = server.addrs[0];
        let tls_addrs = server.tls_addrs.clone();
        let http_addrs = server.http_addrs.clone();
        TestServer { rt, server: Some(server), addr, tls_addrs, http_addrs }
    }
}

pub struct TestServer {
    rt: tokio::runtime::Runtime,
    server: Option<Server>,
    pub addr: SocketAddr,
    /// The implicit-TLS listeners (`listen_tls`), in config order.
    pub tls_addrs: Vec<SocketAddr>,
    /// The HTTP listeners (`http_listen`).
    pub http_addrs: Vec<SocketAddr>,
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
    /// The HTTP listeners (`http_listen`).
    pub http_addrs: Vec<SocketAddr>,
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

/// The harness archive with the sample imported, served in this process.
pub fn sample_server() -> (Archive, TestServer) {
    let archive = Archive::new();
    archive.import(None, &[&sample_mbox()]);
    let server = archive.serve();
    (archive, server)
}

/// `listnews` (the binary under test) with `args`.
pub fn listnews(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_listnews"));
    cmd.args(args).env("RUST_LOG", "warn");
    cmd
}

/// `listnews serve` as a child process: killed and reaped when dropped (after a SIGTERM and
/// a grace period), so a failing assertion never leaves one running.
pub struct Served {
    pub child: Child,
    /// The plain listeners, the TLS ones and the HTTP ones, as the server printed them.
    pub plain: Vec<SocketAddr>,
    pub tls: Vec<SocketAddr>,
    pub http: Vec<SocketAddr>,
}

impl Served {
    /// Starts `listnews serve --config CONFIG` and reads the address lines it prints (one per
    /// listener in the config) before anything else.
    pub fn start(config: &Path, log_level: &str) -> Served {
        let listeners = Config::load(config).expect("config");
        let expected =
            listeners.server.listen.len() + listeners.server.listen_tls.len() + listeners.server.http_listen.len();
        let log = std::fs::File::create(config.with_file_name("server.log")).expect("log");
        let mut child = listnews(&["serve", "--config"])
            .arg(config)
            .env("RUST_LOG", log_level)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn listnews serve");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut served = Served { child, plain: Vec::new(), tls: Vec::new(), http: Vec::new() };
        for _ in 0..expected {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("server's address line");
            let addr: SocketAddr = line
                .trim()
                .rsplit(" on ")
                .next()
                .map(|a| a.trim_start_matches("http://").trim_end_matches('/'))
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("no address in {line:?}"));
            if line.contains(" with TLS on ") {
                served.tls.push(addr)
            } else if line.contains(" over HTTP on ") {
                served.http.push(addr)
            } else {
                served.plain.push(addr)
            }
        }
        // Keep reading so the pipe never fills.
        std::thread::spawn(move || for _ in stdout.lines() {});
        served
    }

    /// The first plain listener.
    pub fn addr(&self) -> SocketAddr {
        self.plain[0]
    }

    pub fn client(&self) -> Client {
        Client::connect(self.addr())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by PID (`kill -TERM 1234`).
    pub fn signal(&self, sig: &str) {
        let status =
            Command::new("kill").arg(format!("-{sig}")).arg(self.pid().to_string()).status().expect("run kill");
        assert!(status.success(), "kill -{sig} {}", self.pid());
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// Waits up to `secs` for the process to exit.
    pub fn wait_exit(&mut self, secs: u64) -> Option<ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The resident set size in KiB (VmRSS in /proc/PID/status).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status();
            if self.wait_exit(35).is_none() {
                let _ = self.child.kill();
            }
        }
        // `wait` after `kill` reaps it; once reaped, no stale PID is signalled.
        let _ = self.child.wait();
    }
}
