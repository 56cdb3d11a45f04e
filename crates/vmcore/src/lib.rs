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
//! - [`PageCache`], [`PageState`]: one object's cached pages and their state machine.
//! - [`Readahead`], [`Advice`]: the readahead window and `madvise` modes.
//! - [`fault_around`]: the aligned window of neighbours a read fault maps.
//! - [`decide`], [`Decision`], [`resolve`]: the fault rule and its executor.
//! - [`unmap_page`], [`write_back`], [`fork_flags`], [`protect_flags`]: the other page-table
//!   operations on mapped pages (munmap, fork, mprotect).
//! - [`eligible`], [`ClockHand`], [`needs_writeback`], [`writeback_candidates`]: reclaim.
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
pub use decide::{decide, Decision, KillReason, PteState, VmaKind};
pub use fault::{resolve, FaultError, FaultVma, Object, Outcome};
pub use flags::{Access, PteFlags};
pub use readahead::{Advice, Readahead, MAX_READAHEAD, SEQUENTIAL_SLACK};
pub use reclaim::{
    eligible, needs_writeback, writeback_candidates, ClockHand, Resident, ENOUGH, LOW_FREE, NEAR_PAGES,
    UNMAP_BATCH,
};
pub use release::{fork_flags, protect_flags, unmap_page, write_back, WriteBack};
pub use traits::{CacheLock, FileBackend, Frames, Io, Mapping, NoMem, PageTable};
pub use window::{fault_around, FAULT_AROUND};

/// Size of a page in bytes (Sv39 base pages).
pub const PAGE_SIZE: usize = vmspace::PAGE_SIZE;
