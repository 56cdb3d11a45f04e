//! The page cache: per-object caches of 4 KiB pages, so that every mapping of page k of a file
//! (or of a shared anonymous region), in every process, uses the same physical page.
//!
//! A `PageCache` holds one frame reference per cached page plus a dirty flag; each mapping of a
//! page holds another reference (`frame::share`). File caches are found through a registry
//! keyed by inode number that holds only weak references: when the last mapping of a file
//! goes away, its cache is dropped and its pages return to the allocator. A file cache also
//! mirrors the file's size (so a fault need not lock the inode) and keeps the readahead state
//! of the faults on it.
//!
//! Locking. The page map is behind a spinlock held only to look pages up, insert them and
//! copy bytes, never across I/O: a fault on a cached page takes no sleep lock and touches no
//! disk. Everything that changes a file's bytes or size holds the inode's sleep lock while it
//! tells the cache (`file_written`, `file_truncated`), and pages are filled from the file with
//! that lock held too (`fileio::fill`), so a fill never races with a write. Lock order:
//! inode → `REGISTRY` → a cache's page map → frame allocator.
//!
//! Coherence with `read` and `write` (docs/syscalls.md): `write` updates the cached copy of
//! every page it writes, in place, so mappings see it at once; `read` takes the bytes of cached
//! pages from the cache, so it sees stores made through shared mappings before write-back;
//! truncation zeroes the cached pages and marks them clean.

use super::stats;
use crate::mm::{frame, PhysAddr, PGSIZE};
use crate::sync::SpinLock;
use abi::Errno;
use alloc::collections::btree_map::{BTreeMap, Entry};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

/// Largest readahead window, in pages.
pub const MAX_READAHEAD: u64 = 32;

/// How far (in pages) a fault may land past the previous one and still count as sequential:
/// the fault-around window, since a scan through a mapping faults once per such window.
const SEQUENTIAL_SLACK: u64 = 16;

struct CachedPage {
    pa: PhysAddr,
    dirty: bool,
}

/// Where the last fault on the cache was and how much the last miss read.
#[derive(Clone, Copy)]
struct Readahead {
    /// Page index of the last fault (hit or miss); `None` before the first.
    last: Option<u64>,
    /// Pages the last miss asked for.
    window: u64,
}

/// What the spinlock guards.
struct Pages {
    map: BTreeMap<u64, CachedPage>,
    ra: Readahead,
}

pub struct PageCache {
    /// Inode number for file caches; `None` for shared anonymous memory.
    inum: Option<u32>,
    /// The file's size in bytes (0 for anonymous memory): set under the inode lock when the
    /// cache is made and on every change (`file_written`, `file_truncated`).
    size: AtomicU64,
    pages: SpinLock<Pages>,
}

static REGISTRY: SpinLock<BTreeMap<u32, Weak<PageCache>>> = SpinLock::new("pcache registry", BTreeMap::new());

impl PageCache {
    fn new(inum: Option<u32>, size: u64) -> PageCache {
        PageCache {
            inum,
            size: AtomicU64::new(size),
            pages: SpinLock::new(
                "pcache",
                Pages { map: BTreeMap::new(), ra: Readahead { last: None, window: 0 } },
            ),
        }
    }

    /// A cache for shared anonymous memory (pages start zeroed).
    pub fn anonymous() -> Arc<PageCache> {
        Arc::new(PageCache::new(None, 0))
    }

    /// The cache of the file with inode number `inum`, created if no mapping holds it yet.
    /// The caller holds the inode's lock and passes the file's `size`, which a new cache
    /// records (an existing one is kept up to date by the write hooks).
    pub fn for_inode(inum: u32, size: u64) -> Arc<PageCache> {
        let mut reg = REGISTRY.lock();
        if let Some(c) = reg.get(&inum).and_then(Weak::upgrade) {
            return c;
        }
        let c = Arc::new(PageCache::new(Some(inum), size));
        reg.insert(inum, Arc::downgrade(&c));
        c
    }

    /// The file's size in bytes as the cache last heard it (0 for anonymous memory).
    pub fn size(&self) -> u64 {
        self.size.load(Ordering::Relaxed)
    }

    /// The cached page at `index`, with one extra frame reference for the caller's mapping,
    /// recording the fault there for readahead. `None` when the page is not cached (the
    /// caller then asks `readahead_window`, which records the fault).
    pub fn lookup_fault(&self, index: u64) -> Option<PhysAddr> {
        let mut pages = self.pages.lock();
        let pa = pages.map.get(&index)?.pa;
        pages.ra.last = Some(index);
        frame::share(pa);
        Some(pa)
    }

    /// The cached page at `index` with an extra reference, if cached (no readahead record).
    pub fn lookup(&self, index: u64) -> Option<PhysAddr> {
        let pages = self.pages.lock();
        let pa = pages.map.get(&index)?.pa;
        frame::share(pa);
        Some(pa)
    }

