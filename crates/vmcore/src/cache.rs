//! The page cache of one object (a file, or one shared anonymous region): page index → frame
//! and page state, the mirrored file size, the readahead state and the counters the kernel
//! reports.
//!
//! This module owns the page-state machine and the cache's frame references (exactly one per
//! cached page). It takes no locks and does no I/O: the kernel keeps a `PageCache` behind a
//! spinlock ([`crate::CacheLock`]) and does every read and write of a file outside it, which is
//! why write-back is split into [`PageCache::take_dirty`] and [`PageCache::finish_writeback`].

use alloc::collections::btree_map::{BTreeMap, Entry};

use crate::readahead::Readahead;
use crate::traits::Frames;
use crate::PAGE_SIZE;

/// Where a cached page stands with respect to the file on disk.
///
/// ```text
///                 mark_dirty                  take_dirty
///   (insert) ─▶ Clean ─────────▶ Dirty ──────────────────▶ Writeback { redirtied: false }
///                 ▲                ▲                          │  mark_dirty
///                 │                │ finish(failed)           ▼
///                 │                ├──────────────── Writeback { redirtied: true }
///                 │                │ finish(ok) if redirtied   │
///                 │                └───────────────────────────┘
///                 └────────── finish(ok), not redirtied
///
///   truncate / drop_all remove a page in any state; evict_unused removes only Clean pages
///   that nobody but the cache references.
/// ```
///
/// A clean page holds exactly the file's bytes (so it may be dropped and read again); a dirty
/// one holds stores not yet on the disk. Stores through a shared mapping first show as the
/// PTE's D bit and reach the cache as `mark_dirty` when the mapping is unmapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PageState {
    /// Same bytes as the file.
    Clean,
    /// Holds stores the file does not have yet.
    Dirty,
    /// A writer is copying the page to the file (and holds a reference to it);
    /// `redirtied` records a store reported meanwhile, which the write may have missed.
    Writeback {
        /// `mark_dirty` was called after the write started.
        redirtied: bool,
    },
}

/// One cached page.
#[derive(Clone, Copy, Debug)]
struct Cached<Fr> {
    frame: Fr,
    state: PageState,
}

/// The pages of one object, by page index.
///
/// The cache owns one reference to each of its frames; `lookup` and `take_dirty` hand out
/// further references that their callers drop. There is no `Drop`: the owner calls
/// [`PageCache::drop_all`] with the frame allocator when the object dies.
#[derive(Debug)]
pub struct PageCache<Fr> {
    pages: BTreeMap<u64, Cached<Fr>>,
    /// The file's size in bytes, or `None` for anonymous memory (no end, no backing store).
    size: Option<u64>,
    readahead: Readahead,
    dirty: usize,
    writeback: usize,
}

/// Pages needed to hold `size` bytes.
pub const fn pages_of(size: u64) -> u64 {
    size.div_ceil(PAGE_SIZE as u64)
}

impl<Fr: Copy + Eq> PageCache<Fr> {
    /// An empty cache for a file of `size` bytes.
    pub fn file(size: u64) -> PageCache<Fr> {
        PageCache {
            pages: BTreeMap::new(),
            size: Some(size),
            readahead: Readahead::new(),
            dirty: 0,
            writeback: 0,
        }
    }

    /// An empty cache for shared anonymous memory: no size, pages are zero on first touch and
    /// never evicted (they have no backing store).
    pub fn anonymous() -> PageCache<Fr> {
        PageCache { pages: BTreeMap::new(), size: None, readahead: Readahead::new(), dirty: 0, writeback: 0 }
    }

    /// The file's size as the cache last heard it, or `None` for anonymous memory.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Pages of the file (the first index past end-of-file), or `None` for anonymous memory.
    pub fn file_pages(&self) -> Option<u64> {
        self.size.map(pages_of)
    }

    /// Records that the file grew to `new_size` bytes (a write past end-of-file). Shrinking
    /// goes through [`PageCache::truncate`].
    ///
    /// # Panics
    /// If `new_size` is smaller than the current size, or the cache is anonymous.
    pub fn grow(&mut self, new_size: u64) {
        let size = self.size.as_mut().expect("grow on an anonymous cache");
        assert!(new_size >= *size, "grow from {size} to {new_size}");
        *size = new_size;
    }

    /// The readahead state of the faults on this object.
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

