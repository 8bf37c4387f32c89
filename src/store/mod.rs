//! The sled store: articles in wire form, precomputed overview lines, the Message-ID index,
//! per-group counters, arrival times, thread links and import checkpoints. It holds bytes and
//! typed records only: what the bytes mean on the wire is `protocol::article`'s business.
//! No sockets here.
//!
//! Schema (one tree, see [`codec`]): articles get a store-wide id (`aid`) when stored; each
//! group membership gets the group's next number. Numbers come from counters kept in the
//! group record, never from `Tree::len` or `generate_id`, and are never reused.

pub mod codec;
mod dict;
mod log;
mod memory;
mod overview;
mod thread;
mod writer;

use std::path::{Path, PathBuf};

use codec::{Reader, Writer};
pub use dict::{Dictionary, Packing};
pub use log::Location;
use log::{ArticleLog, Tail};
pub use memory::MemoryLimit;
pub use overview::OverviewEntry;
pub use thread::{MAX_THREAD, ThreadEntry, ThreadNode};
pub use writer::{Batch, NewArticle};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store error: {0}")]
    Sled(#[from] sled::Error),
    #[error("the store at {path} is in use by {holder}; stop it first (only one process may open a store)")]
    InUse { path: PathBuf, holder: String },
    #[error(
        "the store at {path} has format {found}, this listnews reads format {expected}; rebuild it: move {path} \
         aside, then run `listnews import --config FILE` with the archive's sources (the mbox files, Maildirs \
         and public-inbox epochs it was filled from; with none, the configured watch and mirror sources)"
    )]
    Format { path: PathBuf, found: String, expected: u32 },
    #[error(
        "the filesystem holding {path} has {free_mib} MiB free and this write needs {needed_mib} MiB more \
         than the {reserve_mib} MiB kept free; free some space and run it again (imports resume \
         where they stopped)"
    )]
    DiskFull { path: PathBuf, free_mib: u64, needed_mib: u64, reserve_mib: u64 },
    #[error("store record is damaged: {0}")]
    Corrupt(&'static str),
    #[error("store I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("backup: {0}")]
    Backup(String),
}

/// What [`Store::verify`] found.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Verification {
    pub format: u32,
    pub articles: u64,
    /// Bytes of article text read back and checked.
    pub text_bytes: u64,
    pub size_on_disk: u64,
    /// Per group: name, articles the counters say, overview entries found.
    pub groups: Vec<(String, u64, u64)>,
    /// What is wrong, one line each.
    pub problems: Vec<String>,
    /// How the article texts are packed: ("plain" | "zstd" | "dictionary N", articles).
    #[serde(default)]
    pub packing: Vec<(String, u64)>,
}

/// What [`Store::backup`] copied.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BackupSummary {
    pub records: u64,
    pub article_bytes: u64,
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A group's counters (RFC 3977 §6.1.1: count, low and high water marks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupMeta {
    pub id: u32,
    /// When the group first appeared in the store (NEWGROUPS, LIST ACTIVE.TIMES).
    pub created: i64,
    /// Highest number ever assigned; 0 before the first article.
    pub high: u64,
    /// Lowest number still present; `high + 1` when the group is empty (`211 0 L L-1`).
    pub low: u64,
    /// Articles present now.
    pub count: u64,
}

impl GroupMeta {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u32(self.id).i64(self.created).u64(self.high).u64(self.low).u64(self.count);
        w.0
    }
    fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(GroupMeta { id: r.u32()?, created: r.i64()?, high: r.u64()?, low: r.u64()?, count: r.u64()? })
    }
}

/// Article wire bytes as kept on disk: zstd-compressed (with the store's dictionary once it
/// has one, [`dict`]) when that saves space.
#[derive(Debug, Clone)]
pub struct StoredWire {
    /// Length of the wire bytes.
    pub len: usize,
    pub packing: Packing,
    pub data: Vec<u8>,
}

impl StoredWire {
    /// Compresses wire bytes for storing, with `dict` if given (the store's current one,
    /// [`Store::dictionary`]).
    pub fn compress(wire: &[u8], dict: Option<&Dictionary>) -> StoredWire {
        match dict::compress(wire, dict) {
            Some((data, packing)) if data.len() + 16 < wire.len() => StoredWire { len: wire.len(), packing, data },
            _ => StoredWire { len: wire.len(), packing: Packing::Plain, data: wire.to_vec() },
        }
    }
}

/// An article's sled record: what is known of it without its text, and where its text is
/// in the article log ([`Store::text`] reads it from there without another lookup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleMeta {
    pub message_id: String,
    pub arrival: i64,
    /// Every (group id, number) this article has, in the order they were assigned.
    pub memberships: Vec<(u32, u64)>,
    /// Length of the header lines in the wire bytes.
    pub(crate) header_len: usize,
    /// Length of the wire bytes.
    pub(crate) len: usize,
    pub(crate) packing: Packing,
    pub(crate) at: Location,
}

/// Version 4 added the dictionary id; version 3 records (packing 0 or 1) read as before.
const ARTICLE_RECORD_VERSION: u8 = 4;

impl ArticleMeta {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(64 + self.message_id.len()));
        w.u8(ARTICLE_RECORD_VERSION).i64(self.arrival).u32(self.header_len as u32).u16(self.memberships.len() as u16);
        for (gid, num) in &self.memberships {
            w.u32(*gid).u64(*num);
        }
        w.bytes(self.message_id.as_bytes());
        match self.packing {
            Packing::Plain => w.u8(0),
            Packing::Zstd => w.u8(1),
            Packing::Dict(id) => w.u8(2).u32(id),
        };
        w.u32(self.len as u32).u32(self.at.segment).u64(self.at.offset).u32(self.at.len);
        w.0
    }

    pub(crate) fn decode(raw: &[u8]) -> Result<Self> {
        let mut r = Reader::new(raw);
        let version = r.u8()?;
        if version != ARTICLE_RECORD_VERSION && version != 3 {
            return Err(StoreError::Corrupt("unknown article record version"));
        }
        let arrival = r.i64()?;
        let header_len = r.u32()? as usize;
        let n = r.u16()? as usize;
        let mut memberships = Vec::with_capacity(n);
        for _ in 0..n {
            memberships.push((r.u32()?, r.u64()?));
        }
        let message_id = std::str::from_utf8(r.bytes()?).map_err(|_| StoreError::Corrupt("message-id"))?.to_string();
        let packing = match r.u8()? {
            0 => Packing::Plain,
            1 => Packing::Zstd,
            2 if version >= 4 => Packing::Dict(r.u32()?),
            _ => return Err(StoreError::Corrupt("unknown article packing")),
        };
        let len = r.u32()? as usize;
        let at = Location { segment: r.u32()?, offset: r.u64()?, len: r.u32()? };
        if header_len > len || (packing == Packing::Plain && at.len as usize != len) {
            return Err(StoreError::Corrupt("article lengths"));
        }
        Ok(ArticleMeta { message_id, arrival, memberships, header_len, len, packing, at })
    }

    pub fn number_in(&self, gid: u32) -> Option<u64> {
        self.memberships.iter().find(|(g, _)| *g == gid).map(|(_, n)| *n)
    }
}

