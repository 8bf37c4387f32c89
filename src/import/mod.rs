//! Sources -> parsed, routed, deduplicated messages -> the store. The sources: [`mbox`]
//! files, Maildirs (here), [`public_inbox`] epochs and inboxes, and an upstream NNTP group
//! ([`pull`]); [`message`] normalises one message.
//!
//! Rules (README "Import rules"):
//! - Routing: `--group` puts everything in one group; otherwise a message goes to every
//!   configured group whose `list_id` matches a List-Id or whose `address` is in To/Cc.
//! - The same Message-ID with the same content (From, Subject, Date, To, Cc, References,
//!   In-Reply-To and body) is one article; arriving through another group it gains a number
//!   there. The same Message-ID with other content is stored under a derived id
//!   `<dup-HASH.original>` (the original id kept in `X-Listnews-Original-Message-ID`).
//! - A message that cannot be read or routed is set aside with its reason.
//! - Work is committed in batches that carry the source checkpoint, so an interrupted import
//!   re-run resumes where it stopped and ends identical to an uninterrupted one.

pub mod mbox;
pub mod message;
pub mod public_inbox;
pub mod pull;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::clock::now;
use crate::config::Config;
use crate::store::{Batch, Checkpoint, IMPORT_CACHE, MemoryLimit, NewArticle, Reject, Store, StoreError, StoredWire};
use message::{Message, Wire, hex};
use public_inbox::Epoch;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: git: {message}")]
    Git { path: PathBuf, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Usage(String),
    /// A source that holds no mail in a form listnews reads.
    #[error("{path}: {why}")]
    NotMail { path: PathBuf, why: String },
}

/// Commit a batch after this many messages or bytes. Small batches keep the writer and the
/// background apply of the previous batch overlapping: on the selinux epoch 250 messages / 4 MiB
/// imported about 30% faster and peaked 20% lower than 2,000 / 32 MiB; on 200,000 generated
/// messages, as fast with a 20% lower peak.
const BATCH_MESSAGES: usize = 250;
const BATCH_BYTES: usize = 4 << 20;
/// Commits of an epoch between two releases of the pages its packs' mappings hold
/// ([`public_inbox::release_pack_pages`]).
const PACK_RELEASE_EVERY: u64 = 1024;

/// Counts for the import summary.
#[derive(Debug, Default, Clone)]
pub struct ImportStats {
    pub read: u64,
    pub stored: u64,
    pub bytes: u64,
    /// Same id, same content: nothing new.
    pub duplicates: u64,
    /// Same message through another group: one more number for an existing article.
    pub cross_posted: u64,
    /// Stored in more than one group at once (a message sent to several lists).
    pub in_several: u64,
    /// Same id, other content: stored under a derived id.
    pub renamed: u64,
    /// `d` commits applied.
    pub removed: u64,
    /// Set aside (unreadable or unroutable).
    pub rejected: u64,
    /// Messages skipped because an earlier run already imported them (checkpoint).
    pub resumed_past: u64,
    pub per_group: BTreeMap<String, u64>,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// In the store now: newly stored (`new`), or already there (a duplicate, or a known
    /// article that gained a group).
    Stored { message_id: String, new: bool },
    /// Set aside with the reason; `unreadable` when it is not a message at all.
    SetAside { reason: String, unreadable: bool },
    /// A removal applied, or progress without a message.
    Other,
}

#[derive(Clone)]
struct Route {
    gid: u32,
    name: String,
    list_id: Option<String>,
    address: Option<String>,
}

/// Decides a message's groups; shared with the reader thread.
#[derive(Clone)]
struct Router {
    routes: Vec<Route>,
    fixed: Option<u32>,
}

impl Router {
    fn route(&self, msg: &Message) -> Vec<u32> {
        if let Some(gid) = self.fixed {
            return vec![gid];
        }
        self.routes
            .iter()
            .filter(|r| {
                r.list_id.as_ref().is_some_and(|l| msg.list_ids.contains(l))
                    || r.address.as_ref().is_some_and(|a| msg.recipients.contains(a))
            })
            .map(|r| r.gid)
            .collect()
    }
}

/// What a source yields, in order, each with the checkpoint reached once it is applied.
struct SourceItem {
    event: Event,
    checkpoint: Option<Checkpoint>,
}

enum Event {
    Add {
        position: u64,
        raw: Vec<u8>,
    },
    Delete {
        raw: Vec<u8>,
    },
    /// A message of a public-inbox epoch, read by the worker that prepares it (inflating
    /// blobs is most of the work of reading an epoch).
    Blob {
        position: u64,
        delete: bool,
        epoch: std::sync::Arc<std::path::PathBuf>,
        blob: gix::ObjectId,
    },
    /// Progress without a message (a commit with neither `m` nor `d`, a purged blob).
    Nothing,
}