    /// Number of pages in state [`PageState::Writeback`].
    pub fn writeback(&self) -> usize {
        self.writeback
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
    /// reference to each. A page already cached wins (the race of two fills of the same
    /// page): the newcomer is freed; so is one wholly past end-of-file (a truncation the fill
    /// raced with). Returns how many pages were added.
    ///
    /// ```text
    ///   cache:    [2]       [4]
    ///   new:       a   b   c   d      insert_run(first = 2)
    ///   after:    [2] [3] [4] [5]     3 ← b, 5 ← d; a and c are freed
    /// ```
    pub fn insert_run<F: Frames<Frame = Fr>>(&mut self, frames: &F, first: u64, new: &[Fr]) -> usize {
        let end = self.file_pages().unwrap_or(u64::MAX);
        let mut added = 0;
        for (index, &frame) in (first..).zip(new) {
            match self.pages.entry(index) {
                Entry::Vacant(v) if index < end => {
                    v.insert(Cached { frame, state: PageState::Clean });
                    added += 1;
                }
                _ => frames.free(frame),
            }
        }
        added
    }

    /// Records a store to the page at `index` (its PTE's D bit, seen at unmap or by a
    /// write-back sweep), if `frame` is still the cache's page there (a page truncated away
    /// meanwhile is no longer the file's). Returns whether the page was found.
    pub fn mark_dirty(&mut self, index: u64, frame: Fr) -> bool {
        let Some(p) = self.pages.get_mut(&index).filter(|p| p.frame == frame) else { return false };
        match p.state {
            PageState::Clean => {
                p.state = PageState::Dirty;
                self.dirty += 1;
            }
            PageState::Dirty => {}
            PageState::Writeback { .. } => p.state = PageState::Writeback { redirtied: true },
        }
        true
    }

    /// The first Dirty page with index in `[first, end)`, moved to Writeback, with a new
    /// reference for the writer; `None` when there is none. The writer writes the page
    /// without the cache's lock, then calls [`PageCache::finish_writeback`] and frees its
    /// reference.
    pub fn take_dirty<F: Frames<Frame = Fr>>(
        &mut self,
        frames: &F,
        first: u64,
        end: u64,
    ) -> Option<(u64, Fr)> {
        let (&index, p) =
            self.pages.range_mut(first..end.max(first)).find(|(_, p)| p.state == PageState::Dirty)?;
        p.state = PageState::Writeback { redirtied: false };
        self.dirty -= 1;
        self.writeback += 1;
        frames.share(p.frame);
        Some((index, p.frame))
    }

    /// Ends the write-back of `frame` as page `index`: Clean if `ok` and no store was reported
    /// meanwhile, Dirty otherwise. Nothing happens if the page is no longer cached as `frame`
    /// (truncated during the write).
    pub fn finish_writeback(&mut self, index: u64, frame: Fr, ok: bool) {
        let Some(p) = self.pages.get_mut(&index).filter(|p| p.frame == frame) else { return };
        let PageState::Writeback { redirtied } = p.state else { return };
        self.writeback -= 1;
        if ok && !redirtied {
            p.state = PageState::Clean;
        } else {
            p.state = PageState::Dirty;
            self.dirty += 1;
        }
    }

    /// Drops every Clean page that only the cache references (no mapping, no fault, no
    /// writer) and returns how many were freed. A count of 1 seen here cannot grow meanwhile,
    /// since every other reference is taken under the same lock from the cache. Anonymous
    /// caches keep everything (their pages exist nowhere else).
    pub fn evict_unused<F: Frames<Frame = Fr>>(&mut self, frames: &F) -> usize {
        if self.size.is_none() {
            return 0;
        }
        let before = self.pages.len();
        self.pages.retain(|_, p| {
            if p.state != PageState::Clean || frames.refcount(p.frame) != 1 {
                return true;
            }
            frames.free(p.frame);
            false
        });
        before - self.pages.len()
    }

    /// The file was cut to `new_size` bytes: pages wholly past the new end are dropped (in
    /// any state; mappings still holding one keep their own reference, which the kernel
    /// should take away by unmapping pages past the end), and the bytes of the last page past
    /// the end are zeroed, so a later growth reads zeros there.
    ///
    /// ```text
    ///   before:  [0][1][2][3]        new_size = 1.5 pages
    ///   after:   [0][1▒]             1 zeroed from the middle on; 2 and 3 dropped
    /// ```
    ///
    /// # Panics
    /// If the cache is anonymous.
    pub fn truncate<F: Frames<Frame = Fr>>(&mut self, frames: &F, new_size: u64) {
        let size = self.size.as_mut().expect("truncate on an anonymous cache");
        *size = new_size;
        let keep = pages_of(new_size);
        let gone = self.pages.split_off(&keep);
        for p in gone.values() {
            self.forget(p.state);
            frames.free(p.frame);
        }
        let tail = (new_size % PAGE_SIZE as u64) as usize;
        if tail != 0 {
            if let Some(p) = self.pages.get(&(keep - 1)) {
                frames.zero_tail(p.frame, tail);
            }
        }
    }

    /// Drops every page (the object is going away) and returns how many were dropped,
    /// whatever their state; write dirty pages back first if they matter.
    pub fn drop_all<F: Frames<Frame = Fr>>(&mut self, frames: &F) -> usize {
        let n = self.pages.len();
        for p in core::mem::take(&mut self.pages).into_values() {
            frames.free(p.frame);
        }
        self.dirty = 0;
        self.writeback = 0;
        n
    }

    /// Takes a removed page's state out of the counters.
    fn forget(&mut self, state: PageState) {
        match state {
            PageState::Clean => {}
            PageState::Dirty => self.dirty -= 1,
            PageState::Writeback { .. } => self.writeback -= 1,
        }
    }

    /// Checks the counters against the pages (tests).
    ///
    /// # Panics
    /// If they disagree.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let dirty = self.pages.values().filter(|p| p.state == PageState::Dirty).count();
        let wb = self.pages.values().filter(|p| matches!(p.state, PageState::Writeback { .. })).count();
        assert_eq!((self.dirty, self.writeback), (dirty, wb), "page-cache counters");
        if let Some(end) = self.file_pages() {
            assert!(self.pages.range(end..).next().is_none(), "a cached page past end-of-file");
        }
    }
}

#[cfg(test)]
#[path = "cache/tests.rs"]
mod tests;
