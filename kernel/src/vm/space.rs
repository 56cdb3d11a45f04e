//! The state of a process's user address space: its page table, its mappings and the layout
//! facts the fault handler needs (where the heap starts and where the program break is). It
//! lives inside a [`super::Vm`], behind the `Vm`'s lock: only the `vm` module reaches it.
//!
//! Layout (ABI.md): program image from 0, one guard page, one stack page, then the heap from
//! `heap_start` up to `brk`. Heap pages may be absent (lazy sbrk); touching one faults it in.
//! Mappings (mmap) live in `vmas`, placed in the mmap area [HEAP_LIMIT, USER_TOP) unless the
//! user fixes an address; their pages appear on first touch (`vm::fault`). The trap frame and
//! trampoline sit at the top and carry no U bit.

use super::anon::SharedAnon;
use crate::arch::trampoline;
use crate::fs::file::File;
use crate::mm::addr::{self, page_round_down, page_round_up};
use crate::mm::pagetable::{flush_tlb, PageTable, Pte, PteFlags, VaRange, MAXVA};
use crate::mm::{frame, PhysAddr, VirtAddr, PGSIZE};
use abi::Errno;
use alloc::sync::Arc;
use vmspace::{Share, VirtRange, VmaSet};

/// What a shared or file-backed mapping maps (the `Backing::File` payload of its VMA).
#[derive(Clone)]
pub enum MapObject {
    /// A regular file: its pages come from the page cache of the file's inode. The open file
    /// is held, so close and unlink do not disturb the mapping.
    File(Arc<File>),
    /// Shared anonymous memory (`vm::anon`).
    SharedAnon(Arc<SharedAnon>),
}

impl MapObject {
    /// The open file of a file mapping.
    pub fn file(&self) -> Option<&Arc<File>> {
        match self {
            MapObject::File(f) => Some(f),
            MapObject::SharedAnon(_) => None,
        }
    }

    /// The page cache of a file mapping.
    pub fn cache(&self) -> Option<&super::pagecache::PageCache> {
        self.file().and_then(|f| f.inode()).map(|ip| ip.cache())
    }
}

/// Highest address the heap may reach; mappings (mmap) live above it.
pub const HEAP_LIMIT: usize = 0x20_0000_0000;
/// The mmap area: where the kernel places mappings (and honours hints).
pub const MMAP_BASE: usize = HEAP_LIMIT;

/// Reclaims (each freeing something) one fault may try before it fails for lack of memory.
pub(super) const RECLAIM_TRIES: usize = 8;

/// What kind of access caused a fault or is requested by a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Exec,
}

pub(super) struct AddressSpace {
    pub(super) pt: PageTable,
    /// First byte of the heap (just above the stack page).
    pub(super) heap_start: usize,
    /// The program break: the heap is [heap_start, brk).
    pub(super) brk: usize,
    /// The mappings, keyed by start address.
    pub(super) vmas: VmaSet<MapObject>,
    /// Where memory reclaim's clock hand stands in this space (`vm::reclaim`).
    pub(super) reclaim_cursor: usize,
    /// Every mapping is gone for good (exit, or exec replaced the image): readers see nothing.
    pub(super) torn_down: bool,
    /// The page table may hold stubs (`vm::stubs`): set by a fork that shared a block, in both
    /// spaces; clear in a space that never forked or was forked from, so that its faults and
    /// removals skip looking for them.
    pub(super) stubs: bool,
}

impl AddressSpace {
    /// An empty space with the trampoline and the trap frame page `trapframe` mapped.
    pub fn new(trapframe: PhysAddr) -> Result<AddressSpace, Errno> {
        let mut pt = PageTable::new().ok_or(Errno::NoMem)?;
        let tramp = addr::pa(trampoline::trampoline_start as *const () as usize);
        let ok = pt
            .map(addr::va(abi::TRAMPOLINE), tramp, PGSIZE, PteFlags::R | PteFlags::X)
            .and_then(|_| pt.map(addr::va(abi::TRAPFRAME), trapframe, PGSIZE, PteFlags::R | PteFlags::W));
        if let Err(e) = ok {
            pt.unmap(addr::va(abi::TRAMPOLINE));
            return Err(e); // dropping `pt` frees its tables
        }
        Ok(AddressSpace {
            pt,
            heap_start: 0,
            brk: 0,
            vmas: VmaSet::new(),
            reclaim_cursor: 0,
            torn_down: false,
            stubs: false,
        })
    }

