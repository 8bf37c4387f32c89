//! Overview entries, kept in blocks of [`BLOCK`] consecutive numbers of a group.
//!
//! One sled record per article and group made XOVER step through sled's iterator once per
//! line, and sled keep a record's overhead per line. A block is one step for 64 lines: XOVER
//! of the selinux group runs 1.5-1.8 times as fast as with one record per entry, and the
//! import writes 23,078 fewer records (`bench/results/store-size.md`).
//!
//! Record: `V gid block -> n, n × (offset u8, aid u64), packing u8, n × (fields, xref)` with
//! the table sorted by offset (`number = block × BLOCK + offset`). Finding the article behind
//! a number (ARTICLE by number, NEXT, LAST) reads only the table.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::codec::{self, Reader, Writer};
use super::{Result, StoreError};

/// Numbers per block.
pub(crate) const BLOCK: u64 = 64;
/// How a block's text is kept: as it is ([`PLAIN`], what is written), or zstd-compressed
/// ([`ZSTD`], read but not written). Compressed, the selinux archive's blocks took 2.0 MB
/// instead of 8.7 MB and its store 55.6 MB instead of 66.8 MB, but XOVER of the whole group
/// ran at 0.55-0.65 of the per-entry records' speed (decompressing each block; zstd's fast
/// level -5 no better), against 1.5-1.8 times it for plain blocks: serving wins.
const PLAIN: u8 = 0;
const ZSTD: u8 = 1;

/// The key of the block holding `num` in `gid`.
pub(crate) fn key(gid: u32, num: u64) -> [u8; 13] {
    block_key(gid, num / BLOCK)
}

pub(crate) fn block_key(gid: u32, block: u64) -> [u8; 13] {
    let mut k = [0u8; 13];
    k[0] = codec::OVERVIEW_BLOCK;
    k[1..5].copy_from_slice(&gid.to_be_bytes());
    k[5..13].copy_from_slice(&block.to_be_bytes());
    k
}

/// The block number in a block key.
pub(crate) fn block_of(key: &[u8]) -> Result<u64> {
    key.get(5..).and_then(codec::be_u64).ok_or(StoreError::Corrupt("overview block key"))
}

fn offset(num: u64) -> u8 {
    (num % BLOCK) as u8
}

/// The overview of one article in one group: its id and the precomputed line.
#[derive(Debug, Clone)]
pub struct OverviewEntry {
    aid: u64,
    /// The block's decompressed text, shared by its entries.
    text: Arc<Vec<u8>>,
    fields: (usize, usize),
    xref: (usize, usize),
}

impl OverviewEntry {
    pub fn article_id(&self) -> u64 {
        self.aid
    }
    /// The seven fields after the number, TAB-separated: Subject … :lines (RFC 3977 §8.3).
    pub fn fields(&self) -> &[u8] {
        &self.text[self.fields.0..self.fields.1]
    }
    /// `group:number` pairs for the Xref field, space-separated.
    pub fn xref(&self) -> &[u8] {
        &self.text[self.xref.0..self.xref.1]
    }
    /// Field `i` (0 = Subject … 6 = :lines) of the stored line.
    pub fn field(&self, i: usize) -> &[u8] {
        self.fields().split(|&b| b == b'\t').nth(i).unwrap_or(&[])
    }
}

/// The table of a stored block: (number, article id), in order; reading it decompresses
/// nothing.
pub(crate) fn table(block: u64, raw: &[u8]) -> Result<Vec<(u64, u64)>> {
    let mut r = Reader::new(raw);
    let n = r.u8()? as usize;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let off = r.u8()? as u64;
        out.push((block * BLOCK + off, r.u64()?));
    }
    Ok(out)
}

/// The article numbered `num` in a stored block, if there is one (reads only the table).
pub(crate) fn article_at(num: u64, raw: &[u8]) -> Result<Option<u64>> {
    Ok(table(num / BLOCK, raw)?.into_iter().find(|(n, _)| *n == num).map(|(_, aid)| aid))
}

