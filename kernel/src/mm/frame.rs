//! The page-frame allocator: a free list threaded through the free 4 KiB pages of RAM between
//! the end of the kernel image (and heap) and the top of RAM. Pages come back zeroed.

use super::addr::{PhysAddr, PGSIZE};
use crate::sync::SpinLock;
use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering};

struct FreeList {
    head: usize,
}

static FREE: SpinLock<FreeList> = SpinLock::new("frames", FreeList { head: 0 });
static NFREE: AtomicUsize = AtomicUsize::new(0);
static NTOTAL: AtomicUsize = AtomicUsize::new(0);
static RANGE: SpinLock<(usize, usize)> = SpinLock::new("frame range", (0, 0));

/// Hands the pages of [start, end) to the allocator. Called once at boot.
pub fn init(start: usize, end: usize) {
    *RANGE.lock() = (start, end);
    let mut pa = super::addr::page_round_up(start);
    let mut n = 0;
    while pa + PGSIZE <= end {
        free_raw(pa);
        pa += PGSIZE;
        n += 1;
    }
    NTOTAL.store(n, Ordering::Relaxed);
}

fn free_raw(pa: usize) {
    let mut fl = FREE.lock();
    // SAFETY: the page is free and owned by the allocator; its first word links the list.
    unsafe { ptr::write(pa as *mut usize, fl.head) };
    fl.head = pa;
    NFREE.fetch_add(1, Ordering::Relaxed);
}

/// Allocates one zeroed page, or `None` when memory is exhausted.
pub fn alloc() -> Option<PhysAddr> {
    let pa = {
        let mut fl = FREE.lock();
        let pa = fl.head;
        if pa == 0 {
            return None;
        }
        // SAFETY: `pa` is the head of the free list, so its first word is the next link.
        fl.head = unsafe { ptr::read(pa as *const usize) };
        NFREE.fetch_sub(1, Ordering::Relaxed);
        pa
    };
    // SAFETY: the page was just taken off the free list, so nothing else references it.
    unsafe { ptr::write_bytes(pa as *mut u8, 0, PGSIZE) };
    Some(PhysAddr(pa))
}

/// Returns a page to the allocator.
///
/// # Panics
/// If `pa` is not a page of the managed range (a kernel bug).
pub fn free(pa: PhysAddr) {
    let (start, end) = *RANGE.lock();
    assert!(
        pa.0 % PGSIZE == 0 && pa.0 >= start && pa.0 < end,
        "frame::free: bad page {:#x}",
        pa.0
    );
    free_raw(pa.0);
}

/// Pages currently free.
pub fn free_count() -> usize {
    NFREE.load(Ordering::Relaxed)
}

/// Pages managed in total.
pub fn total_count() -> usize {
    NTOTAL.load(Ordering::Relaxed)
}
