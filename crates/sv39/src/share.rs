//! Level-0 tables shared between trees: what lets fork cost what the page tables cost, not
//! what the memory touched costs.
//!
//! [`PageTable::fork_range`] gives a child, for each 2 MiB block the caller allows, the
//! parent's level-0 table itself instead of a copy of its 512 entries: the parent's and the
//! child's level-1 entries both become *stubs* ([`Pte::stub`]: V clear, so no hart walks the
//! table, and the stub bit with the table's address), and the table gets one more reference
//! ([`TableMemory::share_table`]). The leaves are not touched, so their pages keep the one
//! reference the table holds. Forking a tree that already has a stub just shares the table
//! once more.
//!
//! Before anything changes a leaf of a stubbed block (a fault, unmapping, a protection
//! change), the owner of the tree *resolves* the stub ([`PageTable::resolve_stubs`]):
//!
//! ```text
//!   count 1 (the others let go):   stub ──▶ T          becomes   table ──▶ T  (relinked as is)
//!   count n > 1:                   stub ──▶ T (n)      becomes   table ──▶ C  (a copy: f(leaf) each)
//!                                                                T (n - 1), leaves as f left them
//! ```
//!
//! The copy's entries are what `f` makes of each leaf (for fork's copy-on-write: a reference
//! taken on the page, W cleared on a private one), and `f` may change the original entry too
//! (W cleared there as well, since the copy now maps the same page). Those are the only
//! writes to a table while it is shared, and they are idempotent: two holders resolving at
//! once each write the same entries (the caller's `f` must depend only on the entry and its
//! address). A walk that drops whole blocks ([`PageTable::drop_stubs`]: exit, exec, munmap of
//! a whole block) only drops the tree's reference; the last holder to let go relinks the
//! table and frees its leaves like any others. When the copy cannot be allocated the stub is
//! left as it was and the call fails.
//!
//! Read-only walks ([`PageTable::leaves`]) read through stubs; walks that change entries
//! ([`PageTable::for_each_leaf_mut`]) and single-address operations skip them, so a caller
//! that forgot to resolve changes nothing shared.

use crate::addr::{level_span, PhysAddr, VirtAddr, ENTRIES, LEVELS, PAGE_SIZE};
use crate::memory::TableMemory;
use crate::pte::{Pte, PteFlags};
use crate::range::VaRange;
use crate::table::{MapError, PageTable};

/// A level-1 entry met by [`PageTable::next_block`]: valid (a table or a superpage) or a
/// stub.
#[derive(Clone, Copy, Debug)]
struct Block {
    /// First address of the 2 MiB block.
    base: usize,
    /// The level-1 table holding the entry, and its index there.
    table: PhysAddr,
    index: usize,
    pte: Pte,
}

impl Block {
    fn span() -> usize {
        level_span(1)
    }

    /// The whole block as a range (blocks lie below MAXVA).
    fn range(&self) -> VaRange {
        VaRange::new(self.base, self.base + Block::span()).expect("blocks lie below MAXVA")
    }

    /// True when the whole block lies inside `range`.
    fn inside(&self, range: &VaRange) -> bool {
        range.start() <= self.base && self.base + Block::span() <= range.end()
    }
}

impl PageTable {
    /// The next level-1 entry that is valid or a stub, for a block that meets
    /// `[*pos, end)`; moves `*pos` past that block. Missing level-1 tables are skipped whole
    /// (one read per GiB); a superpage at level 2 (never made by this crate) is skipped.
    fn next_block<M: TableMemory + ?Sized>(&self, mem: &M, pos: &mut usize, end: usize) -> Option<Block> {
        let (gib, span) = (level_span(2), Block::span());
        while *pos < end {
            let va = VirtAddr::new(*pos)?;
            let top = mem.read(self.root(), va.table_index(2));
            if !top.is_table() {
                *pos = (*pos & !(gib - 1)) + gib;
                continue;
            }
            let base = *pos & !(span - 1);
            *pos = base + span;
            let (table, index) = (top.pa(), va.table_index(1));
            let pte = mem.read(table, index);
            if pte.is_valid() || pte.is_stub() {
                return Some(Block { base, table, index, pte });
            }
        }
        None
    }

