//! Live archives: mail arriving while the server runs. This ties the importer to a running
//! server: [`Service`] is everything `listnews serve` runs.
//!
//! The serving process owns the store (sled allows one opener), so every write goes through
//! one writer thread here: MTA deliveries and imports that arrive on the control socket
//! ([`control`]), and the sources each group watches or pulls (read by `import`).
//! Deliveries are committed in groups: the writer takes all that are waiting, stores them,
//! commits and flushes once, then answers each, so `listnews deliver` exits 0 only once its
//! message is on disk.

pub mod control;

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::config::Config;
use crate::import::{ImportError, ImportStats, Importer, Outcome};
use crate::store::Store;

/// Everything `listnews serve` runs: the NNTP server, the store writer (deliveries, watched
/// and pulled sources) and the control socket.
pub struct Service {
    pub server: crate::server::Server,
    control: tokio::task::JoinHandle<std::io::Result<()>>,
    writer: Writer,
    writer_thread: std::thread::JoinHandle<()>,
    socket: PathBuf,
}

impl Service {
    pub async fn start(config: &Config, store: Store) -> anyhow::Result<Service> {
        Service::start_with(config, store, Vec::new()).await
    }

    /// [`Service::start`] with listening sockets handed over by systemd.
    pub async fn start_with(
        config: &Config,
        store: Store,
        inherited: Vec<crate::server::Inherited>,
    ) -> anyhow::Result<Service> {
        let server = crate::server::Server::start_with(config, store.clone(), inherited).await?;
        let (writer, writer_thread) = Writer::start(store, config.clone())?;
        let socket = control::socket_path(&config.server.data_dir);
        let listener = control::bind(&socket)?;
        let control = tokio::spawn(control::serve(listener, writer.clone()));
        Ok(Service { server, control, writer, writer_thread, socket })
    }

    /// Takes a new configuration (SIGHUP): the writer first (new groups, watch and pull
    /// sources), then the server (groups, users, limits, TLS certificate). Connections stay.
    pub async fn reload(&self, config: &Config) -> anyhow::Result<()> {
        let (reply, answer) = oneshot::channel();
        if !self.writer.send(Request::Reload { config: Box::new(config.clone()), reply }) {
            anyhow::bail!("the store writer stopped");
        }
        answer.await.map_err(|_| anyhow::anyhow!("the store writer stopped"))?.map_err(|e| anyhow::anyhow!(e))?;
        self.server.reload(config)
    }

    /// Looks at the configured mirrors again; when lists were added or removed, serves the
    /// new set (as a reload does) and returns the configuration now in force. Removed lists
    /// are no longer served; their articles and numbers stay in the store.
    pub async fn rescan_mirrors(&self, config: &Config) -> Option<Config> {
        let current = config.clone();
        let new = match tokio::task::spawn_blocking(move || current.rescan()).await {
            Ok(Ok(Some(new))) => new,
            Ok(Ok(None)) => return None,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "mirror rescan failed; serving the lists found before");
                return None;
            }
            Err(e) => {
                tracing::error!(error = %e, "mirror rescan failed");
                return None;
            }
        };
        let names = |c: &Config| c.groups.iter().map(|g| g.name.clone()).collect::<std::collections::BTreeSet<_>>();
        let (before, after) = (names(config), names(&new));
        let added: Vec<&String> = after.difference(&before).collect();
        let gone: Vec<&String> = before.difference(&after).collect();
        match self.reload(&new).await {
            Ok(()) => {
                tracing::info!(added = ?added, gone = ?gone, "mirror lists changed");
                Some(new)
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "taking the mirror's new lists failed");
                None
            }
        }
    }

    /// Stops taking connections and requests, lets the writer commit what it has, and waits.
    pub async fn stop(self) {
        self.control.abort();
        let _ = self.control.await;
        drop(self.writer);
        let _ = std::fs::remove_file(&self.socket);
        self.server.stop().await;
        // The writer ends once the last request handle is gone.
        let writer = self.writer_thread;
        let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    }
}