    /// Maps fresh zeroed pages over [start, end) with `flags` (U is added). On failure every
    /// page this call mapped is freed again.
    pub fn alloc_range(&mut self, start: usize, end: usize, flags: PteFlags) -> Result<(), Errno> {
        let mut va = page_round_up(start);
        let end = page_round_up(end);
        let first = va;
        // Pages of a block shared since fork are looked up and added in this space's own table.
        if let Some(range) = VaRange::new(va, end.min(MAXVA)) {
            self.resolve_reclaiming(range, false)?;
        }
        while va < end {
            if self.pt.lookup(addr::va(va)).is_none() {
                let Some(page) = super::reclaim::alloc_frame() else {
                    self.free_range(first, va);
                    return Err(Errno::NoMem);
                };
                if let Err(e) = self.pt.map(addr::va(va), page, PGSIZE, flags | PteFlags::U) {
                    frame::free(page);
                    self.free_range(first, va);
                    return Err(e);
                }
            }
            va += PGSIZE;
        }
        Ok(())
    }

    /// Unmaps and frees every present user page in [start, end) (page-rounded outward for
    /// `end`, inward for `start`). Absent pages are skipped.
    pub fn free_range(&mut self, start: usize, end: usize) {
        let (start, end) = (page_round_up(start), page_round_up(end).min(MAXVA));
        let Some(range) = VaRange::new(start, end) else { return }; // empty
        self.pt.update_leaves(range, |_, pte| {
            if pte.flags().contains(PteFlags::U) {
                frame::free(pte.pa());
                *pte = Pte::EMPTY;
            }
        });
    }