    /// Copies this tree's part of `range` into `child` for fork: each 2 MiB block whose
    /// level-0 table `shareable(block)` allows (called with the whole block), or that is a
    /// stub already, is shared (both trees get a stub, the table a reference; see the module
    /// docs), and the other blocks are copied leaf by leaf as [`PageTable::copy_leaves`] does,
    /// `f(va, &mut pte)` changing this tree's entry and returning the child's (or `None`).
    /// `shareable` must only allow blocks all of whose leaves, inside `range` or not, the
    /// child should get (`f` is not called for them). Superpages are neither shared nor
    /// copied. Returns how many blocks were shared.
    ///
    /// Fails with [`MapError::OutOfMemory`] when a child table cannot be allocated: the blocks
    /// before it are shared or copied, the rest untouched. [`MapError::AlreadyMapped`] when
    /// the child already has something else in a block being shared.
    pub fn fork_range<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        child: &PageTable,
        range: VaRange,
        mut shareable: impl FnMut(VaRange) -> bool,
        mut f: impl FnMut(VirtAddr, &mut Pte) -> Option<Pte>,
    ) -> Result<usize, MapError> {
        let (mut pos, end) = (range.start(), range.end());
        let mut shared = 0;
        while let Some(b) = self.next_block(mem, &mut pos, end) {
            if b.pte.is_leaf() {
                continue; // a superpage
            }
            let va = VirtAddr::new(b.base).ok_or(MapError::Unaligned)?;
            if b.pte.is_stub() || shareable(b.range()) {
                let slot = child.slot_or_alloc(mem, va, 1).ok_or(MapError::OutOfMemory)?;
                let table = b.pte.pa();
                let theirs = mem.read(slot.table, slot.index);
                if slot.level != 1 || (theirs != Pte::EMPTY && theirs != Pte::stub(table)) {
                    return Err(MapError::AlreadyMapped);
                }
                if theirs == Pte::EMPTY {
                    mem.share_table(table);
                    mem.write(b.table, b.index, Pte::stub(table));
                    mem.write(slot.table, slot.index, Pte::stub(table));
                    shared += 1;
                }
                continue;
            }
            let lo = b.base.max(range.start());
            let hi = (b.base + Block::span()).min(end);
            copy_block(mem, child, b.pte.pa(), lo, hi, &mut f)?;
        }
        Ok(shared)
    }

    /// Resolves the stubs of the blocks that meet `range` (with `keep_whole`, only those not
    /// wholly inside it: the caller will drop those with [`PageTable::drop_stubs`]), so that
    /// their leaves may change: a table no other tree holds any more is linked again as it
    /// is; a table still shared is copied into a fresh one, entry `f(va, &mut leaf)` for each
    /// valid leaf (`f` may change the shared entry too; see the module docs for what it may
    /// do). Should every other holder let go while the copy is made, the original is freed:
    /// `release(va, leaf)` for each of its valid leaves, then the table. Returns how many
    /// stubs were resolved.
    ///
    /// Fails with [`MapError::OutOfMemory`] when a copy cannot be allocated; the stubs
    /// resolved before stay resolved (which changes nothing anyone can see), the one that
    /// failed and those after it stay stubs.
    pub fn resolve_stubs<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        range: VaRange,
        keep_whole: bool,
        mut f: impl FnMut(VirtAddr, &mut Pte) -> Pte,
        mut release: impl FnMut(VirtAddr, Pte),
    ) -> Result<usize, MapError> {
        let (mut pos, end) = (range.start(), range.end());
        let mut resolved = 0;
        while let Some(b) = self.next_block(mem, &mut pos, end) {
            if !b.pte.is_stub() || (keep_whole && b.inside(&range)) {
                continue;
            }
            let table = b.pte.pa();
            if !mem.table_is_shared(table) {
                mem.write(b.table, b.index, Pte::new(table, PteFlags::V));
                resolved += 1;
                continue;
            }
            let copy = mem.alloc_table().ok_or(MapError::OutOfMemory)?;
            for index in 0..ENTRIES {
                let old = mem.read(table, index);
                if !old.is_leaf() {
                    continue;
                }
                let va = VirtAddr::new(b.base + index * PAGE_SIZE).ok_or(MapError::Unaligned)?;
                let mut pte = old;
                let new = f(va, &mut pte);
                if pte != old {
                    mem.write(table, index, pte);
                }
                mem.write(copy, index, new);
            }
            mem.write(b.table, b.index, Pte::new(copy, PteFlags::V));
            if mem.unshare_table(table) {
                free_leaf_table(mem, table, b.base, &mut release);
            }
            resolved += 1;
        }
        Ok(resolved)
    }

    /// Drops this tree's reference to the shared table of every stub whose block lies wholly
    /// inside `range` (the tree stops mapping those pages: exit, exec, munmap); the entry
    /// becomes empty, or, when this was the last reference, the table is linked again as it
    /// is, for the caller's walk to free its leaves. Returns how many stubs were dropped.
    /// Never allocates.
    pub fn drop_stubs<M: TableMemory + ?Sized>(&self, mem: &mut M, range: VaRange) -> usize {
        let (mut pos, end) = (range.start(), range.end());
        let mut dropped = 0;
        while let Some(b) = self.next_block(mem, &mut pos, end) {
            if !b.pte.is_stub() || !b.inside(&range) {
                continue;
            }
            let table = b.pte.pa();
            let new = if mem.unshare_table(table) { Pte::new(table, PteFlags::V) } else { Pte::EMPTY };
            mem.write(b.table, b.index, new);
            dropped += 1;
        }
        dropped
    }

    /// True when the 2 MiB block holding `va` is a stub in this tree.
    pub fn is_stubbed<M: TableMemory + ?Sized>(&self, mem: &M, va: VirtAddr) -> bool {
        let top = mem.read(self.root(), va.table_index(LEVELS - 1));
        top.is_table() && mem.read(top.pa(), va.table_index(1)).is_stub()
    }
}

