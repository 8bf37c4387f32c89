//! One test client for every transport: plain TCP, TLS (implicit or after STARTTLS) and
//! COMPRESS DEFLATE over either, switchable mid-session. It reads answers with the project's
//! own client reader (`listnews::protocol::client`) and every helper that sends a command
//! asserts the status code the test expects: a wrong answer fails at the call, with the
//! command and what came back.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use listnews::protocol::client::{self as nntp, ClientError};
use rustls::pki_types::ServerName;

/// RFC 8054 DEFLATE over another transport: raw deflate (no zlib header) both ways, each
/// write sync-flushed.
pub struct Deflate {
    inner: Io,
    compress: Compress,
    decompress: Decompress,
    /// Compressed input not yet inflated.
    raw: Vec<u8>,
}

impl Read for Deflate {
    fn read(&mut self, dst: &mut [u8]) -> std::io::Result<usize> {
        loop {
            // Even without new input: the inflater may hold output a small `dst` left behind.
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

pub type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// The transport under a [`Client`].
pub enum Io {
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

    fn socket(&self) -> Option<&TcpStream> {
        match self {
            Io::Plain(s) => Some(s),
            Io::Tls(s) => Some(&s.sock),
            Io::Deflate(d) => d.inner.socket(),
            Io::Gone => None,
        }
    }
}

impl Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = match self {
            Io::Plain(s) => s.read(buf),
            Io::Tls(s) => s.read(buf),
            Io::Deflate(d) => d.read(buf),
            Io::Gone => Ok(0),
        };
        match read {
            // A peer gone without a TLS close_notify, or with a reset: the end of the stream.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof | ErrorKind::ConnectionAborted
                ) =>
            {
                Ok(0)
            }
            other => other,
        }
    }
}

impl Write for Io {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Io::Plain(s) => s.write(buf),
            Io::Tls(s) => s.write(buf),
            Io::Deflate(d) => d.write(buf),
            Io::Gone => Err(std::io::Error::from(ErrorKind::NotConnected)),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Io::Plain(s) => s.flush(),
            Io::Tls(s) => s.flush(),
            Io::Deflate(d) => d.flush(),
            Io::Gone => Ok(()),
        }
    }
}

/// A TCP connection to `addr` with a read timeout and TCP_NODELAY.
pub fn tcp(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    s.set_nodelay(true).expect("nodelay");
    s
}

/// A TCP connection to `addr` from the local address `source` (any of 127.0.0.0/8 on
/// loopback): many clients, many addresses, one machine.
pub fn tcp_from(addr: SocketAddr, source: std::net::IpAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket.bind(&SocketAddr::new(source, 0).into()).unwrap_or_else(|e| panic!("bind {source}: {e}"));
    socket.connect(&addr.into()).unwrap_or_else(|e| panic!("connect to {addr} from {source}: {e}"));
    let s: TcpStream = socket.into();
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    s.set_nodelay(true).expect("nodelay");
    s
}

/// Completes a TLS handshake with the server at 127.0.0.1 over `tcp`.
pub fn handshake(tcp: TcpStream, config: &Arc<rustls::ClientConfig>) -> std::io::Result<Box<TlsStream>> {
    let name = ServerName::try_from("127.0.0.1".to_string()).expect("server name");
    let conn = rustls::ClientConnection::new(config.clone(), name).map_err(std::io::Error::other)?;
    let mut s = Box::new(rustls::StreamOwned::new(conn, tcp));
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock)?;
    }
    Ok(s)
}

/// A status line's code; panics on anything else.
pub fn code(status: &str) -> u16 {
    status.get(..3).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("bad status line {status:?}"))
}

/// A blocking NNTP test client.
pub struct Client {
    inner: nntp::Client<Io>,
    /// The greeting (or, for a refused connection, the `400` line).
    pub greeting: String,
}

impl Client {
    /// Takes a connected transport and reads the first line.
    pub fn over(io: Io) -> Client {
        let inner = nntp::Client::new(io).unwrap_or_else(|e| panic!("no greeting: {e}"));
        let greeting = inner.greeting.to_string();
        Client { inner, greeting }
    }

    /// A plain connection.
    pub fn connect(addr: SocketAddr) -> Client {
        Client::over(Io::Plain(tcp(addr)))
    }