/// One article as stored: wire bytes (CRLF, dot-stuffed), ready to send.
#[derive(Debug, Clone)]
pub struct Article {
    pub arrival: i64,
    /// Every (group id, number) this article has, in the order they were assigned.
    pub memberships: Vec<(u32, u64)>,
    message_id: String,
    wire: Vec<u8>,
    header_len: usize,
}

impl Article {
    pub fn message_id(&self) -> &str {
        &self.message_id
    }
    /// The whole article as sent by ARTICLE (without the served Path/Newsgroups/Xref lines).
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }
    /// Header lines, each ending in CRLF, without the blank separator line.
    pub fn head(&self) -> &[u8] {
        &self.wire[..self.header_len]
    }
    /// The body after the blank line, dot-stuffed, ending in CRLF (or empty).
    pub fn body(&self) -> &[u8] {
        self.wire.get(self.header_len + 2..).unwrap_or(&[])
    }
    pub fn number_in(&self, gid: u32) -> Option<u64> {
        self.memberships.iter().find(|(g, _)| *g == gid).map(|(_, n)| *n)
    }
}

/// The Message-ID index entry: which article holds the id, and a hash of its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsgIdEntry {
    /// 0 when the article was removed: the id stays taken so it is never stored again.
    pub aid: u64,
    pub content_hash: [u8; 16],
}

impl MsgIdEntry {
    /// The record as formats up to 6 kept it under `M id` (tests build such stores).
    #[cfg(test)]
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u64(self.aid).raw(&self.content_hash);
        w.0
    }
    fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let aid = r.u64()?;
        let hash: [u8; 16] = r.rest().try_into().map_err(|_| StoreError::Corrupt("msgid entry"))?;
        Ok(MsgIdEntry { aid, content_hash: hash })
    }
}

/// Everything the store keeps under one message-id (format 7 on, the record `M id`): the
/// article that holds it, once one was stored, and its place in the thread graph, once it
/// was stored or referenced. Formats up to 6 kept these as two records (`M id` and
/// `T id`), which cost every message two random places in sled's tree instead of one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IdRecord {
    pub entry: Option<MsgIdEntry>,
    pub thread: Option<ThreadNode>,
}

/// [`IdRecord`]'s first byte.
const ID_ENTRY: u8 = 1;
const ID_THREAD: u8 = 2;
/// The thread node's article is the entry's, not written again.
const ID_SAME_AID: u8 = 4;

impl IdRecord {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        let same = matches!((&self.entry, &self.thread), (Some(e), Some(t)) if e.aid == t.aid);
        let mut flags = 0;
        if self.entry.is_some() {
            flags |= ID_ENTRY;
        }
        if self.thread.is_some() {
            flags |= ID_THREAD;
        }
        if same {
            flags |= ID_SAME_AID;
        }
        w.u8(flags);
        if let Some(e) = &self.entry {
            w.u64(e.aid).raw(&e.content_hash);
        }
        if let Some(t) = &self.thread {
            if !same {
                w.u64(t.aid);
            }
            t.encode_links(&mut w);
        }
        w.0
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Self> {
        let (flags, entry, mut r) = Self::decode_head(b)?;
        let thread = if flags & ID_THREAD != 0 {
            let aid = match &entry {
                Some(e) if flags & ID_SAME_AID != 0 => e.aid,
                _ => r.u64()?,
            };
            Some(ThreadNode::decode_links(&mut r, aid)?)
        } else {
            None
        };
        if !r.rest().is_empty() {
            return Err(StoreError::Corrupt("message-id record"));
        }
        Ok(IdRecord { entry, thread })
    }

    /// Only the Message-ID entry, for lookups that need no thread (ARTICLE by message-id,
    /// an import's duplicate check): the thread node's strings are not copied out.
    pub(crate) fn decode_entry(b: &[u8]) -> Result<Option<MsgIdEntry>> {
        Ok(Self::decode_head(b)?.1)
    }

    /// The flags and the entry, and a reader left at the thread node.
    fn decode_head(b: &[u8]) -> Result<(u8, Option<MsgIdEntry>, Reader<'_>)> {
        let mut r = Reader::new(b);
        let flags = r.u8()?;
        let both = ID_ENTRY | ID_THREAD;
        if flags & both == 0 || flags & !(both | ID_SAME_AID) != 0 || (flags & ID_SAME_AID != 0 && flags & both != both)
        {
            return Err(StoreError::Corrupt("message-id record"));
        }
        let entry = if flags & ID_ENTRY != 0 {
            let aid = r.u64()?;
            let hash = r.take(16)?.try_into().map_err(|_| StoreError::Corrupt("message-id record"))?;
            Some(MsgIdEntry { aid, content_hash: hash })
        } else {
            None
        };
        Ok((flags, entry, r))
    }
}

/// Format 7: every thread node (`T id`, formats up to 6) moved into the record under
/// `M id`, then every Message-ID entry that had none rewritten as an [`IdRecord`]. Each step
/// of up to 10,000 ids is one sled batch that writes the new records and removes the old
/// ones, so a conversion stopped half way goes on where it was: while a `T id` is left, its
/// `M id` is still in the old form (24 bytes, the first 0, which no [`IdRecord`] is).
/// Returns the records rewritten.
fn merge_id_records(db: &sled::Db, tree: &sled::Tree) -> Result<u64> {
    const STEP: usize = 10_000;
    fn is_old_entry(v: &[u8]) -> bool {
        v.len() == 24 && v[0] == 0
    }
    let mut rewritten = 0u64;
    loop {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for item in tree.scan_prefix([codec::THREAD]).take(STEP) {
            let (key, value) = item?;
            let id_key = codec::key(codec::MESSAGE_ID, &key[1..]);
            let entry = match tree.get(&id_key)? {
                Some(v) if is_old_entry(&v) => Some(MsgIdEntry::decode(&v)?),
                Some(v) => IdRecord::decode_entry(&v)?,
                None => None,
            };
            batch.insert(id_key, IdRecord { entry, thread: Some(ThreadNode::decode(&value)?) }.encode());
            batch.remove(key);
            n += 1;
        }
        if n == 0 {
            break;
        }
        tree.apply_batch(batch)?;
        db.clean_log(2 * n)?;
        rewritten += n as u64;
    }
    let mut from = vec![codec::MESSAGE_ID];
    loop {
        let mut batch = sled::Batch::default();
        let (mut n, mut seen, mut last) = (0u64, 0, None);
        for item in
            tree.range(from.clone()..).take_while(|i| i.as_ref().map_or(true, |(k, _)| k[0] == codec::MESSAGE_ID))
        {
            let (key, value) = item?;
            if is_old_entry(&value) {
                batch.insert(key.clone(), IdRecord { entry: Some(MsgIdEntry::decode(&value)?), thread: None }.encode());
                n += 1;
            }
            seen += 1;
            last = Some(key);
            if seen == STEP {
                break;
            }
        }
        tree.apply_batch(batch)?;
        db.clean_log(n as usize)?;
        rewritten += n;
        match last {
            Some(key) if seen == STEP => {
                from = key.to_vec();
                from.push(0);
            }
            _ => return Ok(rewritten),
        }
    }
}