/// Copies the leaves of `[lo, hi)` (inside one 2 MiB block) of the level-0 table `table`
/// into `child`, as `f` makes them (see [`PageTable::copy_leaves`]).
fn copy_block<M: TableMemory + ?Sized>(
    mem: &mut M,
    child: &PageTable,
    table: PhysAddr,
    lo: usize,
    hi: usize,
    f: &mut impl FnMut(VirtAddr, &mut Pte) -> Option<Pte>,
) -> Result<(), MapError> {
    let first = VirtAddr::new(lo).ok_or(MapError::Unaligned)?.table_index(0);
    let mut theirs: Option<PhysAddr> = None;
    for index in first..first + (hi - lo) / PAGE_SIZE {
        let old = mem.read(table, index);
        if old == Pte::EMPTY || !old.is_leaf() {
            continue;
        }
        let at = VirtAddr::new(lo + (index - first) * PAGE_SIZE).ok_or(MapError::Unaligned)?;
        // The child's table once per block, before `f` is called for a leaf not copied.
        let dest = match theirs {
            Some(t) => t,
            None => {
                let slot = child.find_or_alloc(mem, at).ok_or(MapError::OutOfMemory)?;
                if slot.level != 0 {
                    return Err(MapError::AlreadyMapped); // a superpage in the child
                }
                *theirs.insert(slot.table)
            }
        };
        let mut pte = old;
        let new = f(at, &mut pte);
        if pte != old {
            mem.write(table, index, pte);
        }
        if let Some(c) = new {
            mem.write(dest, index, c);
        }
    }
    Ok(())
}

/// Gives back a level-0 table whose only reference the caller holds: `release` for each
/// valid leaf (of the block at `base`), then the page.
fn free_leaf_table<M: TableMemory + ?Sized>(
    mem: &mut M,
    table: PhysAddr,
    base: usize,
    release: &mut impl FnMut(VirtAddr, Pte),
) {
    for index in 0..ENTRIES {
        let pte = mem.read(table, index);
        if pte.is_leaf() {
            if let Some(va) = VirtAddr::new(base + index * PAGE_SIZE) {
                release(va, pte);
            }
        }
    }
    mem.free_table(table);
}
