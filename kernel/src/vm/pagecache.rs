//! The page cache of one file: the file's pages in memory, 4 KiB each, owned by the file's
//! in-memory inode (`fs::Inode::cache`). It is the only copy of file data in memory: `read`,
//! `write`, `exec` and every mapping of page k, in every process, use the same frame, so
//! coherence between them is structural (there is nothing to keep in step).
//!
//! A `PageCache` holds one frame reference per cached page plus a dirty flag; each mapping of
//! a page holds another reference (`frame::share`), and so does any kernel path copying from
//! or into the page (a `read` copying it out with no lock held). The cache lives as long as
//! the in-memory inode: it is created empty with it and dropped with it, when no open file,
//! mapping or directory lookup holds the inode any more.
//!
//! Locking. The page map is behind a spinlock held only to look pages up, insert or remove
//! them, never across I/O or a copy to user memory: a hit takes no sleep lock. Pages are
//! filled and written (and the size changes) only with the inode's sleep lock held
//! (`fs::filedata`), so a fill never races with a write. Lock order: inode → page map →
//! frame allocator.
//!
//! The cache mirrors the file's size (set under the inode lock whenever it changes), so a
//! fault needs no inode lock to tell a page past end-of-file, and it keeps the readahead state
//! of the accesses to the file (`vmcore::Readahead`: the window rule lives there).

use super::stats;
use crate::mm::{frame, PhysAddr, PGSIZE};
use crate::sync::SpinLock;
use alloc::collections::btree_map::{BTreeMap, Entry};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use vmcore::{Advice, Readahead};

/// Largest readahead window, in pages (`vmcore`'s).
pub use vmcore::MAX_READAHEAD;

struct CachedPage {
    pa: PhysAddr,
    dirty: bool,
}

/// What the spinlock guards.
struct Pages {
    map: BTreeMap<u64, CachedPage>,
    ra: Readahead,
}

pub struct PageCache {
    /// The file's size in bytes, mirrored under the inode lock (see the module docs).
    size: AtomicU64,
    pages: SpinLock<Pages>,
}

impl PageCache {
    /// An empty cache for a file of `size` bytes.
    pub const fn new(size: u64) -> PageCache {
        PageCache {
            size: AtomicU64::new(size),
            pages: SpinLock::new("pcache", Pages { map: BTreeMap::new(), ra: Readahead::new() }),
        }
    }

    /// The file's size in bytes as the inode last told the cache.
    pub fn size(&self) -> u64 {
        self.size.load(Ordering::Relaxed)
    }

    /// Records the file's size. Called with the inode locked, whenever the size changes.
    pub fn set_size(&self, size: u64) {
        self.size.store(size, Ordering::Relaxed);
    }

    /// The number of pages cached now.
    pub fn len(&self) -> usize {
        self.pages.lock().map.len()
    }

