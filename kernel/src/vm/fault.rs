//! User page faults: the kernel's executor of `vmcore`'s fault rule. A fault inside a mapping
//! asks [`vmcore::decide`] what to do for the mapping's kind, protection and advice, the
//! access and the PTE there now, and carries the [`Decision`] out on this process's page
//! table, the frame allocator and the mapping's page cache. This file decides nothing itself:
//! which pages are zero-filled, mapped from the cache, copied or made writable in place
//! (copy-on-write after fork included), with which PTE bits, when a fault maps its
//! neighbours, and how far a miss reads ahead are `vmcore`'s rules, tested on the host
//! (crates/vmcore). A fault the rule refuses (wrong permission, `PROT_NONE`, a whole page past
//! end-of-file) is an error, and the trap handler kills the process.
//!
//! Two things make file faults cheap. A page already cached is mapped without any sleep lock,
//! disk access or copy (the cache mirrors the file size, so the end-of-file check needs no
//! inode lock). A read fault also maps the cached neighbours in its aligned window
//! (fault-around, `vmcore::fault_around`), and a miss reads ahead when faults move forward
//! sequentially (`vmcore::Readahead`, kept by the page cache), so a scan of a file faults
//! about once per window. A mapping's `madvise` advice adjusts both.

use super::pagecache::PageCache;
use super::space::{AddressSpace, MapObject};
use super::{fileio, stats, Access};
use crate::mm::addr::va;
use crate::mm::pagetable::{PageTable, Pte, PteFlags};
use crate::mm::{frame, PhysAddr, VirtAddr, PGSIZE};
use crate::proc;
use abi::Errno;
use core::sync::atomic::{AtomicU64, Ordering};
use vmcore::{Decision, FrameState, Site, VmaKind};
use vmspace::{Backing, Prot, Share, Vma};

/// Faults resolved, by kind (for statistics and tests): `ANON_FAULTS` zero-filled private
/// anonymous pages; `FILE_FAULTS` went through a page cache, and split into
/// `stats::SHARED_FAULTS` (the cached page itself was mapped: shared mappings, and private
/// ones until their first store) and `stats::COPY_FAULTS` (a private copy was made).
/// Pages mapped by fault-around are not faults and count nowhere.
pub static ANON_FAULTS: AtomicU64 = AtomicU64::new(0);
pub static FILE_FAULTS: AtomicU64 = AtomicU64::new(0);

/// Resolves a fault at user address `va` for an access of kind `access` in the current
/// process (the trap handler's entry).
pub fn handle(va: usize, access: Access) -> Result<(), Errno> {
    proc::with_vm(|vm| vm.fault(va, access))
}

/// PTE permission bits for a mapping's protection: `vmcore`'s conversion (the only one; U
/// always, PROT_WRITE implies R), in the kernel's type.
pub fn pte_flags(prot: Prot) -> PteFlags {
    kernel_bits(vmcore::PteFlags::from(prot))
}

/// `vmcore`'s R W X U A D bits as the kernel's PTE flags (the same hardware positions).
pub(super) fn kernel_bits(f: vmcore::PteFlags) -> PteFlags {
    PteFlags::from_bits_truncate(f.bits())
}

/// The R W X U A D bits of the kernel's PTE flags, for `vmcore` (V and G dropped).
pub(super) fn core_bits(f: PteFlags) -> vmcore::PteFlags {
    vmcore::PteFlags::from_bits_truncate(f.bits())
}

/// Fork's rule for one present page, as `vmcore::fork_flags` states it: the child's entry
/// takes one more reference to the frame; the parent's entry `pte` gets the parent's bits and
/// the child's entry is returned. The rule depends only on whether the page's region is
/// shared (a private page loses W on both sides; a shared one keeps W, the child's copy
/// without D), so the region's kind is given by its sharing. V and the other bits stay.
pub(super) fn fork_leaf(share: Share, pte: &mut Pte) -> Pte {
    frame::share(pte.pa());
    let old = pte.flags();
    let (parent, child) = vmcore::fork_flags(VmaKind::new(share, false), core_bits(old));
    let kept = old - kernel_bits(vmcore::PteFlags::ALL);
    *pte = pte.with_flags(kept | kernel_bits(parent));
    pte.with_flags(kept | kernel_bits(child))
}

/// The kind of a mapping, as `vmcore`'s rules see it.
pub(super) fn kind_of(vma: &Vma<MapObject>) -> VmaKind {
    let file = matches!(&vma.backing, Backing::File { file: MapObject::File(_), .. });
    VmaKind::new(vma.share, file)
}

fn core_access(access: Access) -> vmcore::Access {
    match access {
        Access::Read => vmcore::Access::Read,
        Access::Write => vmcore::Access::Write,
        Access::Exec => vmcore::Access::Exec,
    }
}