/// A source item after the work that needs no store: parsing, wire form, compression, routing.
struct Prepared {
    item: SourceItem,
    outcome: Prepare,
}

enum Prepare {
    /// The source could not be read (a git error): the import stops there.
    Failed(ImportError),
    Ready {
        wire: Wire,
        stored: StoredWire,
        groups: Vec<u32>,
    },
    Unreadable(String),
    Unroutable(String),
    Delete(Option<Message>),
    Nothing,
}

/// Items between the source reader and the store at most (read, being prepared, or waiting
/// for an earlier one to be stored).
const WINDOW: usize = 256;
/// Prepare threads at most (one per core up to this).
const MAX_WORKERS: usize = 8;

/// Reads, parses, routes and compresses one item (on a worker thread), with the store's
/// current compression dictionary.
fn prepare(router: &Router, store: &Store, mut item: SourceItem) -> Prepared {
    if let Event::Blob { position, delete, epoch, blob } = &item.event {
        item.event = match public_inbox::read_blob(epoch, *blob) {
            Ok(raw) if raw.is_empty() => Event::Nothing,
            Ok(raw) if *delete => Event::Delete { raw },
            Ok(raw) => Event::Add { position: *position, raw },
            Err(e) => return Prepared { item, outcome: Prepare::Failed(e) },
        };
    }
    let outcome = match &item.event {
        Event::Add { raw, .. } => match Message::parse(raw) {
            Err(why) => Prepare::Unreadable(why.to_string()),
            Ok(msg) => {
                let groups = router.route(&msg);
                if groups.is_empty() {
                    Prepare::Unroutable(format!(
                        "no configured group matches List-Id {:?} or To/Cc {:?}",
                        msg.list_ids,
                        msg.recipients.iter().take(8).collect::<Vec<_>>()
                    ))
                } else {
                    let wire = msg.wire();
                    let stored = StoredWire::compress(&wire.wire, store.dictionary().as_deref());
                    Prepare::Ready { wire, stored, groups }
                }
            }
        },
        Event::Delete { raw } => Prepare::Delete(Message::parse(raw).ok()),
        Event::Nothing | Event::Blob { .. } => Prepare::Nothing,
    };
    Prepared { item, outcome }
}

pub struct Importer<'s> {
    store: &'s Store,
    router: Router,
    /// Set while a replica stores an article under its upstream number.
    fixed_number: Option<(u32, u64)>,
    batch: Batch<'s>,
    batch_messages: usize,
    pub stats: ImportStats,
    /// Show a progress bar on stderr (a terminal).
    pub progress: bool,
    /// Bytes to leave free on the store's filesystem.
    reserve: u64,
    /// A compression dictionary being trained on another thread.
    training: Option<std::thread::JoinHandle<Result<Option<u32>, StoreError>>>,
    /// A standalone import's memory limit, checked after each batch.
    pub memory: Option<MemoryLimit>,
}

impl<'s> Importer<'s> {
    /// Prepares an import into `store`, creating the configured groups it does not have yet.
    pub fn new(store: &'s Store, config: &Config, group: Option<&str>) -> Result<Self, ImportError> {
        let mut batch = store.batch();
        let now = now();
        let mut routes = Vec::new();
        for g in &config.groups {
            let meta = batch.ensure_group(&g.name, now)?;
            routes.push(Route {
                gid: meta.id,
                name: g.name.clone(),
                list_id: g.list_id.clone(),
                address: g.address.clone(),
            });
        }
        let fixed = match group {
            Some(name) => Some(routes.iter().find(|r| r.name == name).map(|r| r.gid).ok_or_else(|| {
                ImportError::Usage(format!(
                    "--group {name}: no such group in {}; add a [[group]] for it",
                    config.path.display()
                ))
            })?),
            None => None,
        };
        batch.commit()?;
        Ok(Importer {
            store,
            router: Router { routes, fixed },
            fixed_number: None,
            batch: store.batch(),
            batch_messages: 0,
            stats: ImportStats::default(),
            progress: false,
            reserve: config.server.reserve_free_mb << 20,
            training: None,
            memory: None,
        })
    }

    /// Imports one source into one group (or routed, with `None`): a watched source.
    pub fn import_path_into(&mut self, path: &Path, group: Option<&str>) -> Result<(), ImportError> {
        let saved = self.router.fixed;
        if let Some(name) = group {
            self.router.fixed = Some(self.group_id(name)?);
        }
        let result = self.import_path(path, mbox::MboxFormat::Mboxrd);
        self.router.fixed = saved;
        result
    }