    /// How many pages a miss at `index` should read, starting there: 1 for a fault that
    /// does not follow the previous one, doubling (up to `MAX_READAHEAD`) while faults
    /// move forward sequentially (each at most `SEQUENTIAL_SLACK` pages past the last).
    pub fn readahead_window(&self, index: u64) -> u64 {
        let mut pages = self.pages.lock();
        let ra = &mut pages.ra;
        let sequential = ra.last.is_some_and(|l| index > l && index - l <= SEQUENTIAL_SLACK);
        ra.window = if sequential { (ra.window * 2).clamp(2, MAX_READAHEAD) } else { 1 };
        ra.last = Some(index);
        ra.window
    }

    /// The number of consecutive pages from `first` (before `end`) that are not cached.
    pub fn absent_run(&self, first: u64, end: u64) -> u64 {
        let pages = self.pages.lock();
        match pages.map.range(first..end).next() {
            Some((&i, _)) => i - first,
            None => end.saturating_sub(first),
        }
    }

    /// Adds freshly filled pages `frames[k]` at `first + k`, taking over the caller's frame
    /// references, and returns the page at `first` with an extra reference. A page already
    /// cached wins over the new one (which is freed).
    pub fn insert_run(&self, first: u64, frames: &[PhysAddr]) -> PhysAddr {
        let mut pages = self.pages.lock();
        for (k, &pa) in frames.iter().enumerate() {
            let index = first + k as u64;
            match pages.map.entry(index) {
                Entry::Occupied(_) => frame::free(pa),
                Entry::Vacant(v) => {
                    v.insert(CachedPage { pa, dirty: false });
                    stats::cache_page_added();
                }
            }
        }
        let pa = pages.map.get(&first).expect("pcache: page just inserted").pa;
        frame::share(pa);
        pa
    }

    /// The page at `index` of shared anonymous memory, with an extra reference; a zeroed page
    /// is added when it is not cached yet.
    pub fn get_or_zero(&self, index: u64) -> Result<PhysAddr, Errno> {
        if let Some(pa) = self.lookup(index) {
            return Ok(pa);
        }
        let pa = frame::alloc().ok_or(Errno::NoMem)?;
        Ok(self.insert_run(index, &[pa]))
    }

    /// Calls `f(index, pa)` for every cached page with index in [first, end), in order, with
    /// the page map locked (`f` must not sleep or use this cache). `f` returns whether it took
    /// a frame reference for the page, which this adds.
    pub fn for_each_cached(&self, first: u64, end: u64, mut f: impl FnMut(u64, PhysAddr) -> bool) {
        let pages = self.pages.lock();
        for (&index, p) in pages.map.range(first..end) {
            if f(index, p.pa) {
                frame::share(p.pa);
            }
        }
    }

    /// Whether the cache holds `pa` as its page at `index`.
    pub fn holds(&self, index: u64, pa: PhysAddr) -> bool {
        self.pages.lock().map.get(&index).is_some_and(|p| p.pa == pa)
    }

    /// Drops every clean page that only the cache references (no mapping maps it, no one is
    /// writing it back) and returns how many were freed. Every other frame reference to a
    /// cached page is taken under the page map's lock, from the cache or from a mapping that
    /// already holds one, so a count of 1 seen under the lock cannot grow meanwhile. Clean
    /// pages equal the file's bytes on the disk, so a later fault simply reads them again.
    fn evict_unused(&self) -> usize {
        let mut pages = self.pages.lock();
        let before = pages.map.len();
        pages.map.retain(|_, p| {
            if p.dirty || frame::refcount(p.pa) != 1 {
                return true;
            }
            frame::free(p.pa);
            false
        });
        let n = before - pages.map.len();
        stats::cache_pages_dropped((0..n).map(|_| false));
        n
    }

    /// Records that the page at `index` was modified through a mapping.
    pub fn mark_dirty(&self, index: u64) {
        if let Some(p) = self.pages.lock().map.get_mut(&index) {
            stats::cache_dirty_changed(p.dirty, true);
            p.dirty = true;
        }
    }

    /// Writes every dirty page with index in [first, end) through `write(index, page)` and
    /// returns the number of pages written. Each page is marked clean before it is written
    /// (a store through a mapping meanwhile dirties it again at that mapping's unmap) and
    /// dirty again if the write fails. The page map is not locked while `write` runs, so it
    /// may sleep and use the file system; memory use is constant however many pages go.
    pub fn write_back(
        &self,
        first: u64,
        end: u64,
        mut write: impl FnMut(u64, &[u8; PGSIZE]) -> Result<(), Errno>,
    ) -> usize {
        let mut n = 0;
        let mut next = first;
        loop {
            let found = {
                let mut pages = self.pages.lock();
                let hit = pages.map.range_mut(next..end).find(|(_, p)| p.dirty);
                hit.map(|(&index, p)| {
                    stats::cache_dirty_changed(true, false);
                    p.dirty = false;
                    frame::share(p.pa);
                    (index, p.pa)
                })
            };
            let Some((index, pa)) = found else { break };
            // SAFETY: the reference taken above keeps the page alive; concurrent stores by
            // other mappers are benign (they will be written back again).
            let bytes = unsafe { &*(pa.as_ptr::<[u8; PGSIZE]>()) };
            if write(index, bytes).is_ok() {
                n += 1;
            } else {
                self.mark_dirty(index);
            }
            frame::free(pa);
            next = index + 1;
        }
        n
    }
}

