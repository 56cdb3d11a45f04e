//! User page faults. A fault inside a mapping is resolved here by the mapping's kind:
//! private anonymous pages are allocated zeroed; shared pages (file or anonymous) come from the
//! object's page cache and are mapped as is, so every sharer sees every store; private file
//! pages map the cached file page read-only until the first store, which gives the process its
//! own copy (copy-on-write). After fork, every private page (heap, stack, data, private
//! mappings) is shared read-only by parent and child; a store to such a page, in a mapping or
//! the heap, is decided by [`write_fault_on_present`]: copy the page, or, when no one else
//! holds the frame any more, just make it writable. A fault the mapping does not allow (wrong permission, PROT_NONE,
//! a whole page past end-of-file) is an error, and the trap handler kills the process.
//!
//! Two things make file faults cheap. A page already cached is mapped without any sleep lock,
//! disk access or copy (the cache mirrors the file size, so the end-of-file check needs no
//! inode lock). A read fault also maps the cached neighbours in its aligned window of
//! `FAULT_AROUND` pages (fault-around), and a miss reads ahead when faults move forward
//! sequentially (`PageCache::readahead_window`), so a scan of a file faults about once per
//! window. A mapping's `madvise` advice adjusts both (`vm::advice`).

use super::space::{AddressSpace, MapObject};
use super::{fileio, stats, Access};
use crate::mm::addr::va;
use crate::mm::pagetable::{PageTable, Pte, PteFlags};
use crate::mm::{frame, PhysAddr, VirtAddr, PGSIZE};
use crate::proc;
use abi::Errno;
use core::sync::atomic::{AtomicU64, Ordering};
use vmspace::{Backing, Prot, Share, Vma};

/// Faults resolved, by kind (for statistics and tests): `ANON_FAULTS` zero-filled private
/// anonymous pages; `FILE_FAULTS` went through a page cache, and split into
/// `stats::SHARED_FAULTS` (the cached page itself was mapped: shared mappings, and private
/// ones until their first store) and `stats::COPY_FAULTS` (a private copy was made).
/// Pages mapped by fault-around are not faults and count nowhere.
pub static ANON_FAULTS: AtomicU64 = AtomicU64::new(0);
pub static FILE_FAULTS: AtomicU64 = AtomicU64::new(0);

/// Pages in a fault-around window (aligned in the address space; a power of two, at most 512
/// so that a window never crosses a page-table page).
const FAULT_AROUND: usize = 16;

/// Resolves a fault at user address `va` for an access of kind `access` in the current
/// process (the trap handler's entry).
pub fn handle(va: usize, access: Access) -> Result<(), Errno> {
    proc::with_vm(|vm| vm.fault(va, access))
}

/// PTE permission bits for a mapping's protection (RISC-V has no write-only pages, so
/// PROT_WRITE implies read).
pub fn pte_flags(prot: Prot) -> PteFlags {
    let mut f = PteFlags::U;
    if prot.contains(Prot::READ) || prot.contains(Prot::WRITE) {
        f |= PteFlags::R;
    }
    if prot.contains(Prot::WRITE) {
        f |= PteFlags::W;
    }
    if prot.contains(Prot::EXEC) {
        f |= PteFlags::X;
    }
    f
}

/// The PTE bit an access needs.
fn needed(access: Access) -> PteFlags {
    match access {
        Access::Read => PteFlags::R,
        Access::Write => PteFlags::W,
        Access::Exec => PteFlags::X,
    }
}

