//! Test doubles for the traits: a frame allocator over a `Vec` of pages with reference
//! counts, a page table that is a `BTreeMap`, a file that is a `Vec<u8>`, and a page cache in
//! a `RefCell` with its size beside it (the kernel's spinlock and atomic, single-threaded).
//!
//! The mocks are strict where the kernel would corrupt memory: a reference to a free frame
//! (double free, share or copy of a recycled frame) panics at once, and `live()` counts the
//! frames still allocated, so a test ends by asserting it is back to zero. Test-only.

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

use crate::cache::PageCache;
use crate::flags::PteFlags;
use crate::traits::{CacheLock, FileBackend, Frames, Io, Mapping, NoMem, PageTable};
use crate::PAGE_SIZE;

/// A frame of [`MockFrames`]: an index into its slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MockFrame(pub usize);

struct Slot {
    refs: u32,
    bytes: Vec<u8>,
}

/// A frame allocator with an optional limit on live frames.
#[derive(Default)]
pub struct MockFrames {
    slots: RefCell<Vec<Slot>>,
    free_list: RefCell<Vec<usize>>,
    limit: Cell<Option<usize>>,
    low: Cell<bool>,
    allocs: Cell<usize>,
}

/// Byte a fresh frame is filled with, so a forgotten zero-fill or fill shows.
pub const JUNK: u8 = 0xa5;

impl MockFrames {
    /// An allocator with no limit.
    pub fn new() -> Rc<MockFrames> {
        Rc::new(MockFrames::default())
    }

    /// Makes `alloc` fail once `limit` frames are live (`None`: never).
    pub fn set_limit(&self, limit: Option<usize>) {
        self.limit.set(limit);
    }

    /// Makes `is_low` answer `low`.
    pub fn set_low(&self, low: bool) {
        self.low.set(low);
    }

    /// Frames allocated and not yet recycled.
    pub fn live(&self) -> usize {
        self.slots.borrow().iter().filter(|s| s.refs > 0).count()
    }

    /// Successful `alloc` calls so far.
    pub fn allocs(&self) -> usize {
        self.allocs.get()
    }

    /// A copy of the bytes of live frame `f`.
    pub fn bytes(&self, f: MockFrame) -> Vec<u8> {
        self.with_live(f, |s| s.bytes.clone())
    }

    /// Byte `off` of live frame `f`.
    pub fn read(&self, f: MockFrame, off: usize) -> u8 {
        self.with_live(f, |s| s.bytes[off])
    }

    /// Stores `val` at byte `off` of live frame `f` (what a user store does).
    pub fn write(&self, f: MockFrame, off: usize, val: u8) {
        self.with_live(f, |s| s.bytes[off] = val);
    }

    /// Overwrites bytes `[0, data.len())` of live frame `f`.
    pub fn fill(&self, f: MockFrame, data: &[u8]) {
        self.with_live(f, |s| s.bytes[..data.len()].copy_from_slice(data));
    }

    fn with_live<R>(&self, f: MockFrame, op: impl FnOnce(&mut Slot) -> R) -> R {
        let mut slots = self.slots.borrow_mut();
        let slot = slots.get_mut(f.0).unwrap_or_else(|| panic!("{f:?} was never allocated"));
        assert!(slot.refs > 0, "{f:?} used after its last reference was freed");
        op(slot)
    }
}

impl Frames for MockFrames {
    type Frame = MockFrame;

    fn alloc(&self) -> Option<MockFrame> {
        if self.limit.get().is_some_and(|l| self.live() >= l) {
            return None;
        }
        self.allocs.set(self.allocs.get() + 1);
        let mut slots = self.slots.borrow_mut();
        let index = match self.free_list.borrow_mut().pop() {
            Some(i) => i,
            None => {
                slots.push(Slot { refs: 0, bytes: vec![0; PAGE_SIZE] });
                slots.len() - 1
            }
        };
        let slot = &mut slots[index];
        slot.refs = 1;
        slot.bytes.fill(JUNK);
        Some(MockFrame(index))
    }

    fn share(&self, f: MockFrame) {
        self.with_live(f, |s| s.refs += 1);
    }

    fn free(&self, f: MockFrame) {
        let last = self.with_live(f, |s| {
            s.refs -= 1;
            s.refs == 0
        });
        if last {
            self.free_list.borrow_mut().push(f.0);
        }
    }

    fn refcount(&self, f: MockFrame) -> u32 {
        self.with_live(f, |s| s.refs)
    }

    fn copy(&self, dst: MockFrame, src: MockFrame) {
        assert_ne!(dst, src, "copy of a frame onto itself");
        let bytes = self.bytes(src);
        self.with_live(dst, |s| s.bytes.copy_from_slice(&bytes));
    }

    fn zero_tail(&self, f: MockFrame, from: usize) {
        self.with_live(f, |s| s.bytes[from..].fill(0));
    }

    fn is_low(&self) -> bool {
        self.low.get()
    }
}

/// A page table: va → mapping, with a switch that makes `map` fail.
#[derive(Default, Debug)]
pub struct MockPageTable {
    /// The present PTEs.
    pub ptes: BTreeMap<usize, Mapping<MockFrame>>,
    /// When set, `map` fails with `NoMem`.
    pub fail_map: bool,
}

impl MockPageTable {
    /// An empty page table.
    pub fn new() -> MockPageTable {
        MockPageTable::default()
    }
}

