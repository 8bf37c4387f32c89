//! public-inbox v2 archives (as mirrored from lore.kernel.org), read with gix.
//!
//! An epoch is a bare git repository with linear history, one commit per event; each commit's
//! tree holds one blob: `m` (a message added) or `d` (that message removed). An inbox folder
//! holds its epochs as `git/0.git`, `git/1.git`, … which are read in numeric order.

use std::path::{Path, PathBuf};

use super::ImportError;

/// Does `path` look like a bare git repository (an epoch)?
pub fn is_epoch(path: &Path) -> bool {
    path.join("objects").is_dir() && path.join("HEAD").is_file()
}

/// The epochs of an inbox folder, in order; empty if `path` is not an inbox.
pub fn inbox_epochs(path: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(path.join("git")) else { return Vec::new() };
    let mut epochs: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name.strip_suffix(".git")?.parse::<u64>().ok()?;
            is_epoch(&e.path()).then(|| (n, e.path()))
        })
        .collect();
    epochs.sort();
    epochs.into_iter().map(|(_, p)| p).collect()
}

/// The commit id HEAD points to, if the epoch has one (cheap: no history walk).
pub fn head_id(path: &Path) -> Option<String> {
    let repo = gix::open(path).ok()?;
    repo.head_id().ok().map(|id| id.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Add,
    Delete,
}

/// The newest message of an epoch (the `m` blob of the newest commit that adds one, looking
/// back a hundred commits at most), without walking its history.
pub fn newest_message(path: &Path) -> Option<Vec<u8>> {
    let repo = gix::open(path).ok()?;
    let mut commit = repo.head_commit().ok()?;
    for _ in 0..100 {
        if let Some(m) = commit.tree().ok()?.find_entry("m") {
            return Some(repo.find_object(m.object_id()).ok()?.detach().data);
        }
        let parent = commit.parent_ids().next()?;
        commit = repo.find_commit(parent).ok()?;
    }
    None
}

/// The commits of an epoch, oldest first, with their blobs read lazily.
pub struct Epoch {
    repo: gix::Repository,
    commits: Vec<gix::ObjectId>,
    path: PathBuf,
}

fn git_err(path: &Path, e: impl std::fmt::Display) -> ImportError {
    ImportError::Git { path: path.to_path_buf(), message: e.to_string() }
}

/// One shared object database per epoch for the whole process: every thread reading it gets
/// a handle on the same packs, so each pack is mapped once (a repository opened per thread
/// maps every pack again, and each mapping counts in the process's resident memory).
fn shared_repo(path: &Path) -> Result<gix::Repository, ImportError> {
    static OPEN: std::sync::Mutex<Vec<(PathBuf, gix::ThreadSafeRepository)>> = std::sync::Mutex::new(Vec::new());
    let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, repo)) = open.iter().find(|(p, _)| p == path) {
        return Ok(repo.to_thread_local());
    }
    let repo = gix::open(path).map_err(|e| git_err(path, e))?.into_sync();
    let local = repo.to_thread_local();
    // A handful of epochs at a time: forget the oldest (its packs unmap once unused).
    if open.len() >= 8 {
        open.remove(0);
    }
    open.push((path.to_path_buf(), repo));
    Ok(local)
}

impl Epoch {
    pub fn open(path: &Path) -> Result<Epoch, ImportError> {
        let mut repo = shared_repo(path)?;
        repo.object_cache_size(Some(16 << 20));
        let mut commits = Vec::new();
        if let Ok(head) = repo.head_id() {
            for info in head.ancestors().all().map_err(|e| git_err(path, e))? {
                commits.push(info.map_err(|e| git_err(path, e))?.id);
            }
        }
        // (An epoch without commits yet is empty, not an error.)
        // History is newest first; messages must be numbered in arrival order.
        commits.reverse();
        Ok(Epoch { repo, commits, path: path.to_path_buf() })
    }

    pub fn len(&self) -> u64 {
        self.commits.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.commits.is_empty()
    }