/// How far an import has read a source, committed with the batch that got there, so a re-run
/// resumes exactly after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkpoint {
    /// A file already taken whole (a Maildir message).
    Seen,
    /// A position: the byte offset after the last message of an mbox (in the decompressed
    /// text of a `.gz`), or the last article number fetched from an upstream group.
    Position(u64),
    /// A public-inbox epoch: commits done, and the id of the last one (the position holds only
    /// while that commit is still at that place in the history).
    Commit { done: u64, id: String },
}

impl Checkpoint {
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Checkpoint::Seen => Vec::new(),
            Checkpoint::Position(n) => n.to_be_bytes().to_vec(),
            Checkpoint::Commit { done, id } => {
                let mut v = done.to_be_bytes().to_vec();
                v.extend_from_slice(id.as_bytes());
                v
            }
        }
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Self> {
        Ok(match b.len() {
            0 => Checkpoint::Seen,
            8 => Checkpoint::Position(codec::be_u64(b).ok_or(StoreError::Corrupt("checkpoint"))?),
            1..8 => return Err(StoreError::Corrupt("checkpoint")),
            _ => Checkpoint::Commit {
                done: codec::be_u64(b).ok_or(StoreError::Corrupt("checkpoint"))?,
                id: String::from_utf8(b[8..].to_vec()).map_err(|_| StoreError::Corrupt("checkpoint commit id"))?,
            },
        })
    }
}

/// A message set aside by an import, with the reason.
#[derive(Debug, Clone)]
pub struct Reject {
    pub source: String,
    pub position: u64,
    pub reason: String,
    pub time: i64,
    pub raw: Vec<u8>,
}

impl Reject {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes(self.source.as_bytes())
            .u64(self.position)
            .bytes(self.reason.as_bytes())
            .i64(self.time)
            .bytes(&self.raw);
        w.0
    }
    fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(Reject {
            source: r.str()?.to_string(),
            position: r.u64()?,
            reason: r.str()?.to_string(),
            time: r.i64()?,
            raw: r.bytes()?.to_vec(),
        })
    }
}

/// Every record decoder on the same bytes: a damaged store gives errors, never a panic. For
/// the fuzz target `records` (fuzz/fuzz_targets/records.rs); not an interface.
#[doc(hidden)]
pub fn decode_any_record(data: &[u8]) -> usize {
    let mut decoded = 0;
    decoded += usize::from(ArticleMeta::decode(data).is_ok());
    decoded += usize::from(GroupMeta::decode(data).is_ok());
    decoded += usize::from(MsgIdEntry::decode(data).is_ok());
    decoded += usize::from(Checkpoint::decode(data).is_ok());
    decoded += usize::from(Reject::decode(data).is_ok());
    decoded += usize::from(ThreadNode::decode(data).is_ok());
    decoded += usize::from(IdRecord::decode(data).is_ok());
    decoded += usize::from(Tail::decode(data).is_some());
    decoded += usize::from(overview::table(3, data).is_ok());
    decoded += usize::from(overview::entries(3, data).is_ok());
    decoded += usize::from(overview::Block::decode(3, data).is_ok());
    decoded
}

/// The store: one sled database, owned by one process.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    tree: sled::Tree,
    dir: PathBuf,
    log: std::sync::Arc<ArticleLog>,
    dicts: std::sync::Arc<dict::Dictionaries>,
}

const PID_FILE: &str = "listnews.pid";
/// The on-disk format; bumped whenever keys or records change meaning. Format 4 added
/// compression dictionaries, format 5 overview blocks, format 6 a compressed sled log,
/// format 7 one record per message-id ([`IdRecord`]: the Message-ID entry and the thread
/// node together). A format 3 to 6 store is converted when opened (its index copied into a
/// compressed database, its overview entries into blocks, its thread nodes into the
/// Message-ID records; its articles are read as they are), after which older listnews
/// versions cannot open it.
const FORMAT: u32 = 7;
const CONVERTS_FROM: [u32; 4] = [3, 4, 5, 6];

/// sled's page cache for a serving process, and for a standalone import (which reads little
/// back: a smaller cache halves its peak memory for about a tenth of its speed; 200,000
/// messages peaked at 221-252 MB instead of 446-465 MB). sled counts a cached page by its
/// size in the log, compressed since format 6. An import of 1,000,000 generated messages
/// peaked at 361 MB with the old 64 MiB, 327 MB with 48 MiB (322-330 MB uncompressed); 32
/// MiB gave 310 MB but a larger index (2.35 GB against 2.11) and a slower import. Serving
/// that store under random ARTICLE load, 256 MiB held 641 MB of RSS against format 5's 657
/// MB, its throughput within this VM's noise of format 5's; with 160 MiB it read 8-12%
/// slower than format 5 (`bench/results/store-size.md`). Format 7 (one record fewer per
/// message) used less of the import's time, and some of that buys memory: 1,000,000
/// messages peaked at 246.5 MB in 157.7 s with 40 MiB against 262.9 MB in 149.5 s with 48
/// (200,000: 206-208 MB against 231-252, 22.5-24.1 s against 22.6; the selinux epoch the
/// same within noise; `bench/results/profile-import.md`).
const SERVING_CACHE: u64 = 256 << 20;
pub const IMPORT_CACHE: u64 = 40 << 20;

/// The store's sled database, and where [`Store::compress_index`] builds and swaps one.
const INDEX_DIR: &str = "db";
const INDEX_COPY: &str = "db.compressing";
const INDEX_OLD: &str = "db.uncompressed";

/// How the store's sled database is opened. Compressed (format 6 on): every logged fragment
/// of 256 bytes or more is packed with zstd (vendor/sled/LISTNEWS.md); sled keeps its page
/// cache decompressed, so only writes and reads from disk pay for it. Level 1, with the log
/// cleaned as it is written (`clean_log` in writer.rs): the selinux index 13.7-14.3 MB
/// against 17.4-18.0 at level -4, its import 4.6-4.9 s against 4.4-4.5; 1,000,000 generated
/// messages 442 MB against 576 MB, 303 s against 283 s (one import each). The level is not
/// kept in the database: stores written at another read the same.
const INDEX_LEVEL: i32 = 1;