/// The lines of a stored block whose table holds `entries` rows, unpacked, with the span
/// (fields, xref) of each line in table order: a block cut short or damaged is an error.
#[allow(clippy::type_complexity)] // (text, [(fields span, xref span)])
fn lines(raw: &[u8], entries: usize) -> Result<(Cow<'_, [u8]>, Vec<((usize, usize), (usize, usize))>)> {
    let packed = raw.get(1 + entries * 9..).ok_or(StoreError::Corrupt("overview block"))?;
    let text = match packed.split_first() {
        Some((&PLAIN, text)) => Cow::Borrowed(text),
        Some((&ZSTD, packed)) => Cow::Owned(
            zstd::bulk::decompress(packed, MAX_TEXT)
                .map_err(|_| StoreError::Corrupt("overview block does not decompress"))?,
        ),
        _ => return Err(StoreError::Corrupt("overview block packing")),
    };
    let mut r = Reader::new(&text);
    let mut spans = Vec::with_capacity(entries);
    for _ in 0..entries {
        let fields = span(&mut r)?;
        let xref = span(&mut r)?;
        spans.push((fields, xref));
    }
    Ok((text, spans))
}

/// Every entry of a stored block, in number order.
pub(crate) fn entries(block: u64, raw: &[u8]) -> Result<Vec<(u64, OverviewEntry)>> {
    let table = table(block, raw)?;
    let (text, spans) = lines(raw, table.len())?;
    let text = Arc::new(text.into_owned());
    Ok(table
        .into_iter()
        .zip(spans)
        .map(|((num, aid), (fields, xref))| (num, OverviewEntry { aid, text: text.clone(), fields, xref }))
        .collect())
}

/// The entry for `num` in a stored block. Only its own line is copied out (NEXT, LAST, a
/// thread page's items read one entry of a block each).
pub(crate) fn entry(num: u64, raw: &[u8]) -> Result<Option<OverviewEntry>> {
    let table = table(num / BLOCK, raw)?;
    let (text, spans) = lines(raw, table.len())?;
    let Some(i) = table.iter().position(|(n, _)| *n == num) else { return Ok(None) };
    let ((start, fields_end), (xref_start, end)) = spans[i];
    Ok(Some(OverviewEntry {
        aid: table[i].1,
        text: Arc::new(text[start..end].to_vec()),
        fields: (0, fields_end - start),
        xref: (xref_start - start, end - start),
    }))
}

fn span(r: &mut Reader<'_>) -> Result<(usize, usize)> {
    let len = r.u32()? as usize;
    let start = r.position();
    r.skip(len)?;
    Ok((start, start + len))
}

/// A block's text is at most 64 overview lines of a few kilobytes each; this bounds what a
/// damaged block can make the reader allocate.
const MAX_TEXT: usize = 64 << 20;

/// One entry as a batch changes it: (article id, fields, xref).
pub(crate) type Line = (u64, Vec<u8>, Vec<u8>);

/// A block being changed by a batch.
#[derive(Debug, Default, Clone)]
pub(crate) struct Block {
    /// offset -> its line
    entries: BTreeMap<u8, Line>,
}

impl Block {
    pub fn decode(block: u64, raw: &[u8]) -> Result<Block> {
        let mut b = Block::default();
        for (num, e) in entries(block, raw)? {
            b.entries.insert(offset(num), (e.aid, e.fields().to_vec(), e.xref().to_vec()));
        }
        Ok(b)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(1 + self.entries.len() * 9));
        w.u8(self.entries.len() as u8);
        for (off, (aid, _, _)) in &self.entries {
            w.u8(*off).u64(*aid);
        }
        let mut text = Writer::default();
        for (_, fields, xref) in self.entries.values() {
            text.bytes(fields).bytes(xref);
        }
        w.u8(PLAIN).raw(&text.0);
        w.0
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, num: u64) -> Option<&Line> {
        self.entries.get(&offset(num))
    }

    pub fn insert(&mut self, num: u64, aid: u64, fields: Vec<u8>, xref: Vec<u8>) {
        self.entries.insert(offset(num), (aid, fields, xref));
    }

    pub fn remove(&mut self, num: u64) {
        self.entries.remove(&offset(num));
    }

    /// The first number in this block after `num` (block `block`).
    pub fn first_after(&self, block: u64, num: u64) -> Option<u64> {
        self.entries.keys().map(|&o| block * BLOCK + o as u64).find(|&n| n > num)
    }
}

