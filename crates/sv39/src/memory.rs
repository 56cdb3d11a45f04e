//! [`TableMemory`]: the one boundary between this crate and the memory that holds
//! page-table pages.
//!
//! The kernel implements it over identity-mapped RAM (the only unsafe code involved lives
//! there, in `mm/`); host tests implement it over a map of arrays. This crate never assumes
//! anything about where tables live beyond what the trait promises.
//!
//! A level-0 table may be shared by several trees after fork (`share.rs`), so table pages
//! carry a reference count: `alloc_table` hands out one reference, `share_table` adds one,
//! `unshare_table` drops one that is not the last, and `free_table` gives back a page whose
//! only reference its caller holds.

use crate::addr::PhysAddr;
use crate::pte::Pte;

/// The memory holding page-table pages: one page of [`ENTRIES`](crate::ENTRIES) entries per
/// table, named by its page-aligned physical address.
///
/// The crate calls `read` and `write` only with a `table` it got from `alloc_table` (or the
/// root handed to [`PageTable::from_root`](crate::PageTable::from_root), or the address in a
/// valid non-leaf entry of such a table) and with `index < ENTRIES`.
pub trait TableMemory {
    /// Entry `index` of the table at `table`. An implementation shared with another hart that
    /// may write the entry meanwhile must read it in one piece (e.g. one volatile 64-bit load).
    fn read(&self, table: PhysAddr, index: usize) -> Pte;

    /// Stores `pte` as entry `index` of the table at `table`.
    fn write(&mut self, table: PhysAddr, index: usize, pte: Pte);

    /// A fresh, zero-filled, page-aligned table page, or `None` when memory is exhausted.
    fn alloc_table(&mut self) -> Option<PhysAddr>;

    /// Gives back a table page from `alloc_table` that nothing points at any more (the
    /// caller holds its only reference).
    fn free_table(&mut self, table: PhysAddr);

    /// Adds a reference to a table page the caller holds one to (a tree starts sharing it).
    /// Needs no ordering (as `Arc::clone`): the caller's reference keeps the page alive.
    fn share_table(&mut self, table: PhysAddr);

    /// True when another reference to the table page exists besides the caller's. A false
    /// answer must be final for as long as the caller holds its reference (only holders
    /// share), and must make the other holders' accesses to the page, made before they
    /// dropped their references, visible to the caller (Acquire, as `Arc::get_mut`).
    fn table_is_shared(&self, table: PhysAddr) -> bool;

    /// Drops the caller's reference to a table page unless it is the only one left. Returns
    /// true, leaving the count as it is, when the caller held the only reference: the page is
    /// then the caller's alone (to link again or to give back with `free_table`). A reference
    /// dropped releases the caller's accesses to the page (Release), and a true answer
    /// acquires everyone else's (Acquire), as the last `Arc` does.
    fn unshare_table(&mut self, table: PhysAddr) -> bool;
}
