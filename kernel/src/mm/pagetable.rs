//! Sv39 page tables of the kernel: the sv39 crate's [`sv39::PageTable`] over RAM. This module
//! is the crate's `TableMemory` (the one unsafe access to table pages, in [`Ram`]) and adds
//! the kernel's conventions: tables come from the frame allocator, errors are `Errno`, and a
//! [`PageTable`] frees its tables when dropped.
//!
//! It knows nothing of processes or policy. Interior tables are freed only when the whole
//! table goes away. Every walk over a range of pages is the crate's leaf iterator
//! ([`PageTable::leaves`], [`PageTable::for_each_leaf_mut`]); there is no other.

use super::addr::{PhysAddr, VirtAddr, PGSIZE};
use super::frame;
use abi::Errno;
use core::ops::ControlFlow;
use sv39::{MapError, TableMemory};

pub use sv39::{Pte, PteFlags, VaRange, MAXVA};

/// Table pages in identity-mapped RAM, allocated from the frame allocator.
///
/// Only this module can make one (the field is private), and only a [`PageTable`] hands one
/// to the crate, which then touches the tables of that tree alone: the safe methods below
/// cannot be used to read or write arbitrary memory. It is public only as the type parameter
/// of [`sv39::Leaves`].
pub struct Ram(());

/// The one `Ram` that read-only walks borrow for as long as they like.
static RAM: Ram = Ram(());

impl TableMemory for Ram {
    fn read(&self, table: PhysAddr, index: usize) -> Pte {
        assert!(index < sv39::ENTRIES && table.is_page_aligned());
        let entry = (table.as_usize() as *const u64).wrapping_add(index);
        // SAFETY: sv39 only reads tables of a live tree (a root from `alloc_table`, or a table
        // a valid entry of it points at), which are frames of identity-mapped RAM owned by a
        // `PageTable` that frees them only when dropped; the index is inside the page (checked
        // above). Another hart may store to the entry meanwhile (the owner faulting while
        // `vm::stats` looks): one aligned volatile 64-bit load sees the old or the new entry,
        // never a mix.
        Pte::from_bits(unsafe { core::ptr::read_volatile(entry) })
    }

    fn write(&mut self, table: PhysAddr, index: usize, pte: Pte) {
        assert!(index < sv39::ENTRIES && table.is_page_aligned());
        let entry = (table.as_usize() as *mut u64).wrapping_add(index);
        // SAFETY: as for `read`; writes come only through `&mut PageTable` (the `Vm` lock
        // behind it), so no other writer races. Volatile, so readers on other harts see a
        // single store.
        unsafe { core::ptr::write_volatile(entry, pte.bits()) }
    }

    fn alloc_table(&mut self) -> Option<PhysAddr> {
        frame::alloc() // zeroed
    }

    fn free_table(&mut self, table: PhysAddr) {
        frame::free(table);
    }
}

/// Flushes this hart's TLB (after clearing entries of the table it may have cached).
pub fn flush_tlb() {
    // SAFETY: flushing the TLB has no effect on memory.
    unsafe { core::arch::asm!("sfence.vma zero, zero") };
}

/// A page table, identified by the physical page of its root. It owns that page and every
/// interior table reachable from it, and frees them when dropped; leaf pages are owned by
/// whoever mapped them, and must be unmapped before the drop.
pub struct PageTable {
    tree: sv39::PageTable,
}

impl PageTable {
    /// An empty table, or `None` when out of memory.
    pub fn new() -> Option<PageTable> {
        Some(PageTable { tree: sv39::PageTable::new(&mut Ram(()))? })
    }

    /// The value to load into `satp` for this table (Sv39 mode).
    pub fn satp(&self) -> usize {
        self.tree.satp()
    }

    /// The valid leaf entry for `va`, if any.
    pub fn lookup(&self, va: VirtAddr) -> Option<Pte> {
        self.tree.lookup(&RAM, va)
    }

    /// The physical address `va` translates to (page offset included), if mapped.
    pub fn translate(&self, va: VirtAddr) -> Option<PhysAddr> {
        self.tree.translate(&RAM, va)
    }