    /// A plain connection from the local address `source`.
    pub fn connect_from(addr: SocketAddr, source: std::net::IpAddr) -> Client {
        Client::over(Io::Plain(tcp_from(addr, source)))
    }

    /// An implicit-TLS connection.
    pub fn tls(addr: SocketAddr, config: &Arc<rustls::ClientConfig>) -> Client {
        Client::over(Io::Tls(handshake(tcp(addr), config).expect("TLS handshake")))
    }

    pub fn set_timeout(&mut self, secs: u64) {
        if let Some(sock) = self.inner.get_mut().socket() {
            sock.set_read_timeout(Some(Duration::from_secs(secs))).expect("timeout");
        }
    }

    /// The server's certificate, once TLS is up.
    pub fn peer_cert(&mut self) -> Option<Vec<u8>> {
        self.inner.get_mut().tls()?.conn.peer_certificates().map(|c| c[0].as_ref().to_vec())
    }

    pub fn tls_version(&mut self) -> Option<rustls::ProtocolVersion> {
        self.inner.get_mut().tls()?.conn.protocol_version()
    }

    /// Sends raw bytes (commands end in CRLF), for pipelining and malformed input.
    pub fn send(&mut self, raw: &[u8]) {
        self.inner.send(raw).unwrap_or_else(|e| panic!("write: {e}"));
    }

    /// The next line without its CRLF, or `None` once the server closed the connection.
    pub fn try_line(&mut self) -> Result<Option<Vec<u8>>, std::io::Error> {
        match self.inner.raw_line() {
            Ok(mut line) => {
                assert!(line.ends_with(b"\r\n"), "line without CRLF: {:?}", String::from_utf8_lossy(&line));
                line.truncate(line.len() - 2);
                Ok(Some(line))
            }
            Err(ClientError::Closed) => Ok(None),
            Err(ClientError::Io(e)) => Err(e),
            Err(e) => panic!("read: {e}"),
        }
    }

    /// Like [`Client::try_line`]; a read error fails the test.
    pub fn next_line(&mut self) -> Option<Vec<u8>> {
        self.try_line().unwrap_or_else(|e| panic!("read: {e}"))
    }

    /// The next line as text; the connection must still be open.
    pub fn line(&mut self) -> String {
        String::from_utf8_lossy(&self.next_line().expect("a response line, not a closed connection")).into_owned()
    }

    /// Reads the next status line (of a pipelined command) and asserts its code.
    pub fn status(&mut self, expected: u16) -> String {
        let status = self.line();
        assert!(
            status.get(..3).and_then(|c| c.parse::<u16>().ok()) == Some(expected),
            "expected {expected}, got {status:?}"
        );
        status
    }