/// Supplies the page at `page_va` of a mapping of `space` for an access of kind `access`, as
/// [`vmcore::decide`] says. A page already present with the needed permission is left alone.
/// Fails [Fault] when no mapping covers `page_va` or the rule refuses the access, [NoMem]
/// when a frame or a page-table page cannot be had (the caller reclaims and retries).
pub(super) fn fault_vma(space: &mut AddressSpace, page_va: usize, access: Access) -> Result<(), Errno> {
    let AddressSpace { pt, vmas, .. } = space;
    let vma = vmas.find(page_va).ok_or(Errno::Fault)?;
    // Mappings lie below USER_TOP, so this is a virtual address.
    let page = va(page_va);
    let pte = pt.lookup(page);
    let (obj, index) = match &vma.backing {
        Backing::File { file, offset } => {
            (Some(file), (offset + (page_va - vma.range().start()) as u64) / PGSIZE as u64)
        }
        Backing::Anonymous => (None, 0),
    };
    let kind = kind_of(vma);
    let cache = obj.and_then(MapObject::cache);
    let file_pages = match cache {
        Some(c) => c.size().div_ceil(PGSIZE as u64),
        None if kind.is_file() => return Err(Errno::Fault), // a file without pages
        None => u64::MAX,
    };
    let frame = || {
        let pa = pte.expect("asked about a present page").pa();
        frame_state(pa, cache.map(|c| (c, index)))
    };
    let site = Site { kind, prot: vma.prot, advice: vma.advice };
    let present = pte.map(|p| core_bits(p.flags()));
    match vmcore::decide(site, core_access(access), present, index, file_pages, frame) {
        Decision::Kill(_) => Err(Errno::Fault),
        Decision::AlreadyDone => Ok(()), // resolved already (MAP_POPULATE over fault-around pages)
        Decision::ZeroFill { flags } => {
            let pa = frame::alloc().ok_or(Errno::NoMem)?;
            ANON_FAULTS.fetch_add(1, Ordering::Relaxed);
            install(pt, page, pa, kernel_bits(flags))
        }
        Decision::MapCached { flags, fault_around } => {
            let pa = object_page(obj.ok_or(Errno::Fault)?, cache, vma, index, page_va)?;
            FILE_FAULTS.fetch_add(1, Ordering::Relaxed);
            stats::SHARED_FAULTS.fetch_add(1, Ordering::Relaxed);
            install(pt, page, pa, kernel_bits(flags))?;
            if fault_around {
                map_around(pt, vma, page_va, kernel_bits(flags));
            }
            Ok(())
        }
        Decision::CopyCached { flags } => {
            let pa = object_page(obj.ok_or(Errno::Fault)?, cache, vma, index, page_va)?;
            FILE_FAULTS.fetch_add(1, Ordering::Relaxed);
            stats::COPY_FAULTS.fetch_add(1, Ordering::Relaxed);
            copy_into_new(pt, page, kernel_bits(flags), pa)
        }
        Decision::MakeWritable { flags } => make_writable(pt, page, flags),
        Decision::CopyPresent { flags, cache_page } => {
            copy_present(pt, page, pte.ok_or(Errno::Fault)?.pa(), flags, cache_page)
        }
    }
}

/// A store to the heap's present page `page`, mapped by `pte` without W, in a region whose
/// PTE bits with W are `flags`: the heap (`AddressSpace::fault_in_once`) comes here, for
/// hardware faults and for the kernel's own stores into user memory (`Vm::copy_out`
/// translates for `Access::Write`). `share` and `cached` (the page cache and page index of a
/// private file mapping) describe the region; [`vmcore::store_to_present`] decides (copy the
/// page while someone else can see the frame, else set W in place).
///
/// Fails [NoMem] when a copy cannot be allocated (the caller reclaims and retries).
pub(super) fn write_fault_on_present(
    pt: &mut PageTable,
    page: VirtAddr,
    pte: Pte,
    flags: PteFlags,
    share: Share,
    cached: Option<(&PageCache, u64)>,
) -> Result<(), Errno> {
    let pa = pte.pa();
    let frame = || frame_state(pa, cached);
    match vmcore::store_to_present(share == Share::Shared, core_bits(flags), core_bits(pte.flags()), frame) {
        Decision::MakeWritable { flags } => make_writable(pt, page, flags),
        Decision::CopyPresent { flags, cache_page } => copy_present(pt, page, pa, flags, cache_page),
        _ => Err(Errno::Fault), // store_to_present decides nothing else
    }
}