/// A write asked of the writer thread.
pub enum Request {
    Deliver {
        raw: Vec<u8>,
        group: Option<String>,
        reply: oneshot::Sender<Result<Outcome, DeliverError>>,
    },
    Import {
        path: PathBuf,
        reply: oneshot::Sender<Result<String, String>>,
    },
    Remove {
        id: String,
        reply: oneshot::Sender<Result<bool, String>>,
    },
    Reload {
        config: Box<Config>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Work that must see the store still (a backup, a check, a report): run between
    /// commits, after everything before it is committed and flushed.
    Job {
        job: Job,
        reply: oneshot::Sender<Result<String, String>>,
    },
}

/// A [`Request::Job`].
pub type Job = Box<dyn FnOnce(&Store) -> Result<String, String> + Send>;

/// Why a delivery was not stored.
#[derive(Debug, Clone)]
pub enum DeliverError {
    /// Worth retrying later (the store failed or is stopping).
    Temporary(String),
    /// Wrong in the request or the configuration (a group that is not configured): retrying
    /// will not help.
    Config(String),
}

/// Handle to the writer thread.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Request>,
}

/// Deliveries taken in one commit at most.
const GROUP_COMMIT: usize = 512;

impl Writer {
    /// Starts the writer thread on `store`; it also follows the configured watch and pull
    /// sources every `watch_interval_secs`.
    pub fn start(store: Store, config: Config) -> Result<(Writer, std::thread::JoinHandle<()>), ImportError> {
        // Fail now, not in the thread, if the configuration does not fit the store.
        drop(Importer::new(&store, &config, None)?);
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(store, config, rx))
            .map_err(|e| ImportError::Usage(format!("cannot start the writer thread: {e}")))?;
        Ok((Writer { tx }, handle))
    }

    pub fn send(&self, request: Request) -> bool {
        self.tx.send(request).is_ok()
    }
}

fn writer_loop(store: Store, mut config: Config, rx: mpsc::Receiver<Request>) {
    let Ok(mut importer) = Importer::new(&store, &config, None) else { return };
    let mut interval = Duration::from_secs_f64(config.server.watch_interval_secs);
    let mut next_watch = Instant::now();
    let mut delivery_seq: u64 = 0;
    loop {
        if Instant::now() >= next_watch {
            follow_sources(&mut importer, &config);
            next_watch = Instant::now() + interval;
        }
        let first = match rx.recv_timeout(next_watch.saturating_duration_since(Instant::now())) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let mut requests = vec![first];
        while requests.len() < GROUP_COMMIT {
            match rx.try_recv() {
                Ok(r) => requests.push(r),
                Err(_) => break,
            }
        }
        let mut delivered = Vec::new();
        let mut removed = Vec::new();
        for request in requests {
            match request {
                Request::Deliver { raw, group, reply } => {
                    delivery_seq += 1;
                    let before = importer.stats.clone();
                    // Unique per delivery, for the set-aside key.
                    let position = (crate::clock::now() as u64) << 20 | (delivery_seq & 0xfffff);
                    let outcome = importer.add_one("deliver", position, raw, group.as_deref()).map_err(|e| match e {
                        ImportError::Usage(why) => DeliverError::Config(why),
                        other => DeliverError::Temporary(other.to_string()),
                    });
                    count_stored("deliver", &before, &importer.stats);
                    delivered.push((reply, outcome));
                }
                Request::Remove { id, reply } => {
                    let outcome = importer.remove(&id).map_err(|e| e.to_string());
                    removed.push((reply, outcome));
                }
                Request::Reload { config: new, reply } => {
                    let result = importer.commit().and_then(|()| Importer::new(&store, &new, None));
                    match result {
                        Ok(fresh) => {
                            importer = fresh;
                            config = *new;
                            interval = Duration::from_secs_f64(config.server.watch_interval_secs);
                            next_watch = Instant::now();
                            let _ = reply.send(Ok(()));
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e.to_string()));
                        }
                    }
                }
                Request::Job { job, reply } => {
                    let result = importer
                        .commit()
                        .and_then(|()| Ok(store.flush()?))
                        .map_err(|e| e.to_string())
                        .and_then(|()| job(&store));
                    let _ = reply.send(result);
                }
                Request::Import { path, reply } => {
                    let before = importer.stats.clone();
                    let result = importer.import_path(&path, crate::import::mbox::MboxFormat::Mboxrd);
                    count_stored("import", &before, &importer.stats);
                    let summary = result.map(|()| {
                        let s = &importer.stats;
                        format!(
                            "read {} messages: {} stored, {} duplicates, {} set aside",
                            s.read - before.read,
                            s.stored - before.stored,
                            s.duplicates - before.duplicates,
                            s.rejected - before.rejected
                        )
                    });
                    let _ = reply.send(summary.map_err(|e| e.to_string()));
                }
            }
        }
        // Durable before anyone hears "stored": commit, then flush to disk.
        let durable =
            importer.commit().map_err(|e| e.to_string()).and_then(|()| store.flush().map_err(|e| e.to_string()));
        if let Err(e) = &durable {
            tracing::error!(error = %e, "commit failed; deliveries are answered TEMPFAIL");
        }
        for (reply, outcome) in delivered {
            let _ = reply.send(match &durable {
                Ok(()) => outcome,
                Err(e) => Err(DeliverError::Temporary(e.clone())),
            });
        }
        for (reply, outcome) in removed {
            let _ = reply.send(match &durable {
                Ok(()) => outcome,
                Err(e) => Err(e.clone()),
            });
        }
    }
    let _ = importer.commit();
    let _ = store.flush();
}