    /// Reads a multi-line block up to `.`, unstuffed, one entry per line.
    pub fn block(&mut self) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        self.inner.block_lines(|l| lines.push(l.to_vec())).unwrap_or_else(|e| panic!("reading a block: {e}"));
        lines
    }

    /// Sends a command and asserts its status code; returns the status line.
    pub fn expect(&mut self, command: &str, expected: u16) -> String {
        self.send(format!("{command}\r\n").as_bytes());
        let status = self.line();
        assert!(
            status.get(..3).and_then(|c| c.parse::<u16>().ok()) == Some(expected),
            "{command}: expected {expected}, got {status:?}"
        );
        status
    }

    /// Sends a command whose answer may be one of `codes`; returns the status line.
    pub fn expect_one_of(&mut self, command: &str, codes: &[u16]) -> String {
        self.send(format!("{command}\r\n").as_bytes());
        let status = self.line();
        assert!(
            status.get(..3).and_then(|c| c.parse::<u16>().ok()).is_some_and(|c| codes.contains(&c)),
            "{command}: expected one of {codes:?}, got {status:?}"
        );
        status
    }

    /// Sends a command, asserts its status code and reads the block that follows.
    pub fn expect_block(&mut self, command: &str, expected: u16) -> (String, Vec<Vec<u8>>) {
        let status = self.expect(command, expected);
        (status, self.block())
    }

    /// [`Client::expect_block`] with the lines as text.
    pub fn expect_text(&mut self, command: &str, expected: u16) -> (String, Vec<String>) {
        let (status, block) = self.expect_block(command, expected);
        (status, block.into_iter().map(|l| String::from_utf8_lossy(&l).into_owned()).collect())
    }

    /// CAPABILITIES, as lines.
    pub fn capabilities(&mut self) -> Vec<String> {
        self.expect_text("CAPABILITIES", 101).1
    }

    /// Asserts that the server closes the connection without sending another line.
    pub fn assert_closed(&mut self, why: &str) {
        if let Some(l) = self.next_line() {
            panic!("{why}: expected the connection to close, got {:?}", String::from_utf8_lossy(&l));
        }
    }

    /// Input received but not read yet.
    pub fn buffered(&self) -> &[u8] {
        self.inner.buffered()
    }

    /// Takes the transport away (for a test that goes on below NNTP).
    pub fn take_io(&mut self) -> Io {
        std::mem::replace(self.inner.get_mut(), Io::Gone)
    }

    /// STARTTLS: expects 382 and completes the handshake.
    pub fn starttls(&mut self, config: &Arc<rustls::ClientConfig>) {
        self.expect("STARTTLS", 382);
        assert!(self.buffered().is_empty(), "nothing may follow 382 in plaintext");
        let Io::Plain(tcp) = self.take_io() else { panic!("STARTTLS over TLS") };
        *self.inner.get_mut() = Io::Tls(handshake(tcp, config).expect("TLS handshake after STARTTLS"));
    }

    /// COMPRESS DEFLATE: expects 206 and wraps the transport.
    pub fn compress(&mut self) {
        self.expect("COMPRESS DEFLATE", 206);
        assert!(self.buffered().is_empty(), "nothing may follow 206 uncompressed");
        let inner = self.take_io();
        *self.inner.get_mut() = Io::Deflate(Box::new(Deflate {
            inner,
            compress: Compress::new(Compression::default(), false),
            decompress: Decompress::new(false),
            raw: Vec::new(),
        }));
    }

    /// AUTHINFO USER (asserting 381) and PASS; returns PASS's status line.
    pub fn login(&mut self, (user, password): (&str, &str)) -> String {
        self.expect(&format!("AUTHINFO USER {user}"), 381);
        self.send(format!("AUTHINFO PASS {password}\r\n").as_bytes());
        self.line()
    }

    /// POST (asserting 340), then the article (CRLF lines, dot-stuffed here); returns the
    /// final status line.
    pub fn post(&mut self, article: &[u8]) -> String {
        self.expect("POST", 340);
        let mut wire = Vec::new();
        for line in article.split_inclusive(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.first() == Some(&b'.') {
                wire.push(b'.');
            }
            wire.extend_from_slice(line);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b".\r\n");
        self.send(&wire);
        self.line()
    }

    /// [`Client::post`] asserting the final code.
    pub fn post_expect(&mut self, article: &[u8], expected: u16) -> String {
        let status = self.post(article);
        assert_eq!(code(&status), expected, "POST: {status}");
        status
    }

    /// AUTHINFO that must succeed.
    pub fn login_ok(&mut self, credentials: (&str, &str)) {
        let status = self.login(credentials);
        assert_eq!(code(&status), 281, "AUTHINFO as {}: {status}", credentials.0);
    }

    /// GROUP, LISTGROUP and (when it holds articles) OVER of a group, as lines: the whole
    /// group as a puller sees it.
    pub fn listing(&mut self, group: &str) -> Vec<String> {
        let status = self.expect(&format!("GROUP {group}"), 211);
        let (count, _, _) = group_status(&status, group);
        let mut out = vec![status];
        out.extend(self.expect_text(&format!("LISTGROUP {group}"), 211).1);
        if count > 0 {
            out.extend(self.expect_text("OVER 1-", 224).1);
        }
        out
    }

    /// GROUP that must succeed: (count, low, high).
    pub fn group(&mut self, group: &str) -> (u64, u64, u64) {
        let status = self.expect(&format!("GROUP {group}"), 211);
        group_status(&status, group)
    }
}

/// `211 count low high group …` -> (count, low, high); the group must be `group`.
pub fn group_status(status: &str, group: &str) -> (u64, u64, u64) {
    let f: Vec<&str> = status.split(' ').collect();
    assert!(f.len() >= 5 && f[0] == "211" && f[4] == group, "GROUP {group}: {status}");
    let n = |s: &str| s.parse::<u64>().unwrap_or_else(|_| panic!("GROUP {group}: {status}"));
    (n(f[1]), n(f[2]), n(f[3]))
}