/// Converts a format 3 or 4 store's overview records (`O gid num`, one per entry) into
/// blocks, and returns how many entries it moved. It can be interrupted anywhere and run
/// again: blocks are written (merged with any written before) before the records they hold
/// are deleted, and the store's format changes only after the last.
pub(crate) fn convert(tree: &sled::Tree) -> Result<u64> {
    let mut moved = 0;
    loop {
        // A bounded step: up to 256 blocks' worth of records.
        let mut blocks: BTreeMap<[u8; 13], Block> = BTreeMap::new();
        let mut old_keys = Vec::new();
        for item in tree.scan_prefix([codec::OVERVIEW]) {
            let (k, v) = item?;
            let (Some(gid), Some(num)) = (k.get(1..5).and_then(codec::be_u32), k.get(5..13).and_then(codec::be_u64))
            else {
                return Err(StoreError::Corrupt("overview key"));
            };
            let key = self::key(gid, num);
            if !blocks.contains_key(&key) {
                if blocks.len() >= 256 {
                    break;
                }
                let block = match tree.get(key)? {
                    Some(raw) => Block::decode(num / BLOCK, &raw)?,
                    None => Block::default(),
                };
                blocks.insert(key, block);
            }
            // Old record: aid u64, fields (u32 length), then the xref.
            let mut r = Reader::new(&v);
            let aid = r.u64()?;
            let fields = r.bytes()?.to_vec();
            let xref = r.rest().to_vec();
            blocks.entry(key).or_default().insert(num, aid, fields, xref);
            old_keys.push(k);
        }
        if old_keys.is_empty() {
            return Ok(moved);
        }
        let mut batch = sled::Batch::default();
        for (key, block) in &blocks {
            batch.insert(&key[..], block.encode());
        }
        tree.apply_batch(batch)?;
        let mut batch = sled::Batch::default();
        for k in &old_keys {
            batch.remove(k);
        }
        tree.apply_batch(batch)?;
        moved += old_keys.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip() {
        let mut b = Block::default();
        b.insert(130, 7, b"Subject\tFrom\tDate\t<id>\t\t10\t1".to_vec(), b"g:130".to_vec());
        b.insert(129, 6, b"S2\tF\tD\t<id2>\t<id>\t20\t2".to_vec(), b"g:129 h:4".to_vec());
        let raw = b.encode();
        assert_eq!(table(2, &raw).unwrap(), [(129, 6), (130, 7)]);
        let e = entry(130, &raw).unwrap().unwrap();
        assert_eq!((e.article_id(), e.field(3), e.xref()), (7, &b"<id>"[..], &b"g:130"[..]));
        let e = entry(129, &raw).unwrap().unwrap();
        assert_eq!(
            (e.article_id(), e.fields(), e.xref()),
            (6, &b"S2\tF\tD\t<id2>\t<id>\t20\t2"[..], &b"g:129 h:4"[..])
        );
        assert_eq!(article_at(130, &raw).unwrap(), Some(7));
        assert_eq!(article_at(131, &raw).unwrap(), None);
        assert!(entry(131, &raw).unwrap().is_none());
        let back = Block::decode(2, &raw).unwrap();
        assert_eq!(back.first_after(2, 129), Some(130));
        assert_eq!(back.first_after(2, 130), None);
        assert!(entries(2, &raw[..raw.len() - 3]).is_err(), "a cut block is an error");
    }
}
