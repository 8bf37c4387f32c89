//! Compression dictionaries for article texts.
//!
//! An article alone compresses poorly: most of a list message's headers (Received chains,
//! List-* fields, the list's addresses) and much of its body's shape repeat from message to
//! message, but zstd sees one message at a time. A dictionary trained on the store's own
//! newest articles carries what they share: on the selinux archive articles take 80 MiB
//! with one instead of 98 MiB without (`bench/results/store-size.md`).
//!
//! The store trains its first dictionary once it holds [`FIRST_AT`] articles and a new one
//! each time it has grown [`GROWTH`]-fold since the last, so the dictionary follows the
//! archive as it grows (a mirror that adds lists gets one trained on them too). Each
//! article's record names the dictionary it was packed with; dictionaries are never removed,
//! so every article stays readable. One dictionary serves the whole store, not one per group:
//! a prepared dictionary costs about a megabyte of memory at level [`LEVEL`], which a mirror
//! of hundreds of lists could not keep per group.
//!
//! Record: `D id -> trained_at (u64) dictionary bytes`, where `trained_at` is the number of
//! articles the store held when it was trained.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use zstd::zstd_safe::{CCtx, CDict, DCtx, DDict};

use super::{Result, StoreError};

/// zstd level with a dictionary. On the selinux archive level 1 stores 86 MiB of articles
/// (the import 6-10% faster), level 3 80 MiB, level 6 about 73 MiB for three times level
/// 3's compression time.
pub(crate) const LEVEL: i32 = 3;
/// zstd level without one (the first articles of a store): level 1 stores within 2% of
/// level 3 for about half the time.
const PLAIN_LEVEL: i32 = 1;
/// Articles the store holds when it trains its first dictionary.
pub(crate) const FIRST_AT: u64 = 1_000;
/// A new dictionary is trained when the store holds this many times the articles it held
/// when the current one was trained.
pub(crate) const GROWTH: u64 = 10;
/// Size of a trained dictionary (zstd's default).
const DICT_SIZE: usize = 112 << 10;
/// Training samples: the newest articles, at most this many, this many bytes in all, and this
/// many bytes of each. On the selinux archive 400 samples of at most 16 KiB train in a
/// quarter of the time of 1,000 whole ones for the same size (72.0 against 71.7 MiB), and
/// the trainer's memory (about three times the samples' bytes) stays small beside the
/// import's.
const SAMPLES: usize = 400;
const SAMPLE_BYTES: usize = 4 << 20;
const SAMPLE_MAX: usize = 16 << 10;

/// How an article's text is kept in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Packing {
    /// As it is: compressing did not save enough.
    Plain,
    /// zstd without a dictionary.
    Zstd,
    /// zstd with the store's dictionary of this id.
    Dict(u32),
}

/// One trained dictionary, prepared for compressing and for decompressing.
pub struct Dictionary {
    pub id: u32,
    /// Articles in the store when it was trained.
    pub trained_at: u64,
    bytes: Vec<u8>,
    /// Prepared for compressing on first use: only the newest dictionary packs, and a
    /// prepared one takes several times the dictionary's size.
    cdict: std::sync::OnceLock<Option<CDict<'static>>>,
    ddict: DDict<'static>,
}

impl Dictionary {
    fn new(id: u32, trained_at: u64, bytes: &[u8]) -> Result<Dictionary> {
        let ddict = DDict::try_create(bytes).ok_or(StoreError::Corrupt("compression dictionary"))?;
        Ok(Dictionary { id, trained_at, bytes: bytes.to_vec(), cdict: std::sync::OnceLock::new(), ddict })
    }

    fn cdict(&self) -> Option<&CDict<'static>> {
        self.cdict.get_or_init(|| CDict::try_create(&self.bytes, LEVEL)).as_ref()
    }

    pub(crate) fn decode(id: u32, record: &[u8]) -> Result<Dictionary> {
        let trained_at = super::codec::be_u64(record).ok_or(StoreError::Corrupt("dictionary record"))?;
        Dictionary::new(id, trained_at, &record[8..])
    }

    fn encode(trained_at: u64, bytes: &[u8]) -> Vec<u8> {
        let mut v = trained_at.to_be_bytes().to_vec();
        v.extend_from_slice(bytes);
        v
    }
}

