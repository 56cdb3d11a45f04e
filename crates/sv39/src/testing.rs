//! [`FakeMemory`]: a [`TableMemory`] over a map of heap arrays, for host tests of this crate
//! and of crates built on it (enable the `testing` feature).
//!
//! It is strict where real memory is forgiving, so bugs show up as panics: reading or writing
//! a table it did not hand out (or already took back) panics, table addresses are never
//! reused, and it counts live tables (leaks) and entry reads (to check that walks skip). It
//! keeps each table's reference count and panics when a shared table is freed.

use crate::addr::{PhysAddr, ENTRIES, PAGE_SIZE};
use crate::memory::TableMemory;
use crate::pte::Pte;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use core::cell::Cell;

/// Where the fake's first table page lies (the start of RAM on QEMU virt, for familiarity).
const FIRST_TABLE: usize = 0x8000_0000;

/// Table pages in a `BTreeMap`, with an optional cap on how many may be live at once.
pub struct FakeMemory {
    tables: BTreeMap<PhysAddr, Box<[Pte; ENTRIES]>>,
    refs: BTreeMap<PhysAddr, usize>,
    next: usize,
    limit: Option<usize>,
    allocated: usize,
    reads: Cell<usize>,
}

impl Default for FakeMemory {
    fn default() -> Self {
        FakeMemory::new()
    }
}

impl FakeMemory {
    /// Memory with room for any number of tables.
    pub fn new() -> FakeMemory {
        FakeMemory {
            tables: BTreeMap::new(),
            refs: BTreeMap::new(),
            next: FIRST_TABLE,
            limit: None,
            allocated: 0,
            reads: Cell::new(0),
        }
    }

    /// Memory that refuses to hold more than `limit` live tables.
    pub fn with_limit(limit: usize) -> FakeMemory {
        FakeMemory { limit: Some(limit), ..FakeMemory::new() }
    }

    /// Changes the cap on live tables (`None`: no cap).
    pub fn set_limit(&mut self, limit: Option<usize>) {
        self.limit = limit;
    }

    /// Tables handed out and not yet freed.
    pub fn live_tables(&self) -> usize {
        self.tables.len()
    }

    /// Tables handed out since creation.
    pub fn allocated_tables(&self) -> usize {
        self.allocated
    }

    /// The reference count of a live table.
    pub fn table_refs(&self, table: PhysAddr) -> usize {
        *self.refs.get(&table).unwrap_or_else(|| panic!("{table:?} is not a live table"))
    }

    /// Entry reads since creation or the last `reset_reads`.
    pub fn reads(&self) -> usize {
        self.reads.get()
    }

    /// Sets the read counter back to zero.
    pub fn reset_reads(&self) {
        self.reads.set(0);
    }

    fn table(&self, table: PhysAddr) -> &[Pte; ENTRIES] {
        self.tables.get(&table).unwrap_or_else(|| panic!("{table:?} is not a live table"))
    }
}

impl TableMemory for FakeMemory {
    fn read(&self, table: PhysAddr, index: usize) -> Pte {
        self.reads.set(self.reads.get() + 1);
        self.table(table)[index]
    }

    fn write(&mut self, table: PhysAddr, index: usize, pte: Pte) {
        let t = self.tables.get_mut(&table).unwrap_or_else(|| panic!("{table:?} is not a live table"));
        t[index] = pte;
    }

    fn alloc_table(&mut self) -> Option<PhysAddr> {
        if self.limit.is_some_and(|l| self.tables.len() >= l) {
            return None;
        }
        let pa = PhysAddr::new(self.next)?;
        self.next += PAGE_SIZE;
        self.allocated += 1;
        self.tables.insert(pa, Box::new([Pte::EMPTY; ENTRIES]));
        self.refs.insert(pa, 1);
        Some(pa)
    }

    fn free_table(&mut self, table: PhysAddr) {
        assert!(self.tables.remove(&table).is_some(), "free of {table:?}, not a live table");
        let refs = self.refs.remove(&table);
        assert_eq!(refs, Some(1), "free of {table:?}, which others still hold");
    }

    fn share_table(&mut self, table: PhysAddr) {
        *self.refs.get_mut(&table).unwrap_or_else(|| panic!("share of {table:?}, not a live table")) += 1;
    }

    fn table_is_shared(&self, table: PhysAddr) -> bool {
        self.table_refs(table) > 1
    }

    fn unshare_table(&mut self, table: PhysAddr) -> bool {
        let refs =
            self.refs.get_mut(&table).unwrap_or_else(|| panic!("unshare of {table:?}, not a live table"));
        if *refs == 1 {
            return true;
        }
        *refs -= 1;
        false
    }
}
