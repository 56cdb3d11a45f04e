//! The page cache of one object (a file, or one shared anonymous region): page index → frame
//! and page state, the readahead state, and the counts the kernel reports (`vmstat`).
//!
//! This module owns the page-state machine and the cache's frame references (exactly one per
//! cached page); the kernel's `vm/pagecache.rs` is this type behind a spinlock, with the
//! file's size mirrored beside it in an atomic (faults read it without the lock, so the size
//! is not kept here: the operations that need it take it). It takes no locks and does no I/O:
//! every read and write of a file happens outside it, which is why write-back is split into
//! [`PageCache::take_dirty`] (before the write) and [`PageCache::mark_dirty`] (after a failed
//! one).

use alloc::collections::btree_map::{BTreeMap, Entry};

use crate::readahead::Readahead;
use crate::traits::Frames;
use crate::PAGE_SIZE;

/// Where a cached page stands with respect to the file on disk.
///
/// ```text
///                    mark_dirty (a PTE's D bit handed over at munmap, msync,
///   (insert) ─▶ Clean ─────────────────────────────────▶ Dirty    MADV_DONTNEED or reclaim;
///                 ▲  ◀───────────────────────────────────  │      a write-back that failed)
///                 │        take_dirty (write-back starts:
///                 │        the writer holds a reference)
///                 │
///   truncate, drop_past_end: a page wholly past the end is dropped if only the cache holds
///   it, else zeroed and made Clean; drop_all: every page; evict_unused: Clean pages only
///   the cache holds.
/// ```
///
/// A clean page holds exactly the file's bytes (so it may be dropped and read again); a dirty
/// one holds stores not yet on the disk. Stores through a shared mapping first show as the
/// PTE's D bit and reach the cache as `mark_dirty` when the D bit is handed over.
///
/// A page being written back is Clean, protected from eviction by the writer's frame
/// reference. A store reported during the write makes it Dirty at once, so the reporter's
/// own write-back (munmap, `msync(MS_SYNC)`) takes it again and writes it before returning,
/// instead of leaving it to a write that may already have copied the older bytes. (An
/// earlier `Writeback { redirtied }` state made that reporter skip the page: its stores were
/// on the disk only if someone wrote the page again later, and a cache dropped with its inode
/// would have lost them.) A failed write reports the page dirty again the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PageState {
    /// Same bytes as the file.
    Clean,
    /// Holds stores the file does not have yet.
    Dirty,
}

/// One cached page.
#[derive(Clone, Copy, Debug)]
struct Cached<Fr> {
    frame: Fr,
    state: PageState,
}

/// The pages of one object, by page index.
///
/// The cache owns one reference to each of its frames; `lookup`, `share_cached`,
/// `insert_run` and `take_dirty` hand out further references that their callers drop. There
/// is no `Drop`: the owner calls [`PageCache::drop_all`] with the frame allocator when the
/// object dies.
///
/// "Only the cache references a page" (refcount 1) is what eviction and truncation ask. It
/// cannot change under the owner's lock: every other reference to a cached page is taken
/// under that lock, from the cache, or from a mapping that already holds one.
#[derive(Debug)]
pub struct PageCache<Fr> {
    pages: BTreeMap<u64, Cached<Fr>>,
    readahead: Readahead,
    dirty: usize,
}

/// Pages needed to hold `size` bytes (the first page index wholly past end-of-file).
pub const fn pages_of(size: u64) -> u64 {
    size.div_ceil(PAGE_SIZE as u64)
}

impl<Fr: Copy + Eq> Default for PageCache<Fr> {
    fn default() -> PageCache<Fr> {
        PageCache::new()
    }
}

impl<Fr: Copy + Eq> PageCache<Fr> {
    /// An empty cache.
    pub const fn new() -> PageCache<Fr> {
        PageCache { pages: BTreeMap::new(), readahead: Readahead::new(), dirty: 0 }
    }

    /// The readahead state of the accesses to this object.
    pub fn readahead(&mut self) -> &mut Readahead {
        &mut self.readahead
    }

    /// Number of cached pages.
    pub fn pages(&self) -> usize {
        self.pages.len()
    }

    /// Number of pages in state [`PageState::Dirty`].
    pub fn dirty(&self) -> usize {
        self.dirty
    }

    /// The state of the page at `index`, if cached.
    pub fn state(&self, index: u64) -> Option<PageState> {
        self.pages.get(&index).map(|p| p.state)
    }

    /// Whether `frame` is the cache's page at `index`.
    pub fn holds(&self, index: u64, frame: Fr) -> bool {
        self.pages.get(&index).is_some_and(|p| p.frame == frame)
    }

    /// The page at `index` with one new reference for the caller, if cached.
    pub fn lookup<F: Frames<Frame = Fr>>(&self, frames: &F, index: u64) -> Option<Fr> {
        let frame = self.pages.get(&index)?.frame;
        frames.share(frame);
        Some(frame)
    }

