//! The page cache of one file: the file's pages in memory, 4 KiB each, owned by the file's
//! in-memory inode (`fs::Inode::cache`). It is the only copy of file data in memory: `read`,
//! `write`, `exec` and every mapping of page k, in every process, use the same frame, so
//! coherence between them is structural (there is nothing to keep in step).
//!
//! The pages and their states are `vmcore::PageCache` (Clean / Dirty, with write-back,
//! eviction and the two steps of truncation, tested on the host); this file is the kernel's
//! side of it: the spinlock around it, the frame allocator it runs on (`frame::Allocator`),
//! the file size mirrored beside it, and the `kstat` counters. It states no rule of its own.
//!
//! The cache holds one frame reference per cached page; each mapping of a page holds another
//! (`frame::share`), and so does any kernel path copying from or into the page (a `read`
//! copying it out with no lock held). The cache lives as long as the in-memory inode: it is
//! created empty with it and dropped with it, when no open file, mapping or directory lookup
//! holds the inode any more.
//!
//! Locking. The page map is behind a spinlock held only to look pages up, insert or remove
//! them, never across I/O or a copy to user memory: a hit takes no sleep lock. Pages are
//! filled and written (and the size changes) only with the inode's sleep lock held
//! (`fs::filedata`), so a fill never races with a write. Lock order: inode → page map →
//! frame allocator.
//!
//! The cache mirrors the file's size in an atomic (set under the inode lock whenever it
//! changes), so a fault needs no lock at all to tell a page past end-of-file, and it keeps
//! the readahead state of the accesses to the file (`vmcore::Readahead`).

use super::stats;
use crate::mm::{frame, PhysAddr};
use crate::sync::SpinLock;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use vmcore::Advice;

/// Largest readahead window, in pages (`vmcore`'s).
pub use vmcore::MAX_READAHEAD;

/// The kernel's frame allocator, as the page-state machine sees it.
const FRAMES: Allocator = Allocator;

/// `mm::frame` as `vmcore`'s [`vmcore::Frames`]: the same functions, by name.
#[derive(Clone, Copy, Debug)]
pub struct Allocator;

impl vmcore::Frames for Allocator {
    type Frame = PhysAddr;

    fn alloc(&self) -> Option<PhysAddr> {
        frame::alloc()
    }

    fn share(&self, f: PhysAddr) {
        frame::share(f);
    }

    fn free(&self, f: PhysAddr) {
        frame::free(f);
    }

    fn refcount(&self, f: PhysAddr) -> u32 {
        frame::refcount(f)
    }

    fn copy(&self, dst: PhysAddr, src: PhysAddr) {
        crate::mm::page::copy_page(dst, src);
    }

    fn zero_tail(&self, f: PhysAddr, from: usize) {
        crate::mm::page::zero_from(f, from);
    }

    fn is_low(&self) -> bool {
        super::reclaim::memory_low()
    }
}

type Pages = vmcore::PageCache<PhysAddr>;

pub struct PageCache {
    /// The file's size in bytes, mirrored under the inode lock (see the module docs).
    size: AtomicU64,
    pages: SpinLock<Pages>,
}

impl PageCache {
    /// An empty cache for a file of `size` bytes.
    pub const fn new(size: u64) -> PageCache {
        PageCache { size: AtomicU64::new(size), pages: SpinLock::new("pcache", Pages::new()) }
    }

    /// Runs `op` on the pages with the page map locked, then moves the `kstat` counters by
    /// the pages it added or removed and the pages it made dirty or clean.
    fn with<R>(&self, op: impl FnOnce(&mut Pages) -> R) -> R {
        let mut pages = self.pages.lock();
        let before = (pages.pages(), pages.dirty());
        let r = op(&mut pages);
        let after = (pages.pages(), pages.dirty());
        drop(pages);
        if before != after {
            account(before, after);
        }
        r
    }

    /// The file's size in bytes as the inode last told the cache.
    pub fn size(&self) -> u64 {
        self.size.load(Relaxed)
    }

    /// Records the file's size. Called with the inode locked, whenever the size changes.
    pub fn set_size(&self, size: u64) {
        self.size.store(size, Relaxed);
    }

    /// The number of pages cached now.
    pub fn len(&self) -> usize {
        self.pages.lock().pages()
    }

    /// The cached page at `index`, with one extra frame reference for the caller, recording
    /// the access for readahead. `None` when the page is not cached (the caller then asks
    /// `readahead_window`, which records the access).
    pub fn lookup_fault(&self, index: u64) -> Option<PhysAddr> {
        self.pages.lock().lookup_access(&FRAMES, index)
    }

    /// The cached page at `index` with an extra reference, if cached (no readahead record).
    pub fn lookup(&self, index: u64) -> Option<PhysAddr> {
        self.pages.lock().lookup(&FRAMES, index)
    }

    /// How many pages a `read()` missing page `index` should read, starting there
    /// (`vmcore::Readahead::on_miss`: 1 for an access that does not follow the previous one,
    /// doubling up to `MAX_READAHEAD` while accesses move forward sequentially).
    pub fn readahead_window(&self, index: u64) -> u64 {
        self.readahead_window_for(index, Advice::Normal)
    }

    /// The same for a fault missing page `index` through a mapping with `advice`.
    pub fn readahead_window_for(&self, index: u64, advice: Advice) -> u64 {
        self.pages.lock().readahead().on_miss(index, advice)
    }