    /// Imports the messages of a Maildir (`new/` and `cur/`) not imported before. Files are
    /// remembered by their unique name (the part before `:`, which a reader's flags change).
    fn import_maildir(&mut self, path: &Path) -> Result<(), ImportError> {
        let canonical = path.canonicalize().map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
        let source = format!("maildir:{}", canonical.display());
        let mut names = Vec::new();
        for sub in ["new", "cur"] {
            let dir = canonical.join(sub);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.starts_with('.') && entry.file_type().is_ok_and(|t| t.is_file()) {
                    names.push((name, entry.path()));
                }
            }
        }
        // Maildir names start with the delivery time: sorting keeps arrival order.
        names.sort();
        for (name, file) in names {
            let unique = name.split(':').next().unwrap_or(&name);
            let seen = format!("{source}\0{unique}");
            if self.batch.has_checkpoint(&seen)? {
                continue;
            }
            let raw = match std::fs::read(&file) {
                Ok(raw) => raw,
                // Moved from new/ to cur/ while we looked: found again next time.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(ImportError::Io { path: file, source }),
            };
            let position = u64::from_be_bytes(Sha256::digest(unique.as_bytes())[..8].try_into().unwrap_or_default());
            let item = SourceItem { event: Event::Add { position, raw }, checkpoint: Some(Checkpoint::Seen) };
            let prepared = prepare(&self.router, self.store, item);
            self.apply(&seen, prepared)?;
        }
        self.commit()
    }

    /// Stores one article under a given number in one group (a replica following its
    /// upstream), or under the next free number if that one is taken.
    pub fn add_numbered(
        &mut self,
        source: &str,
        raw: Vec<u8>,
        group: &str,
        number: u64,
    ) -> Result<Outcome, ImportError> {
        let gid = self.group_id(group)?;
        self.fixed_number = Some((gid, number));
        let outcome = self.add_one(source, number, raw, Some(group));
        self.fixed_number = None;
        outcome
    }

    /// Records progress of a source that is not a file (a pulled group).
    pub fn set_checkpoint(&mut self, source: &str, checkpoint: &Checkpoint) {
        self.batch.set_checkpoint(source, checkpoint);
    }

    pub fn checkpoint(&self, source: &str) -> Result<Option<Checkpoint>, ImportError> {
        Ok(self.store.checkpoint(source)?)
    }

    /// Imports one source: an mbox file (`.gz` too), a Maildir, a public-inbox epoch or inbox
    /// folder.
    pub fn import_path(&mut self, path: &Path, format: mbox::MboxFormat) -> Result<(), ImportError> {
        let canonical = path.canonicalize().map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
        if canonical.is_dir() {
            if canonical.join("new").is_dir() || canonical.join("cur").is_dir() {
                return self.import_maildir(&canonical);
            }
            if public_inbox::is_epoch(&canonical) {
                return self.import_epoch(&canonical);
            }
            let epochs = public_inbox::inbox_epochs(&canonical);
            if epochs.is_empty() {
                return Err(ImportError::NotMail {
                    path: path.to_path_buf(),
                    why: "a folder that is not a Maildir (new/, cur/), a public-inbox epoch (bare git repository) or an inbox folder with git/N.git".into(),
                });
            }
            for epoch in epochs {
                self.import_epoch(&epoch)?;
            }
            return Ok(());
        }
        self.import_mbox(&canonical, format)
    }

    fn import_mbox(&mut self, path: &Path, format: mbox::MboxFormat) -> Result<(), ImportError> {
        let source = format!("mbox:{}", path.display());
        let io = |source| ImportError::Io { path: path.to_path_buf(), source };
        let start = match self.store.checkpoint(&source)? {
            Some(Checkpoint::Position(offset)) => offset,
            _ => 0,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        let is_gz = path.extension().is_some_and(|e| e == "gz");
        if start == 0 {
            mbox::sniff(path)
                .map_err(io)?
                .map_or(Ok(()), |why| Err(ImportError::NotMail { path: path.to_path_buf(), why }))?;
        }
        // A file that shrank below its checkpoint was replaced: read it all again (dedupe
        // keeps that harmless).
        let start = if !is_gz && start > len { 0 } else { start };
        if !is_gz && start == len && len > 0 {
            return Ok(());
        }
        if start > 0 {
            tracing::info!(source, offset = start, "resuming after checkpoint");
        }
        let bar = self.progress_bar(len, &path.display().to_string(), true);
        bar.set_position(start);
        self.pipeline(&source, move |emit| {
            let reader = match mbox::open(path, format, start) {
                Ok(r) => r,
                Err(e) if start > 0 && e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    mbox::open(path, format, 0).map_err(io)?
                }
                Err(e) => return Err(io(e)),
            };
            let mut n = 0u64;
            for msg in reader {
                let msg = msg.map_err(io)?;
                n += 1;
                if n.is_multiple_of(256) {
                    bar.set_position(msg.end);
                    bar.set_message(format!("{n} messages"));
                }
                let item = SourceItem {
                    checkpoint: Some(Checkpoint::Position(msg.end)),
                    event: Event::Add { position: msg.start, raw: msg.raw },
                };
                if !emit(item) {
                    break;
                }
            }
            bar.finish_and_clear();
            Ok(0)
        })
    }

    fn import_epoch(&mut self, path: &Path) -> Result<(), ImportError> {
        let source = format!("git:{}", path.display());
        let checkpoint = self.store.checkpoint(&source)?;
        // Watched epochs are looked at every few seconds: an unchanged HEAD needs no walk.
        if let (Some(Checkpoint::Commit { done, id }), Some(head)) = (&checkpoint, public_inbox::head_id(path))
            && *id == head
        {
            self.stats.resumed_past += done;
            return Ok(());
        }
        let log_source = source.clone();
        let bar = self.progress_bar(0, &path.display().to_string(), false);
        self.pipeline(&source, move |emit| {
            let epoch = Epoch::open(path)?;
            let epoch_path = std::sync::Arc::new(path.to_path_buf());
            bar.set_length(epoch.len());
            // The checkpoint is (commits done, id of the last one); it holds only if that
            // commit is still at that place in the history.
            let done = match checkpoint {
                Some(Checkpoint::Commit { done, id }) if epoch.commit_at(done).as_deref() == Some(id.as_str()) => done,
                _ => 0,
            };
            if done > 0 {
                tracing::info!(source = log_source, commits = done, "resuming after checkpoint");
            }
            bar.set_position(done);
            for index in done + 1..=epoch.len() {
                if index.is_multiple_of(256) {
                    bar.set_position(index);
                }
                if index.is_multiple_of(PACK_RELEASE_EVERY) {
                    public_inbox::release_pack_pages(path);
                }
                let event = match epoch.locate(index)? {
                    Some((event, blob)) => Event::Blob {
                        position: index,
                        delete: event == public_inbox::Event::Delete,
                        epoch: epoch_path.clone(),
                        blob,
                    },
                    None => Event::Nothing,
                };
                let checkpoint = Checkpoint::Commit { done: index, id: epoch.commit_at(index).unwrap_or_default() };
                if !emit(SourceItem { event, checkpoint: Some(checkpoint) }) {
                    break;
                }
            }
            bar.finish_and_clear();
            Ok(done)
        })
    }

    /// A progress bar for one source: bytes of an mbox (with MB/s) or commits of an epoch;
    /// hidden unless `progress` is set.
    fn progress_bar(&self, len: u64, name: &str, bytes: bool) -> indicatif::ProgressBar {
        if !self.progress {
            return indicatif::ProgressBar::hidden();
        }
        let template = if bytes {
            "{prefix} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}, {msg}, ETA {eta}"
        } else {
            "{prefix} [{bar:30}] {pos}/{len} messages, {rate}, ETA {eta}"
        };
        let bar = indicatif::ProgressBar::new(len);
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            // indicatif's own {per_sec} prints four decimals of messages per second.
            let rate = |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} messages/s", state.per_sec());
            };
            bar.set_style(style.with_key("rate", rate).progress_chars("=> "));
        }
        bar.set_prefix(name.rsplit('/').next().unwrap_or(name).to_string());
        bar
    }

    /// Runs a source through three stages: a reader thread produces the items in order,
    /// worker threads parse, compress and route them (one per core), and this thread stores
    /// them in the reader's order. At most [`WINDOW`] items are between the reader and the
    /// store, whatever the workers do. `produce` returns how many items an earlier run had
    /// already imported.
    fn pipeline<F>(&mut self, source: &str, produce: F) -> Result<(), ImportError>
    where
        F: FnOnce(&mut dyn FnMut(SourceItem) -> bool) -> Result<u64, ImportError> + Send,
    {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, MAX_WORKERS);
        let router = self.router.clone();
        let store = self.store;
        std::thread::scope(|scope| {
            let (items_tx, items_rx) = std::sync::mpsc::sync_channel::<(u64, SourceItem)>(WINDOW);
            let items_rx = std::sync::Arc::new(std::sync::Mutex::new(items_rx));
            let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<(u64, Prepared)>(WINDOW);
            // Window tokens: the reader takes one per item, the store gives it back once the
            // item is stored.
            let (token_tx, token_rx) = std::sync::mpsc::sync_channel::<()>(WINDOW);
            for _ in 0..WINDOW {
                let _ = token_tx.send(());
            }
            let spawn_err = |e: std::io::Error| ImportError::Usage(format!("cannot start an import thread: {e}"));
            let reader = std::thread::Builder::new()
                .name("import-reader".into())
                .spawn_scoped(scope, move || {
                    let mut seq = 0u64;
                    produce(&mut |item| {
                        seq += 1;
                        token_rx.recv().is_ok() && items_tx.send((seq, item)).is_ok()
                    })
                })
                .map_err(spawn_err)?;
            for _ in 0..workers {
                let (items_rx, done_tx, router) = (items_rx.clone(), done_tx.clone(), router.clone());
                std::thread::Builder::new()
                    .name("import-prepare".into())
                    .spawn_scoped(scope, move || {
                        loop {
                            let next = items_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                            let Ok((seq, item)) = next else { break };
                            if done_tx.send((seq, prepare(&router, store, item))).is_err() {
                                break;
                            }
                        }
                    })
                    .map_err(spawn_err)?;
            }
            drop(done_tx);
            let mut applied = Ok(());
            let mut waiting = std::collections::BTreeMap::new();
            let mut next = 1u64;
            'store: for (seq, prepared) in done_rx.iter() {
                waiting.insert(seq, prepared);
                while let Some(prepared) = waiting.remove(&next) {
                    next += 1;
                    if let Err(e) = self.apply(source, prepared).map(drop) {
                        applied = Err(e);
                        break 'store;
                    }
                    let _ = token_tx.send(());
                }
            }
            // Dropping the channels (the loop may have stopped early) stops the reader and
            // the workers at their next item.
            drop(done_rx);
            drop(token_tx);
            let skipped = reader.join().map_err(|_| ImportError::Usage("the source reader thread panicked".into()))?;
            applied?;
            self.stats.resumed_past += skipped?;
            self.commit()
        })
    }

    fn apply(&mut self, source: &str, prepared: Prepared) -> Result<Outcome, ImportError> {
        let Prepared { item, outcome } = prepared;
        let position = match &item.event {
            Event::Add { position, .. } => *position,
            _ => 0,
        };
        let outcome = match outcome {
            Prepare::Ready { wire, stored, groups } => {
                let Event::Add { raw, .. } = &item.event else { unreachable!("only Add events are Ready") };
                self.store_message(raw, wire, stored, &groups)?
            }
            Prepare::Unreadable(reason) => self.set_aside_item(source, position, &item.event, reason, true),
            Prepare::Unroutable(reason) => self.set_aside_item(source, position, &item.event, reason, false),
            Prepare::Delete(Some(msg)) => {
                self.delete_message(&msg)?;
                Outcome::Other
            }
            Prepare::Delete(None) | Prepare::Nothing => Outcome::Other,
            Prepare::Failed(e) => return Err(e),
        };
        if let Some(checkpoint) = &item.checkpoint {
            self.batch.set_checkpoint(source, checkpoint);
        }
        self.maybe_commit()?;
        Ok(outcome)
    }

    fn set_aside_item(
        &mut self,
        source: &str,
        position: u64,
        event: &Event,
        reason: String,
        unreadable: bool,
    ) -> Outcome {
        self.stats.read += 1;
        self.batch_messages += 1;
        if let Event::Add { raw, .. } = event {
            self.set_aside(source, position, reason.clone(), raw);
        }
        Outcome::SetAside { reason, unreadable }
    }

    /// Takes one message (an MTA delivery): parsed, routed (into `group` if given),
    /// deduplicated and added to the pending batch. The caller commits.
    pub fn add_one(
        &mut self,
        source: &str,
        position: u64,
        raw: Vec<u8>,
        group: Option<&str>,
    ) -> Result<Outcome, ImportError> {
        let router = match group {
            Some(name) => Router { routes: self.router.routes.clone(), fixed: Some(self.group_id(name)?) },
            None => self.router.clone(),
        };
        let prepared =
            prepare(&router, self.store, SourceItem { event: Event::Add { position, raw }, checkpoint: None });
        self.apply(source, prepared)
    }

    /// Removes the article holding `id` from every group (its numbers stay unused).
    pub fn remove(&mut self, id: &str) -> Result<bool, ImportError> {
        match self.batch.message_id(id)? {
            Some(entry) if entry.aid != 0 => {
                self.batch.remove_article(entry.aid)?;
                self.stats.removed += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The id of a configured group.
    pub fn group_id(&self, name: &str) -> Result<u32, ImportError> {
        self.router
            .routes
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.gid)
            .ok_or_else(|| ImportError::Usage(format!("no group {name} in the configuration; add a [[group]] for it")))
    }

    fn set_aside(&mut self, source: &str, position: u64, reason: String, raw: &[u8]) {
        tracing::debug!(source, position, reason, "set aside");
        self.stats.rejected += 1;
        self.batch.reject(&Reject { source: source.to_string(), position, reason, time: now(), raw: raw.to_vec() });
    }

    /// Dedupes and stores one parsed message.
    fn store_message(
        &mut self,
        raw: &[u8],
        mut wire: Wire,
        mut stored: StoredWire,
        groups: &[u32],
    ) -> Result<Outcome, ImportError> {
        self.stats.read += 1;
        self.batch_messages += 1;
        if let Some(existing) = self.batch.message_id(&wire.message_id)? {
            if existing.content_hash == wire.content_hash {
                return self.add_groups(existing.aid, groups, wire.message_id);
            }
            // Same id, other content: a derived id keeps ids unique and both retrievable.
            let derived = derived_id(&wire.message_id, &wire.content_hash);
            if let Some(existing) = self.batch.message_id(&derived)? {
                return self.add_groups(existing.aid, groups, derived);
            }
            let Ok(mut msg) = Message::parse(raw) else { unreachable!("it parsed on the reader thread") };
            msg.set_message_id(&derived);
            wire = msg.wire();
            stored = StoredWire::compress(&wire.wire, self.store.dictionary().as_deref());
            self.stats.renamed += 1;
        }
        let memberships = self.batch.add_article(&NewArticle {
            message_id: &wire.message_id,
            content_hash: wire.content_hash,
            wire: &stored,
            header_len: wire.header_len,
            overview: &wire.overview,
            ancestors: &wire.ancestors,
            groups,
            arrival: now(),
            fixed: self.fixed_number,
        })?;
        self.stats.stored += 1;
        if memberships.len() > 1 {
            self.stats.in_several += 1;
        }
        self.stats.bytes += wire.wire.len() as u64;
        self.count_groups(&memberships);
        Ok(Outcome::Stored { message_id: wire.message_id, new: true })
    }

    fn add_groups(&mut self, aid: u64, groups: &[u32], message_id: String) -> Result<Outcome, ImportError> {
        if aid == 0 {
            // Removed earlier: a removal is not undone by seeing the message again.
            self.stats.duplicates += 1;
            return Ok(Outcome::Stored { message_id, new: false });
        }
        let added = self.batch.add_memberships(aid, groups, self.fixed_number)?;
        if added.is_empty() {
            self.stats.duplicates += 1;
        } else {
            self.stats.cross_posted += 1;
            self.count_groups(&added);
        }
        Ok(Outcome::Stored { message_id, new: false })
    }

    fn count_groups(&mut self, memberships: &[(u32, u64)]) {
        for (gid, _) in memberships {
            if let Some(r) = self.router.routes.iter().find(|r| r.gid == *gid) {
                *self.stats.per_group.entry(r.name.clone()).or_default() += 1;
            }
        }
    }

    /// Applies a public-inbox `d` commit: the message with that id and content is removed.
    fn delete_message(&mut self, msg: &Message) -> Result<(), ImportError> {
        for id in [msg.message_id.clone(), derived_id(&msg.message_id, &msg.content_hash)] {
            if let Some(entry) = self.batch.message_id(&id)?
                && entry.content_hash == msg.content_hash
                && entry.aid != 0
            {
                self.batch.remove_article(entry.aid)?;
                self.stats.removed += 1;
                return Ok(());
            }
        }
        Ok(())
    }

    fn maybe_commit(&mut self) -> Result<(), ImportError> {
        if self.batch_messages >= BATCH_MESSAGES || self.batch.pending_bytes() >= BATCH_BYTES {
            // Applied on another thread while the next batch fills; `commit` waits for it.
            self.make_room()?;
            self.batch.commit_in_background()?;
            self.batch_messages = 0;
            if let Some(memory) = &mut self.memory {
                memory.check(self.store);
            }
            self.maybe_train()?;
        }
        Ok(())
    }

    /// Trains a new compression dictionary when the store has grown enough since the last
    /// (`store::dict`): between commits, once the batch under way is applied.
    fn maybe_train(&mut self) -> Result<(), ImportError> {
        if self.training.as_ref().is_some_and(|t| t.is_finished()) {
            self.finish_training()?;
        }
        if self.training.is_some() || !self.store.dictionary_due(self.batch.articles_stored()?) {
            return Ok(());
        }
        if self.store.dictionary().is_none() {
            // Until the first is there every article is packed without one, about a fifth
            // larger: the import waits for it (a quarter of a second).
            self.batch.wait()?;
            self.store.train_dictionary()?;
        } else {
            let store = self.store.clone();
            let trainer = std::thread::Builder::new()
                .name("store-dictionary".into())
                .spawn(move || store.train_dictionary())
                .map_err(StoreError::Io)?;
            self.training = Some(trainer);
        }
        Ok(())
    }

    /// Waits for the dictionary being trained, if any.
    fn finish_training(&mut self) -> Result<(), ImportError> {
        match self.training.take().map(|t| t.join()) {
            Some(Ok(trained)) => trained.map(drop).map_err(ImportError::from),
            Some(Err(_)) => Err(StoreError::Corrupt("the dictionary trainer panicked").into()),
            None => Ok(()),
        }
    }

    /// Commits what is pending, unless the disk is nearly full: then nothing of this batch is
    /// written (its checkpoint neither), and a re-run resumes before it.
    pub fn commit(&mut self) -> Result<(), ImportError> {
        self.make_room()?;
        self.batch.commit()?;
        self.batch_messages = 0;
        self.maybe_train()
    }

    /// Refuses the pending batch, and drops it, when writing it would leave less than the
    /// reserve free on the store's filesystem.
    fn make_room(&mut self) -> Result<(), ImportError> {
        if !self.batch.is_empty()
            && let Err(e) = self.store.check_space(self.batch.pending_bytes() as u64, self.reserve)
        {
            self.batch.discard();
            self.batch_messages = 0;
            return Err(e.into());
        }
        Ok(())
    }

    /// Waits until everything committed is on disk.
    pub fn flush(&self) -> Result<(), ImportError> {
        Ok(self.store.flush()?)
    }

    /// Bytes the store takes on disk.
    pub fn store_size(&self) -> Result<u64, ImportError> {
        Ok(self.store.size_on_disk()?)
    }

    /// Commits and waits for the store to reach the disk.
    pub fn finish(mut self) -> Result<ImportStats, ImportError> {
        self.commit()?;
        self.finish_training()?;
        self.store.flush()?;
        Ok(self.stats)
    }
}

/// The id a message gets when its own id is taken by other content: `<dup-HASH.original>`.
pub fn derived_id(id: &str, hash: &[u8; 16]) -> String {
    let inner = id.trim_start_matches('<').trim_end_matches('>');
    let mut derived = format!("<dup-{}.{inner}", &hex(hash)[..16]);
    derived.truncate(249);
    derived.push('>');
    derived
}

/// Hands the memory the import's threads freed back to the system now. jemalloc (the
/// `listnews` binary's allocator) keeps freed pages in the arena of the thread that freed
/// them for ten seconds; the store opened again after a 1,000,000-message import is built on
/// the main thread's arena, so without this the old store's pages and the new one's counted
/// together: peak RSS 435 MB against 331 MB with one arena. Nothing happens under another
/// allocator.
fn release_freed_memory() {
    // MALLCTL_ARENAS_ALL (4096): every arena.
    const PURGE_ALL: &std::ffi::CStr = c"arena.4096.purge";
    // SAFETY: "arena.<i>.purge" reads and writes nothing (all pointers null, length 0), as
    // jemalloc's mallctl documents; it returns an error code, which is ignored: purging is
    // an optimisation.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            PURGE_ALL.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
}

/// How long jemalloc keeps pages an import freed before handing them back (its default, which
/// the server keeps, is ten seconds). An import frees its messages' buffers as fast as it
/// reads them: a 1,000,000-message import peaked at 327.7 MB with the default and 305.6 MB
/// with this (226.7 s and 188.4 s, one run each in the same hour; bench/results/store-size.md).
const IMPORT_DECAY_MS: isize = 1_000;

/// Makes jemalloc hand freed pages back within [`IMPORT_DECAY_MS`], in the arenas there are
/// and in those made later. Nothing happens under another allocator.
fn decay_freed_memory_sooner() {
    let ms: isize = IMPORT_DECAY_MS;
    let set = |name: &std::ffi::CStr| {
        // SAFETY: "arenas.dirty_decay_ms" and "arena.<i>.dirty_decay_ms" take an ssize_t,
        // given by pointer and length and read only; nothing is read back (null old value).
        // Errors (an arena not made yet) are ignored: this is an optimisation.
        unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                (&ms as *const isize).cast_mut().cast(),
                std::mem::size_of::<isize>(),
            );
        }
    };
    set(c"arenas.dirty_decay_ms");
    let mut arenas: u32 = 0;
    let mut len = std::mem::size_of::<u32>();
    // SAFETY: "arenas.narenas" writes an unsigned int into `arenas`, whose size `len` gives.
    let read = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arenas.narenas".as_ptr(),
            (&mut arenas as *mut u32).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if read != 0 {
        return;
    }
    for i in 0..arenas {
        if let Ok(name) = std::ffi::CString::new(format!("arena.{i}.dirty_decay_ms")) {
            set(&name);
        }
    }
}

