//! The leaf iterator: the one walk over a virtual range that every "for each mapped page"
//! loop of the kernel uses (munmap, sbrk shrink, exit, reclaim, statistics), and fork's
//! copy of one tree into another on top of it ([`PageTable::copy_leaves`]).
//!
//! It visits the valid leaves of `[start, end)` in address order and skips a missing table
//! whole: an invalid level-2 entry skips its 1 GiB, an invalid level-1 entry its 2 MiB, so an
//! empty range costs at most one read per GiB plus one per 2 MiB actually populated. A
//! visitor may stop it; the range not yet visited comes back so the walk can resume later.
//! It never allocates or frees a table and never changes an entry the visitor did not change.
//!
//! ```text
//!   range:        [start ............................................ end)
//!   level 2:      | GiB 0 (table)          | GiB 1 (invalid: skipped) | ...
//!   level 1:      | 2M (table) | 2M (inv.) |
//!   level 0:      | . L . . L  |  skipped  |
//!   visited:        ^     ^   ^ in address order
//! ```

use crate::addr::{level_span, PhysAddr, VirtAddr, LEVELS, PAGE_SIZE};
use crate::memory::TableMemory;
use crate::pte::Pte;
use crate::range::VaRange;
use crate::table::{MapError, PageTable};
use core::ops::ControlFlow;

/// A leaf found by the cursor, with the slot it was read from.
struct Found {
    va: VirtAddr,
    pte: Pte,
    table: PhysAddr,
    index: usize,
    /// 0 for a base page; 1 or 2 for a superpage.
    level: usize,
}

/// The position of a walk: the next address to look at, the end, and the level-1 and level-0
/// tables met last, so that a run of pages costs one read each instead of three, and a missing
/// 2 MiB block one read instead of two.
#[derive(Clone, Debug)]
struct Cursor {
    root: PhysAddr,
    pos: usize,
    end: usize,
    /// `tables[l]`: the table at level `l` met last, with the first address it maps.
    tables: [Option<(usize, PhysAddr)>; LEVELS - 1],
    /// Whether a stub is read through to the shared table it names (read-only walks) or
    /// skipped like a missing table (walks that may change entries).
    through_stubs: bool,
}

/// The first address of the `span`-sized block holding `va`.
fn block_start(va: usize, span: usize) -> usize {
    va & !(span - 1)
}

impl Cursor {
    fn new(root: PhysAddr, range: VaRange, through_stubs: bool) -> Cursor {
        Cursor { root, pos: range.start(), end: range.end(), tables: [None; LEVELS - 1], through_stubs }
    }

    /// What is left to visit.
    fn rest(&self) -> VaRange {
        let start = self.pos.min(self.end);
        VaRange::new(start, self.end).expect("cursor positions are page-aligned and below end")
    }

    /// The lowest table known to cover `va`, and its level.
    fn nearest_table(&self, va: usize) -> (usize, PhysAddr) {
        for (level, cached) in self.tables.iter().enumerate() {
            if let Some((base, table)) = *cached {
                if block_start(va, level_span(level + 1)) == base {
                    return (level, table);
                }
            }
        }
        (LEVELS - 1, self.root)
    }

    /// The next valid leaf at or above `pos` and below `end`, moving `pos` past it. Each turn
    /// of the outer loop reads entries from the nearest known table down until it finds a
    /// leaf (returned) or a hole, whose whole span it then skips.
    fn next<M: TableMemory + ?Sized>(&mut self, mem: &M) -> Option<Found> {
        while self.pos < self.end {
            let va = VirtAddr::new(self.pos)?; // pos < end <= MAXVA
            let (mut level, mut table) = self.nearest_table(self.pos);
            loop {
                let index = va.table_index(level);
                let pte = mem.read(table, index);
                let span = level_span(level);
                let base = block_start(self.pos, span);
                if pte.is_leaf() {
                    // At level 1 or 2 this is a superpage: visited once, at its first address.
                    self.pos = base + span;
                    return Some(Found { va: VirtAddr::new(base)?, pte, table, index, level });
                }
                if level == 0 || !(pte.is_table() || (self.through_stubs && level == 1 && pte.is_stub())) {
                    self.pos = base + span; // below MAXVA + 1 GiB: no overflow
                    break;
                }
                level -= 1;
                table = pte.pa();
                self.tables[level] = Some((base, table));
            }
        }
        None
    }
}

/// The valid leaves of a range as an iterator of `(address, entry)`, in address order; made
/// by [`PageTable::leaves`]. [`Leaves::rest`] tells where to resume after stopping early.
pub struct Leaves<'m, M: TableMemory + ?Sized> {
    mem: &'m M,
    cursor: Cursor,
}

impl<M: TableMemory + ?Sized> Leaves<'_, M> {
    /// The part of the range not yet visited: everything after the last leaf returned.
    pub fn rest(&self) -> VaRange {
        self.cursor.rest()
    }
}

impl<M: TableMemory + ?Sized> Iterator for Leaves<'_, M> {
    type Item = (VirtAddr, Pte);

    fn next(&mut self) -> Option<(VirtAddr, Pte)> {
        let found = self.cursor.next(self.mem)?;
        Some((found.va, found.pte))
    }
}