    /// The number of consecutive pages from `first` (before `end`) that are not cached.
    pub fn absent_run(&self, first: u64, end: u64) -> u64 {
        self.pages.lock().absent_run(first, end)
    }

    /// Adds freshly filled pages `frames[k]` at `first + k`, clean, taking over the caller's
    /// frame references, and returns the page at `first` with an extra reference. A page
    /// already cached wins over the new one (which is freed).
    pub fn insert_run(&self, first: u64, frames: &[PhysAddr]) -> PhysAddr {
        self.with(|c| c.insert_run(&FRAMES, first, frames))
    }

    /// Calls `f(index, pa)` for every cached page with index in [first, end), in order, with
    /// the page map locked (`f` must not sleep or use this cache). `f` returns whether it took
    /// a frame reference for the page, which this adds.
    pub fn for_each_cached(&self, first: u64, end: u64, f: impl FnMut(u64, PhysAddr) -> bool) {
        self.pages.lock().share_cached(&FRAMES, first, end, f);
    }

    /// Whether the cache holds `pa` as its page at `index`.
    pub fn holds(&self, index: u64, pa: PhysAddr) -> bool {
        self.pages.lock().holds(index, pa)
    }

    /// Drops every clean page that only the cache references (no mapping maps it, no one is
    /// copying or writing it) and returns how many were freed (`vmcore`'s `evict_unused`).
    pub fn evict_unused(&self) -> usize {
        self.with(|c| c.evict_unused(&FRAMES))
    }

    /// Drops the clean pages with index in [first, end) that only the cache references
    /// (`msync(MS_INVALIDATE)`: the next access reads them from the file again); returns how
    /// many were dropped.
    pub fn evict_clean(&self, first: u64, end: u64) -> usize {
        // One page per lock hold, and no allocation: the range may be a whole 64 MiB file.
        let (mut next, mut n) = (first, 0);
        while let Some(index) = self.with(|c| c.evict_first_unused(&FRAMES, next, end)) {
            next = index + 1;
            n += 1;
        }
        n
    }

    /// Records that the page at `index` was modified through a mapping (its PTE's D bit), or
    /// that writing it back failed.
    pub fn mark_dirty(&self, index: u64) {
        self.with(|c| c.mark_dirty(index));
    }

    /// Takes the first dirty page with index in [first, end) for writing back: marks it clean
    /// and returns it with a frame reference for the writer, who calls `mark_dirty` again if
    /// the write fails. A store through a mapping meanwhile dirties it again at that
    /// mapping's unmap (`vmcore::PageState`).
    pub fn take_dirty(&self, first: u64, end: u64) -> Option<(u64, PhysAddr)> {
        self.with(|c| c.take_dirty(&FRAMES, first, end))
    }

    /// Like `take_dirty`, for memory reclaim: only a page no mapping maps any more (the
    /// cache's reference is its only one), which is free memory once it is written back.
    pub fn take_dirty_unused(&self, first: u64, end: u64) -> Option<(u64, PhysAddr)> {
        self.with(|c| c.take_dirty_unused(&FRAMES, first, end))
    }

    /// The file was cut to `size` bytes (step 1 of *Truncation*). Called with the inode
    /// locked. Cached pages wholly past the new end that no one else references are dropped;
    /// the others (still mapped) are zeroed and marked clean, so mappings read zeros there
    /// and write-back, clamped to the file's size, never resurrects old bytes, until
    /// `vm::truncate` has unmapped them everywhere and `drop_past_end` drops them. The last
    /// page is zeroed from the new end on.
    pub fn truncate(&self, size: u64) {
        self.set_size(size);
        self.with(|c| c.truncate(&FRAMES, size));
    }

    /// Drops the cached pages wholly past end-of-file that only the cache references, dirty
    /// or not (nothing past the end is ever written back), and zeroes and cleans any other
    /// (a `read` copying it right now), so it can never show old bytes if the file grows
    /// again. Called with the inode locked, after truncation removed those pages from every
    /// mapping (`vm::truncate`).
    pub fn drop_past_end(&self) {
        let size = self.size();
        self.with(|c| c.drop_past_end(&FRAMES, size));
    }
}

impl Drop for PageCache {
    fn drop(&mut self) {
        self.with(|c| c.drop_all(&FRAMES));
    }
}

/// Moves the `kstat` counters from one operation's `(pages, dirty)` counts of a cache before
/// to those after (pages are only ever added by a fill, so an increase counts as fills).
fn account(before: (usize, usize), after: (usize, usize)) {
    use stats::{CACHE_DIRTY, CACHE_FILLS, CACHE_PAGES, FILE_PAGES};
    let ((pages, dirty), (pages_now, dirty_now)) = (before, after);
    if pages_now > pages {
        let n = (pages_now - pages) as u64;
        CACHE_PAGES.fetch_add(n, Relaxed);
        CACHE_FILLS.fetch_add(n, Relaxed);
        FILE_PAGES.fetch_add(n, Relaxed);
    } else if pages_now < pages {
        let n = (pages - pages_now) as u64;
        CACHE_PAGES.fetch_sub(n, Relaxed);
        FILE_PAGES.fetch_sub(n, Relaxed);
    }
    if dirty_now > dirty {
        CACHE_DIRTY.fetch_add((dirty_now - dirty) as u64, Relaxed);
    } else if dirty_now < dirty {
        CACHE_DIRTY.fetch_sub((dirty - dirty_now) as u64, Relaxed);
    }
}