    /// The commit id at 1-based `index`.
    pub fn commit_at(&self, index: u64) -> Option<String> {
        let i = usize::try_from(index).ok()?.checked_sub(1)?;
        self.commits.get(i).map(|id| id.to_string())
    }

    /// Finds what the commit at 1-based `index` does, without reading the message: the
    /// event and its blob (read with [`read_blob`], on any thread). `None` for a commit with
    /// neither `m` nor `d`.
    pub fn locate(&self, index: u64) -> Result<Option<(Event, gix::ObjectId)>, ImportError> {
        let Some(id) = usize::try_from(index).ok().and_then(|i| i.checked_sub(1)).and_then(|i| self.commits.get(i))
        else {
            return Ok(None);
        };
        let commit = self.repo.find_commit(*id).map_err(|e| git_err(&self.path, e))?;
        let tree = commit.tree().map_err(|e| git_err(&self.path, e))?;
        Ok(match (tree.find_entry("m"), tree.find_entry("d")) {
            (Some(m), _) => Some((Event::Add, m.object_id())),
            (None, Some(d)) => Some((Event::Delete, d.object_id())),
            (None, None) => None,
        })
    }
}

thread_local! {
    /// Each thread reading blobs keeps the epoch it read last open.
    static BLOB_REPO: std::cell::RefCell<Option<(PathBuf, gix::Repository)>> = const { std::cell::RefCell::new(None) };
}

/// Hands back the pages of the epoch's packs (and their indexes) that this process has
/// mapped and read. gix reads a pack through a mapping of the whole file, and every page an
/// import has read stays counted in its resident memory until the mapping goes: an epoch's
/// import would come to hold its whole pack (the selinux epoch's is 77 MB; a lore epoch's
/// up to a gigabyte or two). The pages stay in the system's file cache; the next read of
/// one maps it again. Linux only; elsewhere nothing happens.
pub fn release_pack_pages(path: &Path) {
    #[cfg(target_os = "linux")]
    {
        let Ok(pack_dir) = std::fs::canonicalize(path.join("objects").join("pack")) else { return };
        let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else { return };
        for line in maps.lines() {
            // "start-end perms offset dev inode path"
            let mut fields = line.split_whitespace();
            let (Some(range), Some(perms)) = (fields.next(), fields.next()) else { continue };
            let Some(file) = fields.nth(3) else { continue };
            if !perms.starts_with("r-") || !Path::new(file).starts_with(&pack_dir) {
                continue;
            }
            let Some((start, end)) = range.split_once('-') else { continue };
            let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16)) else {
                continue;
            };
            // SAFETY: the range is a read-only mapping of a pack file (the kernel's list of
            // this process's mappings says so: not writable, backed by a file in the epoch's
            // pack folder). MADV_DONTNEED on a file mapping that was never written drops the
            // pages from this process's page tables only: a later read faults the same bytes
            // in again from the file, so whoever holds slices of the mapping (gix, on other
            // threads) reads what it read before. An error (the mapping went meanwhile) is
            // ignored: releasing is an optimisation.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end.saturating_sub(start), libc::MADV_DONTNEED);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = path;
}

/// Reads one blob of the epoch at `path` (empty for a purged message).
pub fn read_blob(path: &Path, blob: gix::ObjectId) -> Result<Vec<u8>, ImportError> {
    BLOB_REPO.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|(p, _)| p != path) {
            // Blobs are read once: no object cache (the pack's delta cache still works).
            let repo = shared_repo(path)?;
            *cell = Some((path.to_path_buf(), repo));
        }
        let Some((_, repo)) = cell.as_ref() else { unreachable!("set above") };
        let object = repo.find_object(blob).map_err(|e| git_err(path, e))?;
        // A copy of exactly its length: the object's buffer is the one gix resolved its
        // deltas in (room for the base and the result), which goes back to gix's free list
        // for the next blob instead of sitting in the import's window.
        Ok(object.data.clone())
    })
}
