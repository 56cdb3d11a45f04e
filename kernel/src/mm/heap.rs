//! The kernel heap (`alloc`): the `talc` allocator over a fixed region carved from RAM at
//! boot, guarded by a spinlock so an interrupt can never find it locked on its own hart.
//!
//! Why talc: allocation and free take constant time whatever the heap holds (size-class bins
//! found through a bitmap, neighbours merged through boundary tags), where the buddy
//! allocator used before searched a free list linearly at every free, so mapping and
//! unmapping got slower the more the kernel had allocated and freed. The kernel's heap
//! traffic is many small objects (VMAs, tree nodes, open files, inodes), which talc keeps
//! with 8 to 16 bytes of overhead instead of rounding each up to a power of two.

use crate::sync::SpinLock;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use talc::{ErrOnOom, Span, Talc};

struct KernelHeap(SpinLock<Talc<ErrOnOom>>);

// SAFETY: every method takes the spinlock; talc hands out disjoint blocks.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: GlobalAlloc's contract: `layout` has non-zero size.
        match unsafe { self.0.lock().malloc(layout) } {
            Ok(p) => p.as_ptr(),
            Err(()) => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: GlobalAlloc's contract: `ptr` came from `alloc` with this layout.
            unsafe { self.0.lock().free(p, layout) };
        }
    }
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(SpinLock::new("heap", Talc::new(ErrOnOom)));

/// Gives the heap the memory [start, start + size). Called once at boot.
///
/// # Safety
/// The range must be unused RAM, owned by the heap from now on.
pub unsafe fn init(start: usize, size: usize) {
    let span = Span::from_base_size(start as *mut u8, size);
    // SAFETY: the caller hands over exclusive ownership of the range.
    unsafe { HEAP.0.lock().claim(span) }.expect("kernel heap: region too small");
}

/// Heap bytes kept free for the kernel's own needs: requests that would let a user grow
/// kernel metadata (mappings, exec arguments) fail once less than this is left, so a user
/// can never exhaust the heap and panic the kernel.
pub const USER_RESERVE: usize = 2 << 20;

/// Whether user-driven allocations of about `bytes` may proceed.
pub fn has_room_for_user(bytes: usize) -> bool {
    HEAP.0.lock().get_counters().available_bytes >= USER_RESERVE + bytes
}
