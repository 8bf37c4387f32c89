//! Batched writes. A [`Batch`] collects every change of an import step in memory (reads see
//! its own pending writes first) and applies them to sled as one atomic `Batch`. A process
//! killed before `commit` leaves nothing of that step behind; the import's checkpoint is in
//! the same batch, so a re-run resumes exactly after the last committed step.

use std::collections::BTreeMap;

use super::codec::{self, Writer};
use super::log::{self, Location, Tail};
use super::overview::{self, Block};
use super::thread::{MAX_DEPTH, ThreadNode};
use super::{ArticleMeta, Checkpoint, GroupMeta, IdRecord, MsgIdEntry, Reject, Result, Store, StoreError, StoredWire};

pub(crate) const NEXT_ARTICLE_ID: &[u8] = b"next_article_id";

/// Articles ever stored (removed ones included), from the value of the next-article-id
/// counter.
pub(crate) fn articles_stored(next_article_id: Option<&[u8]>) -> u64 {
    next_article_id.and_then(codec::be_u64).unwrap_or(1).saturating_sub(1)
}
const NEXT_GROUP_ID: &[u8] = b"next_group_id";

/// An article ready to store.
pub struct NewArticle<'a> {
    /// With angle brackets; unique in the store.
    pub message_id: &'a str,
    pub content_hash: [u8; 16],
    /// Wire form (CRLF line ends, dot-stuffed, a blank line after the headers), as stored.
    pub wire: &'a StoredWire,
    /// Length of the header lines in `wire` (up to the blank line).
    pub header_len: usize,
    /// The stored overview fields (`protocol::article::overview_fields`).
    pub overview: &'a [u8],
    /// Referenced message-ids, oldest first; the last is the parent.
    pub ancestors: &'a [String],
    pub groups: &'a [u32],
    pub arrival: i64,
    /// A number to take in one group instead of the next free one (a replica follows its
    /// upstream's numbers).
    pub fixed: Option<(u32, u64)>,
}

pub struct Batch<'s> {
    store: &'s Store,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    pending_bytes: usize,
    /// Where this batch's article texts go in the article log, once it has any.
    log_start: Option<Tail>,
    /// The article texts, back to back, appended to the log on commit.
    log_bytes: Vec<u8>,
    /// A batch being applied on another thread ([`Batch::commit_in_background`]); reads see
    /// its writes until it is done.
    inflight: Option<Inflight>,
    /// Overview blocks this batch changes, by key, kept decoded until the batch is taken
    /// (each is compressed once per batch, not once per article).
    blocks: BTreeMap<[u8; 13], Block>,
}

type Pending = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

struct Inflight {
    writes: std::sync::Arc<Pending>,
    /// The end of the article log once it is applied.
    log_end: Option<Tail>,
    done: std::thread::JoinHandle<Result<()>>,
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        // A batch under way finishes before its store handle goes (its result is lost, and
        // with it nothing that a later commit or a re-run would not write again).
        let _ = self.wait();
    }
}

