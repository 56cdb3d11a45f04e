//! Sv39 page tables of the kernel: the sv39 crate's [`sv39::PageTable`] over RAM. This module
//! is the crate's `TableMemory` (the one unsafe access to table pages, in [`Ram`]) and adds
//! the kernel's conventions: tables come from the frame allocator, errors are `Errno`, and a
//! [`PageTable`] frees its tables when dropped.
//!
//! It knows nothing of processes or policy. Interior tables are freed only when the whole
//! table goes away, except a level-0 table shared with other trees after fork (behind a stub,
//! `sv39`'s `share.rs`), which carries a frame reference per tree and goes with the last.
//! Every walk over a range of pages is the crate's leaf iterator
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

    fn share_table(&mut self, table: PhysAddr) {
        frame::share(table);
    }

    fn table_is_shared(&self, table: PhysAddr) -> bool {
        frame::refcount(table) > 1 // Acquire
    }

    fn unshare_table(&mut self, table: PhysAddr) -> bool {
        frame::unshare(table)
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

    /// The valid leaf entry for `va`, read through a stub when its block is one (the leaf
    /// of the table shared since fork): for callers that only read the page, under the lock
    /// that keeps this tree's share of the table.
    pub fn lookup_shared(&self, va: VirtAddr) -> Option<Pte> {
        let page = va.page_down().as_usize();
        let range = VaRange::new(page, page.checked_add(PGSIZE)?)?;
        self.tree.leaves(&RAM, range).next().map(|(_, pte)| pte)
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
    /// skipped whole, stubs read through, and `rest()` on the iterator says where to resume.
    /// Only reads: fine while the owner of the table, or another holder of a shared one,
    /// changes leaves on another hart. The iterator borrows the table, so the tables it reads
    /// cannot be freed under it (a shared one lives while this tree holds its stub).
    pub fn leaves(&self, range: VaRange) -> sv39::Leaves<'_, Ram> {
        self.tree.leaves(&RAM, range)
    }

    /// Like `leaves`, but `f` may replace each entry (`Pte::EMPTY` unmaps the page; freeing
    /// the page is the caller's business) and may stop the walk: `Break((value, rest))` then
    /// says where to resume. Stubbed blocks are skipped (their leaves are shared: resolve or
    /// drop them first).
    pub fn for_each_leaf_mut<B>(
        &mut self,
        range: VaRange,
        f: impl FnMut(VirtAddr, &mut Pte) -> ControlFlow<B>,
    ) -> ControlFlow<(B, VaRange)> {
        self.tree.for_each_leaf_mut(&mut Ram(()), range, f)
    }

    /// Fork's copy of `range` into `child`: each 2 MiB block that `shareable(block)` allows
    /// (or that is a stub already) is shared whole, both trees getting a stub and the level-0
    /// table a reference; in the others each valid leaf is copied as `f` transforms it (`f`
    /// may change this table's entry and returns the child's, or `None`). Returns the number
    /// of blocks shared (`sv39::PageTable::fork_range`). Fails [NoMem] when a child table
    /// cannot be allocated, the blocks before it done.
    pub fn fork_range(
        &mut self,
        child: &mut PageTable,
        range: VaRange,
        shareable: impl FnMut(VaRange) -> bool,
        f: impl FnMut(VirtAddr, &mut Pte) -> Option<Pte>,
    ) -> Result<usize, Errno> {
        match self.tree.fork_range(&mut Ram(()), &child.tree, range, shareable, f) {
            Ok(n) => Ok(n),
            Err(MapError::OutOfMemory) => Err(Errno::NoMem),
            Err(e) => panic!("fork_range: {e}"),
        }
    }

    /// Resolves the stubs of the blocks meeting `range` (with `keep_whole`, not those wholly
    /// inside it) so that their leaves may change: a table no other tree holds is linked
    /// again, a shared one is copied, each valid leaf as `f` makes it (`f` may change the
    /// shared entry the same way for every holder); `release` gives up the leaves of an
    /// original this tree turned out to hold last. Returns how many were resolved; fails
    /// [NoMem] when a copy cannot be allocated (the stubs not yet resolved stay).
    pub fn resolve_stubs(
        &mut self,
        range: VaRange,
        keep_whole: bool,
        f: impl FnMut(VirtAddr, &mut Pte) -> Pte,
        release: impl FnMut(VirtAddr, Pte),
    ) -> Result<usize, Errno> {
        self.tree.resolve_stubs(&mut Ram(()), range, keep_whole, f, release).map_err(|_| Errno::NoMem)
    }

    /// Drops this tree's share of every stubbed block wholly inside `range`: the entry goes
    /// empty, or, for the last holder, the table is linked again for the caller's walk to
    /// unmap. Returns how many were dropped. Never allocates.
    pub fn drop_stubs(&mut self, range: VaRange) -> usize {
        self.tree.drop_stubs(&mut Ram(()), range)
    }

    /// True when the 2 MiB block holding `va` is a stub.
    pub fn is_stubbed(&self, va: VirtAddr) -> bool {
        self.tree.is_stubbed(&RAM, va)
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