impl Drop for PageCache {
    fn drop(&mut self) {
        if let Some(inum) = self.inum {
            let mut reg = REGISTRY.lock();
            // Only remove our own entry: a new cache for the inode may already be registered.
            if reg.get(&inum).is_some_and(|w| w.strong_count() == 0) {
                reg.remove(&inum);
            }
        }
        let pages: Vec<PhysAddr> = {
            let pages = self.pages.lock();
            stats::cache_pages_dropped(pages.map.values().map(|p| p.dirty));
            pages.map.values().map(|p| p.pa).collect()
        };
        for pa in pages {
            frame::free(pa);
        }
    }
}

/// Memory reclaim, global part: evicts the clean pages no mapping uses from every live file
/// cache (shared anonymous caches are not in the registry: their pages have no backing
/// store) and returns how many pages were freed. Takes only spinlocks, never sleeps.
pub fn evict_unused_pages() -> usize {
    let caches: Vec<Arc<PageCache>> = REGISTRY.lock().values().filter_map(Weak::upgrade).collect();
    // The registry lock is released before the caches are visited (and before a cache whose
    // last mapping went meanwhile is dropped here, which takes it again).
    caches.iter().map(|c| c.evict_unused()).sum()
}

/// The live cache of file `inum`, if some mapping holds one.
fn cache_of(inum: u32) -> Option<Arc<PageCache>> {
    REGISTRY.lock().get(&inum).and_then(Weak::upgrade)
}

/// Calls `f(page, page_off, piece_off, len)` for each cached page overlapping the file range
/// [off, off + len): `page` is the page's bytes, `page_off` where the range starts in it,
/// `piece_off` where that piece starts in the range. The page map stays locked.
fn for_each_piece(
    cache: &PageCache,
    off: u64,
    len: usize,
    mut f: impl FnMut(&mut [u8; PGSIZE], usize, usize, usize),
) {
    let pg = PGSIZE as u64;
    let end = off + len as u64;
    let pages = cache.pages.lock();
    for (&index, p) in pages.map.range(off / pg..end.div_ceil(pg)) {
        let start = (index * pg).max(off);
        let stop = ((index + 1) * pg).min(end);
        // SAFETY: the cache holds a reference to the page; the page map's lock serializes
        // this with the other kernel writers of cached pages (stores by user mappings race
        // with a write() as they would on any Unix).
        let bytes = unsafe { &mut *(p.pa.as_ptr::<[u8; PGSIZE]>()) };
        f(bytes, (start - index * pg) as usize, (start - off) as usize, (stop - start) as usize);
    }
}

/// The file system wrote `bytes` at `off` of file `inum`, whose size is now `size`. Called
/// with the inode locked. Cached copies of the written range are updated in place, so every
/// mapping sees the write at once (their dirty state is unchanged: a later write-back writes
/// the same bytes again).
pub fn file_written(inum: u32, off: u64, bytes: &[u8], size: u64) {
    let Some(cache) = cache_of(inum) else { return };
    cache.size.store(size, Ordering::Relaxed);
    for_each_piece(&cache, off, bytes.len(), |page, at, from, n| {
        page[at..at + n].copy_from_slice(&bytes[from..from + n]);
    });
}

/// File `inum` was truncated to size 0. Called with the inode locked. Cached pages are zeroed
/// and marked clean (pages still mapped then read as zeros, and their write-back is clamped to
/// the new size); a fault on a page now past end-of-file kills as for any such page.
pub fn file_truncated(inum: u32) {
    let Some(cache) = cache_of(inum) else { return };
    cache.size.store(0, Ordering::Relaxed);
    let mut pages = cache.pages.lock();
    for p in pages.map.values_mut() {
        // SAFETY: as in `for_each_piece`.
        unsafe { p.pa.page_bytes() }.fill(0);
        stats::cache_dirty_changed(p.dirty, false);
        p.dirty = false;
    }
}

/// The file system read `buf` from `off` of file `inum` (the inode locked): bytes of pages
/// the cache holds are replaced by the cached ones, which may hold stores made through
/// shared mappings and not yet written back.
pub fn file_read(inum: u32, off: u64, buf: &mut [u8]) {
    let Some(cache) = cache_of(inum) else { return };
    for_each_piece(&cache, off, buf.len(), |page, at, from, n| {
        buf[from..from + n].copy_from_slice(&page[at..at + n]);
    });
}