/// Runs a whole import and prints its summary: the `listnews import` command.
pub fn run(
    config: &Config,
    group: Option<&str>,
    sources: &[PathBuf],
    format: mbox::MboxFormat,
    progress: bool,
) -> Result<ImportStats, ImportError> {
    decay_freed_memory_sooner();
    let store = Store::open_for_import(&config.server.data_dir)?;
    let started = Instant::now();
    let mut importer = Importer::new(&store, config, group)?;
    importer.progress = progress;
    let limit = config.server.import_memory_mb << 20;
    importer.memory = (limit > 0).then(|| MemoryLimit::new(limit, IMPORT_CACHE));
    for source in sources {
        importer.import_path(source, format)?;
    }
    if sources.is_empty() {
        // The sources the server follows, each into its group: the first import of a mirror.
        for g in &config.groups {
            for path in g.watch.iter().filter(|p| p.exists()) {
                importer.import_path_into(path, Some(&g.name))?;
            }
        }
    }
    let memory = importer.memory.as_ref().map(|m| (m.shrinks, m.least_cache));
    let stats = importer.finish()?;
    // sled writes its recovery snapshot only while opening a database, replaying the log
    // written since the last one: after a 1,000,000-message import that took the server's
    // first start 1.5 s. Opening the store once more here leaves it ready to serve.
    drop(store);
    release_freed_memory();
    let store = Store::open_for_import(&config.server.data_dir)?;
    let secs = started.elapsed().as_secs_f64();
    let size = store.size_on_disk().unwrap_or(0);
    println!(
        "read {} messages in {:.1} s ({:.0} messages/s): {} stored ({} of them in several groups), {} duplicates, {} already stored and now in another group too, {} stored under a derived Message-ID, {} removed, {} set aside{}",
        stats.read,
        secs,
        stats.read as f64 / secs.max(1e-9),
        stats.stored,
        stats.in_several,
        stats.duplicates,
        stats.cross_posted,
        stats.renamed,
        stats.removed,
        stats.rejected,
        if stats.rejected > 0 { " (see `listnews rejects`)" } else { "" },
    );
    if stats.resumed_past > 0 {
        println!("resumed after {} commits imported by an earlier run", stats.resumed_past);
    }
    for (group, n) in &stats.per_group {
        println!("  {group}: {n} new");
    }
    if let Some((shrinks, least)) = memory.filter(|&(shrinks, _)| shrinks > 0) {
        println!(
            "memory: the index cache was shrunk {shrinks} times, to {:.1} MiB at least (of {} MiB), to stay under import_memory_mb = {}",
            least as f64 / (1 << 20) as f64,
            IMPORT_CACHE >> 20,
            config.server.import_memory_mb
        );
    }
    println!("store: {} ({:.1} MiB on disk)", store.dir().display(), size as f64 / (1 << 20) as f64);
    Ok(stats)
}

/// `listnews rejects`: the messages set aside, one line each (with the message after it when
/// `full`), then the count.
pub fn rejects_report(store: &Store, full: bool) -> Result<String, StoreError> {
    use std::fmt::Write;
    let mut out = String::new();
    let mut n = 0;
    for reject in store.rejects() {
        let r = reject?;
        n += 1;
        let _ = writeln!(out, "{} @ {}: {} ({} bytes)", r.source, r.position, r.reason, r.raw.len());
        if full {
            let _ = writeln!(out, "{}\n", String::from_utf8_lossy(&r.raw));
        }
    }
    let _ = writeln!(out, "{n} set aside");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_valid_and_stable() {
        let h = [7u8; 16];
        let d = derived_id("<abc@example.org>", &h);
        assert_eq!(d, "<dup-0707070707070707.abc@example.org>");
        assert!(crate::protocol::command::is_message_id(&d));
        let long = format!("<{}@x>", "a".repeat(246));
        assert!(crate::protocol::command::is_message_id(&derived_id(&long, &h)));
    }
}