/// Supplies the page at `page_va` of a mapping of `space` for an access of kind `access`:
/// maps it when absent; a store to a page present read-only in a writable mapping goes to
/// [`write_fault_on_present`] (copy-on-write). A page already present with the needed
/// permission is left alone.
/// Fails [Fault] when no mapping covers `page_va` or the access is not allowed.
pub(super) fn fault_vma(space: &mut AddressSpace, page_va: usize, access: Access) -> Result<(), Errno> {
    let AddressSpace { pt, vmas, .. } = space;
    let vma = vmas.find(page_va).ok_or(Errno::Fault)?;
    let flags = pte_flags(vma.prot);
    if !flags.contains(needed(access)) {
        return Err(Errno::Fault);
    }
    // Mappings lie below USER_TOP, so this is a virtual address.
    let page = va(page_va);
    if let Some(pte) = pt.lookup(page) {
        if pte.flags().contains(needed(access)) {
            return Ok(()); // resolved already (MAP_POPULATE over fault-around pages)
        }
        // Present without the permission the mapping grants: only a store can be that (a
        // present user page is always readable), to a page mapped read-only on purpose.
        if access != Access::Write {
            return Err(Errno::Fault);
        }
        let cached = match &vma.backing {
            Backing::File { file: obj @ MapObject::File(_), offset } => {
                obj.cache().map(|c| (c, (offset + (page_va - vma.range().start()) as u64) / PGSIZE as u64))
            }
            _ => None,
        };
        return write_fault_on_present(pt, page, pte, flags, vma.share, cached);
    }
    let Backing::File { file: obj, offset } = &vma.backing else {
        let pa = frame::alloc().ok_or(Errno::NoMem)?;
        ANON_FAULTS.fetch_add(1, Ordering::Relaxed);
        return install(pt, page, pa, flags | PteFlags::A | PteFlags::D);
    };
    let index = (offset + (page_va - vma.range().start()) as u64) / PGSIZE as u64;
    let pa = object_page(obj, vma, index, page_va)?;
    FILE_FAULTS.fetch_add(1, Ordering::Relaxed);
    let private = vma.share == Share::Private;
    if private && access == Access::Write {
        stats::COPY_FAULTS.fetch_add(1, Ordering::Relaxed);
        return copy_into_new(pt, page, flags, pa);
    }
    // Shared pages are mapped writable if the mapping is (the PTE's dirty bit then tells
    // write-back what changed); private ones read-only until their first store.
    let map_flags = if private { flags - PteFlags::W } else { flags };
    stats::SHARED_FAULTS.fetch_add(1, Ordering::Relaxed);
    install(pt, page, pa, map_flags | PteFlags::A)?;
    if access != Access::Write && super::advice::fault_around(vma.advice) {
        map_around(pt, vma, page_va, map_flags);
    }
    Ok(())
}

/// The one decision for a store to a page that is present but mapped without W in a region
/// whose protection allows stores (`flags`, the region's PTE bits with W): the heap
/// (`AddressSpace::fault_in_once`) and every mapping (`fault_vma`) come here, and so do the
/// kernel's own stores into user memory (`Vm::copy_out` translates for `Access::Write`). A
/// page is in that state when:
///
/// - it belongs to a shared mapping (a protection change left it read-only): every sharer
///   stores into the same frame, so W is simply set (the hardware's D bit records the store);
/// - it is a private file mapping's view of the page cache's own frame (`cached` names the
///   cache and page index): the cache holds a reference, and other mappings and `read` see
///   the frame, so the process always gets a copy, however few references there are;
/// - it is a private page shared copy-on-write since a fork (or an mprotect left it
///   read-only): when the frame has other references (another process maps it) the process
///   gets a copy (`COW_FAULTS`); when this PTE holds the only reference (the other sides
///   exited, exec'd or copied already), nobody else can see the frame and nobody can take a
///   new reference to it without holding one, so W (and A, D) is set in place and nothing is
///   copied. The reference count is read with Acquire, which pairs with the Release of the
///   other holders' `frame::free` (as `Arc::get_mut` does): their last reads of the frame
///   happen before this process's stores.
///
/// Fails [NoMem] when a copy cannot be allocated (the caller reclaims and retries).
pub(super) fn write_fault_on_present(
    pt: &mut PageTable,
    page: VirtAddr,
    pte: Pte,
    flags: PteFlags,
    share: Share,
    cached: Option<(&super::pagecache::PageCache, u64)>,
) -> Result<(), Errno> {
    let pa = pte.pa();
    if share == Share::Shared {
        let d = pte.flags() & PteFlags::D;
        pt.update(page, false, |_| Pte::new(pa, flags | d | PteFlags::V | PteFlags::A));
        return Ok(());
    }
    if cached.is_some_and(|(cache, index)| cache.holds(index, pa)) {
        frame::share(pa); // our reference while copying
        FILE_FAULTS.fetch_add(1, Ordering::Relaxed);
        stats::COPY_FAULTS.fetch_add(1, Ordering::Relaxed);
        return copy_into_new(pt, page, flags, pa);
    }
    if frame::refcount(pa) == 1 {
        pt.update(page, false, |_| Pte::new(pa, flags | PteFlags::V | PteFlags::A | PteFlags::D));
        return Ok(());
    }
    frame::share(pa); // our reference while copying
    stats::COW_FAULTS.fetch_add(1, Ordering::Relaxed);
    copy_into_new(pt, page, flags, pa)
}

