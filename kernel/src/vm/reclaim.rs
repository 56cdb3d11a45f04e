//! Memory reclaim for file-backed pages, so that a file larger than the free memory can be
//! mapped and scanned. When an allocation for a fault fails (`AddressSpace::fault_in`), the
//! kernel first evicts the clean page-cache pages that no mapping uses from every in-memory
//! file's cache (`fs::evict_unused_pages`); if that frees little, the faulting process gives
//! up a batch of its own clean file-backed pages (unmapping them drops its frame reference)
//! and the caches are swept again. The fault is then retried; it fails (and the process is
//! killed, as before) only when reclaim freed nothing.
//!
//! What a process gives up: pages of shared file mappings whose PTE dirty bit is clear, and
//! pages of private file mappings that still map the cached page read-only. Never private
//! copies, anonymous memory (private or shared: it has no backing store) or the faulting
//! page; dirty shared pages are skipped (not written back here), so they stay until munmap or
//! exit as before. A clock hand (`AddressSpace::reclaim_cursor`) moves through the mappings
//! so successive reclaims take different pages, and a first pass spares the pages near the
//! fault (a sequential scan gives up what it read longest ago).
//!
//! When the faulting process has nothing left to give, other processes that are not running
//! give up their clean file pages the same way (`proc::for_each_idle_vm` keeps each from being
//! scheduled while its page table changes; its address space is only tried, never waited
//! for), so a process sleeping on a big mapping does not get another one killed.
//!
//! Locking: nothing here sleeps; the inode-table and page-map spinlocks are taken in their
//! usual order, one at a time. TLB: the PTEs cleared belong to processes that run on no hart
//! meanwhile (the current one, in the kernel; or an idle one held off the scheduler), and the
//! trampoline flushes the TLB on every return to user mode; an explicit `sfence.vma` after
//! the sweep makes this independent of that.

use super::pagecache::PageCache;
use super::space::{AddressSpace, MapObject};
use crate::fs::evict_unused_pages;
use crate::mm::addr::page_round_down;
use crate::mm::pagetable::{flush_tlb, Pte, PteFlags, VaRange};
use crate::mm::{frame, PhysAddr, PGSIZE};
use core::ops::ControlFlow;
use core::sync::atomic::{AtomicU64, Ordering};
use vmspace::{Backing, Share, VirtRange, Vma};

/// Page-cache pages evicted by reclaim since boot (`kstat` PAGES_RECLAIMED).
pub static PAGES_RECLAIMED: AtomicU64 = AtomicU64::new(0);

/// Most pages a faulting process unmaps of its own per reclaim.
const UNMAP_BATCH: usize = 256;
/// A global eviction that frees fewer pages than this also takes pages from the process.
const ENOUGH: usize = 32;
/// The first pass spares pages closer than this (in bytes) to the faulting page.
const NEAR: usize = 64 * PGSIZE;
/// Free pages below which a fault reads no ahead (readahead never reclaims).
pub const LOW_FREE: usize = 64;

/// Allocates a frame for a kernel path that is not a fault (file reads and writes, eager
/// sbrk, exec): when memory has run out, the clean file pages nobody maps are evicted from
/// every page cache first. Takes only spinlocks (the caller may hold sleep locks, but no page
/// map or inode-table lock).
pub fn alloc_frame() -> Option<PhysAddr> {
    frame::alloc().or_else(|| {
        let n = evict_unused_pages();
        PAGES_RECLAIMED.fetch_add(n as u64, Ordering::Relaxed);
        if n > 0 {
            frame::alloc()
        } else {
            None
        }
    })
}

