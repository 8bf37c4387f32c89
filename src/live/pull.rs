//! Following a group on another NNTP server (`pull = "nntp://host:port/group"`).
//!
//! Incremental: the last upstream number fetched is kept as the source's checkpoint. With
//! `replica = true` each article keeps its upstream number, so replicas behind one load
//! balancer give every client the same numbers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

use crate::config::PullUrl;
use crate::import::message::strip_news_headers;
use crate::import::{ImportError, Importer};

/// ARTICLE commands kept in flight.
const WINDOW: u64 = 64;

fn err(url: &str, what: impl std::fmt::Display) -> ImportError {
    ImportError::Usage(format!("{url}: {what}"))
}

trait Connection: Read + Write + Send {}
impl<T: Read + Write + Send> Connection for T {}

struct Upstream {
    reader: BufReader<Box<dyn Connection>>,
    url: String,
}

/// A TLS client for `nntps://`: rustls with ring, trusting `ca` or the system's roots.
fn tls_client(
    url: &str,
    target: &PullUrl,
    ca: Option<&Path>,
    tcp: TcpStream,
) -> Result<Box<dyn Connection>, ImportError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(ca) => {
            let certs = CertificateDer::pem_file_iter(ca).and_then(|it| it.collect::<Result<Vec<_>, _>>());
            for cert in certs.map_err(|e| err(url, format!("{}: {e}", ca.display())))? {
                roots.add(cert).map_err(|e| err(url, format!("{}: {e}", ca.display())))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| err(url, e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(target.host.clone()).map_err(|e| err(url, e))?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| err(url, e))?;
    Ok(Box::new(rustls::StreamOwned::new(conn, tcp)))
}

impl Upstream {
    fn connect(url: &str, target: &PullUrl, ca: Option<&Path>) -> Result<Upstream, ImportError> {
        let addr = (target.host.as_str(), target.port)
            .to_socket_addrs()
            .map_err(|e| err(url, e))?
            .next()
            .ok_or_else(|| err(url, "no address"))?;
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(|e| err(url, e))?;
        stream.set_read_timeout(Some(Duration::from_secs(60))).map_err(|e| err(url, e))?;
        stream.set_write_timeout(Some(Duration::from_secs(60))).map_err(|e| err(url, e))?;
        let _ = stream.set_nodelay(true);
        let conn: Box<dyn Connection> =
            if target.tls { tls_client(url, target, ca, stream)? } else { Box::new(stream) };
        let mut up = Upstream { reader: BufReader::new(conn), url: url.to_string() };
        let greeting = up.line()?;
        if !greeting.starts_with(b"20") {
            return Err(err(url, format!("greeting {}", String::from_utf8_lossy(&greeting))));
        }
        Ok(up)
    }

    fn line(&mut self) -> Result<Vec<u8>, ImportError> {
        let mut buf = Vec::new();
        let n = self.reader.read_until(b'\n', &mut buf).map_err(|e| err(&self.url, e))?;
        if n == 0 {
            return Err(err(&self.url, "connection closed"));
        }
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        Ok(buf)
    }

    fn send(&mut self, cmd: &str) -> Result<(), ImportError> {
        let conn = self.reader.get_mut();
        conn.write_all(cmd.as_bytes()).and_then(|()| conn.flush()).map_err(|e| err(&self.url, e))
    }

    /// A dot-terminated block, unstuffed, with CRLF line ends.
    fn block(&mut self) -> Result<Vec<u8>, ImportError> {
        let mut out = Vec::new();
        loop {
            let mut line = Vec::new();
            if self.reader.read_until(b'\n', &mut line).map_err(|e| err(&self.url, e))? == 0 {
                return Err(err(&self.url, "connection closed in an article"));
            }
            if line == b".\r\n" || line == b".\n" {
                return Ok(out);
            }
            let line = if line.starts_with(b"..") { &line[1..] } else { &line[..] };
            out.extend_from_slice(line);
        }
    }
}

/// Fetches what the upstream group has beyond the checkpoint; returns how many articles.
pub fn pull(
    importer: &mut Importer<'_>,
    url: &str,
    ca: Option<&Path>,
    group: &str,
    replica: bool,
) -> Result<u64, ImportError> {
    let target = PullUrl::parse(url).map_err(|e| err(url, e))?;
    let source = format!("pull:{url}");
    let done = importer.checkpoint(&source)?.and_then(|v| crate::store::codec::be_u64(&v)).unwrap_or(0);
    let mut up = Upstream::connect(url, &target, ca)?;
    up.send(&format!("GROUP {}\r\n", target.group))?;
    let status = String::from_utf8_lossy(&up.line()?).into_owned();
    let fields: Vec<&str> = status.split(' ').collect();
    if fields.first() != Some(&"211") || fields.len() < 4 {
        return Err(err(url, format!("GROUP answered {status}")));
    }
    let count: u64 = fields[1].parse().unwrap_or(0);
    let low: u64 = fields[2].parse().unwrap_or(0);
    let high: u64 = fields[3].parse().unwrap_or(0);
    if count == 0 || high <= done {
        let _ = up.send("QUIT\r\n");
        return Ok(0);
    }
    // The numbers present, from LISTGROUP (gaps are not asked for).
    up.send(&format!("LISTGROUP {} {}-{}\r\n", target.group, (done + 1).max(low), high))?;
    let status = up.line()?;
    if !status.starts_with(b"211") {
        return Err(err(url, format!("LISTGROUP answered {}", String::from_utf8_lossy(&status))));
    }
    let numbers: Vec<u64> =
        String::from_utf8_lossy(&up.block()?).lines().filter_map(|l| l.trim().parse().ok()).collect();
    let mut fetched = 0;
    for window in numbers.chunks(WINDOW as usize) {
        let mut pipelined = String::new();
        for n in window {
            pipelined.push_str(&format!("ARTICLE {n}\r\n"));
        }
        up.send(&pipelined)?;
        for &n in window {
            let status = up.line()?;
            if status.starts_with(b"220") {
                let raw = strip_news_headers(&up.block()?);
                if replica {
                    importer.add_numbered(&source, raw, group, n)?;
                } else {
                    importer.add_one(&source, n, raw, Some(group))?;
                }
                fetched += 1;
            } else if !status.starts_with(b"423") && !status.starts_with(b"430") {
                return Err(err(url, format!("ARTICLE {n} answered {}", String::from_utf8_lossy(&status))));
            }
            importer.set_checkpoint(&source, n.to_be_bytes().to_vec());
        }
    }
    importer.set_checkpoint(&source, high.to_be_bytes().to_vec());
    let _ = up.send("QUIT\r\n");
    Ok(fetched)
}
