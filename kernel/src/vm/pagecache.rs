//! The page cache: per-object caches of 4 KiB pages, so that every shared mapping of page k of
//! a file (or of a shared anonymous region), in every process, uses the same physical page.
//!
//! A `PageCache` holds one frame reference per cached page plus a dirty flag; each mapping of a
//! page holds another reference (`frame::share`). File caches are found through a registry
//! keyed by inode number that holds only weak references: when the last mapping of a file
//! goes away, its cache is dropped and its pages return to the allocator. Filling a page may
//! read the disk, so the page map sits behind a sleep lock; two processes faulting the same
//! page at once get the same page.

use crate::mm::{frame, PhysAddr, PGSIZE};
use crate::sync::{SleepLock, SpinLock};
use abi::Errno;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

struct CachedPage {
    pa: PhysAddr,
    dirty: bool,
}

pub struct PageCache {
    /// Inode number for file caches; `None` for shared anonymous memory.
    inum: Option<u32>,
    pages: SleepLock<BTreeMap<u64, CachedPage>>,
}

static REGISTRY: SpinLock<BTreeMap<u32, Weak<PageCache>>> = SpinLock::new("pcache registry", BTreeMap::new());

impl PageCache {
    /// A cache for shared anonymous memory (pages start zeroed).
    pub fn anonymous() -> Arc<PageCache> {
        Arc::new(PageCache { inum: None, pages: SleepLock::new("pcache", BTreeMap::new()) })
    }

    /// The cache of the file with inode number `inum`, created if no mapping holds it yet.
    pub fn for_inode(inum: u32) -> Arc<PageCache> {
        let mut reg = REGISTRY.lock();
        if let Some(c) = reg.get(&inum).and_then(Weak::upgrade) {
            return c;
        }
        let c = Arc::new(PageCache { inum: Some(inum), pages: SleepLock::new("pcache", BTreeMap::new()) });
        reg.insert(inum, Arc::downgrade(&c));
        c
    }

    /// The page at `index`, with one extra frame reference for the caller (its mapping).
    /// If the page is not cached yet, a zeroed page is allocated and `fill` writes its
    /// contents (e.g. from disk) before anyone can see it.
    pub fn get(
        &self,
        index: u64,
        fill: impl FnOnce(&mut [u8; PGSIZE]) -> Result<(), Errno>,
    ) -> Result<PhysAddr, Errno> {
        let mut pages = self.pages.lock();
        if let Some(p) = pages.get(&index) {
            frame::share(p.pa);
            return Ok(p.pa);
        }
        let pa = frame::alloc().ok_or(Errno::NoMem)?;
        // SAFETY: the page was just allocated and is not visible to anyone else yet.
        if let Err(e) = fill(unsafe { pa.page_bytes() }) {
            frame::free(pa);
            return Err(e);
        }
        pages.insert(index, CachedPage { pa, dirty: false });
        frame::share(pa);
        Ok(pa)
    }

    /// Records that the page at `index` was modified through a mapping.
    pub fn mark_dirty(&self, index: u64) {
        if let Some(p) = self.pages.lock().get_mut(&index) {
            p.dirty = true;
        }
    }

    /// Writes every dirty page with index in [first, end) through `write(index, page)` and
    /// marks it clean. Returns the number of pages written.
    pub fn write_back(
        &self,
        first: u64,
        end: u64,
        mut write: impl FnMut(u64, &[u8; PGSIZE]) -> Result<(), Errno>,
    ) -> usize {
        let mut pages = self.pages.lock();
        let mut n = 0;
        for (&index, p) in pages.range_mut(first..end) {
            if p.dirty {
                // SAFETY: the cache holds a reference to the page, so it is live; concurrent
                // stores by other mappers are benign (they will be written back again).
                let bytes = unsafe { &*(p.pa.as_ptr::<[u8; PGSIZE]>()) };
                if write(index, bytes).is_ok() {
                    p.dirty = false;
                    n += 1;
                }
            }
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
        let pages: Vec<PhysAddr> = self.pages.lock().values().map(|p| p.pa).collect();
        for pa in pages {
            frame::free(pa);
        }
    }
}
