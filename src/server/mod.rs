//! The NNTP server: plain, STARTTLS and implicit-TLS listeners, the PROXY protocol,
//! connection limits, one tokio task per connection, reload and graceful stop.
//!
//! - [`commands`]: one handler per row of the command table, and the shared context.
//! - `session`: one connection: framing, parsing once, running commands where their row says.
//! - `stream`: the transports (TCP, TLS, DEFLATE) behind one type; `tls`: certificates.

pub mod auth;
pub mod commands;
pub mod http;
mod idle;
pub mod observe;
mod session;
mod stream;
mod tls;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::post::ledger::Ledger;
use crate::post::relay::Relay;
use crate::protocol::Status;
use crate::protocol::proxy::{self, ProxyHeader};
use crate::store::Store;
pub use commands::Context;
use session::Session;
use stream::Transport;

/// How long a client may take to send its PROXY header or finish a TLS handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stop waits for sessions to finish their responses.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy)]
struct Limits {
    max_connections: usize,
    max_per_ip: usize,
    max_compressed: usize,
    idle: Duration,
}

/// Memory the chunks of long responses being written share: with few of them under way a
/// chunk is [`commands::CHUNK`] long, with many each is a share of this, down to [`SLICE`].
/// Many clients reading slowly (or not at all) then hold a slice each, as an idle connection
/// holds its buffers, and never make each other wait.
pub(crate) const RESPONSE_MEMORY: usize = 16 << 20;
pub(crate) const SLICE: usize = 16 << 10;

/// What every session shares; the context, TLS and limits are replaced on reload.
pub struct Shared {
    ctx: RwLock<Arc<Context>>,
    tls: RwLock<Option<TlsAcceptor>>,
    limits: RwLock<Limits>,
    shutdown: watch::Receiver<bool>,
    /// Wakes idle sessions at their timeout and at shutdown.
    clock: Arc<idle::IdleClock>,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    active: AtomicUsize,
    drained: Notify,
    /// Authentication failures by address and user name (kept across reloads).
    limiter: auth::Limiter,
    /// Long responses whose chunks are being written now (see [`RESPONSE_MEMORY`]).
    writers: AtomicUsize,
    /// Connections under COMPRESS DEFLATE now.
    compressed: AtomicUsize,
    /// Where posts go (rebuilt on reload); `None` while posting is off.
    relay: RwLock<Option<Arc<Relay>>>,
    /// Posts per hour and recently posted Message-IDs (kept across reloads).
    pub(crate) ledger: Ledger,
    /// Posts being read or relayed now, by client address.
    posting: Mutex<HashMap<IpAddr, usize>>,
}