/// The store's dictionaries: every one by id, and the newest, which packs new articles.
#[derive(Default)]
pub(crate) struct Dictionaries {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<u32, Arc<Dictionary>>,
    current: Option<Arc<Dictionary>>,
    /// Article count of a training that found too little to train on: the next try waits
    /// until the store has doubled from there.
    failed_at: Option<u64>,
}

impl Dictionaries {
    pub fn add(&self, dict: Dictionary) {
        let dict = Arc::new(dict);
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.current.as_ref().is_none_or(|c| c.id < dict.id) {
            inner.current = Some(dict.clone());
        }
        inner.by_id.insert(dict.id, dict);
    }

    pub fn current(&self) -> Option<Arc<Dictionary>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).current.clone()
    }

    fn get(&self, id: u32) -> Option<Arc<Dictionary>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).by_id.get(&id).cloned()
    }

    /// Whether a store holding `articles` should train a new dictionary.
    pub fn due(&self, articles: u64) -> bool {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let due_at = match &inner.current {
            None => FIRST_AT,
            Some(d) => d.trained_at.saturating_mul(GROWTH),
        };
        articles >= due_at.max(inner.failed_at.map_or(0, |f| f.saturating_mul(2)))
    }

    fn failed(&self, articles: u64) {
        self.inner.write().unwrap_or_else(|e| e.into_inner()).failed_at = Some(articles);
    }

    /// The id the next dictionary gets.
    fn next_id(&self) -> u32 {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).by_id.keys().max().map_or(1, |m| m + 1)
    }
}

/// A dictionary trained from `samples` (article texts, newest first), or `None` when they
/// are too few or too alike for the trainer. Returns the record to store under its id.
pub(crate) fn train(
    dicts: &Dictionaries,
    articles: u64,
    samples: impl Iterator<Item = Result<Vec<u8>>>,
) -> Result<Option<(u32, Vec<u8>, Dictionary)>> {
    let started = std::time::Instant::now();
    let mut taken: Vec<Vec<u8>> = Vec::new();
    let mut bytes = 0;
    for sample in samples {
        let mut sample = sample?;
        sample.truncate(SAMPLE_MAX);
        bytes += sample.len();
        taken.push(sample);
        if taken.len() >= SAMPLES || bytes >= SAMPLE_BYTES {
            break;
        }
    }
    let trained = match train_fast_cover(&taken) {
        Ok(d) => d,
        Err(e) => {
            tracing::info!(samples = taken.len(), bytes, error = %e, "no compression dictionary trained");
            dicts.failed(articles);
            return Ok(None);
        }
    };
    let id = dicts.next_id();
    let record = Dictionary::encode(articles, &trained);
    let dict = Dictionary::new(id, articles, &trained)?;
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(id, articles, samples = taken.len(), bytes, secs, "trained a compression dictionary");
    Ok(Some((id, record, dict)))
}

/// The trainer's parameters (zstd's fastCover): segments of [`TRAIN_K`] bytes scored by
/// their 8-byte pieces. zstd's own `ZDICT_trainFromBuffer` tries several segment sizes and
/// compresses a quarter of the samples with each dictionary to pick one, four to five times
/// the work of training once; on the selinux archive it picked 537 at 1,000 articles and at
/// 10,000 alike, and a fixed 537 trains the same dictionary in a fifth of the time
/// (`bench/results/profile-import.md`). The first dictionary is trained while the import
/// waits for it.
const TRAIN_K: u32 = 537;
const TRAIN_D: u32 = 8;