    /// The cached page at `index`, with one extra frame reference for the caller, recording
    /// the access for readahead. `None` when the page is not cached (the caller then asks
    /// `readahead_window`, which records the access).
    pub fn lookup_fault(&self, index: u64) -> Option<PhysAddr> {
        let mut pages = self.pages.lock();
        let pa = pages.map.get(&index)?.pa;
        pages.ra.on_hit(index);
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

    /// How many pages a `read()` missing page `index` should read, starting there
    /// (`vmcore::Readahead::on_miss`: 1 for an access that does not follow the previous one,
    /// doubling up to `MAX_READAHEAD` while accesses move forward sequentially).
    pub fn readahead_window(&self, index: u64) -> u64 {
        self.readahead_window_for(index, Advice::Normal)
    }

    /// The same for a fault missing page `index` through a mapping with `advice`.
    pub fn readahead_window_for(&self, index: u64, advice: Advice) -> u64 {
        self.pages.lock().ra.on_miss(index, advice)
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
                    stats::FILE_PAGES.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let pa = pages.map.get(&first).expect("pcache: page just inserted").pa;
        frame::share(pa);
        pa
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
    /// copying it) and returns how many were freed. Every other frame reference to a cached
    /// page is taken under the page map's lock, from the cache or from a mapping that already
    /// holds one, so a count of 1 seen under the lock cannot grow meanwhile. Clean pages equal
    /// the file's bytes on the disk, so a later access simply reads them again.
    pub fn evict_unused(&self) -> usize {
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
        stats::FILE_PAGES.fetch_sub(n as u64, Ordering::Relaxed);
        n
    }

    /// Drops the clean pages with index in [first, end) that only the cache references
    /// (`msync(MS_INVALIDATE)`: the next access reads them from the file again); returns how
    /// many were dropped. As in `evict_unused`, a count of 1 seen under the lock cannot grow.
    pub fn evict_clean(&self, first: u64, end: u64) -> usize {
        // One page per lock hold, and no allocation: the range may be a whole 64 MiB file.
        let (mut next, mut n) = (first, 0);
        loop {
            let pa = {
                let mut pages = self.pages.lock();
                let found = pages.map.range(next..end).find(|(_, p)| !p.dirty && frame::refcount(p.pa) == 1);
                let Some((&index, _)) = found else { break };
                next = index + 1;
                pages.map.remove(&index).expect("pcache: page just found").pa
            };
            stats::cache_pages_dropped(core::iter::once(false));
            stats::FILE_PAGES.fetch_sub(1, Ordering::Relaxed);
            frame::free(pa);
            n += 1;
        }
        n
    }

    /// Records that the page at `index` was modified through a mapping.
    pub fn mark_dirty(&self, index: u64) {
        if let Some(p) = self.pages.lock().map.get_mut(&index) {
            stats::cache_dirty_changed(p.dirty, true);
            p.dirty = true;
        }
    }

    /// Takes the first dirty page with index in [first, end) for writing back: marks it clean
    /// and returns it with a frame reference for the writer, who calls `mark_dirty` again if
    /// the write fails. A store through a mapping meanwhile dirties it again at that
    /// mapping's unmap.
    pub fn take_dirty(&self, first: u64, end: u64) -> Option<(u64, PhysAddr)> {
        self.take_dirty_where(first, end, |_| true)
    }

    /// Like `take_dirty`, for memory reclaim: only a page no mapping maps any more (the
    /// cache's reference is its only one), which is free memory once it is written back.
    pub fn take_dirty_unused(&self, first: u64, end: u64) -> Option<(u64, PhysAddr)> {
        self.take_dirty_where(first, end, |pa| frame::refcount(pa) == 1)
    }

    fn take_dirty_where(
        &self,
        first: u64,
        end: u64,
        ok: impl Fn(PhysAddr) -> bool,
    ) -> Option<(u64, PhysAddr)> {
        let mut pages = self.pages.lock();
        let (&index, p) = pages.map.range_mut(first..end).find(|(_, p)| p.dirty && ok(p.pa))?;
        stats::cache_dirty_changed(true, false);
        p.dirty = false;
        frame::share(p.pa);
        Some((index, p.pa))
    }

    /// The file was cut to `size` bytes. Called with the inode locked. Cached pages wholly
    /// past the new end that no one else references are dropped; the others (still mapped)
    /// are zeroed from the new end on and marked clean, so mappings read zeros there and
    /// write-back, clamped to the file's size, never resurrects old bytes, until
    /// `vm::truncate` has unmapped them everywhere and `drop_past_end` drops them.
    pub fn truncate(&self, size: u64) {
        self.set_size(size);
        self.cut(size / PGSIZE as u64, size as usize % PGSIZE, false);
    }

    /// Drops the cached pages wholly past end-of-file that only the cache references, dirty
    /// or not (nothing past the end is ever written back), and zeroes and cleans any other
    /// (a `read` copying it right now), so it can never show old bytes if the file grows
    /// again. Called with the inode locked, after truncation removed those pages from every
    /// mapping (`vm::truncate`).
    pub fn drop_past_end(&self) {
        self.cut(self.size().div_ceil(PGSIZE as u64), 0, true);
    }

    /// The pages from `first_gone` on leave the file: each that only the cache references is
    /// dropped (a dirty one only when `drop_dirty`), provided none of its bytes stay (`from`,
    /// the first byte gone in page `first_gone`, is 0); every other is zeroed from `from` (in
    /// page `first_gone`; wholly after it) and marked clean.
    fn cut(&self, first_gone: u64, from: usize, drop_dirty: bool) {
        let mut dropped: Vec<(PhysAddr, bool)> = Vec::new();
        let mut dirty_cleared = 0u64;
        let mut pages = self.pages.lock();
        pages.map.retain(|&index, p| {
            if index < first_gone {
                return true;
            }
            let from = if index == first_gone { from } else { 0 };
            if from == 0 && frame::refcount(p.pa) == 1 && (drop_dirty || !p.dirty) {
                dropped.push((p.pa, p.dirty));
                return false;
            }
            crate::mm::page::zero_from(p.pa, from);
            dirty_cleared += u64::from(p.dirty);
            p.dirty = false;
            true
        });
        drop(pages);
        for _ in 0..dirty_cleared {
            stats::cache_dirty_changed(true, false);
        }
        stats::cache_pages_dropped(dropped.iter().map(|&(_, dirty)| dirty));
        stats::FILE_PAGES.fetch_sub(dropped.len() as u64, Ordering::Relaxed);
        for (pa, _) in dropped {
            frame::free(pa);
        }
    }
}

impl Drop for PageCache {
    fn drop(&mut self) {
        let pages = core::mem::take(&mut self.pages.lock().map);
        stats::cache_pages_dropped(pages.values().map(|p| p.dirty));
        stats::FILE_PAGES.fetch_sub(pages.len() as u64, Ordering::Relaxed);
        for p in pages.into_values() {
            frame::free(p.pa);
        }
    }
}
