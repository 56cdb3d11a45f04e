//! Shared anonymous memory (`MAP_SHARED | MAP_ANONYMOUS`): an object of its own, not a file
//! mapping without a file. It is a map from page index to frame, zero-filled on first touch,
//! held (`Arc`) by every mapping of it: the pieces munmap leaves and the copies fork makes.
//! Its pages have no backing store, so reclaim never takes them; they go when the last
//! mapping does.
//!
//! Each page costs kernel heap for its map entry, so a new page is refused (the fault fails
//! and the process is killed, as when memory runs out) once the heap is down to the reserve
//! that user-driven growth may not touch (`mm::heap::has_room_for_user`).

use super::stats;
use crate::mm::{frame, heap, PhysAddr};
use crate::sync::SpinLock;
use abi::Errno;
use alloc::collections::BTreeMap;

/// Kernel heap bytes one page's map entry may take (a B-tree entry with node slack).
const ENTRY_HEAP_COST: usize = 64;

pub struct SharedAnon {
    pages: SpinLock<BTreeMap<u64, PhysAddr>>,
}

impl SharedAnon {
    pub const fn new() -> SharedAnon {
        SharedAnon { pages: SpinLock::new("shared anon", BTreeMap::new()) }
    }

    /// The page at `index`, with a frame reference for the caller's mapping; a zeroed page is
    /// added when there is none yet. Fails [NoMem] when no frame or no heap is left for it.
    pub fn page(&self, index: u64) -> Result<PhysAddr, Errno> {
        let mut pages = self.pages.lock();
        if let Some(&pa) = pages.get(&index) {
            frame::share(pa);
            return Ok(pa);
        }
        if !heap::has_room_for_user(ENTRY_HEAP_COST) {
            return Err(Errno::NoMem);
        }
        let pa = frame::alloc().ok_or(Errno::NoMem)?;
        pages.insert(index, pa);
        stats::cache_page_added();
        frame::share(pa);
        Ok(pa)
    }

    /// Calls `f(index, pa)` for the pages present with index in [first, end) (page map
    /// locked: `f` must only look); `f` returns whether it took a reference, which this adds.
    pub fn for_each_present(&self, first: u64, end: u64, mut f: impl FnMut(u64, PhysAddr) -> bool) {
        for (&index, &pa) in self.pages.lock().range(first..end) {
            if f(index, pa) {
                frame::share(pa);
            }
        }
    }
}

impl Drop for SharedAnon {
    fn drop(&mut self) {
        let pages = core::mem::take(&mut *self.pages.lock());
        stats::cache_pages_dropped(pages.values().map(|_| false));
        for pa in pages.into_values() {
            frame::free(pa);
        }
    }
}
