//! Memory-system statistics: the counters behind `kstat` that the rest of `vm` bumps (page-cache
//! occupancy, fault kinds), and read-only views of an address space for `vmmaps` and Ctrl-P
//! (one record per mapping, with the pages it has present).
//!
//! This module only counts and looks: it never changes an address space, never sleeps and never
//! takes a lock. Callers that look at another process's space must first make sure that space
//! cannot change shape under them (they hold its `Vm` lock); page-table entries are read with
//! single volatile loads (`mm::pagetable`), because the owner may still fault pages in meanwhile.

use super::space::{AddressSpace, MapObject};
use crate::mm::pagetable::{PageTable, VaRange};
use abi::VmMap;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use vmspace::{Backing, Share, VirtRange, Vma};

/// Pages held by all page caches now (file pages and shared anonymous pages).
pub static CACHE_PAGES: AtomicU64 = AtomicU64::new(0);
/// Page-cache pages in state Dirty now (`vmcore::PageState`).
pub static CACHE_DIRTY: AtomicU64 = AtomicU64::new(0);
/// Pages held by the page caches of files now (`CACHE_PAGES` without shared anonymous memory).
pub static FILE_PAGES: AtomicU64 = AtomicU64::new(0);
/// Pages brought into a page cache since boot (cache misses).
pub static CACHE_FILLS: AtomicU64 = AtomicU64::new(0);
/// Faults on private file mappings, resolved by copying the cached page.
pub static COPY_FAULTS: AtomicU64 = AtomicU64::new(0);
/// Stores to a private page shared copy-on-write (after fork) that other processes still
/// held, resolved by copying the page (`vmcore::store_to_present`'s `CopyPresent`).
pub static COW_FAULTS: AtomicU64 = AtomicU64::new(0);
/// Faults on shared mappings, resolved by mapping the cached page itself.
pub static SHARED_FAULTS: AtomicU64 = AtomicU64::new(0);

/// A page was filled and inserted into a page cache.
pub fn cache_page_added() {
    CACHE_PAGES.fetch_add(1, Relaxed);
    CACHE_FILLS.fetch_add(1, Relaxed);
}

/// Cached pages left their cache (the cache was dropped); `dirty` yields each one's dirty flag.
pub fn cache_pages_dropped(dirty: impl Iterator<Item = bool>) {
    let (mut pages, mut dirties) = (0, 0);
    for d in dirty {
        pages += 1;
        dirties += u64::from(d);
    }
    CACHE_PAGES.fetch_sub(pages, Relaxed);
    CACHE_DIRTY.fetch_sub(dirties, Relaxed);
}

/// The value of system-wide counter `id` (`abi::kstat::*`); `None` for an unknown id or one
/// that belongs to a process (`MAPPINGS`, answered by the system-call layer).
pub fn counter(id: usize) -> Option<u64> {
    use crate::drivers::virtio_blk;
    use crate::mm::frame;
    use abi::kstat;
    Some(match id {
        kstat::FREE_PAGES => frame::free_count() as u64,
        kstat::DISK_READS => virtio_blk::reads(),
        kstat::DISK_WRITES => virtio_blk::writes(),
        kstat::TOTAL_PAGES => frame::total_count() as u64,
        kstat::PAGES_WRITTEN_BACK => super::mmap::PAGES_WRITTEN_BACK.load(Relaxed),
        kstat::ANON_FAULTS => super::fault::ANON_FAULTS.load(Relaxed),
        kstat::FILE_FAULTS => super::fault::FILE_FAULTS.load(Relaxed),
        kstat::CACHE_PAGES => CACHE_PAGES.load(Relaxed),
        kstat::CACHE_DIRTY => CACHE_DIRTY.load(Relaxed),
        kstat::COPY_FAULTS => COPY_FAULTS.load(Relaxed),
        kstat::SHARED_FAULTS => SHARED_FAULTS.load(Relaxed),
        kstat::CACHE_FILLS => CACHE_FILLS.load(Relaxed),
        kstat::PAGES_RECLAIMED => super::reclaim::PAGES_RECLAIMED.load(Relaxed),
        kstat::PAGES_CLEANED => super::reclaim::PAGES_CLEANED.load(Relaxed),
        kstat::IDLE_TIME => crate::proc::sched::IDLE_TIME.load(Relaxed),
        kstat::FILE_PAGES => FILE_PAGES.load(Relaxed),
        kstat::COW_FAULTS => COW_FAULTS.load(Relaxed),
        _ => return None,
    })
}

