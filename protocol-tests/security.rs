//! Secure transport and access (issue 5): implicit TLS and STARTTLS (RFC 4642) with the
//! CVE-2011-0411 injection guard, COMPRESS DEFLATE (RFC 8054), AUTHINFO USER/PASS (RFC 4643),
//! private groups, connection caps, the PROXY protocol, a client that never reads, and the
//! signals of `listnews serve` (SIGTERM drains, SIGHUP reloads config and certificate).
//!
//! Certificates are made at test time with rcgen (a CA and a leaf for 127.0.0.1/localhost);
//! the client side is rustls over a blocking std socket, and flate2 for DEFLATE.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use rustls::pki_types::{CertificateDer, ServerName};

use crate::common::*;

const ALICE: (&str, &str) = ("alice", "wonderland");
const BOB: (&str, &str) = ("bob", "builder");

// ---------------------------------------------------------------------------------------
// Certificates

/// A test CA and a leaf certificate it signed for 127.0.0.1 and localhost.
struct TestCert {
    ca_der: CertificateDer<'static>,
    ca_pem: String,
    cert_der: CertificateDer<'static>,
    cert_pem: String,
    key_pem: String,
}

impl TestCert {
    fn new(name: &str) -> TestCert {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, format!("listnews test CA {name}"));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key")).expect("CA");
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, format!("listnews test server {name}"));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &ca).expect("leaf");
        TestCert {
            ca_der: ca.der().clone(),
            ca_pem: ca.pem(),
            cert_der: cert.der().clone(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// Writes cert.pem, key.pem (what the server reads) and ca.pem (for Python) into `dir`.
    fn install(&self, dir: &Path) {
        std::fs::write(dir.join("cert.pem"), &self.cert_pem).expect("cert.pem");
        std::fs::write(dir.join("key.pem"), &self.key_pem).expect("key.pem");
        std::fs::write(dir.join("ca.pem"), &self.ca_pem).expect("ca.pem");
    }
}

/// A rustls client trusting exactly these CAs.
fn client_config(cas: &[&TestCert]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in cas {
        roots.add(c.ca_der.clone()).expect("add root");
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A cheap argon2id hash (the server verifies with the parameters stored in the hash).
fn hash(password: &str) -> String {
    use argon2::PasswordHasher;
    let params = argon2::Params::new(8, 1, 1, None).expect("params");
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = argon2::password_hash::SaltString::encode_b64(b"listnews-test-salt").expect("salt");
    argon.hash_password(password.as_bytes(), &salt).expect("hash").to_string()
}

// ---------------------------------------------------------------------------------------
// A client over plain TCP, TLS and DEFLATE, switchable mid-session

/// RFC 8054 DEFLATE over another transport: raw deflate (no zlib header) both ways, each
/// write sync-flushed.
struct Deflate {
    inner: Io,
    compress: Compress,
    decompress: Decompress,
    /// Compressed input not yet inflated.
    raw: Vec<u8>,
}

impl Read for Deflate {
    fn read(&mut self, dst: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if !self.raw.is_empty() {
                let (in0, out0) = (self.decompress.total_in(), self.decompress.total_out());
                self.decompress
                    .decompress(&self.raw, dst, FlushDecompress::None)
                    .map_err(|e| std::io::Error::new(ErrorKind::InvalidData, format!("not raw DEFLATE: {e}")))?;
                let used = (self.decompress.total_in() - in0) as usize;
                let made = (self.decompress.total_out() - out0) as usize;
                self.raw.drain(..used);
                if made > 0 {
                    return Ok(made);
                }
                if used > 0 {
                    continue;
                }
            }
            let mut buf = [0u8; 16 << 10];
            let n = self.inner.read(&mut buf)?;
            if n == 0 {
                return Ok(0);
            }
            self.raw.extend_from_slice(&buf[..n]);
        }
    }
}

impl Write for Deflate {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len() + 64);
        let mut pos = 0;
        loop {
            let before = self.compress.total_in();
            self.compress.compress_vec(&buf[pos..], &mut out, FlushCompress::Sync).map_err(std::io::Error::other)?;
            pos += (self.compress.total_in() - before) as usize;
            if pos == buf.len() && out.len() < out.capacity() {
                break;
            }
            out.reserve(buf.len() + 1024);
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
    Deflate(Box<Deflate>),
    Gone,
}

impl Io {
    fn tls(&self) -> Option<&TlsStream> {
        match self {
            Io::Tls(s) => Some(s),
            Io::Deflate(d) => d.inner.tls(),
            _ => None,
        }
    }
}

impl Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Io::Plain(s) => s.read(buf),
            Io::Tls(s) => s.read(buf),
            Io::Deflate(d) => d.read(buf),
            Io::Gone => unreachable!(),
        }
    }
}

impl Write for Io {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Io::Plain(s) => s.write(buf),
            Io::Tls(s) => s.write(buf),
            Io::Deflate(d) => d.write(buf),
            Io::Gone => unreachable!(),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Io::Plain(s) => s.flush(),
            Io::Tls(s) => s.flush(),
            Io::Deflate(d) => d.flush(),
            Io::Gone => unreachable!(),
        }
    }
}

/// Completes a TLS handshake with the server at 127.0.0.1 over `tcp`.
fn handshake(tcp: TcpStream, config: &Arc<rustls::ClientConfig>) -> std::io::Result<Box<TlsStream>> {
    let name = ServerName::try_from("127.0.0.1".to_string()).expect("server name");
    let conn = rustls::ClientConnection::new(config.clone(), name).map_err(std::io::Error::other)?;
    let mut s = Box::new(rustls::StreamOwned::new(conn, tcp));
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock)?;
    }
    Ok(s)
}

/// A blocking NNTP client whose transport can change under it (STARTTLS, COMPRESS).
struct Conn {
    io: Io,
    buf: Vec<u8>,
    start: usize,
    greeting: String,
}

fn tcp(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    s.set_nodelay(true).expect("nodelay");
    s
}

impl Conn {
    fn over(io: Io) -> Conn {
        Conn { io, buf: Vec::new(), start: 0, greeting: String::new() }
    }

    /// Connects without reading the greeting.
    fn raw_plain(addr: SocketAddr) -> Conn {
        Conn::over(Io::Plain(tcp(addr)))
    }

    fn plain(addr: SocketAddr) -> Conn {
        let mut c = Conn::raw_plain(addr);
        c.greeting = c.line();
        c
    }

    fn tls(addr: SocketAddr, config: &Arc<rustls::ClientConfig>) -> Conn {
        let mut c = Conn::over(Io::Tls(handshake(tcp(addr), config).expect("TLS handshake")));
        c.greeting = c.line();
        c
    }

    fn set_timeout(&self, secs: u64) {
        let sock = match &self.io {
            Io::Plain(s) => s,
            Io::Tls(s) => &s.sock,
            _ => return,
        };
        sock.set_read_timeout(Some(Duration::from_secs(secs))).expect("timeout");
    }

    /// The server's certificate, once TLS is up.
    fn peer_cert(&self) -> Option<Vec<u8>> {
        self.io.tls()?.conn.peer_certificates().map(|c| c[0].as_ref().to_vec())
    }

    fn tls_version(&self) -> Option<rustls::ProtocolVersion> {
        self.io.tls()?.conn.protocol_version()
    }

    fn send(&mut self, raw: &[u8]) {
        self.io.write_all(raw).expect("write");
        self.io.flush().expect("flush");
    }

    /// The next line without CRLF, or `None` when the server closed the connection.
    fn next_line(&mut self) -> Option<Vec<u8>> {
        self.try_line().unwrap_or_else(|e| panic!("read: {e}"))
    }

