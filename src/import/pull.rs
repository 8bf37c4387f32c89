//! Following a group on another NNTP server (`pull = "nntp://host:port/group"`).
//!
//! Incremental: the last upstream number fetched is kept as the source's checkpoint. With
//! `replica = true` each article keeps its upstream number, so replicas behind one load
//! balancer give every client the same numbers.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

use super::message::strip_news_headers;
use super::{ImportError, Importer};
use crate::config::PullUrl;
use crate::protocol::client::{self, Client, ClientError};
use crate::store::Checkpoint;

/// ARTICLE commands kept in flight.
const WINDOW: usize = 64;

fn err(url: &str, what: impl std::fmt::Display) -> ImportError {
    ImportError::Usage(format!("{url}: {what}"))
}

trait Connection: Read + Write + Send {}
impl<T: Read + Write + Send> Connection for T {}

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

fn connect(url: &str, target: &PullUrl, ca: Option<&Path>) -> Result<Client<Box<dyn Connection>>, ImportError> {
    let addr = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| err(url, e))?
        .next()
        .ok_or_else(|| err(url, "no address"))?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(|e| err(url, e))?;
    stream.set_read_timeout(Some(Duration::from_secs(60))).map_err(|e| err(url, e))?;
    stream.set_write_timeout(Some(Duration::from_secs(60))).map_err(|e| err(url, e))?;
    let _ = stream.set_nodelay(true);
    let conn: Box<dyn Connection> = if target.tls { tls_client(url, target, ca, stream)? } else { Box::new(stream) };
    let up = Client::new(conn).map_err(|e| err(url, e))?;
    if up.greeting.code != 200 && up.greeting.code != 201 {
        return Err(err(url, format!("greeting {}", up.greeting)));
    }
    Ok(up)
}

/// Fetches what the upstream group has beyond the checkpoint; returns how many articles.
/// What one pull did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pulled {
    /// Articles fetched.
    pub fetched: u64,
    /// How far behind the upstream's high water mark the group was when the pull began.
    pub behind: u64,
}

pub fn pull(
    importer: &mut Importer<'_>,
    url: &str,
    ca: Option<&Path>,
    group: &str,
    replica: bool,
) -> Result<Pulled, ImportError> {
    let target = PullUrl::parse(url).map_err(|e| err(url, e))?;
    let source = format!("pull:{url}");
    let done = match importer.checkpoint(&source)? {
        Some(Checkpoint::Position(n)) => n,
        _ => 0,
    };
    let e = |what: ClientError| err(url, what);
    let mut up = connect(url, &target, ca)?;
    let status = up.expect(&format!("GROUP {}", target.group), 211).map_err(e)?;
    let fields: Vec<u64> = status.words().iter().take(3).map(|w| w.parse().unwrap_or(0)).collect();
    let [count, low, high] = fields[..] else {
        return Err(err(url, format!("GROUP answered {status}")));
    };
    if count == 0 || high <= done {
        let _ = up.send(b"QUIT\r\n");
        return Ok(Pulled::default());
    }
    // The numbers present, from LISTGROUP (gaps are not asked for).
    let (_, listed) =
        up.expect_block(&format!("LISTGROUP {} {}-{}", target.group, (done + 1).max(low), high), 211).map_err(e)?;
    let numbers: Vec<u64> =
        client::lines(&listed).filter_map(|l| std::str::from_utf8(l).ok()?.trim().parse().ok()).collect();
    let mut fetched = 0;
    for window in numbers.chunks(WINDOW) {
        let pipelined: String = window.iter().map(|n| format!("ARTICLE {n}\r\n")).collect();
        up.send(pipelined.as_bytes()).map_err(e)?;
        for &n in window {
            let status = up.status().map_err(e)?;
            match status.code {
                220 => {
                    let raw = strip_news_headers(&up.block().map_err(e)?);
                    if replica {
                        importer.add_numbered(&source, raw, group, n)?;
                    } else {
                        importer.add_one(&source, n, raw, Some(group))?;
                    }
                    fetched += 1;
                }
                423 | 430 => {}
                _ => return Err(err(url, format!("ARTICLE {n} answered {status}"))),
            }
            importer.set_checkpoint(&source, &Checkpoint::Position(n));
        }
    }
    importer.set_checkpoint(&source, &Checkpoint::Position(high));
    let _ = up.send(b"QUIT\r\n");
    Ok(Pulled { fetched, behind: high - done })
}