/// The page at `index` of the mapping's object with a reference for the caller: for a file,
/// from its page cache when it holds it, else read from the file (with readahead); for
/// shared anonymous memory, its page (zeroed when new). Fails [Fault] for a page wholly past
/// end-of-file.
fn object_page(obj: &MapObject, vma: &Vma<MapObject>, index: u64, page_va: usize) -> Result<PhysAddr, Errno> {
    let f = match obj {
        MapObject::SharedAnon(anon) => return anon.page(index),
        MapObject::File(f) => f,
    };
    let cache = obj.cache().ok_or(Errno::Fault)?;
    if index * PGSIZE as u64 >= cache.size() {
        return Err(Errno::Fault); // a whole page past end-of-file
    }
    if let Some(pa) = cache.lookup_fault(index) {
        return Ok(pa);
    }
    let left_in_vma = ((vma.range().end() - page_va) / PGSIZE) as u64;
    let mut window = super::advice::readahead_pages(vma.advice, cache, index).min(left_in_vma);
    if frame::free_count() < super::reclaim::LOW_FREE {
        window = 1; // memory is low: read only the page needed (readahead never reclaims)
    }
    fileio::fill(f, index, window)
}

/// Maps `pa` at the absent page `page` with `flags` (V added), consuming the caller's
/// reference to `pa`, which is dropped again on failure.
fn install(pt: &mut PageTable, page: VirtAddr, pa: PhysAddr, flags: PteFlags) -> Result<(), Errno> {
    if pt.update(page, true, |_| Pte::new(pa, flags | PteFlags::V)).is_none() {
        frame::free(pa);
        return Err(Errno::NoMem);
    }
    Ok(())
}

/// Maps a new private copy of the page `old` at `page` with `flags` (plus A and D),
/// replacing whatever was mapped there, and drops the caller's reference to `old`.
fn copy_into_new(pt: &mut PageTable, page: VirtAddr, flags: PteFlags, old: PhysAddr) -> Result<(), Errno> {
    let copy = frame::alloc();
    if let Some(c) = copy {
        crate::mm::page::copy_page(c, old);
    }
    frame::free(old);
    let copy = copy.ok_or(Errno::NoMem)?;
    let new = Pte::new(copy, flags | PteFlags::V | PteFlags::A | PteFlags::D);
    let Some(replaced) = pt.update(page, true, |_| new) else {
        frame::free(copy);
        return Err(Errno::NoMem);
    };
    // A page the copy replaces holds the mapping's reference to `old`'s frame: drop it. (The
    // TLB needs no flush: the user page table is only live in user mode, and returning there
    // flushes it.)
    if replaced.is_valid() {
        frame::free(replaced.pa());
    }
    Ok(())
}

/// Fault-around: maps the pages of `vma`'s cache that are cached and absent in the aligned
/// window of `FAULT_AROUND` pages around `page_va`, within the mapping and before
/// end-of-file, with `flags` plus A.
fn map_around(pt: &mut PageTable, vma: &Vma<MapObject>, page_va: usize, flags: PteFlags) {
    let Backing::File { file: obj, offset } = &vma.backing else { return };
    let (vma_start, vma_end) = (vma.range().start(), vma.range().end());
    let span = FAULT_AROUND * PGSIZE;
    let lo = (page_va & !(span - 1)).max(vma_start);
    let hi = ((page_va & !(span - 1)) + span).min(vma_end);
    let index_of = |va: usize| (offset + (va - vma_start) as u64) / PGSIZE as u64;
    let first_index = index_of(vma_start);
    let map_one = |index: u64, pa: PhysAddr| {
        let page = vma_start + ((index - first_index) as usize) * PGSIZE;
        // The window lies in the level-0 table the faulting page was just mapped in.
        let mut mapped = false;
        pt.update(va(page), false, |old| {
            if old.is_valid() {
                return old;
            }
            mapped = true;
            Pte::new(pa, flags | PteFlags::V | PteFlags::A)
        });
        mapped
    };
    match obj {
        MapObject::File(_) => {
            let Some(cache) = obj.cache() else { return };
            let end_index = index_of(hi).min(cache.size().div_ceil(PGSIZE as u64));
            cache.for_each_cached(index_of(lo), end_index, map_one);
        }
        MapObject::SharedAnon(anon) => anon.for_each_present(index_of(lo), index_of(hi), map_one),
    }
}