    /// Like `next_line`, but a read timeout is returned as an error.
    fn try_line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(nl) = memchr::memchr(b'\n', &self.buf[self.start..]) {
                let end = self.start + nl;
                let line = self.buf[self.start..end].to_vec();
                self.start = end + 1;
                assert!(line.ends_with(b"\r"), "line without CRLF: {:?}", String::from_utf8_lossy(&line));
                return Ok(Some(line[..line.len() - 1].to_vec()));
            }
            self.buf.drain(..self.start);
            self.start = 0;
            let mut tmp = [0u8; 64 << 10];
            match self.io.read(&mut tmp) {
                Ok(0) => {
                    assert!(self.buf.is_empty(), "closed inside a line: {:?}", String::from_utf8_lossy(&self.buf));
                    return Ok(None);
                }
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof | ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn line(&mut self) -> String {
        String::from_utf8_lossy(&self.next_line().expect("a response line, not a closed connection")).into_owned()
    }

    fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.line()
    }

    fn block(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let l = self.next_line().expect("closed inside a multi-line block");
            if l == b"." {
                return lines;
            }
            let l = if l.starts_with(b"..") { &l[1..] } else { &l[..] };
            lines.push(String::from_utf8_lossy(l).into_owned());
        }
    }

    fn multi(&mut self, line: &str, ok: u16) -> (String, Vec<String>) {
        let status = self.cmd(line);
        if code(&status) == ok { (status, self.block()) } else { (status, Vec::new()) }
    }

    fn capabilities(&mut self) -> Vec<String> {
        let (status, caps) = self.multi("CAPABILITIES", 101);
        assert_eq!(code(&status), 101, "{status}");
        caps
    }

    /// Asserts that the server closes the connection without sending another line.
    fn assert_closed(&mut self, why: &str) {
        if let Some(l) = self.next_line() {
            panic!("{why}: expected the connection to close, got {:?}", String::from_utf8_lossy(&l));
        }
    }

    /// STARTTLS: expects 382 and completes the handshake.
    fn starttls(&mut self, config: &Arc<rustls::ClientConfig>) {
        let status = self.cmd("STARTTLS");
        assert_eq!(code(&status), 382, "{status}");
        assert_eq!(self.buf.len(), self.start, "nothing may follow 382 in plaintext");
        let Io::Plain(tcp) = std::mem::replace(&mut self.io, Io::Gone) else { panic!("STARTTLS over TLS") };
        self.io = Io::Tls(handshake(tcp, config).expect("TLS handshake after STARTTLS"));
    }

    /// COMPRESS DEFLATE: expects 206 and wraps the transport.
    fn compress(&mut self) {
        let status = self.cmd("COMPRESS DEFLATE");
        assert_eq!(code(&status), 206, "{status}");
        assert_eq!(self.buf.len(), self.start, "nothing may follow 206 uncompressed");
        let inner = std::mem::replace(&mut self.io, Io::Gone);
        self.io = Io::Deflate(Box::new(Deflate {
            inner,
            compress: Compress::new(Compression::default(), false),
            decompress: Decompress::new(false),
            raw: Vec::new(),
        }));
    }

    fn login(&mut self, (user, password): (&str, &str)) -> String {
        let status = self.cmd(&format!("AUTHINFO USER {user}"));
        assert_eq!(code(&status), 381, "AUTHINFO USER {user}: {status}");
        self.cmd(&format!("AUTHINFO PASS {password}"))
    }
}

fn has(caps: &[String], cap: &str) -> bool {
    caps.iter().any(|c| c == cap)
}

// ---------------------------------------------------------------------------------------
// Archives

/// Five messages: two public (list 0), two private (list 1), one cross-posted to both; and
/// one in list 2. Numbers: list-0 1,2,3 = pub-1, pub-2, cross-1; list-1 1,2,3 = priv-1,
/// priv-2, cross-1.
fn small_mbox(dir: &Path) -> PathBuf {
    let path = dir.join("small.mbox");
    write_mbox(
        &path,
        &[
            message("<pub-1@sec.example>", 0, "public one", "", "public body one\n"),
            message("<priv-1@sec.example>", 1, "private one", "", "private body one\n"),
            message("<pub-2@sec.example>", 0, "public two", "", "public body two\n"),
            message("<priv-2@sec.example>", 1, "private two", "", "private body two\n"),
            message("<cross-1@sec.example>", 0, "cross-posted", "Cc: list-1@lists.example.org\n", "to both lists\n"),
            message("<other-1@sec.example>", 2, "list two", "", "elsewhere\n"),
        ],
    );
    path
}

/// The harness config plus `server` lines, users alice and bob, example.list-1 readable by
/// alice only, and (with a certificate) an implicit-TLS listener; the small mbox imported.
fn secure_archive(server: &str, cert: Option<&TestCert>) -> Archive {
    let archive = Archive::with_config(|text| {
        let mut lines = server.to_string();
        if cert.is_some() {
            lines.push_str("listen_tls = [\"127.0.0.1:0\"]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n");
        }
        let text = text.replacen("[server]\n", &format!("[server]\n{lines}"), 1).replacen(
            "name = \"example.list-1\"\n",
            "name = \"example.list-1\"\nreaders = [\"alice\"]\n",
            1,
        );
        format!(
            "{text}\n[[user]]\nname = \"{}\"\npassword_hash = \"{}\"\n\n[[user]]\nname = \"{}\"\npassword_hash = \"{}\"\n",
            ALICE.0,
            hash(ALICE.1),
            BOB.0,
            hash(BOB.1)
        )
    });
    if let Some(c) = cert {
        c.install(archive.dir.path());
    }
    let stats = archive.import(None, &[&small_mbox(archive.dir.path())]);
    assert_eq!(stats.stored, 6, "{stats:?}");
    archive
}

/// `N` distinct ports that were free a moment ago (for configs that must name a listener
/// exactly).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind")).collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("addr").port())
}

// ---------------------------------------------------------------------------------------
// `listnews serve` as a child process

struct Served {
    child: ServerProcess,
    plain: Vec<SocketAddr>,
    tls: Vec<SocketAddr>,
}

/// Starts `listnews serve` and reads the `plain` + `tls` address lines it prints first.
fn spawn_serve(config: &Path, plain: usize, tls: usize) -> Served {
    let log = std::fs::File::create(config.with_file_name("server.log")).expect("log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_listnews"))
        .args(["serve", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn listnews serve");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut served = Served { child: ServerProcess(child), plain: Vec::new(), tls: Vec::new() };
    for _ in 0..plain + tls {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("server's address line");
        let addr: SocketAddr = line
            .trim()
            .rsplit(" on ")
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        if line.contains(" with TLS on ") { served.tls.push(addr) } else { served.plain.push(addr) }
    }
    assert_eq!((served.plain.len(), served.tls.len()), (plain, tls), "listeners printed");
    std::thread::spawn(move || for _ in stdout.lines() {});
    served
}

impl Served {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by PID (`kill -TERM 1234`).
    fn signal(&self, sig: &str) {
        let status =
            Command::new("kill").arg(format!("-{sig}")).arg(self.pid().to_string()).status().expect("run kill");
        assert!(status.success(), "kill -{sig} {}", self.pid());
    }

    /// Waits up to `secs` for the process to exit.
    fn wait_exit(&mut self, secs: u64) -> Option<ExitStatus> {
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
    fn rss_kib(&self) -> u64 {
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
        let _ = self.child.wait();
    }
}

/// An archive whose example.list-0 holds `n` generated messages with long subjects (about
/// 290 octets of overview each); with a certificate, an implicit-TLS listener too.
fn big_archive(n: usize, cert: Option<&TestCert>) -> Archive {
    let archive = Archive::with_config(|text| match cert {
        Some(_) => text.replacen(
            "[server]\n",
            "[server]\nlisten_tls = [\"127.0.0.1:0\"]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n",
            1,
        ),
        None => text,
    });
    if let Some(c) = cert {
        c.install(archive.dir.path());
    }
    let messages: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let subject = format!("load message {i:05} {}", "with a subject long enough to weigh on XOVER ".repeat(3));
            message(&format!("<load-{i}@big.example>"), 0, subject.trim_end(), "", "short body\n")
        })
        .collect();
    let path = archive.dir.path().join("big.mbox");
    write_mbox(&path, &messages);
    let stats = archive.import(None, &[&path]);
    assert_eq!(stats.stored, n as u64, "{stats:?}");
    archive
}

