//! Byte layout of keys and records in the sled tree.
//!
//! Everything lives in one tree so that one `Batch` (atomic in sled) carries an import step
//! whole: articles, indexes, counters and the source checkpoint. Keys start with a one-byte
//! prefix; numbers are big-endian so that sled's byte order is numeric order.

use super::StoreError;

pub const GROUP: u8 = b'G'; // G name -> GroupMeta
pub const GROUP_NAME: u8 = b'g'; // g gid -> name
pub const OVERVIEW: u8 = b'O'; // O gid num -> overview entry (formats 3 and 4; converted to blocks)
pub const OVERVIEW_BLOCK: u8 = b'V'; // V gid block -> overview block (see overview.rs)
pub const ARTICLE: u8 = b'A'; // A aid -> ArticleMeta
pub const MESSAGE_ID: u8 = b'M'; // M msgid -> IdRecord (Message-ID entry, thread node)
pub const THREAD: u8 = b'T'; // T msgid -> ThreadNode (formats 3-6; merged into M by format 7)
pub const CHILD: u8 = b'C'; // C parent \0 child -> ()
pub const ARRIVAL: u8 = b'N'; // N time aid -> ()
pub const REJECT: u8 = b'R'; // R source \0 position -> Reject
pub const CHECKPOINT: u8 = b'I'; // I source -> Checkpoint
pub const META: u8 = b'Z'; // Z name -> value
pub const DICTIONARY: u8 = b'D'; // D id -> trained_at dictionary (see dict.rs)

pub fn key(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + rest.len());
    k.push(prefix);
    k.extend_from_slice(rest);
    k
}

pub fn article_key(aid: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = ARTICLE;
    k[1..9].copy_from_slice(&aid.to_be_bytes());
    k
}

pub fn arrival_key(time: i64, aid: u64) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = ARRIVAL;
    k[1..9].copy_from_slice(&(time.max(0) as u64).to_be_bytes());
    k[9..17].copy_from_slice(&aid.to_be_bytes());
    k
}

pub fn child_key(parent: &str, child: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + parent.len() + child.len());
    k.push(CHILD);
    k.extend_from_slice(parent.as_bytes());
    k.push(0);
    k.extend_from_slice(child.as_bytes());
    k
}

/// Appends fields to a record.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// Bytes with a u32 length prefix.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
        self
    }
    pub fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
}

/// Reads fields back; every read is bounds-checked so a damaged record is an error, not a panic.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let end =
            self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or(StoreError::Corrupt("short record"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Result<u16, StoreError> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().unwrap_or_default()))
    }
    pub fn u32(&mut self) -> Result<u32, StoreError> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().unwrap_or_default()))
    }
    pub fn u64(&mut self) -> Result<u64, StoreError> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().unwrap_or_default()))
    }
    pub fn i64(&mut self) -> Result<i64, StoreError> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into().unwrap_or_default()))
    }
    pub fn bytes(&mut self) -> Result<&'a [u8], StoreError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn str(&mut self) -> Result<&'a str, StoreError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| StoreError::Corrupt("non-UTF-8 string"))
    }
    pub fn skip(&mut self, n: usize) -> Result<(), StoreError> {
        self.take(n).map(drop)
    }
    pub fn position(&self) -> usize {
        self.pos
    }
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
}

pub fn be_u64(b: &[u8]) -> Option<u64> {
    b.get(..8).map(|s| u64::from_be_bytes(s.try_into().unwrap_or_default()))
}

pub fn be_u32(b: &[u8]) -> Option<u32> {
    b.get(..4).map(|s| u32::from_be_bytes(s.try_into().unwrap_or_default()))
}
