//! Per-hart state: which process runs here, the scheduler's saved context, and the nesting
//! count of `push_off` (interrupt disabling by spinlocks).

use super::csr;
use super::switch::Context;
use crate::param::NCPU;
use crate::proc::Proc;
use core::cell::UnsafeCell;
use core::ptr;

pub struct Cpu {
    /// The process running on this hart, or null.
    pub proc: *const Proc,
    /// The scheduler's registers, saved by `switch` when a process runs.
    pub context: Context,
    /// Depth of `push_off` nesting.
    noff: usize,
    /// Were interrupts enabled before the outermost `push_off`?
    intena: bool,
}

struct Cpus([UnsafeCell<Cpu>; NCPU]);

// SAFETY: each hart only touches its own slot (indexed by its hart id, with interrupts off).
unsafe impl Sync for Cpus {}

static CPUS: Cpus = Cpus(
    [const { UnsafeCell::new(Cpu { proc: ptr::null(), context: Context::zero(), noff: 0, intena: false }) };
        NCPU],
);

/// This hart's id (kept in `tp` while in the kernel).
#[inline(always)]
pub fn hart_id() -> usize {
    csr::tp()
}

/// This hart's state.
///
/// # Safety
/// Interrupts must be off (so the caller cannot move to another hart), and the caller must not
/// keep two live `&mut Cpu` at once.
#[allow(clippy::mut_from_ref)]
pub unsafe fn this_cpu() -> &'static mut Cpu {
    // SAFETY: the slot belongs to this hart, and the caller ensures no aliasing borrow.
    unsafe { &mut *CPUS.0[hart_id()].get() }
}

/// Disables interrupts, counting nesting; `pop_off` re-enables them when the count drops to
/// zero and they were on at the first `push_off`.
pub fn push_off() {
    let old = csr::intr_get();
    csr::intr_off();
    // SAFETY: interrupts are off now.
    let c = unsafe { this_cpu() };
    if c.noff == 0 {
        c.intena = old;
    }
    c.noff += 1;
}

/// Undoes one `push_off`.
///
/// # Panics
/// If interrupts are on or nothing was pushed (kernel bugs).
pub fn pop_off() {
    assert!(!csr::intr_get(), "pop_off: interruptible");
    // SAFETY: interrupts are off.
    let c = unsafe { this_cpu() };
    assert!(c.noff >= 1, "pop_off: unbalanced");
    c.noff -= 1;
    if c.noff == 0 && c.intena {
        csr::intr_on();
    }
}

/// Nesting depth of `push_off` on this hart (interrupts must be off).
pub fn noff() -> usize {
    // SAFETY: read-only peek with interrupts off.
    unsafe { this_cpu().noff }
}

/// Saved interrupt state across a context switch (see `proc::sched`).
pub fn intena() -> bool {
    // SAFETY: interrupts are off whenever this is called.
    unsafe { this_cpu().intena }
}

/// Restores the saved interrupt state after a context switch.
pub fn set_intena(v: bool) {
    // SAFETY: interrupts are off whenever this is called.
    unsafe { this_cpu().intena = v };
}