    /// Replaces the entry for the page `va` with `f(old)`, allocating missing tables when
    /// `alloc` is set; returns `old`. `None` (and `f` not called) when a table is missing or
    /// cannot be allocated. `f` must return an invalid entry or a leaf.
    pub fn update(&mut self, va: VirtAddr, alloc: bool, f: impl FnOnce(Pte) -> Pte) -> Option<Pte> {
        self.tree.update(&mut Ram(()), va, alloc, f)
    }

    /// Maps [va, va + size) to [pa, pa + size) with `flags` (V, A and D are added). `va` and
    /// `pa` must be page-aligned. On failure the pages this call mapped stay mapped.
    ///
    /// # Panics
    /// If a page of the range is already mapped or an address is unaligned (kernel bugs:
    /// callers check first).
    pub fn map(&mut self, va: VirtAddr, pa: PhysAddr, size: usize, flags: PteFlags) -> Result<(), Errno> {
        assert!(va.is_page_aligned() && pa.is_page_aligned() && size > 0, "map: unaligned");
        let flags = flags | PteFlags::A | PteFlags::D;
        for off in (0..size).step_by(PGSIZE) {
            let (v, p) = (va.checked_add(off).ok_or(Errno::Inval)?, pa.checked_add(off).ok_or(Errno::Inval)?);
            match self.tree.map(&mut Ram(()), v, p, flags) {
                Err(MapError::OutOfMemory) => return Err(Errno::NoMem),
                Err(e) => panic!("map {v:?}: {e}"),
                Ok(()) => {}
            }
        }
        Ok(())
    }

    /// Removes the mapping of the page at `va`, returning the entry it had, if any.
    pub fn unmap(&mut self, va: VirtAddr) -> Option<Pte> {
        self.tree.unmap(&mut Ram(()), va)
    }

    /// The valid leaves in `range` as `(va, pte)`, in address order; missing tables are
    /// skipped whole, and `rest()` on the iterator says where to resume. Only reads: fine
    /// while the owner of the table changes leaves on another hart. The iterator borrows the
    /// table, so the tables it reads cannot be freed under it.
    pub fn leaves(&self, range: VaRange) -> sv39::Leaves<'_, Ram> {
        self.tree.leaves(&RAM, range)
    }

    /// Like `leaves`, but `f` may replace each entry (`Pte::EMPTY` unmaps the page; freeing
    /// the page is the caller's business) and may stop the walk: `Break((value, rest))` then
    /// says where to resume.
    pub fn for_each_leaf_mut<B>(
        &mut self,
        range: VaRange,
        f: impl FnMut(VirtAddr, &mut Pte) -> ControlFlow<B>,
    ) -> ControlFlow<(B, VaRange)> {
        self.tree.for_each_leaf_mut(&mut Ram(()), range, f)
    }

    /// Copies the valid leaves of `range` into `child` at the same addresses, as `f`
    /// transforms them (`f` may change this table's entry and returns the child's, or `None`):
    /// fork's copy, one child table walk per 2 MiB (`sv39::PageTable::copy_leaves`). Fails
    /// [NoMem] when a child table cannot be allocated, the blocks before it copied.
    pub fn copy_leaves(
        &mut self,
        child: &mut PageTable,
        range: VaRange,
        f: impl FnMut(VirtAddr, &mut Pte) -> Option<Pte>,
    ) -> Result<(), Errno> {
        match self.tree.copy_leaves(&mut Ram(()), &child.tree, range, f) {
            Ok(()) => Ok(()),
            Err(MapError::OutOfMemory) => Err(Errno::NoMem),
            Err(e) => panic!("copy_leaves: {e}"),
        }
    }

    /// `for_each_leaf_mut` over all of `range`, with a visitor that never stops.
    pub fn update_leaves(&mut self, range: VaRange, mut f: impl FnMut(VirtAddr, &mut Pte)) {
        let _: ControlFlow<((), VaRange)> = self.for_each_leaf_mut(range, |va, pte| {
            f(va, pte);
            ControlFlow::Continue(())
        });
    }
}

impl Drop for PageTable {
    /// Frees every interior table page and the root.
    ///
    /// # Panics
    /// If a leaf is still mapped (its page would leak: a kernel bug).
    fn drop(&mut self) {
        // The crate's handle is consumed by `free_tables`; this one names the same tree, and
        // `self.tree` is never used again.
        let left = sv39::PageTable::from_root(self.tree.root()).free_tables(&mut Ram(()));
        assert!(left == 0, "page table dropped with {left} pages still mapped");
    }
}