    /// A copy of this space for a forked child whose trap frame page is `trapframe`, sharing
    /// every present page: no page is copied, and the page tables only where they must be.
    ///
    /// - A 2 MiB block of anonymous memory (`stubs::shareable`) is not copied at all: parent
    ///   and child share its level-0 table behind a stub each (`vm::stubs`), so fork costs a
    ///   few table reads per 2 MiB however many pages are present. The table's pages, W bits
    ///   included, stay as they were until either side touches the block, which resolves its
    ///   stub (relinking the table, or copying it copy-on-write). The parent's entries for
    ///   those blocks become stubs, so its TLB is flushed.
    /// - In the other blocks (those holding file pages, the trampoline's) each present page
    ///   is mapped in the child, the same frame with one more reference. Pages of shared
    ///   mappings stay writable in both. Every private page (the image's data, private file
    ///   mappings) becomes read-only in BOTH spaces: the first store by either side copies
    ///   it, or just makes it writable again when the other side no longer holds it
    ///   (`fault::write_fault_on_present`). The parent's dirty, writable pages lose only W:
    ///   their bytes stay in the frame both now map.
    ///
    /// TLB: the parent is the current process, in the kernel on this hart (one thread per
    /// process, so no other hart runs it); the trampoline flushes the TLB (`sfence.vma`) when
    /// it switches back to the user page table, and this call flushes it too, so no stale
    /// writable entry survives.
    ///
    /// Fails [NoMem] when the child's tables cannot be allocated; the child's half-built space
    /// is then dropped (dropping every reference it took, shares of tables included) and the
    /// parent keeps all its pages, some now read-only or behind stubs, which its next access
    /// resolves without copying (reference count 1).
    pub fn duplicate(&mut self, trapframe: PhysAddr) -> Result<AddressSpace, Errno> {
        // The child's copy of the VMAs comes from the kernel heap, which a user with many
        // mappings must not be able to exhaust (that would panic the kernel).
        let vma_bytes = self.vmas.len().saturating_mul(super::mmap::MAPPING_HEAP_COST);
        if !crate::mm::heap::has_room_for_user(vma_bytes) {
            return Err(Errno::NoMem);
        }
        let mut child = AddressSpace::new(trapframe)?;
        child.heap_start = self.heap_start;
        child.brk = self.brk;
        child.vmas = self.vmas.clone();
        let AddressSpace { pt, vmas, brk, .. } = self;
        let heap_top = page_round_up(*brk);
        let mut shared_blocks = 0;
        let mut result = Ok(());
        'ranges: for range in user_ranges(*brk, vmas) {
            // Below the break lie the image, stack and heap, all private; above it each range
            // is one mapping.
            let shared = range.start() >= heap_top
                && vmas.find(range.start()).is_some_and(|v| v.share == Share::Shared);
            // Pages past the end of a mapped file are not copied: a truncation that set the
            // size is removing them from every space (`vm::truncate`), this one included.
            for part in inside_files(range, vmas) {
                // Each present page: one more reference to its frame, for the child's entry.
                // Should the child's tables run out, its drop releases what it took.
                // Every leaf of a user range is a user page, with or without U: a present page
                // of a `PROT_NONE` mapping has U clear (`vm::protect`) and is shared too.
                let copied = pt.fork_range(
                    &mut child.pt,
                    part,
                    |block| super::stubs::shareable(vmas, block),
                    |_, pte| {
                        Some(super::fault::fork_leaf(
                            if shared { Share::Shared } else { Share::Private },
                            pte,
                        ))
                    },
                );
                match copied {
                    Ok(n) => shared_blocks += n,
                    Err(e) => {
                        result = Err(e);
                        break 'ranges;
                    }
                }
            }
        }
        if shared_blocks > 0 {
            (self.stubs, child.stubs) = (true, true);
            flush_tlb(); // the parent's entries for the shared blocks are stubs now
        }
        result.map(|()| child)
    }

    /// Handles a fault at `va`: a page of the heap not yet present is allocated zeroed; a page
    /// of a mapping is supplied by `vm::fault` (which also makes a private mapping's copy at a
    /// store). Anything else is an error (the caller kills the process or fails the system
    /// call). When memory runs out, reclaim (`vm::reclaim`) frees clean file pages and the
    /// fault is tried again, as long as reclaim frees something.
    pub fn fault_in(&mut self, va: usize, access: Access) -> Result<(), Errno> {
        let mut tries = 0;
        loop {
            match self.fault_in_once(va, access) {
                Err(Errno::NoMem) if tries < RECLAIM_TRIES && super::reclaim::reclaim(self, va) => tries += 1,
                r => return r,
            }
        }
    }

    fn fault_in_once(&mut self, va: usize, access: Access) -> Result<(), Errno> {
        let page_va = page_round_down(va);
        if self.stubs && self.pt.is_stubbed(addr::va(page_va)) {
            // A block shared since fork: get it back (relinked, or copied) first. The fault
            // may have been the stub's alone: then the page now allows the access.
            let page = VaRange::new(page_va, page_va + PGSIZE).ok_or(Errno::Fault)?;
            self.resolve_stubs(page, false)?;
            let needed = match access {
                Access::Read => PteFlags::R,
                Access::Write => PteFlags::W,
                Access::Exec => PteFlags::X,
            };
            if self.pt.lookup(addr::va(page_va)).is_some_and(|p| p.flags().contains(PteFlags::U | needed)) {
                return Ok(());
            }
        }
        // The heap and the mappings never overlap (mmap and sbrk keep them apart).
        if va >= self.heap_start && va < self.brk {
            if let Some(pte) = self.pt.lookup(addr::va(page_va)) {
                // Present: a store to a page fork left shared read-only is copy-on-write;
                // any other access the page does not allow is not allowed at all.
                if access == Access::Write && !pte.flags().contains(PteFlags::W) {
                    let heap = PteFlags::R | PteFlags::W | PteFlags::U;
                    let page = addr::va(page_va);
                    return super::fault::write_fault_on_present(
                        &mut self.pt,
                        page,
                        pte,
                        heap,
                        Share::Private,
                        None,
                    );
                }
                return Err(Errno::Fault);
            }
            return self.alloc_range(page_va, page_va + PGSIZE, PteFlags::R | PteFlags::W);
        }
        super::fault::fault_vma(self, page_va, access)
    }

    /// The physical address backing user address `va` for an access of kind `access`, faulting
    /// the page in if the space allows it. Fails for addresses the user may not touch that way.
    pub fn translate(&mut self, va: usize, access: Access) -> Result<PhysAddr, Errno> {
        if va >= abi::USER_TOP {
            return Err(Errno::Fault);
        }
        let page_va = page_round_down(va);
        let needed = match access {
            Access::Read => PteFlags::R,
            Access::Write => PteFlags::W,
            Access::Exec => PteFlags::X,
        };
        let found = match self.pt.lookup(addr::va(page_va)) {
            // A page of a block shared since fork that the kernel only reads (a `write`
            // buffer, exec's arguments): read through the stub, copying no table. The shared
            // table holds the frame, and this space its share of the table, under its lock.
            None if access == Access::Read && self.stubs => self.pt.lookup_shared(addr::va(page_va)),
            p => p,
        };
        let pte = match found {
            Some(p) if p.flags().contains(PteFlags::U | needed) => p,
            // Absent, or present without the permission (a private file page stored to
            // gets its copy; anything else fails below).
            _ => {
                self.fault_in(va, access)?;
                self.pt.lookup(addr::va(page_va)).ok_or(Errno::Fault)?
            }
        };
        let f = pte.flags();
        if !f.contains(PteFlags::U) || !f.contains(needed) {
            return Err(Errno::Fault);
        }
        if access == Access::Write && !f.contains(PteFlags::A | PteFlags::D) {
            // The kernel stores through the physical address, so the hardware never sets the
            // dirty bit for it: set it here, or write-back would skip a shared page that a
            // system call (read into a mapping) modified.
            self.pt.update(addr::va(page_va), false, |p| p.with_flags(p.flags() | PteFlags::A | PteFlags::D));
        }
        Ok(addr::pa(pte.pa().as_usize() + (va - page_va)))
    }

    /// Changes the program break by `delta` bytes. Growth is eager (pages allocated now) or
    /// lazy (pages appear on first touch); shrinking frees the pages above the new break.
    /// Returns the old break. A shrink by more than the whole size (`brk + delta < 0`)
    /// changes nothing and returns the old break, as xv6 does (ABI.md); a shrink below the
    /// heap start, into the stack or image, fails.
    pub fn sbrk(&mut self, delta: isize, lazy: bool) -> Result<usize, Errno> {
        let old = self.brk;
        if delta >= 0 {
            let new = old.checked_add(delta as usize).ok_or(Errno::NoMem)?;
            if new > HEAP_LIMIT {
                return Err(Errno::NoMem);
            }
            // The heap never grows into a mapping.
            let grow = VirtRange::new(page_round_up(old), page_round_up(new));
            if grow.is_some_and(|r| self.vmas.overlaps(r)) {
                return Err(Errno::NoMem);
            }
            if !lazy {
                self.alloc_range(old, new, PteFlags::R | PteFlags::W)?;
            }
            self.brk = new;
        } else {
            // xv6 computes `sz + n` unsigned: past zero it wraps, looks like growth, and its
            // deallocator leaves the size alone.
            let Some(new) = old.checked_sub(delta.unsigned_abs()) else { return Ok(old) };
            if new < self.heap_start {
                return Err(Errno::Inval);
            }
            self.prepare_removal(page_round_up(new), page_round_up(old))?;
            self.free_range(new, old);
            self.brk = new;
        }
        Ok(old)
    }

    /// The heap, [heap_start, brk) rounded up to whole pages, if not empty.
    pub fn heap_range(&self) -> Option<VirtRange> {
        VirtRange::new(self.heap_start, page_round_up(self.brk))
    }

    /// The regions `vmmaps` lists: every mapping, and the heap when it is not empty.
    pub fn region_count(&self) -> usize {
        self.vmas.len() + usize::from(self.heap_range().is_some())
    }

    /// The physical page mapped (for the user) at page `page_va`, if present.
    pub fn present_page(&self, page_va: VirtAddr) -> Option<PhysAddr> {
        let pte = self.pt.lookup(page_va)?;
        pte.flags().contains(PteFlags::U).then(|| pte.pa())
    }
}

