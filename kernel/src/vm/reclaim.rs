//! Memory reclaim for file-backed pages, so that files larger than the free memory can be
//! mapped, scanned and written through mappings. When an allocation for a fault fails
//! (`AddressSpace::fault_in`), the kernel first evicts the clean page-cache pages that no
//! mapping uses from every in-memory file's cache (`fs::evict_unused_pages`); if that frees
//! little, the faulting process gives up a batch of its own file-backed pages, the dirty ones
//! among them are written back to their files, and the caches are swept again. The fault is
//! then retried; it fails (and the process is killed, as before) only when reclaim freed
//! nothing.
//!
//! What a process gives up: pages of shared file mappings (a dirty one's PTE dirty bit moves
//! to its cache page, which is written back in place before it is freed), and pages of
//! private file mappings that still map the cached page read-only. Never private copies or
//! anonymous memory (private or shared: there is no swap, so it is the last thing a process
//! loses, by being killed), nor the faulting page.
//!
//! Which pages: a clock over the mappings with a second chance, as the classic two-handed
//! clock does with one hand. `AddressSpace::reclaim_cursor` is the hand; a page whose PTE
//! accessed bit (A, set by the hardware at each use) is set has it cleared and is passed
//! over this time; one found with A still clear was not used since the hand last passed and
//! goes. A first round spares the pages near the fault (a sequential scan gives up what it
//! touched longest ago); when a full round took nothing, every A bit is clear and the next
//! round takes the oldest pages. The rules (which pages are eligible, the turns and what
//! each does with a page, the batch sizes) are `vmcore`'s (`vmcore::CLOCK_PASSES`,
//! `vmcore::ClockPass::verdict`, tested on the host); this file moves the hand over the page
//! tables and carries the verdicts out.
//!
//! Write-back under pressure must neither wait for a lock the faulting process may hold nor
//! start a transaction (it may be inside one): a dirty page is written in place when its
//! inode's lock is free (`fs::Inode::try_write_back_page`), and otherwise stays dirty in the
//! cache for munmap, exit or a later reclaim. One disk request per run of consecutive blocks.
//!
//! When the faulting process has nothing left to give, other processes that are not running
//! give up their file pages the same way (`proc::for_each_idle_vm` keeps each from being
//! scheduled while its page table changes; its address space is only tried, never waited
//! for), so a process sleeping on a big mapping does not get another one killed.
//!
//! Locking: the page-table sweeps take only spinlocks (inode table, page map) in their usual
//! order; writing back sleeps for the disk with the faulting process's own space lock held,
//! as munmap does (space lock before inode lock). TLB: the PTEs changed belong to processes
//! that run on no hart meanwhile (the current one, in the kernel; or an idle one held off the
//! scheduler), and the trampoline flushes the TLB on every return to user mode; an explicit
//! `sfence.vma` after a sweep makes this independent of that.
//!
//! The clock walks with the changing leaf walk, which skips the stubs of page tables fork
//! shares (`vm::stubs`): those hold anonymous pages only, which reclaim never takes, so it
//! needs no table copy (and no memory) to do its work.

use super::fault::{core_bits, kind_of};
use super::fileio;
use super::space::AddressSpace;
use crate::fs::evict_unused_pages;
use crate::fs::file::File;
use crate::mm::addr::page_round_down;
use crate::mm::pagetable::{flush_tlb, Pte, PteFlags, VaRange};
use crate::mm::{frame, PhysAddr, PGSIZE};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::ControlFlow;
use core::sync::atomic::{AtomicU64, Ordering};
use vmcore::{ClockPass, Verdict, CLOCK_PASSES, ENOUGH, UNMAP_BATCH};
use vmspace::{Backing, VirtRange};

/// Page-cache pages evicted by reclaim since boot (`kstat` PAGES_RECLAIMED).
pub static PAGES_RECLAIMED: AtomicU64 = AtomicU64::new(0);
/// Dirty page-cache pages reclaim wrote back so they could be freed (`kstat` PAGES_CLEANED).
pub static PAGES_CLEANED: AtomicU64 = AtomicU64::new(0);

/// Whether free memory is low, so a fault or `MADV_WILLNEED` reads only what it needs
/// (readahead never reclaims): fewer free frames than `vmcore::LOW_FREE`.
pub fn memory_low() -> bool {
    frame::free_count() < vmcore::LOW_FREE
}

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
    let mut dirty = Dirty::new();
    if n < ENOUGH && unmap_some(space, page_round_down(fault_va), &mut dirty) > 0 {
        n += dirty.write_back() + evict_unused_pages();
    }
    if n < ENOUGH && unmap_elsewhere(&mut dirty) > 0 {
        n += dirty.write_back() + evict_unused_pages();
    }
    PAGES_RECLAIMED.fetch_add(n as u64, Ordering::Relaxed);
    n > 0
}

/// Unmaps up to `UNMAP_BATCH` file-backed pages from the address spaces of other processes
/// that are not running (a process sleeping on a big mapping must not make another one run
/// out of memory); returns how many were unmapped. Spaces that are busy are skipped.
fn unmap_elsewhere(dirty: &mut Dirty) -> usize {
    let mut n = 0;
    crate::proc::for_each_idle_vm(|vm| {
        if let Some(mut s) = vm.try_lock() {
            n += unmap_some(&mut s, usize::MAX, dirty);
        }
        n < UNMAP_BATCH
    });
    n
}

