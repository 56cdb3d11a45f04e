//! The page-frame allocator: a free list threaded through the free 4 KiB pages of RAM between
//! the end of the kernel image (and heap) and the top of RAM. Pages come back zeroed (but for
//! `alloc_for_overwrite`, whose caller writes every byte).
//!
//! Every page has a reference count so that one physical page can be mapped in several
//! address spaces (shared mappings, the page cache): `alloc` returns a page with count 1,
//! `share` adds a reference, `free` drops one and recycles the page at zero. Page-table pages
//! use the same counts (a level-0 table shared by several address spaces after fork), with
//! `unshare`, which drops a reference only when it is not the last.

use super::addr::{PhysAddr, PGSIZE};
use crate::sync::SpinLock;
use alloc::vec::Vec;
use core::ptr;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

struct FreeList {
    head: usize,
}

static FREE: SpinLock<FreeList> = SpinLock::new("frames", FreeList { head: 0 });
static NFREE: AtomicUsize = AtomicUsize::new(0);
static NTOTAL: AtomicUsize = AtomicUsize::new(0);
/// The managed range [start, end); written once by `init`.
static RANGE_START: AtomicUsize = AtomicUsize::new(0);
static RANGE_END: AtomicUsize = AtomicUsize::new(0);
/// Reference count of each managed page, indexed by (pa - start) / PGSIZE; set once by `init`.
static REFS: AtomicUsize = AtomicUsize::new(0);

fn ref_of<R>(pa: PhysAddr, f: impl FnOnce(&AtomicU32) -> R) -> R {
    let start = RANGE_START.load(Ordering::Relaxed);
    let end = RANGE_END.load(Ordering::Relaxed);
    let a = pa.as_usize();
    assert!(a.is_multiple_of(PGSIZE) && a >= start && a < end, "frame: bad page {a:#x}");
    // SAFETY: REFS points at a leaked slice with one counter per page of [start, end), and the
    // index was just bounds-checked.
    let counter = unsafe { &*(REFS.load(Ordering::Relaxed) as *const AtomicU32).add((a - start) / PGSIZE) };
    f(counter)
}

/// Hands the pages of [start, end) to the allocator. Called once at boot.
pub fn init(start: usize, end: usize) {
    let start = super::addr::page_round_up(start);
    let npages = (end - start) / PGSIZE;
    let refs: Vec<AtomicU32> = (0..npages).map(|_| AtomicU32::new(0)).collect();
    REFS.store(refs.leak().as_ptr() as usize, Ordering::Relaxed);
    RANGE_START.store(start, Ordering::Relaxed);
    RANGE_END.store(end, Ordering::Relaxed);
    let mut pa = start;
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
    let pa = take()?;
    // SAFETY: the page was just taken off the free list, so nothing else references it.
    unsafe { super::page::zero_page(pa) };
    Some(counted(pa))
}

/// Allocates one page *not* zeroed (it holds whatever its last user left there), or `None`
/// when memory is exhausted: only for a caller that overwrites every byte of it before
/// anyone else can reach it (a page-cache fill from the disk), which spares the zeroing.
pub fn alloc_for_overwrite() -> Option<PhysAddr> {
    take().map(counted)
}

/// Takes the head of the free list.
fn take() -> Option<usize> {
    let mut fl = FREE.lock();
    let pa = fl.head;
    if pa == 0 {
        return None;
    }
    // SAFETY: `pa` is the head of the free list, so its first word is the next link.
    fl.head = unsafe { ptr::read(pa as *const usize) };
    NFREE.fetch_sub(1, Ordering::Relaxed);
    Some(pa)
}

/// Gives the page `pa`, just taken off the free list, its first reference.
fn counted(pa: usize) -> PhysAddr {
    let pa = super::addr::pa(pa);
    ref_of(pa, |r| r.store(1, Ordering::Relaxed));
    pa
}

/// Adds a reference to an allocated page. Relaxed suffices, as for `Arc::clone`: the caller
/// already holds a reference, so the page cannot be freed meanwhile.
///
/// # Panics
/// If `pa` is not an allocated page of the managed range (a kernel bug).
pub fn share(pa: PhysAddr) {
    let old = ref_of(pa, |r| r.fetch_add(1, Ordering::Relaxed));
    assert!(old > 0, "frame::share: free page {:#x}", pa.as_usize());
}

/// Drops one reference to a page; the last one returns it to the allocator. The ordering is
/// `Arc`'s: each drop releases its holder's accesses to the page, and the last holder
/// acquires them all before the page is recycled (and zeroed for its next owner), so no
/// store by an earlier holder can land after the recycling.
///
/// # Panics
/// If `pa` is not an allocated page of the managed range (a kernel bug).
pub fn free(pa: PhysAddr) {
    let old = ref_of(pa, |r| r.fetch_sub(1, Ordering::Release));
    assert!(old > 0, "frame::free: double free of {:#x}", pa.as_usize());
    if old == 1 {
        core::sync::atomic::fence(Ordering::Acquire);
        free_raw(pa.as_usize());
    }
}

/// Drops one reference to a page unless it is the last: returns true, leaving the count at 1,
/// when the caller holds the only reference (the page is then its alone, to keep using or to
/// `free`). Orderings as `free`'s: a dropped reference releases the caller's accesses, and
/// the true answer acquires those of every holder that dropped one before.
///
/// # Panics
/// If `pa` is not an allocated page of the managed range (a kernel bug).
pub fn unshare(pa: PhysAddr) -> bool {
    ref_of(pa, |r| {
        let mut n = r.load(Ordering::Relaxed);
        loop {
            assert!(n > 0, "frame::unshare: free page {:#x}", pa.as_usize());
            if n == 1 {
                core::sync::atomic::fence(Ordering::Acquire);
                return true;
            }
            match r.compare_exchange_weak(n, n - 1, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return false,
                Err(now) => n = now,
            }
        }
    })
}

/// The number of references to an allocated page (0 for a free one).
///
/// # Panics
/// If `pa` is not a page of the managed range (a kernel bug).
pub fn refcount(pa: PhysAddr) -> u32 {
    ref_of(pa, |r| r.load(Ordering::Acquire))
}

/// Pages currently free.
pub fn free_count() -> usize {
    NFREE.load(Ordering::Relaxed)
}

/// Pages managed in total.
pub fn total_count() -> usize {
    NTOTAL.load(Ordering::Relaxed)
}
