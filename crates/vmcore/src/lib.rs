//! The policy of the kernel's memory system, behind small traits, so it can be tested on the
//! host: what a page fault does, the page states of a page cache, readahead and fault-around
//! windows, copy-on-write, which pages reclaim may take, and the unmap / write-back path.
//!
//! This crate is pure: it must not know about locks, harts, real memory or the disk. The
//! kernel supplies physical frames ([`Frames`]), a page table ([`PageTable`]), a file's bytes
//! ([`FileBackend`]) and the lock around a page cache ([`CacheLock`]); this crate decides and
//! carries decisions out on those traits, balancing every frame reference. It is `no_std` +
//! `alloc` and tested against a mock page table, a mock frame allocator and a `Vec`-backed
//! file, with property tests against a byte-level model of what every page must contain.
//!
//! - [`PteFlags`], [`Access`]: PTE permission bits, `From<Prot>` (the only such conversion).
//! - [`Frames`], [`PageTable`], [`FileBackend`], [`CacheLock`]: the boundaries.
//! - [`PageCache`], [`PageState`], [`pages_of`]: one object's cached pages and their
//!   Clean / Dirty machine (write-back, eviction, truncation in two steps).
//! - [`Readahead`], [`Advice`], [`fault_window`]: the readahead window and `madvise` advice.
//! - [`fault_around`], [`fault_around_on`]: the aligned window of neighbours a read fault maps.
//! - [`decide`], [`store_to_present`], [`Decision`]: the fault rule, copy-on-write included;
//!   [`resolve`]: its executor over the traits.
//! - [`unmap_page`], [`write_back`], [`fork_flags`], [`protect_flags`]: the other page-table
//!   operations on mapped pages (munmap, fork, mprotect, `PROT_NONE`).
//! - [`eligible`], [`ClockPass`], [`CLOCK_PASSES`], [`needs_writeback`]: reclaim.
//!
//! The kernel uses the rules directly: `kernel/src/vm/fault.rs` asks [`decide`] (the heap
//! asks [`store_to_present`]) and carries the decision out on its own page tables, frames
//! and page caches; `vm/pagecache.rs` *is* a [`PageCache`] behind a spinlock, run on the
//! kernel's frame allocator as [`Frames`] (every page-state transition, from fill to
//! eviction and truncation, and the readahead state, are this crate's code); `vm/reclaim.rs`
//! asks [`ClockPass::verdict`] for each page its clock passes; `vm/protect.rs` and exec take
//! PTE bits from [`PteFlags::from`] and [`protect_flags`]. [`resolve`], [`unmap_page`],
//! [`write_back`] and [`CacheLock`] are the same mechanism over the traits, kept for the host:
//! the executor that the model tests drive the rules through end to end (the kernel's
//! `vm/fault.rs`, `vm/mmap.rs` and `vm/reclaim.rs` do the same steps on its own types).
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod cache;
mod decide;
mod fault;
mod flags;
mod readahead;
mod reclaim;
mod release;
mod traits;
mod window;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod model_tests;

pub use cache::{pages_of, PageCache, PageState};
pub use decide::{
    decide, fault_around_on, store_to_present, Decision, FrameState, KillReason, Site, VmaKind,
};
pub use fault::{resolve, FaultError, FaultVma, Object, Outcome};
pub use flags::{Access, PteFlags};
pub use readahead::{fault_window, Advice, Readahead, MAX_READAHEAD, SEQUENTIAL_SLACK};
pub use reclaim::{
    eligible, needs_writeback, ClockPass, Verdict, CLOCK_PASSES, ENOUGH, LOW_FREE, NEAR_PAGES, UNMAP_BATCH,
};
pub use release::{fork_flags, protect_flags, unmap_page, write_back, WriteBack};
pub use traits::{CacheLock, FileBackend, Frames, Io, Mapping, NoMem, PageTable};
pub use window::{fault_around, FAULT_AROUND};

/// Size of a page in bytes (Sv39 base pages).
pub const PAGE_SIZE: usize = vmspace::PAGE_SIZE;
