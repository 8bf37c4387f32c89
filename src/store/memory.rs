//! Keeping a standalone import under a memory limit.
//!
//! An import's resident memory is a fixed part (the pipeline's batches, zstd's contexts, the
//! allocator) plus sled's page cache plus sled's page table, which keeps an entry for every
//! page of the index in memory and so grows with the archive, about 45 bytes a message
//! (`bench/results/profile-import.md`). With a fixed cache the sum passes any limit once the
//! archive is large enough. [`MemoryLimit`] gives the cache what the rest leaves: after each
//! batch it reads the process's resident size and shrinks the cache when that nears the
//! limit, growing it back (to at most what the store was opened with) when there is room.
//! The import slows as its cache shrinks, but its peak stays put until what is not cache
//! (the page table with the rest) fills the limit: about 2.5 million messages at 256 MiB.

use std::time::{Duration, Instant};

use super::Store;

/// The least cache an import is left with: below it every batch reads most of the leaves it
/// touches back from the log.
const MIN_CACHE: u64 = 4 << 20;

/// Resident bytes a byte of sled's cache stands for: the cache counts pages by their logged
/// (compressed) size rounded up to a power of two, and holds them decoded. 40 MiB of cache
/// held about 150 MB at 1,000,000 messages (`profile-import.md`).
const RESIDENT_PER_CACHE_BYTE: u64 = 3;

/// How long after a change the next may come: jemalloc hands freed pages back within a
/// second in an import (`IMPORT_DECAY_MS` in import/mod.rs), so a shrink shows by then.
const SETTLE: Duration = Duration::from_millis(1500);

/// How long the resident size must stay well under the limit before the cache grows again.
const REGROW: Duration = Duration::from_secs(5);

/// A standalone import's memory limit, applied to the store's page cache.
#[derive(Debug)]
pub struct MemoryLimit {
    limit: u64,
    /// The cache the store was opened with; the most it is given back.
    full: u64,
    cache: u64,
    changed: Instant,
    /// The resident size the last change was made at.
    changed_at: u64,
    /// Changes made, and the smallest cache given: for the import's summary and tests.
    pub shrinks: u32,
    pub least_cache: u64,
}

impl MemoryLimit {
    /// A limit of `limit` bytes of resident memory for an import into a store opened with a
    /// page cache of `cache` bytes.
    pub fn new(limit: u64, cache: u64) -> MemoryLimit {
        MemoryLimit {
            limit,
            full: cache,
            cache,
            changed: Instant::now(),
            changed_at: 0,
            shrinks: 0,
            least_cache: cache,
        }
    }

    /// The cache the import has now.
    pub fn cache(&self) -> u64 {
        self.cache
    }

    /// Reads the resident size and sets the store's cache for it; nothing where the size
    /// cannot be read (not Linux).
    pub fn check(&mut self, store: &Store) {
        if let Some(resident) = resident_bytes() {
            self.apply(store, resident);
        }
    }

    /// Sets the store's cache for a process `resident` bytes large. The cache shrinks once the
    /// process passes seven eighths of the limit (the eighth above is room for what one batch
    /// adds before the next check), by what the excess stands for in cache, at least a
    /// sixteenth; again once the last shrink has had time to show, or sooner if the process
    /// has grown by another thirty-second of the limit since (as at an import's start, when
    /// the cache fills fastest). It grows back by an eighth at a time while the process stays
    /// under five eighths.
    pub fn apply(&mut self, store: &Store, resident: u64) {
        let high = self.limit / 8 * 7;
        let low = self.limit / 8 * 5;
        let settled = self.changed.elapsed();
        let growing = resident > self.changed_at + self.limit / 32;
        let cache = if resident > high && (settled >= SETTLE || growing) && self.cache > MIN_CACHE {
            let cut = ((resident - high) / RESIDENT_PER_CACHE_BYTE).max(self.cache / 16);
            self.cache.saturating_sub(cut).max(MIN_CACHE)
        } else if resident < low && settled >= REGROW && self.cache < self.full {
            (self.cache + self.cache / 8).min(self.full)
        } else {
            return;
        };
        if cache < self.cache {
            self.shrinks += 1;
        }
        tracing::debug!(
            resident_mb = resident >> 20,
            limit_mb = self.limit >> 20,
            cache_mib = cache >> 20,
            "import memory: index cache resized"
        );
        self.cache = cache;
        self.least_cache = self.least_cache.min(cache);
        self.changed = Instant::now();
        self.changed_at = resident;
        store.set_cache_capacity(cache);
    }
}

/// This process's resident memory, from `/proc/self/status` (`VmRSS:`, in kB).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kb: u64 = line.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb << 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_size_is_read() {
        let rss = resident_bytes().expect("/proc/self/status on Linux");
        assert!(rss > 1 << 20, "a test process holds more than 1 MiB: {rss}");
    }

    #[test]
    fn the_cache_shrinks_near_the_limit_and_grows_back_with_room() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_for_import(dir.path()).unwrap();
        let mut limit = MemoryLimit::new(256 << 20, 40 << 20);
        limit.changed -= REGROW;
        // Under seven eighths of 256 MiB: nothing changes.
        limit.apply(&store, 200 << 20);
        assert_eq!(limit.cache(), 40 << 20);
        // 30 MiB over 224 MiB: 10 MiB of cache goes.
        limit.apply(&store, 254 << 20);
        assert_eq!(limit.cache(), 30 << 20);
        // Again at once: the first shrink has not shown yet.
        limit.apply(&store, 254 << 20);
        assert_eq!(limit.cache(), 30 << 20);
        // Unless the process has grown by more than another 8 MiB since (254 + 8): the excess
        // of 39 MiB over 224 stands for 13 MiB of cache.
        limit.apply(&store, 263 << 20);
        assert_eq!(limit.cache(), (30 << 20) - (39 << 20) / 3);
        limit.changed -= SETTLE;
        // Far over: never below the floor.
        limit.apply(&store, 1 << 30);
        assert_eq!(limit.cache(), MIN_CACHE);
        assert_eq!((limit.shrinks, limit.least_cache), (3, MIN_CACHE));
        // Well under for long enough: an eighth back at a time, up to what it was opened with.
        limit.changed -= REGROW;
        limit.apply(&store, 100 << 20);
        assert_eq!(limit.cache(), MIN_CACHE + MIN_CACHE / 8);
        for _ in 0..100 {
            limit.changed -= REGROW;
            limit.apply(&store, 100 << 20);
        }
        assert_eq!(limit.cache(), 40 << 20);
    }
}