/// Appends to `out` the records of the mappings of `space` that start at or above `from`, in
/// address order, at most `max` of them.
///
/// The caller guarantees that the set of mappings of `space` does not change meanwhile (it is
/// the holder of its `Vm` lock).
pub(super) fn mapping_records(space: &AddressSpace, from: usize, max: usize, out: &mut Vec<VmMap>) {
    let Some(rest) = VirtRange::new(from, abi::USER_TOP) else { return };
    let mut heap = space.heap_range().filter(|h| h.start() >= from);
    let vmas = space.vmas.iter_overlapping(rest).filter(|v| v.range().start() >= from);
    let mut n = 0;
    for vma in vmas {
        // The heap lies between the image and stack below and the mmap area above.
        if let Some(h) = heap.filter(|h| h.start() < vma.range().start()) {
            if n == max {
                return;
            }
            out.push(heap_record(space, h));
            n += 1;
            heap = None;
        }
        if n == max {
            return;
        }
        out.push(record(space, vma));
        n += 1;
    }
    if let Some(h) = heap.filter(|_| n < max) {
        out.push(heap_record(space, h));
    }
}

/// The record of the heap, [heap_start, brk) rounded up to whole pages.
fn heap_record(space: &AddressSpace, range: VirtRange) -> VmMap {
    VmMap {
        start: range.start() as u64,
        end: range.end() as u64,
        offset: 0,
        resident: resident_pages(&space.pt, range),
        inum: 0,
        prot: (abi::PROT_READ | abi::PROT_WRITE) as u32,
        flags: (abi::MAP_PRIVATE | abi::MAP_ANONYMOUS) as u32 | abi::VMMAP_HEAP,
    }
}

/// The role bit (`abi::VMMAP_*`) of a mapping below the heap, made by exec: the one ending
/// where the heap starts is the stack, the one below it the guard page, the rest the image.
fn role(space: &AddressSpace, range: VirtRange) -> u32 {
    let stack_bottom = space.heap_start.saturating_sub(crate::param::USERSTACK * crate::mm::PGSIZE);
    if range.start() >= space.heap_start {
        0
    } else if range.end() == space.heap_start {
        abi::VMMAP_STACK
    } else if range.end() == stack_bottom {
        abi::VMMAP_GUARD
    } else {
        abi::VMMAP_IMAGE
    }
}

/// The record describing `vma`, a mapping of `space`.
pub(super) fn record(space: &AddressSpace, vma: &Vma<MapObject>) -> VmMap {
    let range = vma.range();
    let share = match vma.share {
        Share::Shared => abi::MAP_SHARED,
        Share::Private => abi::MAP_PRIVATE,
    };
    let (inum, offset, anonymous) = match &vma.backing {
        Backing::Anonymous => (0, 0, true),
        Backing::File { file: obj, offset } => match obj.file().and_then(|f| f.inode()) {
            Some(ip) => (ip.inum(), *offset, false),
            None => (0, 0, true), // shared anonymous memory
        },
    };
    VmMap {
        start: range.start() as u64,
        end: range.end() as u64,
        offset,
        resident: resident_pages(&space.pt, range),
        inum,
        prot: vma.prot.bits() as u32,
        flags: (share | if anonymous { abi::MAP_ANONYMOUS } else { 0 }) as u32
            | role(space, range)
            | (vma.advice.madv() as u32) << abi::VMMAP_ADVICE_SHIFT,
    }
}

/// Text for a record's protection, `rwx` style.
pub fn prot_text(prot: u32) -> [u8; 3] {
    let bit = |b: usize, c: u8| if prot & b as u32 != 0 { c } else { b'-' };
    [bit(abi::PROT_READ, b'r'), bit(abi::PROT_WRITE, b'w'), bit(abi::PROT_EXEC, b'x')]
}

/// Pages of `range` present in the page table `pt` (a present page of a `PROT_NONE` mapping,
/// which has no U bit, included). Missing interior tables are skipped whole (the leaf
/// iterator), so a huge, mostly untouched mapping costs little. A page table shared since
/// fork (`vm::stubs`) is read through its stub: its pages count as this space's.
pub fn resident_pages(pt: &PageTable, range: VirtRange) -> u64 {
    let Some(pages) = VaRange::new(range.start(), range.end()) else { return 0 };
    pt.leaves(pages).count() as u64
}
