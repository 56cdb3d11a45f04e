//! Waiting out other harts' stale TLB entries for user pages, in place of a TLB shootdown
//! (this kernel sends no inter-processor interrupts).
//!
//! A hart caches translations of a user page table only while it runs in user mode: the
//! trampoline flushes the TLB (`sfence.vma`) whenever it switches between the user and the
//! kernel page table, both ways. So after a PTE of some process is cleared, a stale entry can
//! live only on a hart that was in user mode at that moment, and it is gone once that hart
//! next enters the kernel (a timer interrupt comes at the latest one tick later). A path that
//! clears PTEs of a process that may be running elsewhere (truncation of a mapped file) calls
//! [`wait_for_user_harts`] before it frees the frames those PTEs mapped.
//!
//! Each hart keeps an epoch, odd while it runs in user mode: incremented by
//! [`entering_user`] just before the return to user mode and by [`left_user`] first thing in
//! the trap handler. Sequentially consistent accesses order them against the waiter's PTE
//! stores (made before its fence): a hart seen in the kernel reloads every translation from
//! the updated tables when it next returns to user mode.

use super::cpu::hart_id;
use crate::param::NCPU;
use core::sync::atomic::{fence, AtomicU64, Ordering::SeqCst};

static USER_EPOCH: [AtomicU64; NCPU] = [const { AtomicU64::new(0) }; NCPU];

/// This hart is about to return to user mode (interrupts off).
pub fn entering_user() {
    USER_EPOCH[hart_id()].fetch_add(1, SeqCst);
}

/// This hart has just trapped from user mode into the kernel.
pub fn left_user() {
    USER_EPOCH[hart_id()].fetch_add(1, SeqCst);
}

/// Returns once every hart that was running in user mode when this was called has entered
/// the kernel since (so it holds no TLB entry older than the call). Yields the processor
/// while waiting; must be called from a process, with no spinlock held.
pub fn wait_for_user_harts() {
    fence(SeqCst);
    let seen: [u64; NCPU] = core::array::from_fn(|h| USER_EPOCH[h].load(SeqCst));
    for (h, &epoch) in seen.iter().enumerate() {
        // The caller's own hart is in the kernel (even), so it is never waited for.
        while epoch % 2 == 1 && USER_EPOCH[h].load(SeqCst) == epoch {
            crate::proc::yield_now();
        }
    }
}