/// Frees memory after an allocation for a fault at `fault_va` of `space` (the current
/// process's) failed. Returns whether any page was freed (the caller then retries).
pub(super) fn reclaim(space: &mut AddressSpace, fault_va: usize) -> bool {
    let mut n = evict_unused_pages();
    if n < ENOUGH && unmap_clean(space, page_round_down(fault_va)) > 0 {
        n += evict_unused_pages();
    }
    if n < ENOUGH && unmap_clean_elsewhere() > 0 {
        n += evict_unused_pages();
    }
    PAGES_RECLAIMED.fetch_add(n as u64, Ordering::Relaxed);
    n > 0
}

/// Unmaps up to `UNMAP_BATCH` clean file-backed pages from the address spaces of other
/// processes that are not running (a process sleeping on a big mapping must not make another
/// one run out of memory); returns how many were unmapped. Spaces that are busy are skipped.
fn unmap_clean_elsewhere() -> usize {
    let mut n = 0;
    crate::proc::for_each_idle_vm(|vm| {
        if let Some(mut s) = vm.try_lock() {
            n += unmap_clean(&mut s, usize::MAX);
        }
        n < UNMAP_BATCH
    });
    n
}

/// Unmaps up to `UNMAP_BATCH` clean file-backed pages of `space` other than `fault_page`,
/// preferring pages at least `NEAR` away from it; returns how many were unmapped.
fn unmap_clean(space: &mut AddressSpace, fault_page: usize) -> usize {
    let mut n = sweep(space, fault_page, NEAR);
    if n == 0 {
        n = sweep(space, fault_page, PGSIZE);
    }
    if n > 0 {
        flush_tlb();
    }
    n
}

/// One pass of the clock hand over the mappings from `space.reclaim_cursor` round to it
/// again, unmapping eligible pages at least `near` bytes from `fault_page`.
fn sweep(space: &mut AddressSpace, fault_page: usize, near: usize) -> usize {
    let AddressSpace { pt, vmas, reclaim_cursor, .. } = space;
    let start = *reclaim_cursor;
    let mut n = 0;
    for (lo, hi) in [(start, abi::USER_TOP), (0, start)] {
        let Some(part) = VirtRange::new(lo, hi) else { continue };
        for vma in vmas.iter_overlapping(part) {
            let Backing::File { file: obj, offset } = &vma.backing else { continue };
            // Shared anonymous memory has no backing store: only file pages can go.
            let Some(cache) = obj.cache() else { continue };
            let Some(r) = vma.range().intersection(&part) else { continue };
            let file_pages = cache.size().div_ceil(PGSIZE as u64);
            let pages = VaRange::new(r.start(), r.end()).expect("mappings lie below MAXVA");
            // Breaks with `true` when the batch is full, `false` at end-of-file.
            let flow = pt.for_each_leaf_mut(pages, |va, pte| {
                let va = va.as_usize();
                let index = (offset + (va - vma.range().start()) as u64) / PGSIZE as u64;
                if index >= file_pages {
                    return ControlFlow::Break(false); // nothing past end-of-file is mapped
                }
                if va.abs_diff(fault_page) >= near && eligible(cache, vma, index, *pte) {
                    frame::free(core::mem::replace(pte, Pte::EMPTY).pa());
                    n += 1;
                    if n == UNMAP_BATCH {
                        return ControlFlow::Break(true);
                    }
                }
                ControlFlow::Continue(())
            });
            // The clock hand stops just past the last page taken.
            if let ControlFlow::Break((true, rest)) = flow {
                *reclaim_cursor = rest.start();
                return n;
            }
        }
    }
    n
}

/// Whether `pte`, mapping page `index` of `vma`'s file, may be unmapped by reclaim: present,
/// clean, and either in a shared mapping or the cached page itself in a private one.
fn eligible(cache: &PageCache, vma: &Vma<MapObject>, index: u64, pte: Pte) -> bool {
    let f = pte.flags();
    if !pte.is_valid() || !f.contains(PteFlags::U) || f.contains(PteFlags::D) {
        return false;
    }
    match vma.share {
        Share::Shared => true,
        Share::Private => !f.contains(PteFlags::W) && cache.holds(index, pte.pa()),
    }
}