impl PageTable {
    /// The valid leaves in `range`, in address order, as an iterator. A superpage leaf (never
    /// made by this crate) that overlaps the range comes once, with its first address, which
    /// may lie below `range.start()`. Stubs are read through: the leaves of a shared table
    /// come as this tree's (read-only walks see what the tree maps, shared or not).
    pub fn leaves<'m, M: TableMemory + ?Sized>(&self, mem: &'m M, range: VaRange) -> Leaves<'m, M> {
        Leaves { mem, cursor: Cursor::new(self.root(), range, true) }
    }

    /// Calls `f(va, pte)` for each valid leaf in `range`, in address order (as
    /// [`PageTable::leaves`]), until `f` breaks. Returns `Continue` when the whole range was
    /// visited, or `Break((value, rest))` with `f`'s value and the range after the leaf on
    /// which it broke: call again with `rest` to resume.
    pub fn for_each_leaf<M: TableMemory + ?Sized, B>(
        &self,
        mem: &M,
        range: VaRange,
        mut f: impl FnMut(VirtAddr, Pte) -> ControlFlow<B>,
    ) -> ControlFlow<(B, VaRange)> {
        let mut leaves = self.leaves(mem, range);
        while let Some((va, pte)) = leaves.next() {
            if let ControlFlow::Break(b) = f(va, pte) {
                return ControlFlow::Break((b, leaves.rest()));
            }
        }
        ControlFlow::Continue(())
    }

    /// Like [`PageTable::for_each_leaf`], but `f` may change the entry through its `&mut Pte`;
    /// a changed entry is written back before the walk moves on. Setting it to [`Pte::EMPTY`]
    /// unmaps the page (the page itself is the caller's to free; tables stay until
    /// `free_tables`). The new entry must be invalid or a leaf, never a table pointer. A stub
    /// is skipped like a missing table: its leaves are shared and must not change under the
    /// other holders (`share.rs`: resolve or drop it first).
    pub fn for_each_leaf_mut<M: TableMemory + ?Sized, B>(
        &self,
        mem: &mut M,
        range: VaRange,
        mut f: impl FnMut(VirtAddr, &mut Pte) -> ControlFlow<B>,
    ) -> ControlFlow<(B, VaRange)> {
        let mut cursor = Cursor::new(self.root(), range, false);
        while let Some(found) = cursor.next(mem) {
            let mut pte = found.pte;
            let flow = f(found.va, &mut pte);
            if pte != found.pte {
                mem.write(found.table, found.index, pte);
            }
            if let ControlFlow::Break(b) = flow {
                return ControlFlow::Break((b, cursor.rest()));
            }
        }
        ControlFlow::Continue(())
    }

    /// Copies every valid base-page leaf of `range` into `child`, at the same address: the
    /// walk behind fork. For each leaf, `f(va, &mut pte)` may change this table's entry (a
    /// changed one is written back) and returns the child's entry, or `None` to copy
    /// nothing. The child's level-0 tables are found or allocated once per 2 MiB block, not
    /// per page, and each block of this table is then read entry by entry, so the cost is
    /// one table read (and `f`) per page of the populated blocks. The child's entries are
    /// overwritten whatever they held. A superpage leaf (never made by this crate) is
    /// passed to `f` to change but never copied.
    ///
    /// Fails with [`MapError::OutOfMemory`] when a child table cannot be allocated: the
    /// leaves before that block are copied (and changed), the rest are untouched and `f` was
    /// not called for them.
    pub fn copy_leaves<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        child: &PageTable,
        range: VaRange,
        mut f: impl FnMut(VirtAddr, &mut Pte) -> Option<Pte>,
    ) -> Result<(), MapError> {
        let mut cursor = Cursor::new(self.root(), range, false);
        while let Some(found) = cursor.next(mem) {
            let block = level_span(1);
            let block_end = block_start(found.va.as_usize(), block) + block;
            let stop = block_end.min(cursor.end);
            if found.level != 0 {
                // A superpage: changed in place but not copied; the cursor has moved past it.
                let mut pte = found.pte;
                f(found.va, &mut pte);
                if pte != found.pte {
                    mem.write(found.table, found.index, pte);
                }
                continue;
            }
            // The child's table first, so that `f` is never called for a leaf not copied.
            let slot = child.find_or_alloc(mem, found.va).ok_or(MapError::OutOfMemory)?;
            if slot.level != 0 {
                return Err(MapError::AlreadyMapped); // a superpage in the child
            }
            let mut pte = found.pte;
            let new = f(found.va, &mut pte);
            if pte != found.pte {
                mem.write(found.table, found.index, pte);
            }
            if let Some(c) = new {
                mem.write(slot.table, found.index, c);
            }
            // The rest of this level-0 table, entry by entry.
            let (mut index, mut va) = (found.index + 1, found.va.as_usize() + PAGE_SIZE);
            while va < stop {
                let old = mem.read(found.table, index);
                if old.is_leaf() {
                    let mut pte = old;
                    let at = VirtAddr::new(va).ok_or(MapError::Unaligned)?;
                    let new = f(at, &mut pte);
                    if pte != old {
                        mem.write(found.table, index, pte);
                    }
                    if let Some(c) = new {
                        mem.write(slot.table, index, c);
                    }
                }
                index += 1;
                va += PAGE_SIZE;
            }
            cursor.pos = stop;
        }
        Ok(())
    }
}