impl<'s> Batch<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Batch {
            store,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            log_start: None,
            log_bytes: Vec::new(),
            inflight: None,
            blocks: BTreeMap::new(),
        }
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.pending.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.inflight.as_ref().and_then(|f| f.writes.get(key)) {
            return Ok(v.clone());
        }
        Ok(self.store.tree.get(key)?.map(|v| v.to_vec()))
    }

    fn put(&mut self, key: impl Into<Vec<u8>>, value: Vec<u8>) {
        self.pending_bytes += value.len();
        self.pending.insert(key.into(), Some(value));
    }

    fn delete(&mut self, key: impl Into<Vec<u8>>) {
        self.pending.insert(key.into(), None);
    }

    /// Articles ever stored, counting this batch's and the one under way.
    pub fn articles_stored(&self) -> Result<u64> {
        Ok(articles_stored(self.get(&codec::key(codec::META, NEXT_ARTICLE_ID))?.as_deref()))
    }

    /// Bytes waiting to be committed (callers commit when this grows large).
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.log_bytes.is_empty() && self.blocks.is_empty()
    }

    /// Drops everything pending.
    pub fn discard(&mut self) {
        self.pending.clear();
        self.blocks.clear();
        self.pending_bytes = 0;
        self.log_start = None;
        self.log_bytes.clear();
    }

    /// Applies everything atomically: the article texts are appended to the log, then one
    /// sled batch records them (with the log's new end) and everything else. Pending writes
    /// are gone afterwards, whether it worked or not. A batch still being applied in the
    /// background is waited for first.
    pub fn commit(&mut self) -> Result<()> {
        let earlier = self.wait();
        let result = earlier.and_then(|()| {
            let (writes, log) = self.take();
            apply(self.store, &writes, log)
        });
        self.discard();
        result
    }

    /// Like [`Batch::commit`], but the writes are applied on another thread while the caller
    /// goes on adding to a new batch (reads see the batch under way). The outcome comes from
    /// the next `commit`, `commit_in_background` or [`Batch::wait`]; one batch is under way at
    /// a time, so batches are applied in order. For bulk imports: sled's apply is a third of
    /// an import's storing time.
    pub fn commit_in_background(&mut self) -> Result<()> {
        self.wait()?;
        let (writes, log) = self.take();
        let writes = std::sync::Arc::new(writes);
        let log_end = log
            .as_ref()
            .map(|(start, bytes)| Tail { segment: start.segment, offset: start.offset + bytes.len() as u64 });
        let (store, shared) = (self.store.clone(), writes.clone());
        let done = std::thread::Builder::new()
            .name("store-apply".into())
            .spawn(move || apply(&store, &shared, log))
            .map_err(StoreError::Io)?;
        self.inflight = Some(Inflight { writes, log_end, done });
        Ok(())
    }

    /// Waits for the batch under way in the background, if any, and returns its outcome.
    pub fn wait(&mut self) -> Result<()> {
        match self.inflight.take() {
            Some(f) => f.done.join().unwrap_or(Err(StoreError::Corrupt("the store writer thread panicked"))),
            None => Ok(()),
        }
    }

    /// Takes the pending writes and article texts out of the batch.
    #[allow(clippy::type_complexity)] // (writes, (log start, article bytes)), used twice
    fn take(&mut self) -> (Pending, Option<(Tail, Vec<u8>)>) {
        for (key, block) in std::mem::take(&mut self.blocks) {
            let value = if block.is_empty() { None } else { Some(block.encode()) };
            self.pending.insert(key.to_vec(), value);
        }
        let writes = std::mem::take(&mut self.pending);
        let log = self.log_start.take().map(|start| (start, std::mem::take(&mut self.log_bytes)));
        self.pending_bytes = 0;
        (writes, log)
    }

    /// Places an article's stored bytes in this batch's stretch of the article log.
    fn append_article(&mut self, data: &[u8]) -> Location {
        let store = self.store;
        // After a batch under way in the background, not after the log's committed end.
        let after = self.inflight.as_ref().and_then(|f| f.log_end).unwrap_or_else(|| store.log.tail());
        let start = *self.log_start.get_or_insert_with(|| after.start_of_batch());
        let at = Location {
            segment: start.segment,
            offset: start.offset + self.log_bytes.len() as u64,
            len: data.len() as u32,
        };
        self.log_bytes.extend_from_slice(data);
        self.pending_bytes += data.len();
        at
    }

    fn counter(&mut self, name: &[u8]) -> Result<u64> {
        let key = codec::key(codec::META, name);
        let next = self.get(&key)?.and_then(|v| codec::be_u64(&v)).unwrap_or(1);
        self.put(key, (next + 1).to_be_bytes().to_vec());
        Ok(next)
    }

    pub fn group(&self, name: &str) -> Result<Option<GroupMeta>> {
        match self.get(&codec::key(codec::GROUP, name.as_bytes()))? {
            Some(v) => Ok(Some(GroupMeta::decode(&v)?)),
            None => Ok(None),
        }
    }

    fn group_by_id(&self, gid: u32) -> Result<(String, GroupMeta)> {
        let name = self
            .get(&codec::key(codec::GROUP_NAME, &gid.to_be_bytes()))?
            .ok_or(StoreError::Corrupt("unknown group id"))?;
        let name = String::from_utf8(name).map_err(|_| StoreError::Corrupt("group name"))?;
        let meta = self.group(&name)?.ok_or(StoreError::Corrupt("group without record"))?;
        Ok((name, meta))
    }

    fn put_group(&mut self, name: &str, meta: &GroupMeta) {
        self.put(codec::key(codec::GROUP, name.as_bytes()), meta.encode());
    }

    /// Returns the group, creating it (empty, created `now`) if it is new.
    pub fn ensure_group(&mut self, name: &str, now: i64) -> Result<GroupMeta> {
        if let Some(meta) = self.group(name)? {
            return Ok(meta);
        }
        let id = u32::try_from(self.counter(NEXT_GROUP_ID)?).map_err(|_| StoreError::Corrupt("group ids exhausted"))?;
        let meta = GroupMeta { id, created: now, high: 0, low: 1, count: 0 };
        self.put_group(name, &meta);
        self.put(codec::key(codec::GROUP_NAME, &id.to_be_bytes()), name.as_bytes().to_vec());
        Ok(meta)
    }

    pub fn message_id(&self, id: &str) -> Result<Option<MsgIdEntry>> {
        Ok(self.get(&Store::id_key(id))?.map(|v| IdRecord::decode_entry(&v)).transpose()?.flatten())
    }

    fn id_record(&self, id: &str) -> Result<Option<IdRecord>> {
        self.get(&Store::id_key(id))?.map(|v| IdRecord::decode(&v)).transpose()
    }

    fn put_id_record(&mut self, id: &str, record: &IdRecord) {
        self.put(Store::id_key(id), record.encode());
    }

    /// Changes what is kept under message-id `id` (its Message-ID entry, its thread node),
    /// making the record if the id has none yet.
    fn update_id_record(&mut self, id: &str, change: impl FnOnce(&mut IdRecord)) -> Result<()> {
        let mut record = self.id_record(id)?.unwrap_or_default();
        change(&mut record);
        self.put_id_record(id, &record);
        Ok(())
    }

    fn record(&self, aid: u64) -> Result<Option<ArticleMeta>> {
        self.get(&codec::article_key(aid))?.map(|v| ArticleMeta::decode(&v)).transpose()
    }

    /// Stores a new article: numbers it in each of its groups, indexes its message-id,
    /// its arrival and its thread links. Returns its (group, number) pairs.
    pub fn add_article(&mut self, art: &NewArticle<'_>) -> Result<Vec<(u32, u64)>> {
        let aid = self.counter(NEXT_ARTICLE_ID)?;
        let mut memberships = Vec::with_capacity(art.groups.len());
        for &gid in art.groups {
            if memberships.iter().any(|(g, _)| *g == gid) {
                continue;
            }
            memberships.push((gid, self.take_number(gid, art.fixed)?));
        }
        let at = self.append_article(&art.wire.data);
        let record = ArticleMeta {
            message_id: art.message_id.to_string(),
            arrival: art.arrival,
            memberships: memberships.clone(),
            header_len: art.header_len,
            len: art.wire.len,
            packing: art.wire.packing,
            at,
        };
        self.put(codec::article_key(aid), record.encode());
        self.put_overviews(aid, &memberships, art.overview)?;
        let entry = MsgIdEntry { aid, content_hash: art.content_hash };
        self.update_id_record(art.message_id, |r| r.entry = Some(entry))?;
        self.put(codec::arrival_key(art.arrival, aid).to_vec(), Vec::new());
        self.link_thread(art.message_id, aid, art.ancestors)?;
        Ok(memberships)
    }

    /// Takes the next number of a group (or the `fixed` one for this group, if free) and
    /// counts the article in it.
    fn take_number(&mut self, gid: u32, fixed: Option<(u32, u64)>) -> Result<u64> {
        let (name, mut meta) = self.group_by_id(gid)?;
        let num = match fixed {
            Some((g, n)) if g == gid && n > 0 && !self.number_taken(gid, n)? => n,
            _ => meta.high + 1,
        };
        meta.high = meta.high.max(num);
        if meta.count == 0 || num < meta.low {
            meta.low = num;
        }
        meta.count += 1;
        self.put_group(&name, &meta);
        Ok(num)
    }

    fn xref(&self, memberships: &[(u32, u64)]) -> Result<Vec<u8>> {
        let mut xref = Vec::new();
        for (gid, num) in memberships {
            if !xref.is_empty() {
                xref.push(b' ');
            }
            let (name, _) = self.group_by_id(*gid)?;
            xref.extend_from_slice(name.as_bytes());
            xref.extend_from_slice(format!(":{num}").as_bytes());
        }
        Ok(xref)
    }

    fn put_overviews(&mut self, aid: u64, memberships: &[(u32, u64)], fields: &[u8]) -> Result<()> {
        let xref = self.xref(memberships)?;
        for &(gid, num) in memberships {
            self.pending_bytes += fields.len() + xref.len() + 9;
            self.block_mut(gid, num)?.insert(num, aid, fields.to_vec(), xref.clone());
        }
        Ok(())
    }

    /// The overview block holding `num` of `gid`, loaded into this batch to be changed.
    fn block_mut(&mut self, gid: u32, num: u64) -> Result<&mut Block> {
        let key = overview::key(gid, num);
        if !self.blocks.contains_key(&key) {
            let block = match self.get(&key)? {
                Some(raw) => Block::decode(num / overview::BLOCK, &raw)?,
                None => Block::default(),
            };
            self.blocks.insert(key, block);
        }
        Ok(self.blocks.entry(key).or_default())
    }

    /// Whether `num` of `gid` holds an article, pending ones included (reads only a block's
    /// table).
    fn number_taken(&self, gid: u32, num: u64) -> Result<bool> {
        let key = overview::key(gid, num);
        if let Some(block) = self.blocks.get(&key) {
            return Ok(block.get(num).is_some());
        }
        match self.get(&key)? {
            Some(raw) => Ok(overview::article_at(num, &raw)?.is_some()),
            None => Ok(false),
        }
    }

    /// The overview entry (article id, fields, xref) of `num` in `gid`, pending ones
    /// included.
    fn overview_entry(&self, gid: u32, num: u64) -> Result<Option<overview::Line>> {
        let key = overview::key(gid, num);
        if let Some(block) = self.blocks.get(&key) {
            return Ok(block.get(num).cloned());
        }
        match self.get(&key)? {
            Some(raw) => {
                Ok(overview::entry(num, &raw)?.map(|e| (e.article_id(), e.fields().to_vec(), e.xref().to_vec())))
            }
            None => Ok(None),
        }
    }

    /// Adds an existing article to more groups (the same message arriving through another
    /// list): new numbers there, and Xref updated everywhere. Returns the new memberships.
    pub fn add_memberships(&mut self, aid: u64, groups: &[u32], fixed: Option<(u32, u64)>) -> Result<Vec<(u32, u64)>> {
        let Some(mut article) = self.record(aid)? else { return Ok(Vec::new()) };
        let mut memberships = article.memberships.clone();
        let mut added = Vec::new();
        for &gid in groups {
            if !memberships.iter().any(|(g, _)| *g == gid) {
                let num = self.take_number(gid, fixed)?;
                memberships.push((gid, num));
                added.push((gid, num));
            }
        }
        if added.is_empty() {
            return Ok(added);
        }
        let (first_gid, first_num) =
            article.memberships.first().copied().ok_or(StoreError::Corrupt("article without group"))?;
        let (_, fields, _) =
            self.overview_entry(first_gid, first_num)?.ok_or(StoreError::Corrupt("article without overview"))?;
        article.memberships = memberships.clone();
        self.put(codec::article_key(aid), article.encode());
        self.put_overviews(aid, &memberships, &fields)?;
        Ok(added)
    }

    /// Removes an article from every group. Its numbers become gaps (never reused) and its
    /// message-id stays reserved, so re-importing the same message does not bring it back.
    pub fn remove_article(&mut self, aid: u64) -> Result<bool> {
        // Finding the group's new low mark scans sled, which must hold every earlier write.
        self.wait()?;
        let Some(article) = self.record(aid)? else { return Ok(false) };
        for &(gid, num) in &article.memberships {
            self.block_mut(gid, num)?.remove(num);
            let (name, mut meta) = self.group_by_id(gid)?;
            meta.count = meta.count.saturating_sub(1);
            if meta.count == 0 {
                meta.low = meta.high + 1;
            } else if num == meta.low {
                meta.low = self.next_present(gid, num, meta.high)?.unwrap_or(meta.high + 1);
            }
            self.put_group(&name, &meta);
        }
        // The id stays taken (its entry and thread node kept, pointing at no article).
        if let Some(mut record) = self.id_record(&article.message_id)? {
            if let Some(entry) = &mut record.entry {
                entry.aid = 0;
            }
            if let Some(node) = &mut record.thread {
                node.aid = 0;
            }
            self.put_id_record(&article.message_id, &record);
        }
        self.delete(codec::article_key(aid).to_vec());
        self.delete(codec::arrival_key(article.arrival, aid).to_vec());
        Ok(true)
    }

    /// The first number after `num` still present in `gid`, up to `high`, looking at this
    /// batch's blocks too (sled holds every earlier write: the caller waited).
    fn next_present(&self, gid: u32, num: u64, high: u64) -> Result<Option<u64>> {
        let last = overview::key(gid, high);
        let mut from = overview::key(gid, num.saturating_add(1));
        loop {
            let pending = self.blocks.range(from..=last).next().map(|(k, _)| *k);
            let stored = match self.store.tree.range(from..=last).next() {
                Some(item) => {
                    Some(<[u8; 13]>::try_from(&item?.0[..]).map_err(|_| StoreError::Corrupt("overview key"))?)
                }
                None => None,
            };
            let Some(key) = pending.into_iter().chain(stored).min() else { return Ok(None) };
            let block = overview::block_of(&key)?;
            let found = match self.blocks.get(&key) {
                Some(b) => b.first_after(block, num),
                None => match self.store.tree.get(key)? {
                    Some(raw) => overview::table(block, &raw)?.into_iter().map(|(n, _)| n).find(|&n| n > num),
                    None => None,
                },
            };
            if let Some(n) = found {
                return Ok(Some(n).filter(|&n| n <= high));
            }
            from = overview::block_key(gid, block + 1);
            if from > last {
                return Ok(None);
            }
        }
    }

    fn thread_node(&self, id: &str) -> Result<Option<ThreadNode>> {
        Ok(self.id_record(id)?.and_then(|r| r.thread))
    }

    fn put_thread_node(&mut self, id: &str, node: ThreadNode) -> Result<()> {
        self.update_id_record(id, |r| r.thread = Some(node))
    }

    /// The topmost known ancestor of `id`, or `None` if the walk meets `stop` (linking `stop`
    /// under `id` would make a loop). When `stop` has no parent, any chain through it ends at
    /// it, so the walk may jump along stored roots; otherwise it steps parent by parent.
    fn climb(&self, id: &str, stop: &str) -> Result<Option<String>> {
        let stop_has_parent = self.thread_node(stop)?.is_some_and(|n| n.parent.is_some());
        let mut cur = id.to_string();
        for _ in 0..MAX_DEPTH {
            if cur == stop {
                return Ok(None);
            }
            let Some(node) = self.thread_node(&cur)? else { return Ok(Some(cur)) };
            let next = match node.parent {
                None => return Ok(Some(cur)),
                Some(_) if !stop_has_parent && node.root != cur => node.root,
                Some(p) => p,
            };
            cur = next;
        }
        Ok(None)
    }

    /// Records `id` (article `aid`) in the thread graph. Its own References decide its parent;
    /// referenced ids not seen yet become placeholders, linked as the References chain says.
    fn link_thread(&mut self, id: &str, aid: u64, ancestors: &[String]) -> Result<()> {
        // Only the nearest ancestors matter for links; References can be very long.
        let ancestors: Vec<&String> = ancestors.iter().filter(|a| a.as_str() != id).collect();
        let ancestors = &ancestors[ancestors.len().saturating_sub(32)..];
        let mut above: Option<&str> = None;
        for anc in ancestors {
            let node = self.thread_node(anc)?;
            match node {
                Some(n) if n.parent.is_some() || !n.is_placeholder() => {}
                _ => {
                    // A placeholder (new or without a parent yet) takes its parent from this chain.
                    let parent = match above {
                        Some(p) if self.climb(p, anc)?.is_some() => Some(p.to_string()),
                        _ => None,
                    };
                    if let Some(p) = &parent {
                        self.put(codec::child_key(p, anc), Vec::new());
                    }
                    let root = match &parent {
                        Some(p) => self.climb(p, anc)?.unwrap_or_else(|| anc.to_string()),
                        None => anc.to_string(),
                    };
                    let aid = node.map_or(0, |n| n.aid);
                    self.put_thread_node(anc, ThreadNode { aid, parent, root })?;
                }
            }
            above = Some(anc.as_str());
        }
        let old = self.thread_node(id)?;
        // Our own header wins over what others said about us, unless it would make a loop.
        let parent = match ancestors.last() {
            Some(p) if self.climb(p, id)?.is_some() => Some(p.to_string()),
            _ => old.as_ref().and_then(|o| o.parent.clone()),
        };
        if let Some(old_parent) = old.as_ref().and_then(|o| o.parent.as_ref())
            && Some(old_parent) != parent.as_ref()
        {
            self.delete(codec::child_key(old_parent, id));
        }
        if let Some(p) = &parent {
            self.put(codec::child_key(p, id), Vec::new());
        }
        let root = match &parent {
            Some(p) => self.climb(p, id)?.unwrap_or_else(|| id.to_string()),
            None => id.to_string(),
        };
        self.put_thread_node(id, ThreadNode { aid, parent, root })
    }

    /// Sets a message aside with the reason it could not be stored.
    pub fn reject(&mut self, reject: &Reject) {
        let mut key = Writer::default();
        key.u8(codec::REJECT).raw(reject.source.as_bytes()).u8(0).u64(reject.position);
        self.put(key.0, reject.encode());
    }

    pub fn has_checkpoint(&self, source: &str) -> Result<bool> {
        Ok(self.get(&codec::key(codec::CHECKPOINT, source.as_bytes()))?.is_some())
    }

    pub fn set_checkpoint(&mut self, source: &str, checkpoint: &Checkpoint) {
        self.put(codec::key(codec::CHECKPOINT, source.as_bytes()), checkpoint.encode());
    }
}

