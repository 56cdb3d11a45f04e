//! [`PageTable`]: one Sv39 tree named by its root page, and the single-address operations on
//! it: walk, lookup, translate, update, map, unmap, and tearing the tables down.
//!
//! A `PageTable` is only a handle: it holds the root's address and borrows a
//! [`TableMemory`] per call, so it knows nothing of locks or real memory. It owns the
//! interior table pages (allocating them on demand, freeing them only in
//! [`PageTable::free_tables`]); the leaf pages belong to whoever mapped them and are never
//! freed here. Range walks live in `leaves.rs`, level-0 tables shared between trees (fork)
//! in `share.rs`. A single-address operation treats a stub like a missing table: `walk`,
//! `lookup`, `translate` find nothing there and `update`, `map` refuse to allocate over it.

use crate::addr::{is_page_aligned, level_span, PhysAddr, VirtAddr, LEVELS};
use crate::memory::TableMemory;
use crate::pte::{satp, Pte, PteFlags};
use core::fmt;

/// Why [`PageTable::map`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// An interior table was needed and [`TableMemory::alloc_table`] had none.
    OutOfMemory,
    /// A valid leaf already translates the address (a base page, or a superpage above it).
    AlreadyMapped,
    /// `va` or `pa` is not page-aligned.
    Unaligned,
    /// The flags would not make a leaf the hardware accepts: none of R, W, X, or W without R.
    BadFlags,
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MapError::OutOfMemory => "no memory for a page-table page",
            MapError::AlreadyMapped => "address already mapped",
            MapError::Unaligned => "address not page-aligned",
            MapError::BadFlags => "flags do not make a valid leaf",
        })
    }
}

/// Where the entry that translates an address lives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    pub(crate) table: PhysAddr,
    pub(crate) index: usize,
    /// 0 for a base-page entry; 1 or 2 when a superpage leaf stopped the walk early.
    pub(crate) level: usize,
}

/// A Sv39 page table, named by the physical address of its root table page.
///
/// The entry *for* an address `va` is the leaf that translates it when the walk meets one at
/// level 2 or 1 (a superpage, which this crate never creates), and otherwise the level-0 entry
/// indexed by `va`, valid or not. Every operation below speaks of that entry.
#[derive(Debug, PartialEq, Eq)]
pub struct PageTable {
    root: PhysAddr,
}

impl PageTable {
    /// A new, empty table (one zeroed root page from `mem`), or `None` when out of memory.
    pub fn new<M: TableMemory + ?Sized>(mem: &mut M) -> Option<PageTable> {
        Some(PageTable { root: mem.alloc_table()? })
    }

    /// A handle on the existing table whose root is `root` (e.g. decoded from `satp`). The
    /// caller must not let two handles free the same tree.
    pub const fn from_root(root: PhysAddr) -> PageTable {
        PageTable { root }
    }

    /// The root table page.
    pub const fn root(&self) -> PhysAddr {
        self.root
    }

    /// The value to load into `satp` to translate through this table (Sv39, ASID 0).
    pub const fn satp(&self) -> usize {
        satp(self.root)
    }

    /// Finds the slot of the entry for `va` without allocating; `None` when a table on the
    /// way is missing.
    pub(crate) fn find<M: TableMemory + ?Sized>(&self, mem: &M, va: VirtAddr) -> Option<Slot> {
        let mut table = self.root;
        for level in (1..LEVELS).rev() {
            let index = va.table_index(level);
            let pte = mem.read(table, index);
            if pte.is_leaf() {
                return Some(Slot { table, index, level });
            }
            if !pte.is_table() {
                return None;
            }
            table = pte.pa();
        }
        Some(Slot { table, index: va.table_index(0), level: 0 })
    }

    /// Like `find`, but allocates missing tables; `None` when allocation fails, or when the
    /// 2 MiB block of `va` is a stub (its leaves are in a shared table: resolve it first).
    pub(crate) fn find_or_alloc<M: TableMemory + ?Sized>(&self, mem: &mut M, va: VirtAddr) -> Option<Slot> {
        self.slot_or_alloc(mem, va, 0)
    }

