//! The global allocator behind `alloc`: a first-fit free list over memory taken from the
//! kernel with eager `sbrk`, in steps of at least [`GROW_STEP`].
//!
//! Every block starts with a 16-byte header holding its size in 16-byte units; free blocks are
//! kept in a circular list sorted by address, and freeing merges a block with free neighbours.
//! The heap never gives memory back to the kernel (so user code may shrink the break only below
//! memory it grew itself). Processes are single-threaded; `fork` copies the whole state.
//! Alignments above 16 are served by over-allocating and recording the block's real start
//! just below the aligned address.

use crate::sys;
use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr;

/// Smallest amount the heap asks the kernel for at a time.
pub const GROW_STEP: usize = 16 * 1024;

const UNIT: usize = 16;

/// Block header; a block is `units` 16-byte units long, the header included.
#[repr(C, align(16))]
struct Header {
    next: *mut Header,
    units: usize,
}

struct State {
    /// Zero-sized sentinel that anchors the circular free list.
    base: Header,
    /// Where the next search starts; null before the first allocation.
    freep: *mut Header,
}

/// The allocator; see the module documentation.
pub struct Heap {
    state: UnsafeCell<State>,
}

// SAFETY: user processes have a single thread, so the state is never shared between threads.
unsafe impl Sync for Heap {}

#[global_allocator]
static HEAP: Heap = Heap {
    state: UnsafeCell::new(State {
        base: Header { next: ptr::null_mut(), units: 0 },
        freep: ptr::null_mut(),
    }),
};

impl State {
    /// Takes a block of at least `units` units from the free list, growing the heap if needed.
    ///
    /// # Safety
    /// `self` must not move (it is the static allocator state) and the list must be intact.
    unsafe fn take(&mut self, units: usize) -> *mut Header {
        if self.freep.is_null() {
            let base: *mut Header = &mut self.base;
            self.base.next = base;
            self.base.units = 0;
            self.freep = base;
        }
        let mut prev = self.freep;
        // SAFETY: every pointer on the circular list is a valid header (the sentinel or a free
        // block inside memory obtained from sbrk).
        unsafe {
            let mut p = (*prev).next;
            loop {
                if (*p).units >= units {
                    if (*p).units == units {
                        (*prev).next = (*p).next;
                    } else {
                        (*p).units -= units;
                        p = p.cast::<u8>().add((*p).units * UNIT).cast();
                        (*p).units = units;
                    }
                    self.freep = prev;
                    return p;
                }
                if p == self.freep {
                    if !self.grow(units) {
                        return ptr::null_mut();
                    }
                    // `grow` put the new memory on the list; search again from `freep`.
                    p = self.freep;
                }
                prev = p;
                p = (*p).next;
            }
        }
    }

    /// Asks the kernel for at least `units` units and frees them onto the list.
    ///
    /// # Safety
    /// As for [`State::take`].
    unsafe fn grow(&mut self, units: usize) -> bool {
        let want = units * UNIT + UNIT; // room to align the start
        let step = want.max(GROW_STEP).next_multiple_of(abi::PGSIZE);
        for bytes in [step, want] {
            let Ok(n) = isize::try_from(bytes) else { continue };
            // SAFETY: growing the break takes nothing away from anyone.
            let old = unsafe { sys::sbrk(n, abi::SBRK_EAGER) };
            if old == -1 {
                continue;
            }
            let start = (old as usize).next_multiple_of(UNIT);
            let end = old as usize + bytes;
            let block = start as *mut Header;
            // SAFETY: [old, old + bytes) was just mapped for us and nothing else uses it.
            unsafe {
                (*block).units = (end - start) / UNIT;
                self.free(block);
            }
            return true;
        }
        false
    }

    /// Returns block `bp` to the list, merging it with free neighbours.
    ///
    /// # Safety
    /// `bp` must be a block previously returned by `take` (or fresh memory from `grow`) and not
    /// already free.
    unsafe fn free(&mut self, bp: *mut Header) {
        // SAFETY: list pointers are valid headers; `bp` is a valid block by the contract.
        unsafe {
            let mut p = self.freep;
            // Find p with p < bp < p.next, or the wrap-around point of the sorted list.
            while !(bp > p && bp < (*p).next) {
                if p >= (*p).next && (bp > p || bp < (*p).next) {
                    break;
                }
                p = (*p).next;
            }
            let bp_end = bp.cast::<u8>().add((*bp).units * UNIT).cast::<Header>();
            if bp_end == (*p).next {
                (*bp).units += (*(*p).next).units;
                (*bp).next = (*(*p).next).next;
            } else {
                (*bp).next = (*p).next;
            }
            let p_end = p.cast::<u8>().add((*p).units * UNIT).cast::<Header>();
            if p_end == bp && (*p).units != 0 {
                (*p).units += (*bp).units;
                (*p).next = (*bp).next;
            } else {
                (*p).next = bp;
            }
            self.freep = p;
        }
    }
}

/// Units needed for `size` payload bytes plus the header.
fn units_for(size: usize) -> Option<usize> {
    Some(size.checked_add(UNIT - 1)? / UNIT + 1)
}

// SAFETY: `alloc` returns blocks no other live allocation overlaps, 16-aligned (headers are
// 16-aligned and 16 bytes long) or aligned by the over-allocation path; `dealloc` accepts
// exactly what `alloc` returned for the same layout.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded process; no other reference to the state is live.
        let st = unsafe { &mut *self.state.get() };
        if layout.align() <= UNIT {
            let Some(units) = units_for(layout.size()) else { return ptr::null_mut() };
            // SAFETY: the state is the static one and its list is intact.
            let h = unsafe { st.take(units) };
            if h.is_null() {
                return ptr::null_mut();
            }
            // SAFETY: the payload follows the header inside the block.
            return unsafe { h.add(1).cast() };
        }
        let Some(size) = layout.size().checked_add(layout.align() + 8) else {
            return ptr::null_mut();
        };
        let Some(units) = units_for(size) else { return ptr::null_mut() };
        // SAFETY: as above.
        let h = unsafe { st.take(units) };
        if h.is_null() {
            return ptr::null_mut();
        }
        let raw = h as usize + UNIT;
        let aligned = (raw + 8).next_multiple_of(layout.align());
        // SAFETY: raw <= aligned - 8 and aligned + size <= raw + size + align + 8, all inside
        // the block; the slot below `aligned` records the header for `dealloc`.
        unsafe { ((aligned - 8) as *mut usize).write(h as usize) };
        aligned as *mut u8
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: single-threaded process; no other reference to the state is live.
        let st = unsafe { &mut *self.state.get() };
        let h = if layout.align() <= UNIT {
            // SAFETY: `p` came from `alloc` with this layout: its header lies just below it.
            unsafe { p.cast::<Header>().sub(1) }
        } else {
            // SAFETY: `alloc` stored the header's address just below `p`.
            unsafe { ((p as usize - 8) as *const usize).read() as *mut Header }
        };
        // SAFETY: `h` is a live block from `take`.
        unsafe { st.free(h) };
    }
}
