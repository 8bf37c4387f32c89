//! Real peers the posting tests talk to: an SMTP server (aiosmtpd, `smtp_sink.py`) and a DNS
//! server (dnsmasq) with DMARC records. Each runs as a child process on 127.0.0.1 and is
//! stopped by its handle when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use super::fixtures::header;
use super::servers::wait_until;

/// A mail the SMTP server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub data: Vec<u8>,
    pub auth_user: Option<String>,
    pub tls: bool,
}

impl Received {
    /// A header of the mail, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        header(&self.data, name)
    }

    /// The header section as text.
    pub fn head(&self) -> String {
        let text = String::from_utf8_lossy(&self.data).into_owned();
        text.split("\r\n\r\n").next().unwrap_or_default().to_string()
    }
}

/// aiosmtpd on 127.0.0.1 (`protocol-tests/kit/smtp_sink.py`): recipients named `reject…` get
/// 550, `tempfail…` 451; every accepted mail is kept.
pub struct SmtpSink {
    child: Child,
    /// Held open: the sink runs until it closes.
    stdin: Option<ChildStdin>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts the sink with `smtp_sink.py`'s options (`--starttls CERT KEY`, `--auth U:P`, …).
    pub fn start(options: &[&str]) -> SmtpSink {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocol-tests/kit/smtp_sink.py");
        // Debian's python3-aiosmtpd is installed for Debian's Python.
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(dir.path())
            .args(options)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("/usr/bin/python3 with python3-aiosmtpd (the README's test command installs it)");
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("the sink's port line");
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("smtp_sink.py did not start (is python3-aiosmtpd installed?): {line:?}"));
        SmtpSink { child, stdin, port, dir }
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The mails accepted so far, in order.
    pub fn received(&self) -> Vec<Received> {
        let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(self.dir.path())
            .expect("sink folder")
            .filter_map(|e| {
                let path = e.ok()?.path();
                let n = path.file_name()?.to_str()?.strip_suffix(".json")?.parse().ok()?;
                Some((n, path))
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, path)| {
                use base64::Engine;
                let v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&path).expect("mail record")).expect("json");
                Received {
                    mail_from: v["mail_from"].as_str().unwrap_or_default().to_string(),
                    rcpt_tos: v["rcpt_tos"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|r| r.as_str().map(String::from)).collect())
                        .unwrap_or_default(),
                    data: base64::engine::general_purpose::STANDARD
                        .decode(v["data"].as_str().unwrap_or_default())
                        .expect("base64"),
                    auth_user: v["auth_user"].as_str().map(String::from),
                    tls: v["tls"].as_bool().unwrap_or_default(),
                }
            })
            .collect()
    }

    /// Waits up to 20 s for `n` mails; returns them all.
    pub fn wait_for(&self, n: usize) -> Vec<Received> {
        let arrived = wait_until(20, || self.received().len() >= n);
        let got = self.received();
        assert!(arrived, "expected {n} mails at the relay, got {}", got.len());
        got
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // Closing stdin ends it; then make sure.
        self.stdin.take();
        if !wait_until(5, || self.child.try_wait().ok().flatten().is_some()) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// dnsmasq on 127.0.0.1 answering TXT records (and NXDOMAIN for other names under
/// `.example`).
pub struct Dns {
    child: Child,
    pub port: u16,
}

impl Dns {
    pub fn start(txt: &[(&str, &str)]) -> Dns {
        // dnsmasq serves UDP and TCP on its port, and exits if either is taken: a port free for
        // UDP a moment ago can be a test server's TCP port by now. So it is started again on
        // another port when it exits before answering.
        for _ in 0..5 {
            if let Some(dns) = Self::try_start(txt) {
                return dns;
            }
        }
        panic!("dnsmasq did not answer (five ports tried)");
    }

    /// dnsmasq on a port free for both UDP and TCP when chosen; None when it exits before
    /// answering (its port taken meanwhile).
    fn try_start(txt: &[(&str, &str)]) -> Option<Dns> {
        let port = loop {
            let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = tcp.local_addr().unwrap().port();
            if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
                break port;
            }
        };
        // Debian puts it in /usr/sbin, which not every PATH holds.
        let program = if Path::new("/usr/sbin/dnsmasq").exists() { "/usr/sbin/dnsmasq" } else { "dnsmasq" };
        let mut cmd = Command::new(program);
        cmd.args([
            "--keep-in-foreground",
            &format!("--port={port}"),
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--conf-file=/dev/null",
            "--pid-file=",
            "--local=/example/",
        ]);
        for (name, text) in txt {
            cmd.arg(format!("--txt-record={name},{text}"));
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq (dnsmasq-base; the README's test command installs it)");
        let mut dns = Dns { child, port };
        // Up once it answers a query; given up on if it exits first.
        let query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x07example\x00\x00\x10\x00\x01";
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut exited = false;
        let answered = wait_until(10, || {
            if dns.child.try_wait().ok().flatten().is_some() {
                exited = true;
                return true;
            }
            let _ = sock.send_to(query, ("127.0.0.1", port));
            sock.recv(&mut [0u8; 512]).is_ok()
        });
        assert!(answered, "dnsmasq did not answer within 10 s");
        (!exited).then_some(dns)
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
