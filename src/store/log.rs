//! The article log: article texts (zstd-compressed wire bytes) appended to segment files
//! `data_dir/articles/NNNNNNNN.seg`, each record found from its sled record by (segment,
//! offset, length).
//!
//! Why not in sled: sled copies a whole leaf (up to 16 values) on every insert and rewrites
//! it to its log on every flush, so kilobyte-sized values cost a copy of tens of kilobytes per
//! article while importing and about twice their size on disk. Appended to a file, an article
//! is written once.
//!
//! Crash safety: a batch appends its articles, then applies its sled batch, which also
//! records the new end of the log ([`TAIL_KEY`]). Bytes past the recorded end belong to a
//! batch that never committed; opening the store cuts them off. [`ArticleLog::sync`] makes
//! the appended bytes durable and runs before every sled flush, so a flushed record never
//! points past the durable end of its segment.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use super::{Result, StoreError};

/// A segment is closed once it reaches this size (a batch may run a little past it).
const SEGMENT_SIZE: u64 = 1 << 30;

/// The sled meta key holding the committed end of the log: segment (u32) and offset (u64).
pub(crate) const TAIL_KEY: &[u8] = b"article_log_tail";

/// Where an article's stored bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub segment: u32,
    pub offset: u64,
    pub len: u32,
}

/// The end of the log: where the next byte goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tail {
    pub segment: u32,
    pub offset: u64,
}

impl Tail {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = self.segment.to_be_bytes().to_vec();
        v.extend_from_slice(&self.offset.to_be_bytes());
        v
    }

    pub fn decode(v: &[u8]) -> Option<Tail> {
        let segment = u32::from_be_bytes(v.get(..4)?.try_into().ok()?);
        let offset = u64::from_be_bytes(v.get(4..12)?.try_into().ok()?);
        Some(Tail { segment, offset })
    }

    /// Where a batch starting here puts its first byte: the next segment once this is full.
    pub fn start_of_batch(self) -> Tail {
        if self.offset >= SEGMENT_SIZE { Tail { segment: self.segment + 1, offset: 0 } } else { self }
    }
}

pub(crate) struct ArticleLog {
    dir: PathBuf,
    /// The committed end; only the batch that appends moves it.
    tail: Mutex<Tail>,
    readers: RwLock<HashMap<u32, Arc<File>>>,
}