/// One pass over every group's watched and pulled sources.
fn follow_sources(importer: &mut Importer<'_>, config: &Config) {
    for group in &config.groups {
        for path in &group.watch {
            if !path.exists() {
                continue;
            }
            let before = importer.stats.clone();
            if let Err(e) = importer.import_path_into(path, Some(&group.name)) {
                tracing::warn!(group = group.name, path = %path.display(), error = %e, "watched source failed");
            }
            let changes = count_stored("watch", &before, &importer.stats);
            if changes > 0 {
                tracing::info!(group = group.name, path = %path.display(), changes, "followed");
            }
        }
        if let Some(url) = &group.pull {
            let before = importer.stats.clone();
            let name = group.name.clone();
            match crate::import::pull::pull(importer, url, group.pull_ca.as_deref(), &group.name, group.replica) {
                Ok(pulled) => {
                    metrics::gauge!("listnews_pull_lag_articles", "group" => name.clone()).set(pulled.behind as f64);
                    metrics::gauge!("listnews_pull_last_success_timestamp_seconds", "group" => name)
                        .set(crate::clock::now() as f64);
                    if pulled.fetched > 0 {
                        tracing::info!(group = group.name, url, articles = pulled.fetched, "pulled");
                    }
                }
                Err(e) => tracing::warn!(group = group.name, url, error = %e, "pull failed"),
            }
            count_stored("pull", &before, &importer.stats);
        }
    }
    if let Err(e) = importer.commit().and_then(|()| importer.flush()) {
        tracing::error!(error = %e, "commit after following sources failed");
    }
    if let Ok(bytes) = importer.store_size() {
        metrics::gauge!("listnews_store_bytes").set(bytes as f64);
    }
    metrics::gauge!("listnews_groups").set(config.groups.len() as f64);
}

/// Counts what a source brought (`listnews_stored_total`); returns the changes made.
fn count_stored(source: &'static str, before: &ImportStats, after: &ImportStats) -> u64 {
    let outcomes = [
        ("stored", after.stored - before.stored),
        ("duplicate", after.duplicates - before.duplicates),
        ("another_group", after.cross_posted - before.cross_posted),
        ("set_aside", after.rejected - before.rejected),
        ("removed", after.removed - before.removed),
    ];
    for (outcome, n) in outcomes {
        if n > 0 {
            metrics::counter!("listnews_stored_total", "source" => source, "outcome" => outcome).increment(n);
        }
    }
    (after.stored - before.stored) + (after.removed - before.removed)
}
