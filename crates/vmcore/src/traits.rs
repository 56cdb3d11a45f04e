//! The three boundaries between this crate's policy and the kernel's mechanism: physical
//! frames (`Frames`), one address space's page table (`PageTable`) and a file's bytes
//! (`FileBackend`), plus `CacheLock`, how a page cache is reached behind the kernel's spinlock.
//!
//! The contracts here are what the tests' mocks check (double frees panic, leaks are counted),
//! so the kernel's implementations must keep them too. Nothing here is unsafe: raw page
//! copies and zeroing are the implementor's primitives.

use core::fmt::Debug;

use crate::cache::PageCache;
use crate::flags::PteFlags;

/// The physical frame allocator, with reference counts.
///
/// Every holder of a frame (a page-table entry, a page cache, a fault in progress, a writer)
/// owns one reference: `alloc` gives a frame with count 1, `share` adds one, `free` drops one
/// and recycles the frame at 0. Methods take `&self` because the kernel's allocator is one
/// global object behind its own lock.
pub trait Frames {
    /// A frame's name (the kernel's physical address or page number).
    type Frame: Copy + Eq + Debug;

    /// A fresh frame with reference count 1 and unspecified contents, or `None` when memory
    /// is exhausted.
    fn alloc(&self) -> Option<Self::Frame>;
    /// Adds one reference to the live frame `f`.
    fn share(&self, f: Self::Frame);
    /// Drops one reference to the live frame `f`, recycling it when that was the last.
    fn free(&self, f: Self::Frame);
    /// The number of references to the live frame `f`.
    fn refcount(&self, f: Self::Frame) -> u32;
    /// Copies the whole page `src` into `dst` (both live, distinct).
    fn copy(&self, dst: Self::Frame, src: Self::Frame);
    /// Zeroes bytes `[from, PAGE_SIZE)` of the live frame `f` (`from <= PAGE_SIZE`).
    fn zero_tail(&self, f: Self::Frame, from: usize);
    /// Zeroes the whole page `f`.
    fn zero(&self, f: Self::Frame) {
        self.zero_tail(f, 0);
    }
    /// True when free memory is low, so a fault should read only the page it needs
    /// (readahead never makes memory pressure worse). The default never says so.
    fn is_low(&self) -> bool {
        false
    }
}

/// Allocation of a page-table page failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoMem;

/// The file system could not read or write a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Io;

/// A present user leaf PTE: the frame it maps and its R W X U A D bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping<Fr> {
    /// The frame mapped (the PTE holds one reference to it).
    pub frame: Fr,
    /// Its permission and bookkeeping bits.
    pub flags: PteFlags,
}

/// One address space's page table, as the fault path sees it: page-aligned user addresses
/// mapped to frames. Every method's `va` must be page-aligned.
///
/// A present PTE owns one reference to its frame: `map` takes the caller's reference over on
/// success, `unmap` hands it back to the caller.
pub trait PageTable<Fr> {
    /// The PTE at `va`, if present.
    fn lookup(&self, va: usize) -> Option<Mapping<Fr>>;
    /// Maps the absent page `va` to `frame` with `flags` (the implementation adds `V`).
    /// On `Err` (no memory for a page-table page) nothing changed and the caller keeps its
    /// reference.
    fn map(&mut self, va: usize, frame: Fr, flags: PteFlags) -> Result<(), NoMem>;
    /// Clears the PTE at `va` and returns what it mapped (its reference now the caller's).
    /// The implementation flushes the TLB entry before the frame can be reused.
    fn unmap(&mut self, va: usize) -> Option<Mapping<Fr>>;
    /// Replaces the R W X U A D bits of the present PTE at `va`, keeping its frame.
    fn set_flags(&mut self, va: usize, flags: PteFlags);
}

/// The bytes of one file, page by page. Page `k` is bytes `[k * PAGE_SIZE, (k + 1) *
/// PAGE_SIZE)`.
pub trait FileBackend<Fr> {
    /// The file's size in bytes now (a cache is created with it; afterwards the cache's
    /// mirror is what faults consult).
    fn size(&self) -> u64;
    /// Fills `frames[k]` with file page `first + k`, whole pages, zero past end-of-file.
    /// On `Err` the frames' contents are unspecified (the caller frees them).
    fn read_pages(&self, first: u64, frames: &[Fr]) -> Result<(), Io>;
    /// Writes page `index` from `frame` to the file, clamped to the file's size (bytes past
    /// end-of-file are not written and the file does not grow).
    fn write_page(&self, index: u64, frame: Fr) -> Result<(), Io>;
}

/// How the executor reaches the page cache of an object that may be shared with other harts,
/// and the object's size, mirrored outside the lock because faults read it on every access.
/// The tests implement it on a `RefCell` (`mock::MockCache`); the kernel's `vm/pagecache.rs`
/// has the same shape (a spinlock around a [`PageCache`], an atomic size beside it) without
/// the trait, since the kernel does not run this crate's executor.
///
/// The executor never nests calls and never does I/O or waits inside `f`, so a spinlock is
/// enough; `f` may call the frame allocator and the faulting process's page table (lock
/// order: address space → page cache → frame allocator).
pub trait CacheLock<Fr> {
    /// Runs `f` on the cache with exclusive access.
    fn with<R>(&self, f: impl FnOnce(&mut PageCache<Fr>) -> R) -> R;
    /// The file's size in bytes as last recorded, or `None` for shared anonymous memory (no
    /// end, no backing store).
    fn size(&self) -> Option<u64>;
}