impl ArticleLog {
    /// Opens the log in `dir`, cutting off whatever lies past `tail` (an uncommitted batch).
    pub fn open(dir: &Path, tail: Tail) -> Result<ArticleLog> {
        std::fs::create_dir_all(dir)?;
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let Some(segment) = segment_number(&path) else { continue };
            if segment > tail.segment {
                std::fs::remove_file(&path)?;
            } else if segment == tail.segment {
                let file = OpenOptions::new().write(true).open(&path)?;
                if file.metadata()?.len() > tail.offset {
                    file.set_len(tail.offset)?;
                    file.sync_all()?;
                }
            }
        }
        Ok(ArticleLog { dir: dir.to_path_buf(), tail: Mutex::new(tail), readers: RwLock::new(HashMap::new()) })
    }

    fn path(&self, segment: u32) -> PathBuf {
        self.dir.join(format!("{segment:08}.seg"))
    }

    pub fn tail(&self) -> Tail {
        *self.tail.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes a batch's bytes at `start` (which must be [`Tail::start_of_batch`] of the
    /// current tail) and returns the tail to record with the batch. The tail in memory moves
    /// only when the caller reports the batch committed ([`ArticleLog::committed`]).
    pub fn append(&self, start: Tail, bytes: &[u8]) -> Result<Tail> {
        let tail = self.tail();
        if start != tail.start_of_batch() {
            return Err(StoreError::Corrupt("article log written by two batches at once"));
        }
        if start.segment != tail.segment {
            // Moving past a full segment: it gets its last sync here.
            if let Ok(f) = File::open(self.path(tail.segment)) {
                f.sync_data()?;
            }
        }
        let file = OpenOptions::new().create(true).write(true).truncate(false).open(self.path(start.segment))?;
        if let Err(e) = file.write_all_at(bytes, start.offset) {
            // Leave no partial record behind (the next batch writes here again anyway).
            let _ = file.set_len(start.offset);
            return Err(e.into());
        }
        Ok(Tail { segment: start.segment, offset: start.offset + bytes.len() as u64 })
    }

    pub fn committed(&self, tail: Tail) {
        *self.tail.lock().unwrap_or_else(|e| e.into_inner()) = tail;
    }

    /// Makes everything appended so far durable (the current segment; earlier ones were
    /// synced when the log moved past them).
    pub fn sync(&self) -> Result<()> {
        match File::open(self.path(self.tail().segment)) {
            Ok(f) => Ok(f.sync_data()?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn reader(&self, segment: u32) -> Result<Arc<File>> {
        if let Some(f) = self.readers.read().unwrap_or_else(|e| e.into_inner()).get(&segment) {
            return Ok(f.clone());
        }
        let file = Arc::new(File::open(self.path(segment))?);
        self.readers.write().unwrap_or_else(|e| e.into_inner()).insert(segment, file.clone());
        Ok(file)
    }

    /// The stored bytes at `at`.
    pub fn read(&self, at: Location) -> Result<Vec<u8>> {
        let mut buf = vec![0; at.len as usize];
        match self.reader(at.segment)?.read_exact_at(&mut buf, at.offset) {
            Ok(()) => Ok(buf),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                Err(StoreError::Corrupt("article record points past the end of its segment"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Bytes the segment files take.
    pub fn size(&self) -> Result<u64> {
        let mut total = 0;
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            if segment_number(&entry.path()).is_some() {
                total += entry.metadata()?.len();
            }
        }
        Ok(total)
    }
}

impl ArticleLog {
    /// Copies the committed log (up to `tail`) into `dest`, synced; returns the bytes copied.
    pub fn copy_to(&self, dest: &Path, tail: Tail) -> Result<u64> {
        use std::io::{Read, Write};
        std::fs::create_dir_all(dest)?;
        let mut copied = 0;
        for segment in 0..=tail.segment {
            let from = match File::open(self.path(segment)) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            let limit = if segment == tail.segment { tail.offset } else { u64::MAX };
            let mut to = File::create(dest.join(format!("{segment:08}.seg")))?;
            copied += std::io::copy(&mut from.take(limit), &mut to)?;
            to.flush()?;
            to.sync_all()?;
        }
        Ok(copied)
    }
}

fn segment_number(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_str()?;
    name.strip_suffix(".seg")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_cuts_off_an_uncommitted_batch() {
        let dir = tempfile::tempdir().unwrap();
        let log = ArticleLog::open(dir.path(), Tail { segment: 0, offset: 0 }).unwrap();
        let start = log.tail().start_of_batch();
        let tail = log.append(start, b"committed").unwrap();
        log.committed(tail);
        let lost = log.append(log.tail(), b"never committed").unwrap();
        assert_eq!(lost.offset, 24);
        drop(log);
        let log = ArticleLog::open(dir.path(), tail).unwrap();
        assert_eq!(log.size().unwrap(), 9);
        assert_eq!(log.read(Location { segment: 0, offset: 0, len: 9 }).unwrap(), b"committed");
        assert!(matches!(log.read(Location { segment: 0, offset: 5, len: 9 }), Err(StoreError::Corrupt(_))));
        // A stale start (another batch got there first) is refused.
        assert!(log.append(Tail { segment: 0, offset: 0 }, b"x").is_err());
    }

    #[test]
    fn a_full_segment_starts_the_next() {
        let full = Tail { segment: 3, offset: SEGMENT_SIZE };
        assert_eq!(full.start_of_batch(), Tail { segment: 4, offset: 0 });
        assert_eq!(Tail::decode(&full.encode()), Some(full));
    }
}