impl PageTable<MockFrame> for MockPageTable {
    fn lookup(&self, va: usize) -> Option<Mapping<MockFrame>> {
        assert!(va.is_multiple_of(PAGE_SIZE), "unaligned va {va:#x}");
        self.ptes.get(&va).copied()
    }

    fn map(&mut self, va: usize, frame: MockFrame, flags: PteFlags) -> Result<(), NoMem> {
        assert!(va.is_multiple_of(PAGE_SIZE), "unaligned va {va:#x}");
        if self.fail_map {
            return Err(NoMem);
        }
        let old = self.ptes.insert(va, Mapping { frame, flags });
        assert!(old.is_none(), "map over the present page {va:#x}");
        Ok(())
    }

    fn unmap(&mut self, va: usize) -> Option<Mapping<MockFrame>> {
        self.ptes.remove(&va)
    }

    fn set_flags(&mut self, va: usize, flags: PteFlags) {
        self.ptes.get_mut(&va).unwrap_or_else(|| panic!("set_flags on absent {va:#x}")).flags = flags;
    }
}

/// A file whose bytes are a `Vec<u8>`, reading into and writing from [`MockFrames`].
pub struct VecFile {
    frames: Rc<MockFrames>,
    /// The file's bytes (its length is the size).
    pub data: RefCell<Vec<u8>>,
    /// When set, every read fails.
    pub fail_reads: Cell<bool>,
    /// When set, every write fails.
    pub fail_writes: Cell<bool>,
    /// Pages read so far.
    pub pages_read: Cell<u64>,
}

impl VecFile {
    /// A file holding `data`.
    pub fn new(frames: &Rc<MockFrames>, data: Vec<u8>) -> VecFile {
        VecFile {
            frames: frames.clone(),
            data: RefCell::new(data),
            fail_reads: Cell::new(false),
            fail_writes: Cell::new(false),
            pages_read: Cell::new(0),
        }
    }
}

impl FileBackend<MockFrame> for VecFile {
    fn size(&self) -> u64 {
        self.data.borrow().len() as u64
    }

    fn read_pages(&self, first: u64, frames: &[MockFrame]) -> Result<(), Io> {
        if self.fail_reads.get() {
            return Err(Io);
        }
        let data = self.data.borrow();
        for (index, &f) in (first..).zip(frames) {
            self.frames.zero(f);
            let start = (index as usize * PAGE_SIZE).min(data.len());
            let end = (start + PAGE_SIZE).min(data.len());
            self.frames.fill(f, &data[start..end]);
            self.pages_read.set(self.pages_read.get() + 1);
        }
        Ok(())
    }

    fn write_page(&self, index: u64, frame: MockFrame) -> Result<(), Io> {
        if self.fail_writes.get() {
            return Err(Io);
        }
        let mut data = self.data.borrow_mut();
        let start = (index as usize * PAGE_SIZE).min(data.len());
        let end = (start + PAGE_SIZE).min(data.len());
        let bytes = self.frames.bytes(frame);
        data[start..end].copy_from_slice(&bytes[..end - start]);
        Ok(())
    }
}

/// A page cache as the kernel keeps one (`vm/pagecache.rs`): the cache behind a lock (here a
/// `RefCell`) and the file's size mirrored beside it.
pub struct MockCache {
    /// The cache.
    pub pages: RefCell<PageCache<MockFrame>>,
    size: Cell<Option<u64>>,
}

impl MockCache {
    /// An empty cache of a file of `size` bytes.
    pub fn file(size: u64) -> MockCache {
        MockCache { pages: RefCell::new(PageCache::new()), size: Cell::new(Some(size)) }
    }

    /// An empty cache of shared anonymous memory.
    pub fn anonymous() -> MockCache {
        MockCache { pages: RefCell::new(PageCache::new()), size: Cell::new(None) }
    }

    /// Step 1 of a truncation to `size` bytes, as the kernel does it: the mirror, then the
    /// cache.
    pub fn truncate(&self, frames: &MockFrames, size: u64) {
        self.size.set(Some(size));
        self.pages.borrow_mut().truncate(frames, size);
    }

    /// Step 3 of a truncation.
    pub fn drop_past_end(&self, frames: &MockFrames) {
        let size = self.size.get().expect("a file's cache");
        self.pages.borrow_mut().drop_past_end(frames, size);
    }
}

impl CacheLock<MockFrame> for MockCache {
    fn with<R>(&self, f: impl FnOnce(&mut PageCache<MockFrame>) -> R) -> R {
        f(&mut self.pages.borrow_mut())
    }

    fn size(&self) -> Option<u64> {
        self.size.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "used after its last reference was freed")]
    fn double_free_panics() {
        let frames = MockFrames::new();
        let f = frames.alloc().unwrap();
        frames.free(f);
        frames.free(f);
    }

    #[test]
    fn counts_live_frames_and_honours_the_limit() {
        let frames = MockFrames::new();
        frames.set_limit(Some(1));
        let f = frames.alloc().unwrap();
        assert_eq!(frames.alloc(), None);
        assert!(frames.bytes(f).iter().all(|&b| b == JUNK), "fresh frames are not zeroed");
        frames.share(f);
        frames.free(f);
        assert_eq!(frames.live(), 1, "still referenced");
        frames.free(f);
        assert_eq!(frames.live(), 0);
    }
}