/// Reads one XOVER answer: its status, then lines up to `.`; returns the number of lines,
/// or `None` if the answer was not a 224.
fn read_over(c: &mut Conn) -> (String, Option<usize>) {
    let status = match c.next_line() {
        Some(l) => String::from_utf8_lossy(&l).into_owned(),
        None => return ("EOF".into(), None),
    };
    if !status.starts_with("224") {
        return (status, None);
    }
    let mut n = 0;
    loop {
        let l = c.next_line().unwrap_or_else(|| panic!("connection closed after {n} lines of an XOVER answer"));
        if l == b"." {
            return (status, Some(n));
        }
        n += 1;
    }
}

// ---------------------------------------------------------------------------------------
// TLS and STARTTLS

/// NNTPS: the handshake verifies against the test CA, the session starts in TLS, STARTTLS is
/// neither advertised nor accepted, and AUTHINFO USER is offered.
#[test]
fn implicit_tls_listener() {
    let cert = TestCert::new("a");
    let archive = secure_archive("", Some(&cert));
    let server = archive.serve();
    assert_eq!(server.tls_addrs.len(), 1, "one TLS listener");
    let config = client_config(&[&cert]);

    let mut c = Conn::tls(server.tls_addrs[0], &config);
    assert!(c.greeting.starts_with("201 "), "{}", c.greeting);
    assert_eq!(c.peer_cert().as_deref(), Some(cert.cert_der.as_ref()), "the configured certificate");
    assert!(c.tls_version().is_some());
    let caps = c.capabilities();
    assert!(!caps.iter().any(|c| c.starts_with("STARTTLS")), "{caps:?}");
    assert!(has(&caps, "AUTHINFO USER"), "{caps:?}");
    assert!(has(&caps, "COMPRESS DEFLATE"), "{caps:?}");
    assert_eq!(code(&c.cmd("STARTTLS")), 502, "STARTTLS under TLS");
    let g = c.cmd("GROUP example.list-0");
    assert_eq!(g, "211 3 1 3 example.list-0");
    let (s, over) = c.multi("XOVER 1-", 224);
    assert_eq!(code(&s), 224);
    assert_eq!(over.len(), 3, "{over:?}");
    assert_eq!(code(&c.cmd("QUIT")), 205);

    // A client that does not trust the CA cannot complete the handshake.
    let other = TestCert::new("stranger");
    let err = handshake(tcp(server.tls_addrs[0]), &client_config(&[&other]));
    assert!(err.is_err(), "a certificate from another CA must not verify");
    // The plain listener still speaks plaintext NNTP.
    let p = Conn::plain(server.addr);
    assert!(p.greeting.starts_with("201 "), "{}", p.greeting);
}

/// STARTTLS (RFC 4642): 382, TLS, back to the just-greeted state, not advertised or accepted
/// again; AUTHINFO offered without USER before TLS and as AUTHINFO USER after.
#[test]
fn starttls_upgrades_and_resets_the_session() {
    let cert = TestCert::new("a");
    let archive = secure_archive("", Some(&cert));
    let server = archive.serve();
    let config = client_config(&[&cert]);

    let mut c = Conn::plain(server.addr);
    let caps = c.capabilities();
    assert!(has(&caps, "STARTTLS"), "{caps:?}");
    assert!(has(&caps, "AUTHINFO"), "AUTHINFO without USER before TLS: {caps:?}");
    assert!(!has(&caps, "AUTHINFO USER"), "{caps:?}");
    assert_eq!(c.cmd("GROUP example.list-0"), "211 3 1 3 example.list-0");
    assert_eq!(code(&c.cmd("STAT")), 223, "an article is current before STARTTLS");

    c.starttls(&config);
    assert_eq!(c.peer_cert().as_deref(), Some(cert.cert_der.as_ref()));
    // RFC 4642 §2.2.2: no greeting again, and the state is that just after the greeting.
    assert_eq!(code(&c.cmd("STAT")), 412, "no group selected after STARTTLS");
    let caps = c.capabilities();
    assert!(!has(&caps, "STARTTLS"), "STARTTLS not advertised under TLS: {caps:?}");
    assert!(has(&caps, "AUTHINFO USER"), "{caps:?}");
    assert_eq!(code(&c.cmd("STARTTLS")), 502, "TLS already active");
    assert_eq!(code(&c.login(ALICE)), 281);
    assert_eq!(c.cmd("GROUP example.list-1"), "211 3 1 3 example.list-1");
    let caps = c.capabilities();
    assert!(!caps.iter().any(|c| c.starts_with("AUTHINFO")), "no AUTHINFO once authenticated: {caps:?}");
    assert_eq!(code(&c.cmd("QUIT")), 205);
}

/// STARTTLS after a successful AUTHINFO (plaintext auth allowed) is 502; without a
/// certificate it is neither advertised nor possible (580).
#[test]
fn starttls_refused_after_authinfo_and_without_certificate() {
    let cert = TestCert::new("a");
    let archive = secure_archive("allow_plaintext_auth = true\n", Some(&cert));
    let server = archive.serve();
    let mut c = Conn::plain(server.addr);
    let caps = c.capabilities();
    assert!(has(&caps, "AUTHINFO USER"), "plaintext auth allowed: {caps:?}");
    assert!(has(&caps, "STARTTLS"), "{caps:?}");
    assert_eq!(code(&c.login(ALICE)), 281, "AUTHINFO over plaintext when allowed");
    let caps = c.capabilities();
    assert!(!has(&caps, "STARTTLS"), "no STARTTLS after AUTHINFO: {caps:?}");
    assert_eq!(code(&c.cmd("STARTTLS")), 502, "STARTTLS after AUTHINFO");
    assert_eq!(c.cmd("GROUP example.list-1"), "211 3 1 3 example.list-1", "the session goes on");
    drop(server);

    let archive = secure_archive("", None);
    let server = archive.serve();
    let mut c = Conn::plain(server.addr);
    let caps = c.capabilities();
    assert!(!has(&caps, "STARTTLS"), "no certificate, no STARTTLS: {caps:?}");
    assert_eq!(code(&c.cmd("STARTTLS")), 580, "no certificate");
    assert_eq!(code(&c.cmd("DATE")), 111, "the session goes on after 580");
}

