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
use crate::mm::addr::{page_round_down, page_round_up};
use crate::mm::pagetable::{PageTable, Pte, PteFlags};
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
const RECLAIM_TRIES: usize = 8;

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
}

impl AddressSpace {
    /// An empty space with the trampoline and the trap frame page `trapframe` mapped.
    pub fn new(trapframe: PhysAddr) -> Result<AddressSpace, Errno> {
        let mut pt = PageTable::new().ok_or(Errno::NoMem)?;
        let tramp = PhysAddr(trampoline::trampoline_start as *const () as usize);
        let ok = pt
            .map(VirtAddr(abi::TRAMPOLINE), tramp, PGSIZE, PteFlags::R | PteFlags::X)
            .and_then(|_| pt.map(VirtAddr(abi::TRAPFRAME), trapframe, PGSIZE, PteFlags::R | PteFlags::W));
        if let Err(e) = ok {
            pt.unmap(VirtAddr(abi::TRAMPOLINE));
            pt.free_tables();
            return Err(e);
        }
        Ok(AddressSpace {
            pt,
            heap_start: 0,
            brk: 0,
            vmas: VmaSet::new(),
            reclaim_cursor: 0,
            torn_down: false,
        })
    }

    /// Maps fresh zeroed pages over [start, end) with `flags` (U is added). On failure every
    /// page this call mapped is freed again.
    pub fn alloc_range(&mut self, start: usize, end: usize, flags: PteFlags) -> Result<(), Errno> {
        let mut va = page_round_up(start);
        let end = page_round_up(end);
        let first = va;
        while va < end {
            if self.pt.lookup(VirtAddr(va)).is_none() {
                let Some(page) = super::reclaim::alloc_frame() else {
                    self.free_range(first, va);
                    return Err(Errno::NoMem);
                };
                if let Err(e) = self.pt.map(VirtAddr(va), page, PGSIZE, flags | PteFlags::U) {
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
        let mut va = page_round_up(start);
        while va < page_round_up(end) {
            match self.pt.walk(VirtAddr(va), false) {
                // Skip a whole missing level-0 table at once.
                None => va = (va | (512 * PGSIZE - 1)) + 1,
                Some(pte) => {
                    if pte.is_valid() && pte.flags().contains(PteFlags::U) {
                        let pa = pte.pa();
                        *pte = Pte(0);
                        frame::free(pa);
                    }
                    va += PGSIZE;
                }
            }
        }
    }

    /// Calls `f(va, pte)` for every present user page, in address order.
    pub fn for_each_user_page(&self, mut f: impl FnMut(usize, Pte)) {
        fn visit(table: PhysAddr, level: usize, base: usize, f: &mut dyn FnMut(usize, Pte)) {
            for i in 0..512 {
                // SAFETY: `table` is a page-table page of this space; i < 512.
                let pte = unsafe { *table.as_ptr::<Pte>().add(i) };
                if !pte.is_valid() {
                    continue;
                }
                let va = base | (i << (12 + 9 * level));
                if pte.is_leaf() {
                    if pte.flags().contains(PteFlags::U) {
                        f(va, pte);
                    }
                } else if level > 0 {
                    visit(pte.pa(), level - 1, va, f);
                }
            }
        }
        visit(self.pt.root(), 2, 0, &mut f);
    }

    /// A copy of this space for a forked child whose trap frame page is `trapframe`: every
    /// present user page is copied; absent (lazy) pages stay absent.
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
        let mut result = Ok(());
        let vmas = &self.vmas;
        self.for_each_user_page(|va, pte| {
            if result.is_err() {
                return;
            }
            // Shared pages stay shared: the child maps the very same frame. So do read-only
            // pages of private mappings (cached file pages not yet copied, pages of a
            // read-only mapping): nobody can store to them without copying first.
            let in_vma = vmas.find(va).map(|v| v.share);
            if in_vma == Some(Share::Shared) || (in_vma.is_some() && !pte.flags().contains(PteFlags::W)) {
                frame::share(pte.pa());
                let flags = pte.flags() & !PteFlags::D;
                if let Err(e) = child.pt.map_exact(VirtAddr(va), pte.pa(), flags) {
                    frame::free(pte.pa());
                    result = Err(e);
                }
                return;
            }
            let Some(page) = frame::alloc() else {
                result = Err(Errno::NoMem);
                return;
            };
            crate::mm::page::copy_page(page, pte.pa());
            let flags = pte.flags() & (PteFlags::R | PteFlags::W | PteFlags::X | PteFlags::U);
            if let Err(e) = child.pt.map(VirtAddr(va), page, PGSIZE, flags) {
                frame::free(page);
                result = Err(e);
            }
        });
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
        // The heap and the mappings never overlap (mmap and sbrk keep them apart).
        if va >= self.heap_start && va < self.brk {
            if self.pt.lookup(VirtAddr(page_va)).is_some() {
                return Err(Errno::Fault); // present, so the access itself is not allowed
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
        let pte = match self.pt.lookup(VirtAddr(page_va)) {
            Some(p) if p.flags().contains(PteFlags::U | needed) => p,
            // Absent, or present without the permission (a private file page stored to
            // gets its copy; anything else fails below).
            _ => {
                self.fault_in(va, access)?;
                self.pt.lookup(VirtAddr(page_va)).ok_or(Errno::Fault)?
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
            if let Some(p) = self.pt.walk(VirtAddr(page_va), false) {
                *p = Pte::new(p.pa(), p.flags() | PteFlags::A | PteFlags::D);
            }
        }
        Ok(PhysAddr(pte.pa().0 + (va - page_va)))
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
            self.free_range(new, old);
            self.brk = new;
        }
        Ok(old)
    }

    /// The physical page mapped (for the user) at page `page_va`, if present.
    pub fn present_page(&mut self, page_va: usize) -> Option<PhysAddr> {
        let pte = self.pt.lookup(VirtAddr(page_va))?;
        pte.flags().contains(PteFlags::U).then(|| pte.pa())
    }
}

impl Drop for AddressSpace {
    /// Frees every user page and every page-table page. The trap frame page (owned by the
    /// process) is not freed.
    fn drop(&mut self) {
        self.for_each_user_page(|_, pte| frame::free(pte.pa()));
        self.pt.unmap(VirtAddr(abi::TRAMPOLINE));
        self.pt.unmap(VirtAddr(abi::TRAPFRAME));
        self.pt.free_tables();
    }
}