    /// Like [`PageCache::lookup`], for an access the readahead state should see (a fault or a
    /// `read()`): a hit is recorded; a miss is not (the caller asks the readahead state for
    /// its window, which records it).
    pub fn lookup_access<F: Frames<Frame = Fr>>(&mut self, frames: &F, index: u64) -> Option<Fr> {
        let frame = self.lookup(frames, index)?;
        self.readahead.on_hit(index);
        Some(frame)
    }

    /// Offers each cached page with index in `[first, end)`, in order, to `take`, which
    /// returns whether it took the page (mapped it: fault-around); each page taken gets a new
    /// reference for the taker. `take` runs under the owner's lock: it must not sleep or use
    /// this cache.
    pub fn share_cached<F: Frames<Frame = Fr>>(
        &self,
        frames: &F,
        first: u64,
        end: u64,
        mut take: impl FnMut(u64, Fr) -> bool,
    ) {
        for (&index, p) in self.pages.range(first..end.max(first)) {
            if take(index, p.frame) {
                frames.share(p.frame);
            }
        }
    }

    /// The cached pages with index in `[first, end)`, in order, without new references.
    pub fn cached(&self, first: u64, end: u64) -> impl Iterator<Item = (u64, Fr)> + '_ {
        self.pages.range(first..end.max(first)).map(|(&i, p)| (i, p.frame))
    }

    /// How many consecutive pages from `first` (before `end`) are not cached.
    pub fn absent_run(&self, first: u64, end: u64) -> u64 {
        match self.pages.range(first..end.max(first)).next() {
            Some((&i, _)) => i - first,
            None => end.saturating_sub(first),
        }
    }

    /// Adds `new[k]` as the page at `first + k`, in state Clean, taking over the caller's
    /// reference to each, and returns the page at `first` with a new reference for the
    /// caller. A page already cached wins (the race of two fills of the same page; the
    /// kernel's fills of a file are ordered by its inode lock, so this happens only with
    /// pages filled without it): the newcomer is freed. Pages may lie past the end of the
    /// file: a `write()` extending it inserts the page before the size grows.
    ///
    /// ```text
    ///   cache:    [2]       [4]
    ///   new:       a   b   c   d      insert_run(first = 2) → the frame of [2]
    ///   after:    [2] [3] [4] [5]     3 ← b, 5 ← d; a and c are freed
    /// ```
    ///
    /// # Panics
    /// If `new` is empty.
    pub fn insert_run<F: Frames<Frame = Fr>>(&mut self, frames: &F, first: u64, new: &[Fr]) -> Fr {
        assert!(!new.is_empty(), "insert_run of no page");
        for (index, &frame) in (first..).zip(new) {
            match self.pages.entry(index) {
                Entry::Vacant(v) => {
                    v.insert(Cached { frame, state: PageState::Clean });
                }
                Entry::Occupied(_) => frames.free(frame),
            }
        }
        self.lookup(frames, first).expect("page just inserted")
    }

    /// Records a store to the page at `index`, if cached: its PTE's D bit, handed over when a
    /// shared mapping's page is unmapped or swept by `msync`, or a write-back that failed.
    /// The caller reports only a store to the cache's own frame (a shared mapping maps
    /// nothing else). Returns whether the page was cached.
    pub fn mark_dirty(&mut self, index: u64) -> bool {
        let Some(p) = self.pages.get_mut(&index) else { return false };
        if p.state == PageState::Clean {
            p.state = PageState::Dirty;
            self.dirty += 1;
        }
        true
    }

    /// Write-back starts: the first Dirty page with index in `[first, end)` becomes Clean and
    /// is returned with a new reference for the writer; `None` when there is none. The writer
    /// writes the page without the owner's lock, calls [`PageCache::mark_dirty`] if the write
    /// fails, and frees its reference. A store reported meanwhile makes the page Dirty again
    /// (see [`PageState`]).
    pub fn take_dirty<F: Frames<Frame = Fr>>(
        &mut self,
        frames: &F,
        first: u64,
        end: u64,
    ) -> Option<(u64, Fr)> {
        self.take_dirty_where(frames, first, end, |_| true)
    }

    /// Like [`PageCache::take_dirty`], for memory reclaim: only a page that nothing but the
    /// cache references (no mapping maps it any more, no one else is writing it), which is
    /// free memory once written back.
    pub fn take_dirty_unused<F: Frames<Frame = Fr>>(
        &mut self,
        frames: &F,
        first: u64,
        end: u64,
    ) -> Option<(u64, Fr)> {
        self.take_dirty_where(frames, first, end, |f| frames.refcount(f) == 1)
    }

    fn take_dirty_where<F: Frames<Frame = Fr>>(
        &mut self,
        frames: &F,
        first: u64,
        end: u64,
        ok: impl Fn(Fr) -> bool,
    ) -> Option<(u64, Fr)> {
        let (&index, p) = self
            .pages
            .range_mut(first..end.max(first))
            .find(|(_, p)| p.state == PageState::Dirty && ok(p.frame))?;
        p.state = PageState::Clean;
        self.dirty -= 1;
        frames.share(p.frame);
        Some((index, p.frame))
    }

    /// Drops every Clean page that only the cache references (no mapping, no reader, no
    /// writer) and returns how many were freed. Clean pages equal the file's bytes on the
    /// disk, so a later access simply reads them again. (Only file caches are evicted: a
    /// shared anonymous page exists nowhere else.)
    pub fn evict_unused<F: Frames<Frame = Fr>>(&mut self, frames: &F) -> usize {
        let before = self.pages.len();
        self.pages.retain(|_, p| {
            if !unused(frames, p) {
                return true;
            }
            frames.free(p.frame);
            false
        });
        before - self.pages.len()
    }

    /// Drops the first Clean page with index in `[first, end)` that only the cache
    /// references (`msync(MS_INVALIDATE)`, one page per lock hold) and returns its index;
    /// `None` when there is none.
    pub fn evict_first_unused<F: Frames<Frame = Fr>>(
        &mut self,
        frames: &F,
        first: u64,
        end: u64,
    ) -> Option<u64> {
        let index =
            self.pages.range(first..end.max(first)).find(|(_, p)| unused(frames, p)).map(|(&i, _)| i)?;
        let p = self.pages.remove(&index).expect("page just found");
        frames.free(p.frame);
        Some(index)
    }

    /// The file was cut to `new_size` bytes (step 1 of a truncation; the owner's size mirror
    /// already says `new_size`). A page wholly past the new end is dropped if only the cache
    /// references it, whatever its state; one still referenced (mapped, or being read or
    /// written) stays, zeroed and Clean, until the kernel has unmapped it everywhere and
    /// [`PageCache::drop_past_end`] drops it: were it dropped now, a mapping still showing it
    /// and a fill after the file grows again would be two frames for one page. The last page,
    /// if the new end falls inside it, is zeroed from the end on (a later growth reads zeros
    /// there) and keeps its state (its first bytes may hold stores not yet written).
    ///
    /// ```text
    ///   before:  [0][1][2][3]        new_size = 1.5 pages, 3 mapped
    ///   after:   [0][1▒]   [3░]      1 zeroed from the middle on; 2 dropped; 3 zeroed, Clean
    /// ```
    pub fn truncate<F: Frames<Frame = Fr>>(&mut self, frames: &F, new_size: u64) {
        let tail = (new_size % PAGE_SIZE as u64) as usize;
        if tail != 0 {
            if let Some(p) = self.pages.get(&(new_size / PAGE_SIZE as u64)) {
                frames.zero_tail(p.frame, tail);
            }
        }
        self.drop_past_end(frames, new_size);
    }

    /// Drops the pages wholly past the end of a file of `size` bytes that only the cache
    /// references, whatever their state (nothing past the end is ever written back), and
    /// zeroes and cleans every other one there, so it can never show old bytes if the file
    /// grows again (step 3 of a truncation, after the pages were unmapped everywhere: a
    /// reader copying one right now keeps it).
    pub fn drop_past_end<F: Frames<Frame = Fr>>(&mut self, frames: &F, size: u64) {
        let mut dirty = self.dirty;
        self.pages.retain(|&index, p| {
            if index < pages_of(size) {
                return true;
            }
            dirty -= usize::from(p.state == PageState::Dirty);
            if frames.refcount(p.frame) == 1 {
                frames.free(p.frame);
                return false;
            }
            frames.zero(p.frame);
            p.state = PageState::Clean;
            true
        });
        self.dirty = dirty;
    }

    /// Drops every page (the object is going away), whatever its state; write dirty pages
    /// back first if they matter.
    pub fn drop_all<F: Frames<Frame = Fr>>(&mut self, frames: &F) {
        for p in core::mem::take(&mut self.pages).into_values() {
            frames.free(p.frame);
        }
        self.dirty = 0;
    }

    /// Checks the dirty count against the pages (tests).
    ///
    /// # Panics
    /// If they disagree.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let dirty = self.pages.values().filter(|p| p.state == PageState::Dirty).count();
        assert_eq!(self.dirty, dirty, "page-cache dirty count");
    }
}

/// Whether `p` may be evicted: Clean, and referenced by the cache alone.
fn unused<F: Frames>(frames: &F, p: &Cached<F::Frame>) -> bool {
    p.state == PageState::Clean && frames.refcount(p.frame) == 1
}

#[cfg(test)]
#[path = "cache/tests.rs"]
mod tests;