    /// The slot of the entry for `va` at `level` (or the superpage leaf that stops the walk
    /// above it), allocating the missing tables above that level. `None` when allocation
    /// fails or a stub is met above `level`.
    pub(crate) fn slot_or_alloc<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        va: VirtAddr,
        stop: usize,
    ) -> Option<Slot> {
        let mut table = self.root;
        for level in (stop + 1..LEVELS).rev() {
            let index = va.table_index(level);
            let pte = mem.read(table, index);
            if pte.is_leaf() {
                return Some(Slot { table, index, level });
            }
            table = if pte.is_table() {
                pte.pa()
            } else if pte.is_stub() {
                return None;
            } else {
                let next = mem.alloc_table()?;
                mem.write(table, index, Pte::new(next, PteFlags::V));
                next
            };
        }
        Some(Slot { table, index: va.table_index(stop), level: stop })
    }

    /// The entry for `va` (see the type's docs), which may be invalid; `None` when a table on
    /// the way to level 0 is missing.
    pub fn walk<M: TableMemory + ?Sized>(&self, mem: &M, va: VirtAddr) -> Option<Pte> {
        let slot = self.find(mem, va)?;
        Some(mem.read(slot.table, slot.index))
    }

    /// The valid leaf that translates `va`, if any.
    pub fn lookup<M: TableMemory + ?Sized>(&self, mem: &M, va: VirtAddr) -> Option<Pte> {
        self.walk(mem, va).filter(|p| p.is_leaf())
    }

    /// The physical address `va` translates to (page offset included), if it is mapped.
    pub fn translate<M: TableMemory + ?Sized>(&self, mem: &M, va: VirtAddr) -> Option<PhysAddr> {
        let slot = self.find(mem, va)?;
        let pte = mem.read(slot.table, slot.index);
        if !pte.is_leaf() {
            return None;
        }
        pte.pa().checked_add(va.as_usize() & (level_span(slot.level) - 1))
    }

    /// Replaces the entry for `va` with `f(old)` and returns `old`. Missing tables on the way
    /// are allocated when `alloc` is set. `None` (and `f` not called) when a table is missing
    /// and `alloc` is clear, or could not be allocated.
    ///
    /// `f` must return an invalid entry or a leaf: a valid entry without R, W or X would
    /// make the hardware read a data page as a table.
    pub fn update<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        va: VirtAddr,
        alloc: bool,
        f: impl FnOnce(Pte) -> Pte,
    ) -> Option<Pte> {
        let slot = if alloc { self.find_or_alloc(mem, va)? } else { self.find(mem, va)? };
        let old = mem.read(slot.table, slot.index);
        let new = f(old);
        if new != old {
            mem.write(slot.table, slot.index, new);
        }
        Some(old)
    }

    /// Maps the page at `va` to the page at `pa` with `flags` plus V (A and D only if given:
    /// left clear, the hardware's D bit later tells whether the page was written). Allocates
    /// missing tables.
    ///
    /// Fails, changing no entry, when an address is unaligned, the flags make no valid leaf,
    /// `va` is already mapped, or a table cannot be allocated (tables allocated on the way stay,
    /// empty, until `free_tables`); a block that is a stub counts as out of memory (resolve it
    /// first, `share.rs`).
    pub fn map<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        va: VirtAddr,
        pa: PhysAddr,
        flags: PteFlags,
    ) -> Result<(), MapError> {
        if !is_page_aligned(va.as_usize()) || !pa.is_page_aligned() {
            return Err(MapError::Unaligned);
        }
        if !flags.intersects(PteFlags::RWX) || (flags.contains(PteFlags::W) && !flags.contains(PteFlags::R)) {
            return Err(MapError::BadFlags);
        }
        let slot = self.find_or_alloc(mem, va).ok_or(MapError::OutOfMemory)?;
        if slot.level != 0 || mem.read(slot.table, slot.index).is_valid() {
            return Err(MapError::AlreadyMapped);
        }
        mem.write(slot.table, slot.index, Pte::new(pa, flags | PteFlags::V));
        Ok(())
    }

    /// Clears the entry for `va` (any address inside the page) if it is valid, returning what
    /// it was; the page itself is the caller's to free. Tables are never freed here.
    pub fn unmap<M: TableMemory + ?Sized>(&self, mem: &mut M, va: VirtAddr) -> Option<Pte> {
        let slot = self.find(mem, va)?;
        let old = mem.read(slot.table, slot.index);
        if !old.is_valid() {
            return None;
        }
        mem.write(slot.table, slot.index, Pte::EMPTY);
        Some(old)
    }

    /// Frees every interior table page and the root, consuming the handle. Leaves should be
    /// gone already: the return value counts the valid leaves still present, whose pages are
    /// *not* freed (anything but 0 means the caller leaked them). A stub left over drops its
    /// reference; when it was the last, the shared table goes too and its leaves count.
    #[must_use = "a nonzero count means mapped pages were leaked"]
    pub fn free_tables<M: TableMemory + ?Sized>(self, mem: &mut M) -> usize {
        free_level(mem, self.root, LEVELS - 1)
    }
}

/// Frees `table` (at `level`) and every table below it; counts the leaves met.
fn free_level<M: TableMemory + ?Sized>(mem: &mut M, table: PhysAddr, level: usize) -> usize {
    let mut leaves = 0;
    for index in 0..crate::addr::ENTRIES {
        let pte = mem.read(table, index);
        if pte == Pte::EMPTY {
            continue; // most entries: one comparison
        }
        if pte.is_leaf() {
            leaves += 1;
        } else if pte.is_table() && level > 0 {
            leaves += free_level(mem, pte.pa(), level - 1);
        } else if pte.is_stub() && level == 1 && mem.unshare_table(pte.pa()) {
            leaves += free_level(mem, pte.pa(), 0);
        }
    }
    mem.free_table(table);
    leaves
}