/// The parts of `range` that lie outside the pages wholly past the end of a mapped file (all
/// of it, unless a file mapping in it reaches past its file's end), in address order.
fn inside_files(range: VaRange, vmas: &VmaSet<MapObject>) -> impl Iterator<Item = VaRange> + '_ {
    let (start, end) = (range.start(), range.end());
    let holes = VirtRange::new(start, end)
        .into_iter()
        .flat_map(move |r| vmas.iter_overlapping(r))
        .filter_map(move |v| VaRange::new(end_of_file(v).max(start), v.range().end().min(end)))
        .filter(|h| !h.is_empty());
    let mut pos = start;
    holes.map(Some).chain(core::iter::once(None)).filter_map(move |hole| {
        let part = match hole {
            Some(h) => {
                let before = VaRange::new(pos, h.start());
                pos = h.end();
                before
            }
            None => VaRange::new(pos, end),
        };
        part.filter(|p| !p.is_empty())
    })
}

/// The address in `vma` where the pages wholly past the end of its file begin (its end if
/// the file covers it; `usize::MAX` for anything but a file mapping).
fn end_of_file(vma: &vmspace::Vma<MapObject>) -> usize {
    let vmspace::Backing::File { file: obj @ MapObject::File(_), offset } = &vma.backing else {
        return usize::MAX;
    };
    let Some(cache) = obj.cache() else { return usize::MAX };
    let inside = cache.size().div_ceil(PGSIZE as u64).saturating_sub(offset / PGSIZE as u64);
    let range = vma.range();
    range.start() + (inside.min(range.pages() as u64) as usize) * PGSIZE
}

