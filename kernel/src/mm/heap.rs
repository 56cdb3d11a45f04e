//! The kernel heap (`alloc`): a buddy allocator over a fixed region carved from RAM at boot,
//! guarded by a spinlock so an interrupt can never find it locked on its own hart.

use crate::sync::SpinLock;
use buddy_system_allocator::Heap;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

struct KernelHeap(SpinLock<Heap<32>>);

// SAFETY: every method takes the spinlock; the buddy heap hands out disjoint blocks.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.0.lock().alloc(layout) {
            Ok(p) => p.as_ptr(),
            Err(()) => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: GlobalAlloc's contract: `ptr` came from `alloc` with this layout.
            unsafe { self.0.lock().dealloc(p, layout) };
        }
    }
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(SpinLock::new("heap", Heap::empty()));

/// Gives the heap the memory [start, start + size). Called once at boot.
///
/// # Safety
/// The range must be unused RAM, owned by the heap from now on.
pub unsafe fn init(start: usize, size: usize) {
    // SAFETY: the caller hands over exclusive ownership of the range.
    unsafe { HEAP.0.lock().init(start, size) };
}

/// Heap bytes kept free for the kernel's own needs: requests that would let a user grow
/// kernel metadata (mappings, exec arguments) fail once less than this is left, so a user
/// can never exhaust the heap and panic the kernel.
pub const USER_RESERVE: usize = 2 << 20;

/// Whether user-driven allocations of about `bytes` may proceed.
pub fn has_room_for_user(bytes: usize) -> bool {
    let h = HEAP.0.lock();
    h.stats_total_bytes().saturating_sub(h.stats_alloc_actual()) >= USER_RESERVE + bytes
}