impl Shared {
    pub fn context(&self) -> Arc<Context> {
        self.ctx.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
    pub fn tls_acceptor(&self) -> Option<TlsAcceptor> {
        self.tls.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
    fn limits(&self) -> Limits {
        *self.limits.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn relay(&self) -> Option<Arc<Relay>> {
        self.relay.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Counts a post being read and relayed, unless [`MAX_POSTING`] are under way in all or
    /// [`MAX_POSTING_PER_IP`] from `ip`.
    pub(crate) fn posting_slot(self: &Arc<Self>, ip: IpAddr) -> Option<PostingSlot> {
        let mut posting = self.posting.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = posting.values().sum();
        let mine = posting.entry(ip).or_default();
        if total >= MAX_POSTING || *mine >= MAX_POSTING_PER_IP {
            if *mine == 0 {
                posting.remove(&ip);
            }
            return None;
        }
        *mine += 1;
        Some(PostingSlot(self.clone(), ip))
    }

    /// Counts a compressed connection, unless the limit is reached.
    fn compressed_slot(self: &Arc<Self>) -> Option<CompressedSlot> {
        let max = self.limits().max_compressed;
        let mut now = self.compressed.load(Ordering::SeqCst);
        loop {
            if now >= max {
                return None;
            }
            match self.compressed.compare_exchange(now, now + 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return Some(CompressedSlot(self.clone())),
                Err(actual) => now = actual,
            }
        }
    }

    /// Counts a connection from `ip`, or says why it is refused.
    fn admit(self: &Arc<Self>, client: SocketAddr) -> Result<Slot, Status> {
        let ip = client.ip();
        let limits = self.limits();
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        if self.active.load(Ordering::SeqCst) >= limits.max_connections {
            return Err(Status::TooManyConnections);
        }
        let n = per_ip.entry(ip).or_default();
        if *n >= limits.max_per_ip {
            return Err(Status::TooManyFromAddress);
        }
        *n += 1;
        self.active.fetch_add(1, Ordering::SeqCst);
        Ok(Slot { shared: self.clone(), client })
    }
}

/// Posts read and relayed at once (each holds up to `post_max_bytes`), in all and from one
/// address; past them POST gets 403.
pub const MAX_POSTING: usize = 32;
pub const MAX_POSTING_PER_IP: usize = 4;
/// A client that sends nothing of its article for this long is disconnected (it holds a
/// posting slot meanwhile).
pub const POST_STALL: Duration = Duration::from_secs(60);

/// A post under way; dropping it ends the count.
pub(crate) struct PostingSlot(Arc<Shared>, IpAddr);

impl Drop for PostingSlot {
    fn drop(&mut self) {
        let mut posting = self.0.posting.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = posting.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                posting.remove(&self.1);
            }
        }
    }
}

/// A long response's chunk under way; dropping it ends the count.
pub(crate) struct Writer(Arc<Shared>);

impl Shared {
    /// Counts a chunk about to be made and written; returns it with the size it may have.
    pub(crate) fn writer(self: &Arc<Self>) -> (Writer, usize) {
        let writers = self.writers.fetch_add(1, Ordering::SeqCst) + 1;
        (Writer(self.clone()), (RESPONSE_MEMORY / writers).clamp(SLICE, commands::CHUNK))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.0.writers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A counted compressed connection; dropping it frees the slot.
pub(crate) struct CompressedSlot(Arc<Shared>);

impl Drop for CompressedSlot {
    fn drop(&mut self) {
        self.0.compressed.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A counted connection, from `client` (from the PROXY header behind a proxy); dropping it
/// frees the slot.
struct Slot {
    shared: Arc<Shared>,
    client: SocketAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per_ip = self.shared.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = per_ip.get_mut(&self.client.ip()) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.client.ip());
            }
        }
        if self.shared.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shared.drained.notify_waiters();
        }
    }
}

/// What a listening socket handed over by systemd serves, from its name
/// (`FileDescriptorName=` in the socket unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Any other name (systemd's default is the unit's name): plain NNTP.
    Plain,
    /// `nntp-proxy`: plain NNTP behind a proxy sending the PROXY protocol header.
    Proxied,
    /// `nntps`: implicit TLS.
    Tls,
    /// `http`: the HTTP face.
    Http,
}

/// A listening socket systemd handed over.
pub struct Inherited {
    pub listener: std::net::TcpListener,
    pub name: String,
    pub role: Role,
}

/// The listening sockets systemd passed to this process (`LISTEN_FDS`, `LISTEN_FDNAMES`);
/// none when not socket-activated.
pub fn systemd_sockets() -> anyhow::Result<Vec<Inherited>> {
    let names: Vec<String> = sd_notify::listen_fds_with_names()?.map(|(_, name)| name).collect();
    let mut fds = listenfd::ListenFd::from_env();
    let mut out = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        let Some(listener) = fds.take_tcp_listener(i)? else { continue };
        let role = match name.as_str() {
            "nntps" => Role::Tls,
            "nntp-proxy" => Role::Proxied,
            "http" => Role::Http,
            _ => Role::Plain,
        };
        out.push(Inherited { listener, name, role });
    }
    Ok(out)
}

/// A running server: its bound addresses and a handle to stop or reload it.
pub struct Server {
    /// Plain listeners, then TLS ones, in config order.
    pub addrs: Vec<SocketAddr>,
    pub tls_addrs: Vec<SocketAddr>,
    /// HTTP listeners (`http_listen`, then handed-over `http` sockets).
    pub http_addrs: Vec<SocketAddr>,
    shared: Arc<Shared>,
    store: Store,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn limits_of(config: &Config) -> Limits {
    Limits {
        max_connections: config.server.max_connections,
        max_per_ip: config.server.max_connections_per_ip,
        max_compressed: config.server.max_compressed_connections,
        idle: Duration::from_secs(config.server.idle_timeout_secs),
    }
}

fn relay_of(config: &Config) -> anyhow::Result<Option<Arc<Relay>>> {
    if config.server.post_policy == crate::config::PostPolicy::Off {
        return Ok(None);
    }
    Ok(Relay::new(&config.server).map_err(|e| anyhow::anyhow!(e))?.map(Arc::new))
}

fn tls_of(config: &Config) -> anyhow::Result<Option<TlsAcceptor>> {
    match (&config.server.tls_cert, &config.server.tls_key) {
        (Some(cert), Some(key)) => Ok(Some(tls::acceptor(cert, key)?)),
        _ => Ok(None),
    }
}

impl Server {
    /// Binds every listener of `config` (port 0 picks a free port) and starts serving
    /// `store`. Configured groups missing from the store are created empty.
    pub async fn start(config: &Config, store: Store) -> anyhow::Result<Server> {
        Server::start_with(config, store, Vec::new()).await
    }