/// The ranges of an address space whose break is `brk` and whose mappings are `vmas` that can
/// hold user pages: [0, top of the heap), which holds the image, guard page, stack and heap
/// (mappings are never placed below the break), and each mapping above it.
pub(super) fn user_ranges<'a>(brk: usize, vmas: &'a VmaSet<MapObject>) -> impl Iterator<Item = VaRange> + 'a {
    let heap_top = page_round_up(brk);
    let low = VaRange::new(0, heap_top).filter(|r| !r.is_empty());
    let above = VirtRange::new(heap_top, abi::USER_TOP);
    let maps = above
        .into_iter()
        .flat_map(move |r| vmas.iter_overlapping(r))
        .filter_map(|v| VaRange::new(v.range().start(), v.range().end()));
    low.into_iter().chain(maps)
}

impl Drop for AddressSpace {
    /// Frees every user page and (dropping `pt` afterwards) every page-table page. The trap
    /// frame page (owned by the process) is not freed.
    fn drop(&mut self) {
        self.drop_all_stubs();
        let AddressSpace { pt, vmas, brk, .. } = self;
        for range in user_ranges(*brk, vmas) {
            // Every leaf here is a user page (a PROT_NONE one has no U bit).
            pt.update_leaves(range, |_, pte| {
                frame::free(pte.pa());
                *pte = Pte::EMPTY;
            });
        }
        // The trampoline and the trap frame (no U bit) are not ours to free.
        for page in [abi::TRAMPOLINE, abi::TRAPFRAME] {
            pt.unmap(addr::va(page));
        }
    }
}
