//! The NNTP server: listeners, one tokio task per connection, graceful stop.

pub mod commands;
mod session;
pub mod thread_view;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::config::Config;
use crate::store::Store;
pub use commands::Context;
use session::Session;

/// A running server: its bound addresses and a handle to stop it.
pub struct Server {
    pub addrs: Vec<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Binds every `listen` address of `config` (port 0 picks a free port) and starts serving
    /// `store`. Configured groups missing from the store are created empty.
    pub async fn start(config: &Config, store: Store) -> anyhow::Result<Server> {
        {
            let mut batch = store.batch();
            for g in &config.groups {
                batch.ensure_group(&g.name, crate::import::now())?;
            }
            batch.commit()?;
        }
        let ctx = Context::new(store, config);
        let idle = Duration::from_secs(config.server.idle_timeout_secs);
        let (stop, stopped) = watch::channel(false);
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        for addr in &config.server.listen {
            let listener =
                TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
            let local = listener.local_addr()?;
            tracing::info!(%local, "listening");
            addrs.push(local);
            tasks.push(tokio::spawn(accept_loop(listener, ctx.clone(), idle, stopped.clone())));
        }
        Ok(Server { addrs, stop, tasks })
    }

    /// Stops accepting; open sessions end when their clients leave.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn accept_loop(listener: TcpListener, ctx: Arc<Context>, idle: Duration, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tokio::spawn(serve_connection(stream, peer, ctx.clone(), idle));
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

async fn serve_connection(stream: TcpStream, peer: SocketAddr, ctx: Arc<Context>, idle: Duration) {
    // A status line and its body leave in one write; without NODELAY, Nagle plus delayed
    // ACK would still stall small responses by 40 ms (INN's nnrpd does).
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(%peer, error = %e, "set_nodelay failed");
    }
    tracing::debug!(%peer, "connected");
    if let Err(e) = Session::new(stream, ctx, idle).run().await {
        tracing::debug!(%peer, error = %e, "session ended with an error");
    }
    tracing::debug!(%peer, "disconnected");
}