    /// [`Server::start`] with listeners handed over by systemd (socket activation) besides
    /// the configured ones.
    pub async fn start_with(config: &Config, store: Store, inherited: Vec<Inherited>) -> anyhow::Result<Server> {
        ensure_groups(config, &store)?;
        let (stop, shutdown) = watch::channel(false);
        let shared = Arc::new(Shared {
            ctx: RwLock::new(Context::new(store.clone(), config)),
            tls: RwLock::new(tls_of(config)?),
            limits: RwLock::new(limits_of(config)),
            shutdown: shutdown.clone(),
            clock: Arc::default(),
            per_ip: Mutex::new(HashMap::new()),
            active: AtomicUsize::new(0),
            drained: Notify::new(),
            limiter: auth::Limiter::default(),
            writers: AtomicUsize::new(0),
            compressed: AtomicUsize::new(0),
            relay: RwLock::new(relay_of(config)?),
            ledger: Ledger::default(),
            posting: Mutex::new(HashMap::new()),
        });
        let clock = tokio::spawn(shared.clock.clone().run(shared.shutdown.clone()));
        let mut server = Server {
            addrs: Vec::new(),
            tls_addrs: Vec::new(),
            http_addrs: Vec::new(),
            shared,
            store,
            stop,
            tasks: vec![clock],
        };
        let mut listeners = Vec::new();
        for (addrs, face) in [
            (&config.server.listen, Face::Nntp),
            (&config.server.listen_tls, Face::Nntps),
            (&config.server.http_listen, Face::Http),
        ] {
            for addr in addrs {
                let listener = bind(*addr).map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
                listeners.push((listener, face, config.server.proxy_protocol.contains(addr)));
            }
        }
        for socket in inherited {
            let (face, proxied) = match socket.role {
                Role::Plain => (Face::Nntp, false),
                Role::Proxied => (Face::Nntp, true),
                Role::Tls => (Face::Nntps, false),
                Role::Http => (Face::Http, false),
            };
            if face == Face::Nntps && config.server.tls_cert.is_none() {
                anyhow::bail!(
                    "systemd handed over the TLS socket {:?} but no tls_cert and tls_key are configured",
                    socket.name
                );
            }
            socket.listener.set_nonblocking(true)?;
            listeners.push((TcpListener::from_std(socket.listener)?, face, proxied));
        }
        if listeners.is_empty() {
            anyhow::bail!(
                "nothing to listen on: listen and listen_tls are empty and no sockets were handed over (systemd socket activation)"
            );
        }
        let site = http::Site::new(server.shared.clone());
        for (listener, face, proxied) in listeners {
            let local = listener.local_addr()?;
            tracing::info!(%local, ?face, proxied, "listening");
            match face {
                Face::Nntp => server.addrs.push(local),
                Face::Nntps => server.tls_addrs.push(local),
                Face::Http => server.http_addrs.push(local),
            }
            let shared = server.shared.clone();
            let stopped = server.stop.subscribe();
            server.tasks.push(tokio::spawn(accept_loop(listener, shared, site.clone(), face, proxied, stopped)));
        }
        Ok(server)
    }

    /// Takes a new configuration: groups, users, limits and the TLS certificate. Connections
    /// stay up; listeners are not rebound (a changed `listen` needs a restart).
    pub fn reload(&self, config: &Config) -> anyhow::Result<()> {
        ensure_groups(config, &self.store)?;
        let tls = tls_of(config)?;
        let relay = relay_of(config)?;
        *self.shared.tls.write().unwrap_or_else(|e| e.into_inner()) = tls;
        *self.shared.relay.write().unwrap_or_else(|e| e.into_inner()) = relay;
        *self.shared.limits.write().unwrap_or_else(|e| e.into_inner()) = limits_of(config);
        *self.shared.ctx.write().unwrap_or_else(|e| e.into_inner()) = Context::new(self.store.clone(), config);
        Ok(())
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }

