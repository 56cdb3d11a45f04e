//! [`TableMemory`]: the one boundary between this crate and the memory that holds
//! page-table pages.
//!
//! The kernel implements it over identity-mapped RAM (the only unsafe code involved lives
//! there, in `mm/`); host tests implement it over a map of arrays. This crate never assumes
//! anything about where tables live beyond what the trait promises.

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

    /// Gives back a table page from `alloc_table` that nothing points at any more.
    fn free_table(&mut self, table: PhysAddr);
}