/// Writes one batch: its article texts to the log, then everything to sled in one atomic
/// batch that also records the log's new end.
fn apply(store: &Store, writes: &Pending, log: Option<(Tail, Vec<u8>)>) -> Result<()> {
    let mut batch = sled::Batch::default();
    let mut tail = None;
    if let Some((start, bytes)) = log {
        let end = store.log.append(start, &bytes)?;
        batch.insert(codec::key(codec::META, log::TAIL_KEY), end.encode());
        tail = Some(end);
    } else if writes.is_empty() {
        return Ok(());
    }
    for (k, v) in writes.iter() {
        match v {
            Some(v) => batch.insert(k.as_slice(), v.as_slice()),
            None => batch.remove(k.as_slice()),
        }
    }
    store.tree.apply_batch(batch)?;
    if let Some(end) = tail {
        store.log.committed(end);
    }
    // sled moves live pages out of a mostly dead stretch of its log only when asked, and only
    // its background flusher asked, which listnews does not run: a selinux import left its
    // index at 39-40 MB holding 10 MB of live pages, a 1,000,000-message import at 2.1 GB.
    // As many pages as this batch wrote records, so that cleaning keeps pace with writing
    // (here, on the apply thread: cleaning from the importing thread beside it was slower,
    // 325 s against 283 s for 1,000,000 messages).
    store.db.clean_log(writes.len())?;
    Ok(())
}