/// After `382` with plaintext pipelined behind STARTTLS, a client that goes on with the TLS
/// handshake (the victim of CVE-2011-0411) must never see an answer to the injected
/// command, neither in plaintext nor under TLS: the server closes the connection.
fn assert_injection_refused(mut c: Conn, config: &Arc<rustls::ClientConfig>, what: &str) {
    let status = c.line();
    assert_eq!(code(&status), 382, "{what}: {status}");
    // No NNTP after 382: the server either closed (perhaps with a TLS alert, when it took the
    // injected line for a ClientHello) or awaits a ClientHello.
    let Io::Plain(mut tcp) = std::mem::replace(&mut c.io, Io::Gone) else { unreachable!() };
    let mut after = c.buf[c.start..].to_vec();
    tcp.set_read_timeout(Some(Duration::from_secs(1))).expect("timeout");
    let closed = loop {
        let mut tmp = [0u8; 4096];
        match tcp.read(&mut tmp) {
            Ok(0) => break true,
            Ok(n) => after.extend_from_slice(&tmp[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break false,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break true,
            Err(e) => panic!("{what}: {e}"),
        }
    };
    assert!(
        after.is_empty() || (closed && after[0] == 0x15),
        "{what}: after 382 the server sent {:?}",
        String::from_utf8_lossy(&after)
    );
    if closed {
        return;
    }
    tcp.set_read_timeout(Some(Duration::from_secs(3))).expect("timeout");
    let Ok(tls) = handshake(tcp, config) else { return };
    let mut c = Conn::over(Io::Tls(tls));
    match c.try_line() {
        Ok(None) => {}
        Ok(Some(l)) => panic!("{what}: the injected command was answered under TLS: {:?}", String::from_utf8_lossy(&l)),
        Err(e) => panic!("{what}: the connection was left open after the injection ({e})"),
    }
}

/// CVE-2011-0411: plaintext pipelined behind STARTTLS (in the same write) closes the
/// connection without an answer; the guard does not disturb a proper upgrade.
#[test]
fn plaintext_pipelined_behind_starttls_closes_the_connection() {
    let cert = TestCert::new("a");
    let config = client_config(&[&cert]);
    let archive = secure_archive("allow_plaintext_auth = true\n", Some(&cert));
    let server = archive.serve();

    for injected in ["AUTHINFO USER alice", "CAPABILITIES", "GROUP example.list-1", "DATE\r\nDATE"] {
        let mut c = Conn::plain(server.addr);
        c.send(format!("STARTTLS\r\n{injected}\r\n").as_bytes());
        assert_injection_refused(c, &config, &format!("STARTTLS then {injected:?} in one write"));
    }
    // Commands before STARTTLS in the same write are answered; what follows it is not.
    let mut c = Conn::plain(server.addr);
    c.send(b"DATE\r\nSTARTTLS\r\nAUTHINFO USER alice\r\n");
    assert_eq!(code(&c.line()), 111);
    assert_injection_refused(c, &config, "DATE, STARTTLS, AUTHINFO in one write");

    // In two writes, the second sent before 382 is read: it reaches the server before or
    // during its handshake; either way it is never answered.
    let mut c = Conn::plain(server.addr);
    c.send(b"STARTTLS\r\n");
    c.send(b"AUTHINFO USER alice\r\n");
    assert_injection_refused(c, &config, "STARTTLS then AUTHINFO in a second write");

    // Other clients are not affected, and a proper upgrade still works.
    let mut c = Conn::plain(server.addr);
    c.starttls(&config);
    assert_eq!(code(&c.cmd("DATE")), 111);
}

// ---------------------------------------------------------------------------------------
// COMPRESS DEFLATE

fn check_compressed_session(c: &mut Conn, group: &str) {
    let caps = c.capabilities();
    assert!(!caps.iter().any(|c| c.starts_with("COMPRESS")), "not advertised once active: {caps:?}");
    assert!(caps.iter().any(|c| c == "READER"), "{caps:?}");
    assert_eq!(c.cmd(&format!("GROUP {group}")), format!("211 3 1 3 {group}"));
    let (s, over) = c.multi("XOVER 1-", 224);
    assert_eq!(code(&s), 224, "{s}");
    assert_eq!(over.len(), 3, "{over:?}");
    assert!(over[2].contains("<cross-1@sec.example>"), "{over:?}");
    let (s, article) = c.multi("ARTICLE 3", 220);
    assert_eq!(code(&s), 220, "{s}");
    assert_eq!(article.last().map(String::as_str), Some("to both lists"), "{article:?}");
    // Many pipelined commands in one compressed write, answered in order.
    let mut batch = String::new();
    for _ in 0..50 {
        batch.push_str("STAT 1\r\nDATE\r\n");
    }
    c.send(batch.as_bytes());
    for _ in 0..50 {
        assert_eq!(code(&c.line()), 223);
        assert_eq!(code(&c.line()), 111);
    }
    assert_eq!(code(&c.cmd("COMPRESS DEFLATE")), 502, "already active");
    assert_eq!(code(&c.cmd("STARTTLS")), 502, "no STARTTLS under compression");
}

/// COMPRESS DEFLATE (RFC 8054): 503 for another algorithm, 206, then raw DEFLATE both ways
/// with every response flushed (each is read without sending anything more), 502 once
/// active; over plain TCP and over TLS after AUTHINFO.
#[test]
fn compress_deflate_over_plain_and_tls() {
    let cert = TestCert::new("a");
    let archive = secure_archive("", Some(&cert));
    let server = archive.serve();

    let mut c = Conn::plain(server.addr);
    c.set_timeout(10);
    let caps = c.capabilities();
    assert!(has(&caps, "COMPRESS DEFLATE"), "{caps:?}");
    assert_eq!(code(&c.cmd("COMPRESS ZLIB")), 503, "an unknown algorithm");
    assert_eq!(code(&c.cmd("DATE")), 111, "still uncompressed after 503");
    c.compress();
    check_compressed_session(&mut c, "example.list-0");
    // The private group still asks for authentication under compression.
    assert_eq!(code(&c.cmd("GROUP example.list-1")), 480);
    assert_eq!(code(&c.cmd("QUIT")), 205);
    c.assert_closed("after QUIT");

    let mut c = Conn::tls(server.tls_addrs[0], &client_config(&[&cert]));
    c.set_timeout(10);
    assert_eq!(code(&c.login(ALICE)), 281);
    c.compress();
    check_compressed_session(&mut c, "example.list-1");
    assert_eq!(code(&c.cmd("QUIT")), 205);

    // STARTTLS, then COMPRESS on the plain listener.
    let mut c = Conn::plain(server.addr);
    c.set_timeout(10);
    c.starttls(&client_config(&[&cert]));
    c.compress();
    check_compressed_session(&mut c, "example.list-0");
}

// ---------------------------------------------------------------------------------------
// AUTHINFO

/// AUTHINFO USER/PASS codes (RFC 4643): 482 out of sequence, 481 for a bad password or an
/// unknown user, 281, then 502; 483 over plaintext unless allowed.
#[test]
fn authinfo_user_pass() {
    let cert = TestCert::new("a");
    let archive = secure_archive("", Some(&cert));
    let server = archive.serve();
    let config = client_config(&[&cert]);

    let mut c = Conn::tls(server.tls_addrs[0], &config);
    assert_eq!(code(&c.cmd("AUTHINFO PASS wonderland")), 482, "PASS without USER");
    assert_eq!(code(&c.login(("alice", "wrong"))), 481, "bad password");
    assert_eq!(code(&c.login(("mallory", "wonderland"))), 481, "unknown user");
    assert_eq!(code(&c.cmd("AUTHINFO PASS wonderland")), 482, "the USER of a failed attempt is used up");
    assert_eq!(code(&c.login(ALICE)), 281);
    assert_eq!(code(&c.cmd("AUTHINFO USER alice")), 502, "already authenticated");
    assert_eq!(code(&c.cmd("AUTHINFO PASS wonderland")), 502, "already authenticated");
    let caps = c.capabilities();
    assert!(!caps.iter().any(|c| c.starts_with("AUTHINFO")), "{caps:?}");

    // Plaintext without allow_plaintext_auth: 483, and the password is never taken.
    let mut p = Conn::plain(server.addr);
    let caps = p.capabilities();
    assert!(has(&caps, "AUTHINFO"), "{caps:?}");
    assert_eq!(code(&p.cmd("AUTHINFO USER alice")), 483);
    assert_eq!(code(&p.cmd("AUTHINFO PASS wonderland")), 483);
    assert_eq!(code(&p.cmd("GROUP example.list-1")), 480, "still anonymous");
    drop(server);

    // With allow_plaintext_auth = true the plain listener takes AUTHINFO.
    let archive = secure_archive("allow_plaintext_auth = true\n", None);
    let server = archive.serve();
    let mut p = Conn::plain(server.addr);
    let caps = p.capabilities();
    assert!(has(&caps, "AUTHINFO USER"), "{caps:?}");
    assert_eq!(code(&p.login(BOB)), 281);
    assert_eq!(code(&p.cmd("GROUP example.list-1")), 411, "bob is not a reader of list-1");
}

/// `listnews passwd` prints a hash the server accepts for that password only.
#[test]
fn passwd_command_makes_a_working_hash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_listnews"))
        .arg("passwd")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("listnews passwd");
    child.stdin.take().expect("stdin").write_all(b"correct horse\n").expect("password");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let hash = String::from_utf8(out.stdout).expect("utf-8").trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    let archive = Archive::with_config(|text| {
        format!(
            "{}\n[[user]]\nname = \"carol\"\npassword_hash = \"{hash}\"\n",
            text.replacen("[server]\n", "[server]\nallow_plaintext_auth = true\n", 1)
        )
    });
    let server = archive.serve();
    let mut c = Conn::plain(server.addr);
    assert_eq!(code(&c.login(("carol", "correct horse"))), 281);
    let mut c = Conn::plain(server.addr);
    assert_eq!(code(&c.login(("carol", "correct"))), 481);
}

// ---------------------------------------------------------------------------------------
// Private groups

fn xref_of(over_line: &str) -> &str {
    over_line.split('\t').find_map(|f| f.strip_prefix("Xref: ")).unwrap_or("")
}

/// A private group is 480 before AUTHINFO and invisible to anonymous clients everywhere
/// (LIST, LIST NEWSGROUPS, NEWGROUPS, NEWNEWS, XPATH, fetch by message-id, Xref and
/// Newsgroups of cross-posted articles); readable by its reader; 411 for another user.
#[test]
fn private_groups() {
    let cert = TestCert::new("a");
    let archive = secure_archive("", Some(&cert));
    let server = archive.serve();
    let config = client_config(&[&cert]);

    let mut anon = Conn::plain(server.addr);
    assert_eq!(code(&anon.cmd("GROUP example.list-1")), 480);
    assert_eq!(code(&anon.cmd("LISTGROUP example.list-1")), 480);
    assert_eq!(code(&anon.cmd("GROUP example.nonexistent")), 411, "480 only for a group that exists");
    let (_, active) = anon.multi("LIST ACTIVE", 215);
    let names: Vec<&str> = active.iter().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(names, ["example.empty", "example.list-0", "example.list-2"], "{active:?}");
    let (_, active) = anon.multi("LIST ACTIVE example.list-1", 215);
    assert!(active.is_empty(), "{active:?}");
    let (_, newsgroups) = anon.multi("LIST NEWSGROUPS", 215);
    assert!(!newsgroups.iter().any(|l| l.contains("list-1")), "{newsgroups:?}");
    assert_eq!(newsgroups.len(), 3, "{newsgroups:?}");
    let (_, newgroups) = anon.multi("NEWGROUPS 19700101 000000 GMT", 231);
    assert!(!newgroups.iter().any(|l| l.contains("list-1")), "{newgroups:?}");
    let (_, counts) = anon.multi("LIST COUNTS", 215);
    assert!(!counts.iter().any(|l| l.contains("list-1")), "{counts:?}");
    let (_, mut news) = anon.multi("NEWNEWS * 19700101 000000 GMT", 230);
    news.sort();
    assert_eq!(
        news,
        ["<cross-1@sec.example>", "<other-1@sec.example>", "<pub-1@sec.example>", "<pub-2@sec.example>"],
        "NEWNEWS without the private-only articles"
    );
    let (_, news) = anon.multi("NEWNEWS example.list-1 19700101 000000 GMT", 230);
    assert!(news.is_empty(), "{news:?}");
    assert_eq!(code(&anon.cmd("XPATH <priv-1@sec.example>")), 430);
    assert_eq!(anon.cmd("XPATH <cross-1@sec.example>"), "223 example.list-0/3");
    assert_eq!(code(&anon.cmd("STAT <priv-1@sec.example>")), 430);
    assert_eq!(code(&anon.cmd("ARTICLE <priv-2@sec.example>")), 430);
    let (s, head) = anon.multi("HEAD <cross-1@sec.example>", 221);
    assert_eq!(code(&s), 221, "{s}");
    assert!(head.contains(&"Newsgroups: example.list-0".to_string()), "{head:?}");
    assert!(head.contains(&format!("Xref: {HOST} example.list-0:3")), "{head:?}");
    assert_eq!(code(&anon.cmd("GROUP example.list-0")), 211);
    let (_, over) = anon.multi("XOVER 1-", 224);
    assert_eq!(over.len(), 3);
    assert_eq!(xref_of(&over[2]), format!("{HOST} example.list-0:3"), "{over:?}");
    let (_, over) = anon.multi("OVER <cross-1@sec.example>", 224);
    assert_eq!(xref_of(&over[0]), format!("{HOST} example.list-0:3"), "{over:?}");
    let (_, hdr) = anon.multi("HDR Xref 3", 225);
    assert_eq!(hdr, [format!("3 {HOST} example.list-0:3")]);
    let (_, hdr) = anon.multi("XHDR Newsgroups 1-3", 221);
    assert!(!hdr.iter().any(|l| l.contains("list-1")), "{hdr:?}");
    assert_eq!(code(&anon.cmd("HDR Subject <priv-1@sec.example>")), 430);
    let (_, thread) = anon.multi("XTHREAD <cross-1@sec.example>", 224);
    assert_eq!(thread.len(), 1, "{thread:?}");
    assert!(thread[0].contains(&format!("\tXref: {HOST} example.list-0:3\t")), "{thread:?}");
    assert_eq!(code(&anon.cmd("XTHREAD <priv-2@sec.example>")), 430);
    let (_, titles) = anon.multi("XGTITLE example.list-*", 282);
    assert!(!titles.iter().any(|l| l.contains("list-1")), "{titles:?}");
    let (_, times) = anon.multi("LIST ACTIVE.TIMES", 215);
    assert!(!times.iter().any(|l| l.contains("list-1")), "{times:?}");

    // alice, a reader of list-1.
    let mut alice = Conn::tls(server.tls_addrs[0], &config);
    assert_eq!(code(&alice.login(ALICE)), 281);
    let (_, active) = alice.multi("LIST ACTIVE", 215);
    assert!(active.iter().any(|l| l.starts_with("example.list-1 3 1 ")), "{active:?}");
    assert_eq!(alice.cmd("GROUP example.list-1"), "211 3 1 3 example.list-1");
    let (_, over) = alice.multi("XOVER 1-", 224);
    assert_eq!(over.len(), 3);
    assert_eq!(xref_of(&over[2]), format!("{HOST} example.list-0:3 example.list-1:3"), "{over:?}");
    let (s, body) = alice.multi("BODY 1", 222);
    assert!(s.contains("<priv-1@sec.example>"), "{s}");
    assert_eq!(body, ["private body one"]);
    assert_eq!(alice.cmd("XPATH <cross-1@sec.example>"), "223 example.list-0/3 example.list-1/3");
    let (_, mut news) = alice.multi("NEWNEWS example.list-1 19700101 000000 GMT", 230);
    news.sort();
    assert_eq!(news, ["<cross-1@sec.example>", "<priv-1@sec.example>", "<priv-2@sec.example>"]);

    // bob, authenticated but not a reader: the group does not exist for him.
    let mut bob = Conn::tls(server.tls_addrs[0], &config);
    assert_eq!(code(&bob.login(BOB)), 281);
    assert_eq!(code(&bob.cmd("GROUP example.list-1")), 411);
    assert_eq!(code(&bob.cmd("LISTGROUP example.list-1")), 411);
    assert_eq!(code(&bob.cmd("XPATH <priv-2@sec.example>")), 430);
    let (_, news) = bob.multi("NEWNEWS example.list-* 19700101 000000 GMT", 230);
    assert!(!news.iter().any(|l| l.starts_with("<priv-")), "{news:?}");
    assert_eq!(code(&bob.cmd("ARTICLE <priv-1@sec.example>")), 430);
    let (_, active) = bob.multi("LIST ACTIVE", 215);
    assert!(!active.iter().any(|l| l.contains("list-1")), "{active:?}");
}

// ---------------------------------------------------------------------------------------
// Limits and the PROXY protocol

/// Reads what a refused connection gets: one `400` line, then the close.
fn assert_refused(c: &mut Conn, what: &str) {
    let line = c.next_line().map(|l| String::from_utf8_lossy(&l).into_owned());
    let line = line.unwrap_or_else(|| panic!("{what}: closed without a 400 line"));
    assert!(line.starts_with("400 "), "{what}: {line}");
    c.assert_closed(what);
}

/// `max_connections_per_ip`: the connection over the cap gets 400 and is closed, plain and
/// TLS listeners count together, the others keep working, a slot frees when one leaves.
/// `max_connections`: the same for the total.
#[test]
fn connection_limits() {
    let cert = TestCert::new("a");
    let archive = secure_archive("max_connections_per_ip = 2\n", Some(&cert));
    let server = archive.serve();
    let config = client_config(&[&cert]);
    let mut c1 = Conn::plain(server.addr);
    let mut c2 = Conn::tls(server.tls_addrs[0], &config);
    assert!(c1.greeting.starts_with("201") && c2.greeting.starts_with("201"));
    let mut c3 = Conn::raw_plain(server.addr);
    c3.set_timeout(5);
    assert_refused(&mut c3, "third plain connection from 127.0.0.1");
    let mut c4 = Conn::over(Io::Tls(handshake(tcp(server.tls_addrs[0]), &config).expect("handshake")));
    c4.set_timeout(5);
    assert_refused(&mut c4, "third connection, over TLS");
    assert_eq!(code(&c1.cmd("DATE")), 111, "earlier connections keep working");
    assert_eq!(code(&c2.cmd("DATE")), 111);
    assert_eq!(code(&c2.cmd("QUIT")), 205);
    drop(c2);
    assert!(
        wait_until(5, || Conn::plain(server.addr).greeting.starts_with("201")),
        "a slot frees when a client leaves"
    );
    drop(server);

    let archive = secure_archive("max_connections = 2\n", None);
    let server = archive.serve();
    let mut c1 = Conn::plain(server.addr);
    let c2 = Conn::plain(server.addr);
    assert!(c1.greeting.starts_with("201") && c2.greeting.starts_with("201"));
    let mut c3 = Conn::raw_plain(server.addr);
    c3.set_timeout(5);
    assert_refused(&mut c3, "third connection with max_connections = 2");
    assert_eq!(code(&c1.cmd("GROUP example.list-0")), 211);
    drop(c2);
    assert!(wait_until(5, || Conn::plain(server.addr).greeting.starts_with("201")), "a slot frees");
}

fn proxy_v1(src: &str, dst_port: u16) -> Vec<u8> {
    format!("PROXY TCP4 {src} 127.0.0.1 40000 {dst_port}\r\n").into_bytes()
}

fn proxy_v2(src: [u8; 4], dst_port: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend_from_slice(&[0x21, 0x11, 0, 12]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&[127, 0, 0, 1]);
    h.extend_from_slice(&40000u16.to_be_bytes());
    h.extend_from_slice(&dst_port.to_be_bytes());
    h
}

/// A connection to the proxied listener that sends `header` (and `after`, in the same write).
fn proxied(addr: SocketAddr, header: &[u8], after: &[u8]) -> Conn {
    let mut c = Conn::raw_plain(addr);
    c.set_timeout(5);
    c.send(&[header, after].concat());
    c
}

/// PROXY v1 and v2 on a listener marked for it: the per-IP cap counts the address in the
/// header, bytes after the header are commands, a malformed header closes the connection.
#[test]
fn proxy_protocol_addresses_and_caps() {
    let [port, tls_port] = free_ports();
    let cert = TestCert::new("a");
    let archive = secure_archive("", Some(&cert));
    let text = std::fs::read_to_string(archive.config_path()).expect("config");
    let text = text
        .replacen(
            "listen = [\"127.0.0.1:0\"]",
            &format!(
                "listen = [\"127.0.0.1:{port}\"]\nproxy_protocol = [\"127.0.0.1:{port}\", \"127.0.0.1:{tls_port}\"]\nmax_connections_per_ip = 1"
            ),
            1,
        )
        .replacen("listen_tls = [\"127.0.0.1:0\"]", &format!("listen_tls = [\"127.0.0.1:{tls_port}\"]"), 1);
    std::fs::write(archive.config_path(), text).expect("config");
    let archive = Archive { config: listnews::config::Config::load(&archive.config_path()).expect("load"), ..archive };
    let server = archive.serve();
    let (addr, tls_addr) = (server.addr, server.tls_addrs[0]);
    assert_eq!((addr.port(), tls_addr.port()), (port, tls_port));
    let config = client_config(&[&cert]);

    // v1 from 192.0.2.1, with a command right behind the header in the same write.
    let mut a = proxied(addr, &proxy_v1("192.0.2.1", port), b"DATE\r\n");
    assert!(a.line().starts_with("201 "));
    assert_eq!(code(&a.line()), 111, "the command after the header is read as a command");
    // v2 from 198.51.100.7: its own quota, though every TCP peer here is 127.0.0.1.
    let mut b = proxied(addr, &proxy_v2([198, 51, 100, 7], port), b"");
    assert!(b.line().starts_with("201 "));
    assert_eq!(code(&b.cmd("GROUP example.list-0")), 211);
    // A second connection from each of those addresses is over the cap of 1.
    let mut a2 = proxied(addr, &proxy_v1("192.0.2.1", port), b"");
    assert_refused(&mut a2, "second v1 connection from 192.0.2.1");
    let mut b2 = proxied(addr, &proxy_v2([198, 51, 100, 7], port), b"");
    assert_refused(&mut b2, "second v2 connection from 198.51.100.7");
    // A third address (v1, then v2 from yet another) is admitted.
    let mut c = proxied(addr, &proxy_v2([203, 0, 113, 9], port), b"");
    assert!(c.line().starts_with("201 "));
    let mut d = proxied(addr, &proxy_v1("203.0.113.10", port), b"");
    assert!(d.line().starts_with("201 "));

    // On the TLS listener the header comes first, then the handshake; the cap is shared
    // with the plain listener and counts the proxied address.
    let tls_via_proxy = |src: [u8; 4]| {
        let mut sock = tcp(tls_addr);
        sock.write_all(&proxy_v2(src, tls_port)).expect("header");
        let c = Conn::over(Io::Tls(handshake(sock, &config).expect("TLS handshake after the PROXY header")));
        c.set_timeout(5);
        c
    };
    let mut e = tls_via_proxy([192, 0, 2, 50]);
    assert!(e.line().starts_with("201 "));
    assert_eq!(code(&e.login(ALICE)), 281, "AUTHINFO under TLS behind the proxy");
    let mut a3 = tls_via_proxy([192, 0, 2, 1]);
    assert_refused(&mut a3, "TLS connection from 192.0.2.1, which has a plain one");

    // Malformed headers: closed without a greeting.
    for (bad, what) in [
        (b"GROUP example.list-0\r\n".to_vec(), "no header at all"),
        (b"PROXY TCP4 not-an-address 127.0.0.1 1 2\r\n".to_vec(), "bad v1 address"),
        (b"PROXY TCP4 ::1 127.0.0.1 1 2\r\n".to_vec(), "v1 family mismatch"),
        ([b"\r\n\r\n\0\r\nQUIT\n".as_slice(), &[0x11, 0x11, 0, 0]].concat(), "v2 bad version"),
        ([b"PROXY ".as_slice(), &[b'x'; 200], b"\r\n"].concat(), "v1 too long"),
    ] {
        let mut bad = proxied(addr, &bad, b"");
        bad.assert_closed(what);
    }

    // The admitted connections still work; leaving frees the proxied address's slot.
    assert_eq!(code(&a.cmd("DATE")), 111);
    assert_eq!(code(&b.cmd("QUIT")), 205);
    drop(b);
    assert!(
        wait_until(5, || {
            let mut again = proxied(addr, &proxy_v2([198, 51, 100, 7], port), b"");
            again.next_line().is_some_and(|l| l.starts_with(b"201"))
        }),
        "198.51.100.7's slot frees"
    );
}

/// A client that connects and then stalls (no TLS ClientHello on the NNTPS listener, none
/// after `382`, no PROXY header) is cut off like the implicit-TLS handshake is (10 s in the
/// server), rather than holding its connection slot forever.
#[test]
fn stalled_handshakes_are_cut_off() {
    let [proxy_port] = free_ports();
    let cert = TestCert::new("a");
    let archive = secure_archive("", Some(&cert));
    let text = std::fs::read_to_string(archive.config_path()).expect("config");
    let text = text.replacen(
        "listen = [\"127.0.0.1:0\"]",
        &format!(
            "listen = [\"127.0.0.1:0\", \"127.0.0.1:{proxy_port}\"]\nproxy_protocol = [\"127.0.0.1:{proxy_port}\"]"
        ),
        1,
    );
    std::fs::write(archive.config_path(), text).expect("config");
    let archive = Archive { config: listnews::config::Config::load(&archive.config_path()).expect("load"), ..archive };
    let server = archive.serve();
    let proxy_addr = SocketAddr::from(([127, 0, 0, 1], proxy_port));

    // Each stalled client waits up to 14 s for the server to close; returns how long it took.
    let stall = |mut c: Conn| -> Result<Duration, String> {
        let t = Instant::now();
        c.set_timeout(14);
        match c.try_line() {
            Ok(None) => Ok(t.elapsed()),
            Ok(Some(l)) => Err(format!("unexpected line {:?}", String::from_utf8_lossy(&l))),
            Err(e) => Err(format!("still open after {:?} ({e})", t.elapsed())),
        }
    };
    let (implicit, starttls, proxy) = std::thread::scope(|s| {
        let implicit = s.spawn(|| stall(Conn::raw_plain(server.tls_addrs[0])));
        let starttls = s.spawn(|| {
            let mut c = Conn::plain(server.addr);
            let status = c.cmd("STARTTLS");
            assert_eq!(code(&status), 382, "{status}");
            stall(c)
        });
        let proxy = s.spawn(|| stall(Conn::raw_plain(proxy_addr)));
        (implicit.join().unwrap(), starttls.join().unwrap(), proxy.join().unwrap())
    });
    println!("stalled: implicit TLS {implicit:?}, after STARTTLS {starttls:?}, PROXY header {proxy:?}");
    assert!(implicit.is_ok(), "no ClientHello on the NNTPS listener: {implicit:?}");
    assert!(proxy.is_ok(), "no PROXY header: {proxy:?}");
    assert!(starttls.is_ok(), "no ClientHello after 382: {starttls:?}");
}

// ---------------------------------------------------------------------------------------
// A client that does not read; signals

/// Clients ask for many large XOVERs in one write and never read, over plain TCP, over TLS
/// and under COMPRESS DEFLATE: the server's memory stays bounded (it writes a chunk and
/// waits on the socket), and other clients are still served quickly.
#[test]
fn stuck_readers_keep_server_memory_bounded() {
    const ARTICLES: usize = 4000;
    const REPEATS: usize = 200;
    let cert = TestCert::new("a");
    let config = client_config(&[&cert]);
    let archive = big_archive(ARTICLES, Some(&cert));
    let mut served = spawn_serve(&archive.config_path(), 1, 1);
    let (addr, tls) = (served.plain[0], served.tls[0]);

    // Warm up (store cache, allocator, TLS, DEFLATE) with full XOVERs read normally; the
    // size of one answer is what each repeat asks for.
    let mut over_bytes = 0;
    let t = Instant::now();
    for mut warm in [Conn::plain(addr), Conn::tls(tls, &config), {
        let mut c = Conn::plain(addr);
        c.compress();
        c
    }] {
        assert_eq!(code(&warm.cmd("GROUP example.list-0")), 211);
        let (s, over) = warm.multi("XOVER 1-", 224);
        assert_eq!((code(&s), over.len()), (224, ARTICLES));
        over_bytes = over.iter().map(|l| l.len() + 2).sum::<usize>() + 3;
    }
    let warm_up = t.elapsed();
    let before = served.rss_kib();
    let mut request = b"GROUP example.list-0\r\n".to_vec();
    for _ in 0..REPEATS {
        request.extend_from_slice(b"XOVER 1-\r\n");
    }
    let requested_kib = (over_bytes * REPEATS / 1024) as u64;

    let mut stuck = Vec::new();
    let mut last = before;
    for kind in ["plain", "TLS", "DEFLATE"] {
        let mut c = match kind {
            "plain" => Conn::plain(addr),
            "TLS" => Conn::tls(tls, &config),
            _ => {
                let mut c = Conn::plain(addr);
                c.compress();
                c
            }
        };
        c.send(&request);
        // Let the server fill the socket buffers and block; sample the RSS meanwhile.
        let mut peak = last;
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(2) {
            peak = peak.max(served.rss_kib());
            std::thread::sleep(Duration::from_millis(100));
        }
        let growth = peak.saturating_sub(last);
        println!(
            "stuck {kind} reader: RSS {last} KiB -> peak {peak} KiB (+{growth} KiB) for {requested_kib} KiB requested ({REPEATS} x XOVER of {ARTICLES} articles, {over_bytes} octets each)"
        );
        assert!(growth < 32 * 1024, "{kind}: RSS grew by {growth} KiB while a client did not read");
        assert!(growth * 10 < requested_kib, "{kind}: RSS grew by {growth} KiB for {requested_kib} KiB requested");
        last = served.rss_kib();
        stuck.push(c);
    }
    let total = last.saturating_sub(before);
    println!(
        "three stuck readers: RSS {before} KiB -> {last} KiB (+{total} KiB); warm-up of 3 XOVERs took {warm_up:?}"
    );
    assert!(total < 48 * 1024, "RSS grew by {total} KiB with three clients not reading");

    // Another client is answered quickly meanwhile.
    let t = Instant::now();
    let mut other = Conn::plain(addr);
    assert_eq!(code(&other.cmd("GROUP example.list-0")), 211);
    let (s, over) = other.multi("XOVER 1-20", 224);
    assert_eq!((code(&s), over.len()), (224, 20));
    let (s, over) = other.multi("XOVER 3990-", 224);
    assert_eq!((code(&s), over.len()), (224, 11));
    assert!(t.elapsed() < Duration::from_secs(2), "answered in {:?} while clients are stuck", t.elapsed());

    // What the stuck clients did get is well-formed: the GROUP answer, then whole XOVERs.
    for c in &mut stuck {
        assert_eq!(code(&c.line()), 211);
        for _ in 0..2 {
            let (status, lines) = read_over(c);
            assert_eq!(lines, Some(ARTICLES), "{status}");
        }
    }
    drop(stuck);
    served.signal("TERM");
    let status = served.wait_exit(30).expect("the server exits after SIGTERM");
    assert!(status.success(), "{status}");
}

/// SIGTERM while a client is in the middle of large XOVERs: every answer it gets is
/// complete (the one under way finishes), then 400 or EOF; the process exits 0.
#[test]
fn sigterm_finishes_the_response_under_way() {
    const ARTICLES: usize = 4000;
    const REPEATS: usize = 24;
    let archive = big_archive(ARTICLES, None);
    let mut served = spawn_serve(&archive.config_path(), 1, 0);
    let addr = served.plain[0];

    let mut c = Conn::plain(addr);
    assert_eq!(code(&c.cmd("GROUP example.list-0")), 211);
    let mut request = Vec::new();
    for _ in 0..REPEATS {
        request.extend_from_slice(b"XOVER 1-\r\n");
    }
    c.send(&request);
    // Read the start of the first answer, so the server is mid-response, then SIGTERM.
    assert_eq!(code(&c.line()), 224);
    for _ in 0..10 {
        c.next_line().expect("an overview line");
    }
    std::thread::sleep(Duration::from_millis(300));
    served.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(served.child.try_wait().expect("try_wait").is_none(), "the server waits for the response under way");
    // Meanwhile it takes no new connections.
    let refused = match TcpStream::connect(addr) {
        Err(_) => true,
        Ok(sock) => {
            sock.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
            let mut line = String::new();
            let _ = BufReader::new(sock).read_line(&mut line);
            !line.starts_with("201")
        }
    };
    assert!(refused, "a new connection is not served while draining");

    // The rest of the first answer, then whole answers, then 400 or EOF.
    let mut rest = 10;
    while c.next_line().expect("the rest of the answer under way") != b"." {
        rest += 1;
    }
    assert_eq!(rest, ARTICLES, "the answer under way at SIGTERM is complete");
    let mut complete = 1;
    let end = loop {
        match read_over(&mut c) {
            (_, Some(n)) => {
                assert_eq!(n, ARTICLES, "answer {} is complete", complete + 1);
                complete += 1;
            }
            (status, None) => break status,
        }
    };
    assert!(end == "EOF" || end.starts_with("400 "), "after the answers: {end}");
    if end != "EOF" {
        c.assert_closed("after 400");
    }
    println!("SIGTERM: {complete} of {REPEATS} XOVER answers complete, then {end:?}");
    let status = served.wait_exit(30).expect("the server exits after SIGTERM");
    assert!(status.success(), "exit status {status}");
    // And it no longer accepts connections.
    assert!(TcpStream::connect(addr).is_err(), "nothing listens after exit");
}

/// SIGHUP: the config file and the certificate are reloaded; connections stay up, new TLS
/// connections get the new certificate, a group added to the file is listed.
#[test]
fn sighup_reloads_config_and_certificate() {
    let old = TestCert::new("old");
    let new = TestCert::new("new");
    let archive = secure_archive("", Some(&old));
    let config_path = archive.config_path();
    let mut served = spawn_serve(&config_path, 1, 1);
    let (plain, tls) = (served.plain[0], served.tls[0]);
    let trust_both = client_config(&[&old, &new]);

    let mut c = Conn::plain(plain);
    assert_eq!(code(&c.cmd("GROUP example.list-0")), 211);
    let mut t = Conn::tls(tls, &trust_both);
    assert_eq!(t.peer_cert().as_deref(), Some(old.cert_der.as_ref()));
    assert_eq!(code(&t.login(ALICE)), 281);
    assert_eq!(code(&t.cmd("GROUP example.list-1")), 211);

    // A SIGHUP with nothing changed drops nobody.
    served.signal("HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(code(&c.cmd("STAT")), 223, "the session keeps its state across SIGHUP");
    assert_eq!(code(&t.cmd("STAT 1")), 223);

    // A broken key or a broken config file: the running configuration stays.
    let text = std::fs::read_to_string(&config_path).expect("config");
    std::fs::write(archive.dir.path().join("key.pem"), "not a key\n").expect("key.pem");
    served.signal("HUP");
    std::thread::sleep(Duration::from_millis(500));
    let mut k = Conn::tls(tls, &trust_both);
    assert_eq!(k.peer_cert().as_deref(), Some(old.cert_der.as_ref()), "a bad key keeps the old certificate");
    assert_eq!(code(&k.cmd("DATE")), 111);
    new.install(archive.dir.path());
    std::fs::write(&config_path, format!("{text}\n[[group]]\nname = \"bad name\"\n")).expect("config");
    served.signal("HUP");
    std::thread::sleep(Duration::from_millis(500));
    assert!(served.child.try_wait().expect("try_wait").is_none(), "a bad config file does not stop the server");
    assert_eq!(code(&c.cmd("STAT")), 223, "a bad config file drops nobody");
    let (_, active) = Conn::plain(plain).multi("LIST ACTIVE", 215);
    assert_eq!(active.len(), 3, "the running (public) groups stay: {active:?}");

    std::fs::write(
        &config_path,
        format!(
            "{text}\n[[group]]\nname = \"example.added\"\ndescription = \"Added by reload\"\naddress = \"added@lists.example.org\"\n"
        ),
    )
    .expect("config");
    served.signal("HUP");
    let reloaded = wait_until(10, || Conn::tls(tls, &trust_both).peer_cert().as_deref() == Some(new.cert_der.as_ref()));
    assert!(reloaded, "a new TLS connection presents the new certificate after SIGHUP");
    // Only the new CA is needed now.
    let mut n = Conn::tls(tls, &client_config(&[&new]));
    assert!(n.greeting.starts_with("201"));
    assert!(
        wait_until(10, || {
            let mut fresh = Conn::plain(plain);
            let (_, active) = fresh.multi("LIST ACTIVE", 215);
            active.iter().any(|l| l.starts_with("example.added "))
        }),
        "the added group is listed for new connections"
    );
    let (_, newsgroups) = n.multi("LIST NEWSGROUPS example.added", 215);
    assert_eq!(newsgroups, ["example.added\tAdded by reload"]);
    assert_eq!(n.cmd("GROUP example.added"), "211 0 1 0 example.added");

    // The connections from before both reloads still work, with their state.
    assert_eq!(code(&c.cmd("STAT")), 223);
    assert_eq!(code(&c.cmd("DATE")), 111);
    assert_eq!(code(&t.cmd("STAT 2")), 223, "still authenticated, still in the private group");
    let (s, _) = t.multi("BODY 1", 222);
    assert_eq!(code(&s), 222);

    served.signal("TERM");
    let status = served.wait_exit(30).expect("exit after SIGTERM");
    assert!(status.success(), "{status}");
}

// ---------------------------------------------------------------------------------------
// Python's nntplib over NNTPS and STARTTLS

/// `clients/nntplib_tls.py`: nntplib.NNTP_SSL and NNTP.starttls() with an SSLContext that
/// trusts the test CA, AUTHINFO, and a private group read.
#[test]
fn nntplib_over_nntps_and_starttls() {
    let cert = TestCert::new("a");
    let archive = secure_archive("", Some(&cert));
    let server = archive.serve();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocol-tests/clients/nntplib_tls.py");
    let out = Command::new("python3")
        .arg(script)
        .arg("127.0.0.1")
        .arg(server.addr.port().to_string())
        .arg(server.tls_addrs[0].port().to_string())
        .arg(archive.dir.path().join("ca.pem"))
        .args([ALICE.0, ALICE.1, "example.list-1"])
        .output()
        .expect("python3 (install Python 3.11 with nntplib)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "nntplib_tls.py failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let records: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    let find = |mode: &str, kind: &str| -> Vec<&str> {
        records
            .iter()
            .find(|r| r[0] == mode && r[1] == kind)
            .unwrap_or_else(|| panic!("no {mode} {kind} record in:\n{stdout}"))[2..]
            .to_vec()
    };
    assert_eq!(find("untrusted", "connect"), ["refused"], "the default trust store refuses the test cert");
    for mode in ["nntps", "starttls"] {
        assert!(find(mode, "tls")[0].starts_with("TLSv1."), "{stdout}");
        assert_eq!(find(mode, "group-before-login"), ["480"], "{stdout}");
        assert_eq!(find(mode, "caps-before-login"), ["USER"], "AUTHINFO USER under TLS: {stdout}");
        assert_eq!(find(mode, "caps-after-login"), ["none"], "{stdout}");
        assert_eq!(find(mode, "group"), ["3", "1", "3", "example.list-1"]);
        let overs: Vec<&Vec<&str>> = records.iter().filter(|r| r[0] == mode && r[1] == "over").collect();
        let ids: Vec<&str> = overs.iter().map(|r| r[3]).collect();
        assert_eq!(ids, ["<priv-1@sec.example>", "<priv-2@sec.example>", "<cross-1@sec.example>"]);
        assert_eq!(overs[2][4], format!("{HOST} example.list-0:3 example.list-1:3"));
        assert_eq!(find(mode, "article"), ["1", "<priv-1@sec.example>", "private body one"]);
    }
    assert_eq!(find("starttls", "advertised"), ["True"]);
}