/// Unmaps up to `UNMAP_BATCH` file-backed pages of `space` other than `fault_page`, by the
/// clock (see the module docs), recording the dirty ones in `dirty`; returns how many were
/// unmapped.
fn unmap_some(space: &mut AddressSpace, fault_page: usize, dirty: &mut Dirty) -> usize {
    let mut n = 0;
    for pass in CLOCK_PASSES {
        n = sweep(space, fault_page, pass, dirty);
        if n > 0 {
            break;
        }
    }
    // Cleared A bits must reach the TLB too, or a page in use would look unused.
    flush_tlb();
    n
}

/// Dirty pages reclaim unmapped, as page ranges of their files, to be written back before
/// their frames can be freed.
struct Dirty {
    ranges: Vec<(Arc<File>, u64, u64)>,
}

impl Dirty {
    fn new() -> Dirty {
        Dirty { ranges: Vec::new() }
    }

    /// Records that pages `first..end` of `f` may hold dirty pages nothing maps; false when
    /// there is no room to (the kernel heap is exhausted too): the caller then leaves them.
    fn record(&mut self, f: &Arc<File>, first: u64, end: u64) -> bool {
        if let Some(last) = self.ranges.last_mut() {
            if Arc::ptr_eq(&last.0, f) && last.2 == first {
                last.2 = end;
                return true;
            }
        }
        if self.ranges.try_reserve(1).is_err() {
            return false;
        }
        self.ranges.push((f.clone(), first, end));
        true
    }

    /// Writes back the dirty pages of the recorded ranges that nothing maps any more; they
    /// are then clean and unused, so eviction frees them. Returns 0 (the pages are counted
    /// when evicted) after counting them in `PAGES_CLEANED`.
    fn write_back(&mut self) -> usize {
        for (f, first, end) in self.ranges.drain(..) {
            let Some(cache) = f.inode().map(|ip| ip.cache()) else { continue };
            let mut next = first;
            while let Some((index, pa)) = cache.take_dirty_unused(next, end) {
                if fileio::try_write_back(&f, index, pa) {
                    PAGES_CLEANED.fetch_add(1, Ordering::Relaxed);
                } else {
                    cache.mark_dirty(index);
                }
                frame::free(pa);
                next = index + 1;
            }
        }
        0
    }
}

/// One turn of the clock hand over the mappings from `space.reclaim_cursor` round to it
/// again, doing with each present file page what `pass` says: unmapping it (its D bit moved
/// to the cache first), clearing its A bit (a second chance), or leaving it.
fn sweep(space: &mut AddressSpace, fault_page: usize, pass: ClockPass, dirty: &mut Dirty) -> usize {
    let AddressSpace { pt, vmas, reclaim_cursor, .. } = space;
    let start = *reclaim_cursor;
    let mut n = 0;
    for (lo, hi) in [(start, abi::USER_TOP), (0, start)] {
        let Some(part) = VirtRange::new(lo, hi) else { continue };
        for vma in vmas.iter_overlapping(part) {
            let Backing::File { file: obj, offset } = &vma.backing else { continue };
            // Shared anonymous memory has no backing store: only file pages can go.
            let (Some(cache), Some(file)) = (obj.cache(), obj.file()) else { continue };
            let Some(r) = vma.range().intersection(&part) else { continue };
            let kind = kind_of(vma);
            let file_pages = cache.size().div_ceil(PGSIZE as u64);
            let pages = VaRange::new(r.start(), r.end()).expect("mappings lie below MAXVA");
            // Indices of the dirty pages unmapped from this mapping.
            let (mut dirty_lo, mut dirty_hi) = (u64::MAX, 0);
            // Breaks with `true` when the batch is full, `false` at end-of-file.
            let flow = pt.for_each_leaf_mut(pages, |va, pte| {
                let va = va.as_usize();
                let index = (offset + (va - vma.range().start()) as u64) / PGSIZE as u64;
                if index >= file_pages {
                    return ControlFlow::Break(false); // nothing past end-of-file is mapped
                }
                let flags = core_bits(pte.flags());
                let cache_page = || cache.holds(index, pte.pa());
                match pass.verdict(va.abs_diff(fault_page), kind, flags, cache_page) {
                    Verdict::Skip => return ControlFlow::Continue(()),
                    Verdict::SecondChance => {
                        *pte = pte.with_flags(pte.flags() - PteFlags::A);
                        return ControlFlow::Continue(());
                    }
                    Verdict::Take => {}
                }
                if vmcore::needs_writeback(kind, flags) {
                    cache.mark_dirty(index);
                    (dirty_lo, dirty_hi) = (dirty_lo.min(index), dirty_hi.max(index + 1));
                }
                frame::free(core::mem::replace(pte, Pte::EMPTY).pa());
                n += 1;
                if n == UNMAP_BATCH {
                    return ControlFlow::Break(true);
                }
                ControlFlow::Continue(())
            });
            // Without room to record them, the pages stay dirty in the cache, unmapped, for
            // munmap or exit (which write back the mapping's whole range) to write back.
            if dirty_lo < dirty_hi {
                dirty.record(file, dirty_lo, dirty_hi);
            }
            // The clock hand stops just past the last page taken.
            if let ControlFlow::Break((true, rest)) = flow {
                *reclaim_cursor = rest.start();
                return n;
            }
        }
    }
    n
}