    /// Stops accepting, lets every session finish the response it is sending and closes it
    /// (400), waiting up to 30 s.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        let drained = async {
            while self.shared.active.load(Ordering::SeqCst) > 0 {
                let notified = self.shared.drained.notified();
                if self.shared.active.load(Ordering::SeqCst) == 0 {
                    break;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, drained).await;
    }
}

fn ensure_groups(config: &Config, store: &Store) -> anyhow::Result<()> {
    let mut batch = store.batch();
    for g in &config.groups {
        batch.ensure_group(&g.name, crate::clock::now())?;
    }
    batch.commit()?;
    Ok(())
}

/// Connections the kernel may hold waiting for `accept` (capped by `net.core.somaxconn`). A
/// short queue (std's and tokio's default is 128 or 1024) drops the SYNs of a burst of clients
/// and each of them then waits a whole SYN retransmission (1 s and more) to get in.
const LISTEN_BACKLOG: u32 = 4096;

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    // As std does: a restarted server can bind while old connections sit in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Face {
    Nntp,
    /// NNTP in implicit TLS.
    Nntps,
    Http,
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    site: http::Site,
    face: Face,
    proxied: bool,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) if face == Face::Http => {
                    tokio::spawn(http::serve_connection(stream, peer, site.clone(), proxied));
                }
                Ok((stream, peer)) => {
                    tokio::spawn(serve_connection(stream, peer, shared.clone(), face == Face::Nntps, proxied));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Reads a PROXY header exactly (nothing past it), returning the client's address.
async fn read_proxy_header(stream: &mut TcpStream) -> std::io::Result<Option<SocketAddr>> {
    let mut buf = Vec::with_capacity(232);
    let mut want = 16;
    loop {
        let start = buf.len();
        buf.resize(want, 0);
        stream.read_exact(&mut buf[start..]).await?;
        match proxy::parse(&buf) {
            ProxyHeader::Parsed { len, source } if len == buf.len() => return Ok(source),
            ProxyHeader::Parsed { len, .. } => want = len,
            // v1 ends at CRLF: read on a byte at a time; v2 says its length in 16 octets.
            ProxyHeader::Incomplete => {
                want = if buf.starts_with(b"PROXY ") {
                    buf.len() + 1
                } else {
                    16 + u16::from_be_bytes([buf[14], buf[15]]) as usize
                }
            }
            ProxyHeader::Invalid(why) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, why)),
        }
        if want > 16 + 216 {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "PROXY header too long"));
        }
    }
}

/// One NNTP connection. The task's future is what an idle connection costs in memory: the
/// opening (PROXY header, TLS handshake, admission) is boxed, as its futures are large and
/// short-lived, and the session is held in place (not boxed a second time).
fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    tls: bool,
    proxied: bool,
) -> impl Future<Output = ()> + Send {
    // One pointer rather than the socket and the address: what the future captures stays in
    // it for the connection's life.
    let accepted = Box::new((tcp, peer, shared));
    async move {
        let Some(mut session) = Box::pin(open_connection(accepted, tls, proxied)).await else {
            return;
        };
        let result = session.serve().await;
        Box::pin(session.finish(result)).await;
    }
}

/// A connection's opening: NODELAY, the PROXY header behind a proxy, the TLS handshake on
/// NNTPS, and admission (refused past the connection limits, with the reason sent); the
/// session to serve.
async fn open_connection(
    accepted: Box<(TcpStream, SocketAddr, Arc<Shared>)>,
    tls: bool,
    proxied: bool,
) -> Option<Session> {
    let (mut tcp, peer, shared) = *accepted;
    // A status line and its body leave in one write; without NODELAY, Nagle plus delayed
    // ACK would still stall small responses by 40 ms (INN's nnrpd does).
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(%peer, error = %e, "set_nodelay failed");
    }
    let client = if proxied {
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, read_proxy_header(&mut tcp)).await {
            Ok(Ok(source)) => source.unwrap_or(peer),
            Ok(Err(e)) => {
                tracing::info!(%peer, error = %e, "bad PROXY header; closing");
                return None;
            }
            Err(_) => return None,
        }
    } else {
        peer
    };
    let slot = shared.admit(client);
    let stream = if tls {
        let acceptor = shared.tls_acceptor()?;
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
            Ok(Ok(s)) => Transport::Wrapped(Box::new(s)),
            Ok(Err(e)) => {
                tracing::debug!(%client, error = %e, "TLS handshake failed");
                return None;
            }
            Err(_) => return None,
        }
    } else {
        Transport::Tcp(tcp)
    };
    match slot {
        Ok(slot) => {
            tracing::debug!(%client, tls, "connected");
            Some(Session::new(stream, slot, tls))
        }
        Err(why) => {
            tracing::info!(%client, why = %why, "connection refused");
            observe::refused(if matches!(why, Status::TooManyFromAddress) {
                "max_connections_per_ip"
            } else {
                "max_connections"
            });
            let mut stream = stream;
            let _ = stream.write_all(&why.to_line()).await;
            let _ = stream.shutdown().await;
            None
        }
    }
}