/// What the rule needs to know about the frame `pa` of a present page: whether it is the
/// page cache's own page at the index (`cached`), and its reference count, read with Acquire
/// (pairing with the Release of the other holders' `frame::free`, as `Arc::get_mut` does:
/// their last accesses happen before this process's stores when the count is 1).
fn frame_state(pa: PhysAddr, cached: Option<(&PageCache, u64)>) -> FrameState {
    FrameState {
        cache_page: cached.is_some_and(|(cache, index)| cache.holds(index, pa)),
        refcount: frame::refcount(pa),
    }
}

/// [`Decision::MakeWritable`]: the present page at `page` gets `flags` (its frame stays).
fn make_writable(pt: &mut PageTable, page: VirtAddr, flags: vmcore::PteFlags) -> Result<(), Errno> {
    let flags = kernel_bits(flags) | PteFlags::V;
    pt.update(page, false, |old| Pte::new(old.pa(), flags));
    Ok(())
}

/// [`Decision::CopyPresent`]: replaces the frame `pa` mapped at `page` by a copy mapped with
/// `flags`, counted as a private file copy when it was the cache's page, else as a
/// copy-on-write fault.
fn copy_present(
    pt: &mut PageTable,
    page: VirtAddr,
    pa: PhysAddr,
    flags: vmcore::PteFlags,
    cache_page: bool,
) -> Result<(), Errno> {
    frame::share(pa); // our reference while copying
    if cache_page {
        FILE_FAULTS.fetch_add(1, Ordering::Relaxed);
        stats::COPY_FAULTS.fetch_add(1, Ordering::Relaxed);
    } else {
        stats::COW_FAULTS.fetch_add(1, Ordering::Relaxed);
    }
    copy_into_new(pt, page, kernel_bits(flags), pa)
}

/// The page at `index` of the mapping's object with a reference for the caller: for a file,
/// from its page cache (`cache`) when it holds it, else read from the file with the readahead
/// window `vmcore` gives; for shared anonymous memory, its page (zeroed when new). Fails
/// [Fault] for a page wholly past end-of-file (truncated since the decision).
fn object_page(
    obj: &MapObject,
    cache: Option<&PageCache>,
    vma: &Vma<MapObject>,
    index: u64,
    page_va: usize,
) -> Result<PhysAddr, Errno> {
    let f = match obj {
        MapObject::SharedAnon(anon) => return anon.page(index),
        MapObject::File(f) => f,
    };
    let cache = cache.ok_or(Errno::Fault)?;
    if let Some(pa) = cache.lookup_fault(index) {
        return Ok(pa);
    }
    let left_in_vma = ((vma.range().end() - page_va) / PGSIZE) as u64;
    let window = cache.readahead_window_for(index, vma.advice);
    fileio::fill(f, index, vmcore::fault_window(window, left_in_vma, super::reclaim::memory_low()))
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

/// Maps a new private copy of the page `old` at `page` with `flags` (V added), replacing
/// whatever was mapped there, and drops the caller's reference to `old`.
fn copy_into_new(pt: &mut PageTable, page: VirtAddr, flags: PteFlags, old: PhysAddr) -> Result<(), Errno> {
    let copy = frame::alloc();
    if let Some(c) = copy {
        crate::mm::page::copy_page(c, old);
    }
    frame::free(old);
    let copy = copy.ok_or(Errno::NoMem)?;
    let new = Pte::new(copy, flags | PteFlags::V);
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

/// Fault-around: maps, with `flags` (V added), the pages of `vma`'s object that are cached
/// and absent in `vmcore::fault_around`'s window around `page_va` (aligned, within the
/// mapping and before end-of-file).
fn map_around(pt: &mut PageTable, vma: &Vma<MapObject>, page_va: usize, flags: PteFlags) {
    let Backing::File { file: obj, offset } = &vma.backing else { return };
    let first_index = offset / PGSIZE as u64; // the offset is page-aligned
    let cache = obj.cache();
    let file_pages = cache.map(|c| c.size().div_ceil(PGSIZE as u64));
    let Some(window) = vmcore::fault_around(page_va, vma.range(), first_index, file_pages) else { return };
    let vma_start = vma.range().start();
    let index_of = |va: usize| first_index + ((va - vma_start) / PGSIZE) as u64;
    let (first, end) = (index_of(window.start()), index_of(window.end()));
    let map_one = |index: u64, pa: PhysAddr| {
        let page = vma_start + ((index - first_index) as usize) * PGSIZE;
        // The window lies in the level-0 table the faulting page was just mapped in.
        let mut mapped = false;
        pt.update(va(page), false, |old| {
            if old.is_valid() {
                return old;
            }
            mapped = true;
            Pte::new(pa, flags | PteFlags::V)
        });
        mapped
    };
    match obj {
        MapObject::File(_) => {
            if let Some(cache) = cache {
                cache.for_each_cached(first, end, map_one);
            }
        }
        MapObject::SharedAnon(anon) => anon.for_each_present(first, end, map_one),
    }
}