fn index_config(path: &Path, compressed: bool) -> sled::Config {
    sled::Config::new()
        .path(path)
        .mode(sled::Mode::LowSpace)
        .use_compression(compressed)
        .compression_factor(INDEX_LEVEL)
        // No background flusher: its thread holds the database (and its file lock) for up
        // to 500 ms after the store is dropped (sled #1289), so a command run right after
        // an import found the store "in use". Durability does not rest on it: imports
        // flush when they finish and the writer flushes before answering a delivery.
        .flush_every_ms(None)
}

/// Whether the sled database at `index` was made with compression, from the settings file
/// sled keeps beside it (`use_compression: true`); one not made yet will be.
fn compressed_index(index: &Path) -> Result<bool> {
    match std::fs::read(index.join("conf")) {
        Ok(conf) => Ok(memchr::memmem::find(&conf, b"use_compression: true").is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// Copies every tree of `db` into a new compressed sled database at `dest`, streamed tree by
/// tree (a large store is never held in memory): the number of records copied and the
/// copy's size on disk.
fn copy_index(db: &sled::Db, dest: &Path) -> Result<(u64, u64)> {
    let copy = index_config(dest, true).open()?;
    let records = std::cell::Cell::new(0u64);
    for (kind, name, items) in db.export() {
        copy.import(vec![(kind, name, items.inspect(|_| records.set(records.get() + 1)))]);
    }
    copy.flush()?;
    Ok((records.get(), copy.size_on_disk()?))
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        Self::open_with_cache(dir, SERVING_CACHE)
    }

    /// [`Store::open`] for a standalone import: a smaller page cache.
    pub fn open_for_import(dir: &Path) -> Result<Store> {
        Self::open_with_cache(dir, IMPORT_CACHE)
    }

    fn open_with_cache(dir: &Path, cache: u64) -> Result<Store> {
        std::fs::create_dir_all(dir)?;
        let mut waited = std::time::Duration::ZERO;
        loop {
            match Self::try_open(dir, cache) {
                // sled releases its lock after `Db` drops, from a background thread (sled
                // #1289): when the holder is this very process, wait for it a little.
                Err(StoreError::InUse { holder, .. })
                    if holder == format!("PID {}", std::process::id()) && waited.as_secs() < 10 =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    waited += std::time::Duration::from_millis(20);
                }
                other => return other,
            }
        }
    }

    fn try_open(dir: &Path, cache: u64) -> Result<Store> {
        let (db, compressed) = Self::open_index(dir, cache)?;
        let tree = db.open_tree("listnews")?;
        let format_key = codec::key(codec::META, b"format");
        let found = match tree.get(&format_key)? {
            Some(v) => match codec::be_u32(&v) {
                Some(f) if f == FORMAT || CONVERTS_FROM.contains(&f) => Some(f),
                other => {
                    let found = other.map_or_else(|| "unknown".to_string(), |f| f.to_string());
                    return Err(StoreError::Format { path: dir.to_path_buf(), found, expected: FORMAT });
                }
            },
            None if tree.first()?.is_none() => None,
            None => {
                return Err(StoreError::Format {
                    path: dir.to_path_buf(),
                    found: "unversioned".into(),
                    expected: FORMAT,
                });
            }
        };
        if !compressed {
            drop(tree);
            Self::compress_index(dir, db)?;
            return Self::try_open(dir, cache);
        }
        if found.is_some_and(|f| f != FORMAT) && cache > IMPORT_CACHE {
            // A conversion reads every record once, and a serving cache would keep them all
            // (`listnews thread` converting a 1,000,000-message store peaked at 1.08 GB):
            // converted with the import's cache, then opened as asked.
            drop(tree);
            drop(db);
            drop(Self::try_open(dir, IMPORT_CACHE)?);
            return Self::try_open(dir, cache);
        }
        std::fs::write(dir.join(PID_FILE), format!("{}\n", std::process::id()))?;
        match found {
            Some(FORMAT) => {}
            None => {
                tree.insert(&format_key, &FORMAT.to_be_bytes())?;
            }
            Some(f) => {
                let started = std::time::Instant::now();
                // Formats 3 and 4 kept an overview record per article; format 5 needs nothing
                // more than the compressed index it now has; up to 6, a message-id's thread
                // node was a record of its own.
                let entries = if f < 5 { overview::convert(&tree)? } else { 0 };
                let id_records = merge_id_records(&db, &tree)?;
                tree.insert(&format_key, &FORMAT.to_be_bytes())?;
                tree.flush()?;
                tracing::info!(
                    path = %dir.display(),
                    from = f,
                    entries,
                    id_records,
                    secs = started.elapsed().as_secs_f64(),
                    "store converted to format {FORMAT}"
                );
            }
        }
        let tail = tree
            .get(codec::key(codec::META, log::TAIL_KEY))?
            .map(|v| Tail::decode(&v).ok_or(StoreError::Corrupt("article log tail")))
            .transpose()?
            .unwrap_or(Tail { segment: 0, offset: 0 });
        let log = std::sync::Arc::new(ArticleLog::open(&dir.join("articles"), tail)?);
        let dicts = dict::Dictionaries::default();
        for item in tree.scan_prefix([codec::DICTIONARY]) {
            let (key, value) = item?;
            let id = codec::be_u32(&key[1..]).ok_or(StoreError::Corrupt("dictionary key"))?;
            dicts.add(Dictionary::decode(id, &value)?);
        }
        Ok(Store { db, tree, dir: dir.to_path_buf(), log, dicts: std::sync::Arc::new(dicts) })
    }

    /// Opens the sled database of the store in `dir` as it is on disk, after finishing or
    /// undoing an interrupted [`Store::compress_index`]; and whether it is compressed.
    fn open_index(dir: &Path, cache: u64) -> Result<(sled::Db, bool)> {
        let (index, copy, old) = (dir.join(INDEX_DIR), dir.join(INDEX_COPY), dir.join(INDEX_OLD));
        if copy.exists() && !index.exists() && old.exists() {
            // Stopped between the two renames: the copy is whole (it is renamed only then).
            std::fs::rename(&copy, &index)?;
        } else if copy.exists() {
            // Stopped while copying: the old index is untouched; copy again.
            std::fs::remove_dir_all(&copy)?;
        }
        if old.exists() && index.exists() {
            std::fs::remove_dir_all(&old)?;
        }
        let compressed = compressed_index(&index)?;
        let db = index_config(&index, compressed).cache_capacity(cache).open().map_err(|e| match e {
            sled::Error::Io(ref io)
                if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock") =>
            {
                let holder = std::fs::read_to_string(dir.join(PID_FILE))
                    .ok()
                    .and_then(|s| s.trim().parse::<u32>().ok())
                    .map(|pid| format!("PID {pid}"))
                    .unwrap_or_else(|| "another process".to_string());
                StoreError::InUse { path: dir.to_path_buf(), holder }
            }
            other => StoreError::Sled(other),
        })?;
        Ok((db, compressed))
    }

    /// Format 6 compresses sled's log; sled cannot change that of a database in place, so an
    /// older store's index (`old`, open) is copied record by record into a compressed one
    /// beside it, which then takes its place. The article log is not touched. Interrupted, it
    /// starts again or finishes at the next open ([`Store::open_index`]).
    fn compress_index(dir: &Path, old: sled::Db) -> Result<()> {
        let started = std::time::Instant::now();
        let (index, copy_dir, old_dir) = (dir.join(INDEX_DIR), dir.join(INDEX_COPY), dir.join(INDEX_OLD));
        let before = old.size_on_disk()?;
        let (records, after) = copy_index(&old, &copy_dir)?;
        drop(old);
        std::fs::rename(&index, &old_dir)?;
        std::fs::rename(&copy_dir, &index)?;
        std::fs::remove_dir_all(&old_dir)?;
        tracing::info!(
            path = %dir.display(),
            records,
            mib_before = before >> 20,
            mib_after = after >> 20,
            secs = started.elapsed().as_secs_f64(),
            "store index compressed (format 6)"
        );
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The dictionary new articles are packed with ([`StoredWire::compress`]), if the store
    /// has trained one yet.
    pub fn dictionary(&self) -> Option<std::sync::Arc<Dictionary>> {
        self.dicts.current()
    }

    /// Articles ever stored (removed ones included), from the committed counter.
    fn articles_stored(&self) -> Result<u64> {
        Ok(writer::articles_stored(self.tree.get(codec::key(codec::META, writer::NEXT_ARTICLE_ID))?.as_deref()))
    }

    /// Whether a store of `articles` has grown enough since its last dictionary to train a
    /// new one.
    pub fn dictionary_due(&self, articles: u64) -> bool {
        self.dicts.due(articles)
    }

    /// Trains a dictionary on the newest articles and makes it the one new articles are packed
    /// with (about a quarter of a second). The importer runs it on a thread of its own when
    /// [`Store::dictionary_due`] says so, and goes on storing meanwhile.
    ///
    /// The dictionary's record is written before any article is packed with it, so it is
    /// earlier in sled's log than any record of such an article: sled recovers a prefix of its
    /// log, so no recovered article can name a dictionary that was lost. (No flush here: a
    /// sled flush must follow the article log's sync, which the committing thread owns.)
    pub fn train_dictionary(&self) -> Result<Option<u32>> {
        let articles = self.articles_stored()?;
        let newest = (1..=articles).rev().filter_map(|aid| self.article(aid).transpose()).map(|a| a.map(|a| a.wire));
        let Some((id, record, dict)) = dict::train(&self.dicts, articles, newest)? else { return Ok(None) };
        self.tree.insert(codec::key(codec::DICTIONARY, &id.to_be_bytes()), record)?;
        self.dicts.add(dict);
        Ok(Some(id))
    }

    /// Starts a batch of writes, applied atomically by [`Batch::commit`].
    pub fn batch(&self) -> Batch<'_> {
        Batch::new(self)
    }

    /// Waits until everything written so far is on disk.
    pub fn flush(&self) -> Result<()> {
        // Articles first: a durable record must never point at bytes that are not.
        self.log.sync()?;
        self.db.flush()?;
        Ok(())
    }

    /// Refuses a write of about `bytes` when it would leave less than `reserve` bytes free on
    /// the store's filesystem (sled cannot even reopen a store on a full disk).
    pub fn check_space(&self, bytes: u64, reserve: u64) -> Result<()> {
        let free = fs2::available_space(&self.dir)?;
        // sled writes a batch to its log and later rewrites pages: count it twice.
        let needed = bytes.saturating_mul(2);
        if free < needed.saturating_add(reserve) {
            return Err(StoreError::DiskFull {
                path: self.dir.clone(),
                free_mib: free >> 20,
                needed_mib: needed.div_ceil(1 << 20),
                reserve_mib: reserve >> 20,
            });
        }
        Ok(())
    }

    /// A consistent copy of the store in `dest` (a new or empty folder), which opens as a
    /// store as it is. Nothing may write meanwhile: the serving process runs it on its
    /// writer thread, between commits.
    pub fn backup(&self, dest: &Path) -> Result<BackupSummary> {
        if dest.exists() && std::fs::read_dir(dest)?.next().is_some() {
            return Err(StoreError::Backup(format!("{} is not empty; give a new folder", dest.display())));
        }
        self.flush()?;
        std::fs::create_dir_all(dest)?;
        let (records, _) = copy_index(&self.db, &dest.join(INDEX_DIR))?;
        let article_bytes = self.log.copy_to(&dest.join("articles"), self.log.tail())?;
        Ok(BackupSummary { records, article_bytes })
    }

    /// Reads everything back: every group's overview against its counters, every article
    /// record, its memberships, its Message-ID entry and its text.
    pub fn verify(&self) -> Result<Verification> {
        let mut v = Verification { format: FORMAT, size_on_disk: self.size_on_disk()?, ..Default::default() };
        let groups = self.groups()?;
        let mut by_id = std::collections::HashMap::new();
        for (name, meta) in &groups {
            let mut found = 0u64;
            for item in self.overview_range(meta.id, 1, meta.high) {
                let (num, _) = item?;
                found += 1;
                if num < meta.low || num > meta.high {
                    v.problems.push(format!("{name}: article {num} outside {}-{}", meta.low, meta.high));
                }
            }
            if found != meta.count {
                v.problems.push(format!("{name}: counters say {} articles, the overview holds {found}", meta.count));
            }
            by_id.insert(meta.id, name.clone());
            v.groups.push((name.clone(), meta.count, found));
        }
        let mut packing = std::collections::BTreeMap::new();
        for item in self.tree.scan_prefix([codec::ARTICLE]) {
            let (key, value) = item?;
            let aid = codec::be_u64(&key[1..]).unwrap_or_default();
            let meta = match ArticleMeta::decode(&value) {
                Ok(m) => m,
                Err(e) => {
                    v.problems.push(format!("article record {aid}: {e}"));
                    continue;
                }
            };
            v.articles += 1;
            *packing.entry(meta.packing).or_insert(0u64) += 1;
            for (gid, num) in &meta.memberships {
                if self.article_at(*gid, *num)? != Some(aid) {
                    let group = by_id.get(gid).cloned().unwrap_or_else(|| format!("group id {gid}"));
                    v.problems.push(format!("{}: {group} {num} has no overview entry", meta.message_id));
                }
            }
            match self.message_id(&meta.message_id)? {
                Some(entry) if entry.aid == aid => {}
                _ => v.problems.push(format!("{}: the Message-ID index does not point at it", meta.message_id)),
            }
            let len = meta.len as u64;
            match self.text(meta.clone()) {
                Ok(_) => v.text_bytes += len,
                Err(e) => v.problems.push(format!("{}: text unreadable: {e}", meta.message_id)),
            }
            if v.problems.len() > 1000 {
                v.problems.push("… stopped after 1000 problems".into());
                break;
            }
        }
        v.packing = packing
            .into_iter()
            .map(|(p, n)| {
                let name = match p {
                    Packing::Plain => "plain".to_string(),
                    Packing::Zstd => "zstd".to_string(),
                    Packing::Dict(id) => format!("dictionary {id}"),
                };
                (name, n)
            })
            .collect();
        Ok(v)
    }

    /// Sets the index's page cache from now on (a [`MemoryLimit`] shrinking it).
    pub fn set_cache_capacity(&self, bytes: u64) {
        self.db.set_cache_capacity(bytes);
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()? + self.log.size()?)
    }

    pub fn group(&self, name: &str) -> Result<Option<GroupMeta>> {
        match self.tree.get(codec::key(codec::GROUP, name.as_bytes()))? {
            Some(v) => Ok(Some(GroupMeta::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Every group in the store, sorted by name.
    pub fn groups(&self) -> Result<Vec<(String, GroupMeta)>> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix([codec::GROUP]) {
            let (k, v) = item?;
            let name = String::from_utf8_lossy(&k[1..]).into_owned();
            out.push((name, GroupMeta::decode(&v)?));
        }
        Ok(out)
    }

    pub fn group_name(&self, gid: u32) -> Result<Option<String>> {
        Ok(self
            .tree
            .get(codec::key(codec::GROUP_NAME, &gid.to_be_bytes()))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    pub fn overview(&self, gid: u32, num: u64) -> Result<Option<OverviewEntry>> {
        match self.tree.get(overview::key(gid, num))? {
            Some(raw) => overview::entry(num, &raw),
            None => Ok(None),
        }
    }

    /// The article numbered `num` in `gid`, if there is one (reads no overview text).
    pub fn article_at(&self, gid: u32, num: u64) -> Result<Option<u64>> {
        match self.tree.get(overview::key(gid, num))? {
            Some(raw) => overview::article_at(num, &raw),
            None => Ok(None),
        }
    }

    /// Overview entries of `gid` with numbers in `low..=high`, in order.
    pub fn overview_range(
        &self,
        gid: u32,
        low: u64,
        high: u64,
    ) -> impl Iterator<Item = Result<(u64, OverviewEntry)>> + '_ {
        let range = overview::key(gid, low)..=overview::key(gid, high.max(low));
        let empty = high < low;
        self.tree.range(range).filter(move |_| !empty).flat_map(move |item| {
            let entries =
                item.map_err(StoreError::from).and_then(|(k, v)| overview::entries(overview::block_of(&k)?, &v));
            match entries {
                Ok(entries) => {
                    entries.into_iter().filter(|(n, _)| (low..=high).contains(n)).map(Ok).collect::<Vec<_>>()
                }
                Err(e) => vec![Err(e)],
            }
        })
    }

    /// Up to `limit` overview entries of `gid` numbered below `before`, newest first.
    pub fn overview_newest(&self, gid: u32, before: u64, limit: usize) -> Result<Vec<(u64, OverviewEntry)>> {
        let mut out = Vec::with_capacity(limit.min(1024));
        if before == 0 {
            return Ok(out);
        }
        let range = overview::key(gid, 0)..=overview::key(gid, before - 1);
        for item in self.tree.range(range).rev() {
            let (k, v) = item?;
            let entries = overview::entries(overview::block_of(&k)?, &v)?;
            for (num, entry) in entries.into_iter().rev().filter(|(n, _)| *n < before) {
                if out.len() >= limit {
                    return Ok(out);
                }
                out.push((num, entry));
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// The first article number of `gid` after `num` (NEXT), or before it with `backwards` (LAST).
    pub fn neighbour(&self, gid: u32, num: u64, backwards: bool) -> Result<Option<u64>> {
        if backwards {
            if num <= 1 {
                return Ok(None);
            }
            for item in self.tree.range(overview::key(gid, 0)..=overview::key(gid, num - 1)).rev() {
                let (k, v) = item?;
                if let Some((n, _)) =
                    overview::table(overview::block_of(&k)?, &v)?.into_iter().rev().find(|(n, _)| *n < num)
                {
                    return Ok(Some(n));
                }
            }
        } else {
            let from = num.saturating_add(1);
            for item in self.tree.range(overview::key(gid, from)..=overview::key(gid, u64::MAX)) {
                let (k, v) = item?;
                if let Some((n, _)) = overview::table(overview::block_of(&k)?, &v)?.into_iter().find(|(n, _)| *n > num)
                {
                    return Ok(Some(n));
                }
            }
        }
        Ok(None)
    }

    /// An article's record: arrival time, memberships, message-id and where its text is.
    pub fn article_meta(&self, aid: u64) -> Result<Option<ArticleMeta>> {
        self.tree.get(codec::article_key(aid))?.map(|v| ArticleMeta::decode(&v)).transpose()
    }

    /// The text of the article `meta` describes.
    pub fn text(&self, meta: ArticleMeta) -> Result<Article> {
        let wire = dict::decompress(&self.dicts, self.log.read(meta.at)?, meta.len, meta.packing)?;
        Ok(Article {
            arrival: meta.arrival,
            memberships: meta.memberships,
            message_id: meta.message_id,
            wire,
            header_len: meta.header_len,
        })
    }

    pub fn article(&self, aid: u64) -> Result<Option<Article>> {
        self.article_meta(aid)?.map(|meta| self.text(meta)).transpose()
    }

    /// Looks up a message-id (with its angle brackets).
    pub fn message_id(&self, id: &str) -> Result<Option<MsgIdEntry>> {
        Ok(self.tree.get(Self::id_key(id))?.map(|v| IdRecord::decode_entry(&v)).transpose()?.flatten())
    }

    pub(crate) fn id_key(id: &str) -> Vec<u8> {
        codec::key(codec::MESSAGE_ID, id.as_bytes())
    }

    /// The live article holding `id`, if any.
    pub fn article_by_message_id(&self, id: &str) -> Result<Option<Article>> {
        match self.message_id(id)? {
            Some(e) if e.aid != 0 => self.article(e.aid),
            _ => Ok(None),
        }
    }

    /// (arrival time, article id) of articles that arrived at or after `since` (seconds),
    /// in arrival order, starting at article `from_aid` within that second.
    pub fn arrivals_since(&self, since: i64, from_aid: u64) -> impl Iterator<Item = Result<(i64, u64)>> + '_ {
        self.tree.range(codec::arrival_key(since, from_aid)..=codec::arrival_key(i64::MAX, u64::MAX)).map(|item| {
            let (k, _) = item?;
            let time = codec::be_u64(&k[1..]).ok_or(StoreError::Corrupt("arrival key"))? as i64;
            let aid = codec::be_u64(&k[9..]).ok_or(StoreError::Corrupt("arrival key"))?;
            Ok((time, aid))
        })
    }

    pub fn thread_node(&self, id: &str) -> Result<Option<ThreadNode>> {
        Ok(self.tree.get(Self::id_key(id))?.map(|v| IdRecord::decode(&v)).transpose()?.and_then(|r| r.thread))
    }

    /// Message-ids whose parent is `id`.
    pub fn children(&self, id: &str) -> Result<Vec<String>> {
        let prefix = codec::child_key(id, "");
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(&prefix) {
            let (k, _) = item?;
            out.push(String::from_utf8_lossy(&k[prefix.len()..]).into_owned());
        }
        Ok(out)
    }

    /// The root of the thread `id` belongs to: its topmost known ancestor.
    pub fn thread_root(&self, id: &str) -> Result<Option<String>> {
        let Some(node) = self.thread_node(id)? else { return Ok(None) };
        // The stored root was right when written; a placeholder root may have gained a parent
        // since, so keep climbing from there (bounded, in case of a References loop).
        let mut root = node.root;
        for _ in 0..thread::MAX_DEPTH {
            match self.thread_node(&root)?.and_then(|n| n.parent) {
                Some(parent) if parent != root => root = parent,
                _ => break,
            }
        }
        Ok(Some(root))
    }

    /// Everything set aside by imports, oldest source first.
    pub fn rejects(&self) -> impl Iterator<Item = Result<Reject>> + '_ {
        self.tree.scan_prefix([codec::REJECT]).map(|item| Reject::decode(&item?.1))
    }

    /// How far an import has read `source`.
    pub fn checkpoint(&self, source: &str) -> Result<Option<Checkpoint>> {
        self.tree.get(codec::key(codec::CHECKPOINT, source.as_bytes()))?.map(|v| Checkpoint::decode(&v)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(packing: Packing) -> ArticleMeta {
        ArticleMeta {
            message_id: "<a@b>".into(),
            arrival: 1_700_000_000,
            memberships: vec![(1, 5), (3, 9)],
            header_len: 10,
            len: 100,
            packing,
            at: Location { segment: 0, offset: 4096, len: if packing == Packing::Plain { 100 } else { 40 } },
        }
    }

    #[test]
    fn article_records_round_trip_with_each_packing() {
        for packing in [Packing::Plain, Packing::Zstd, Packing::Dict(7)] {
            assert_eq!(ArticleMeta::decode(&meta(packing).encode()).unwrap(), meta(packing));
        }
    }

    /// A format 3 store's records (version 3: a compressed flag, no dictionary) read as before.
    #[test]
    fn version_3_article_records_still_read() {
        for (flag, packing) in [(0u8, Packing::Plain), (1, Packing::Zstd)] {
            let m = meta(packing);
            let mut w = Writer::default();
            w.u8(3).i64(m.arrival).u32(m.header_len as u32).u16(2);
            for (gid, num) in &m.memberships {
                w.u32(*gid).u64(*num);
            }
            w.bytes(m.message_id.as_bytes()).u8(flag).u32(m.len as u32).u32(0).u64(4096).u32(m.at.len);
            assert_eq!(ArticleMeta::decode(&w.0).unwrap(), m);
        }
        let mut v4 = meta(Packing::Dict(2)).encode();
        v4[0] = 3;
        assert!(ArticleMeta::decode(&v4).is_err(), "version 3 has no dictionaries");
    }

    /// A format 3 or 4 store opens, its overview records converted into blocks; a store of
    /// another format is refused with the way out.
    #[test]
    fn older_formats_are_converted_and_others_refused() {
        let format_key = codec::key(codec::META, b"format");
        for (found, opens) in [(3u32, true), (4, true), (2, false), (99, false)] {
            let dir = tempfile::tempdir().unwrap();
            {
                let store = Store::open(dir.path()).unwrap();
                store.tree.insert(&format_key, &found.to_be_bytes()).unwrap();
                // Overview records as formats 3 and 4 kept them: O gid num -> aid, fields, xref.
                for num in [1u64, 2, 63, 64, 65, 300] {
                    let mut key = vec![codec::OVERVIEW];
                    key.extend_from_slice(&7u32.to_be_bytes());
                    key.extend_from_slice(&num.to_be_bytes());
                    let mut w = Writer::default();
                    w.u64(num * 10).bytes(format!("subject {num}\tfrom\tdate\t<{num}@x>\t\t100\t3").as_bytes());
                    w.raw(format!("g:{num}").as_bytes());
                    store.tree.insert(key, w.0).unwrap();
                }
                store.flush().unwrap();
            }
            match Store::open(dir.path()) {
                Ok(store) => {
                    assert!(opens, "format {found} opened");
                    let now = store.tree.get(&format_key).unwrap().unwrap();
                    assert_eq!(codec::be_u32(&now), Some(FORMAT));
                    assert!(store.tree.scan_prefix([codec::OVERVIEW]).next().is_none(), "old records gone");
                    let all: Vec<(u64, u64, Vec<u8>, Vec<u8>)> = store
                        .overview_range(7, 1, 1000)
                        .map(|e| e.unwrap())
                        .map(|(n, e)| (n, e.article_id(), e.field(3).to_vec(), e.xref().to_vec()))
                        .collect();
                    let nums: Vec<u64> = all.iter().map(|e| e.0).collect();
                    assert_eq!(nums, [1, 2, 63, 64, 65, 300]);
                    for (num, aid, id, xref) in all {
                        assert_eq!(
                            (aid, id, xref),
                            (num * 10, format!("<{num}@x>").into_bytes(), format!("g:{num}").into_bytes())
                        );
                    }
                    assert_eq!(store.neighbour(7, 2, false).unwrap(), Some(63));
                    assert_eq!(store.neighbour(7, 64, true).unwrap(), Some(63));
                    assert_eq!(store.neighbour(7, 65, false).unwrap(), Some(300));
                    assert_eq!(store.neighbour(7, 300, false).unwrap(), None);
                    assert_eq!(store.article_at(7, 65).unwrap(), Some(650));
                    assert_eq!(store.article_at(7, 66).unwrap(), None);
                    let newest: Vec<u64> = store.overview_newest(7, 300, 3).unwrap().into_iter().map(|e| e.0).collect();
                    assert_eq!(newest, [65, 64, 63]);
                }
                Err(e) => {
                    assert!(!opens, "format {found}: {e}");
                    let said = e.to_string();
                    assert!(
                        said.contains(&format!("has format {found}, this listnews reads format {FORMAT}")),
                        "{said}"
                    );
                    assert!(said.contains("listnews import --config FILE"), "{said}");
                }
            }
        }
    }

    /// A format 6 store (a message-id's entry and thread node in two records) is converted
    /// when opened, into one record each: ids with both, an id only referenced (a thread
    /// node alone), an entry alone; and a conversion stopped half way (some ids merged, their
    /// thread records gone) goes on.
    #[test]
    fn thread_nodes_are_merged_into_id_records() {
        let format_key = codec::key(codec::META, b"format");
        let entry = |aid: u64| MsgIdEntry { aid, content_hash: [aid as u8; 16] };
        let node = |aid: u64, parent: Option<&str>, root: &str| ThreadNode {
            aid,
            parent: parent.map(str::to_string),
            root: root.to_string(),
        };
        // id, its old entry, its old thread node
        let ids: Vec<(String, Option<MsgIdEntry>, Option<ThreadNode>)> = (1..=25_000u64)
            .map(|i| {
                let id = format!("<{i}@x>");
                match i % 5 {
                    0 => (id, Some(entry(i)), None),
                    1 => (id.clone(), None, Some(node(0, None, &id))),
                    2 => (id, Some(entry(0)), Some(node(0, Some("<1@x>"), "<1@x>"))),
                    _ => (id, Some(entry(i)), Some(node(i, Some("<1@x>"), "<1@x>"))),
                }
            })
            .collect();
        for stopped_after in [None, Some(7_000usize)] {
            let dir = tempfile::tempdir().unwrap();
            {
                let store = Store::open(dir.path()).unwrap();
                store.tree.insert(&format_key, &6u32.to_be_bytes()).unwrap();
                for (n, (id, e, t)) in ids.iter().enumerate() {
                    if stopped_after.is_some_and(|s| n < s) {
                        let record = IdRecord { entry: *e, thread: t.clone() };
                        store.tree.insert(Store::id_key(id), record.encode()).unwrap();
                        continue;
                    }
                    if let Some(e) = e {
                        store.tree.insert(Store::id_key(id), e.encode()).unwrap();
                    }
                    if let Some(t) = t {
                        store.tree.insert(codec::key(codec::THREAD, id.as_bytes()), t.encode()).unwrap();
                    }
                }
                store.flush().unwrap();
            }
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(codec::be_u32(&store.tree.get(&format_key).unwrap().unwrap()), Some(FORMAT));
            assert!(store.tree.scan_prefix([codec::THREAD]).next().is_none(), "thread records left");
            for (id, e, t) in &ids {
                assert_eq!(store.message_id(id).unwrap(), *e, "{id}");
                assert_eq!(store.thread_node(id).unwrap(), *t, "{id}");
            }
        }
    }

    #[test]
    fn id_record_round_trip() {
        let e = MsgIdEntry { aid: 9, content_hash: [7; 16] };
        let t = |aid| ThreadNode { aid, parent: Some("<p@x>".into()), root: "<r@x>".into() };
        for r in [
            IdRecord { entry: Some(e), thread: Some(t(9)) },
            IdRecord { entry: Some(e), thread: Some(t(0)) },
            IdRecord { entry: Some(e), thread: None },
            IdRecord { entry: None, thread: Some(t(0)) },
        ] {
            assert_eq!(IdRecord::decode(&r.encode()).unwrap(), r);
        }
        let shared = IdRecord { entry: Some(e), thread: Some(t(9)) }.encode();
        assert_eq!(shared.len(), IdRecord { entry: Some(e), thread: Some(t(0)) }.encode().len() - 8);
        for bad in [&b""[..], b"\x08", b"\x04", b"\x01\0\0", &e.encode()] {
            assert!(IdRecord::decode(bad).is_err(), "{bad:?}");
        }
    }

    /// A format 5 store (sled's log not compressed) is converted when opened: its index
    /// copied into a compressed database with every record, its format set to 6. A
    /// conversion stopped while copying starts again; one stopped between its two renames
    /// is finished.
    #[test]
    fn uncompressed_index_is_converted() {
        let format_key = codec::key(codec::META, b"format");
        for stopped in ["not", "while copying", "between the renames"] {
            let dir = tempfile::tempdir().unwrap();
            let index = dir.path().join(INDEX_DIR);
            let records: Vec<(sled::IVec, sled::IVec)> = {
                let store = Store::open(dir.path()).unwrap();
                store.tree.insert(&format_key, &5u32.to_be_bytes()).unwrap();
                for i in 0..3000u32 {
                    let value: Vec<u8> = format!("record {i} ").bytes().cycle().take(40 + (i as usize % 700)).collect();
                    store.tree.insert(i.to_be_bytes(), value).unwrap();
                }
                store.flush().unwrap();
                // Rewritten the way format 5 kept it: sled's log plain.
                let plain = dir.path().join("plain");
                let copy = index_config(&plain, false).open().unwrap();
                for (kind, name, items) in store.db.export() {
                    copy.import(vec![(kind, name, items)]);
                }
                copy.flush().unwrap();
                drop(copy);
                let records = store.tree.iter().map(|r| r.unwrap()).collect();
                drop(store);
                std::fs::remove_dir_all(&index).unwrap();
                std::fs::rename(&plain, &index).unwrap();
                records
            };
            assert!(!compressed_index(&index).unwrap());
            match stopped {
                "while copying" => {
                    std::fs::create_dir(dir.path().join(INDEX_COPY)).unwrap();
                    std::fs::write(dir.path().join(INDEX_COPY).join("db"), b"half a copy").unwrap();
                }
                "between the renames" => {
                    let old = index_config(&index, false).open().unwrap();
                    copy_index(&old, &dir.path().join(INDEX_COPY)).unwrap();
                    drop(old);
                    std::fs::rename(&index, dir.path().join(INDEX_OLD)).unwrap();
                }
                _ => {}
            }
            let store = Store::open(dir.path()).unwrap();
            assert!(compressed_index(&index).unwrap(), "stopped {stopped}");
            assert!(!dir.path().join(INDEX_COPY).exists() && !dir.path().join(INDEX_OLD).exists());
            let now: Vec<(sled::IVec, sled::IVec)> = store.tree.iter().map(|r| r.unwrap()).collect();
            assert_eq!(now.len(), records.len());
            for ((k, v), (k2, v2)) in now.iter().zip(&records) {
                assert_eq!(k, k2);
                if *k == format_key {
                    assert_eq!(codec::be_u32(v), Some(FORMAT));
                } else {
                    assert_eq!(v, v2, "stopped {stopped}");
                }
            }
        }
    }
}