/// A dictionary of at most [`DICT_SIZE`] bytes trained on `samples`, or zstd's complaint.
fn train_fast_cover(samples: &[Vec<u8>]) -> std::result::Result<Vec<u8>, String> {
    use zstd::zstd_safe::zstd_sys;
    let flat: Vec<u8> = samples.concat();
    let sizes: Vec<usize> = samples.iter().map(Vec::len).collect();
    let count = u32::try_from(sizes.len()).map_err(|_| "too many samples".to_string())?;
    let mut dict = vec![0u8; DICT_SIZE];
    let params = zstd_sys::ZDICT_fastCover_params_t {
        k: TRAIN_K,
        d: TRAIN_D,
        f: 20,
        steps: 0,
        nbThreads: 1,
        splitPoint: 1.0,
        accel: 1,
        shrinkDict: 0,
        shrinkDictMaxRegression: 0,
        zParams: zstd_sys::ZDICT_params_t { compressionLevel: LEVEL, notificationLevel: 0, dictID: 0 },
    };
    // SAFETY: every pointer is to a live buffer of the length passed with it, and `sizes`
    // adds up to `flat.len()`; zstd writes at most `dict.len()` bytes into `dict`.
    let written = unsafe {
        zstd_sys::ZDICT_trainFromBuffer_fastCover(
            dict.as_mut_ptr().cast(),
            dict.len(),
            flat.as_ptr().cast(),
            sizes.as_ptr(),
            count,
            params,
        )
    };
    // SAFETY: plain functions of an integer; the name is a static C string.
    unsafe {
        if zstd_sys::ZDICT_isError(written) != 0 {
            let name = std::ffi::CStr::from_ptr(zstd_sys::ZDICT_getErrorName(written));
            return Err(name.to_string_lossy().into_owned());
        }
    }
    dict.truncate(written);
    Ok(dict)
}

thread_local! {
    // Contexts are reused: creating one per article cost more than compressing (profiled).
    static CCTX: std::cell::RefCell<Option<CCtx<'static>>> = const { std::cell::RefCell::new(None) };
    static DCTX: std::cell::RefCell<Option<DCtx<'static>>> = const { std::cell::RefCell::new(None) };
}

/// Compresses `text` with `dict` (or without one), or `None` if zstd fails.
pub(crate) fn compress(text: &[u8], dict: Option<&Dictionary>) -> Option<(Vec<u8>, Packing)> {
    CCTX.with(|c| {
        let mut c = c.borrow_mut();
        let cctx = c.get_or_insert_with(CCtx::create);
        let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(text.len()));
        let done = match dict.and_then(|d| Some((d.id, d.cdict()?))) {
            Some((id, cdict)) => cctx.compress_using_cdict(&mut out, text, cdict).map(|_| Packing::Dict(id)),
            None => cctx.compress(&mut out, text, PLAIN_LEVEL).map(|_| Packing::Zstd),
        };
        done.ok().map(|packing| (out, packing))
    })
}

/// The `len` bytes of text that `data` holds packed as `packing` (plain text is returned as
/// it is).
pub(crate) fn decompress(dicts: &Dictionaries, data: Vec<u8>, len: usize, packing: Packing) -> Result<Vec<u8>> {
    let dict = match packing {
        Packing::Plain => return Ok(data),
        Packing::Zstd => None,
        Packing::Dict(id) => {
            Some(dicts.get(id).ok_or(StoreError::Corrupt("article packed with an unknown dictionary"))?)
        }
    };
    DCTX.with(|d| {
        let mut d = d.borrow_mut();
        let dctx = d.get_or_insert_with(DCtx::create);
        let mut out = Vec::with_capacity(len);
        let done = match &dict {
            Some(dict) => dctx.decompress_using_ddict(&mut out, &data, &dict.ddict),
            None => dctx.decompress(&mut out, &data),
        };
        match done {
            Ok(n) if n == len => Ok(out),
            Ok(_) => Err(StoreError::Corrupt("article length")),
            Err(_) => Err(StoreError::Corrupt("article text does not decompress")),
        }
    })
}
