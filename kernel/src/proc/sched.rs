//! Scheduling: each hart runs `scheduler`, a round-robin loop over the process table that
//! switches into runnable processes; a process gives the hart back through `sched` (from
//! `yield_now`, `sleep` or `exit`). Sleep and wakeup work on channels (addresses).
//!
//! A process's `lock` is held across every switch: taken by the side giving up the hart and
//! released by the side that resumes, so no other hart can see a half-switched process.

use super::{current, State, PROCS};
use crate::arch::switch::switch_context;
use crate::arch::{cpu, csr};
use crate::param::NPROC;
use crate::sync::{SpinLock, SpinLockGuard};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Time the harts spent waiting in `wfi` with nothing to run, in `time` units (`kstat`
/// IDLE_TIME).
pub static IDLE_TIME: AtomicU64 = AtomicU64::new(0);

/// Processes in state `Runnable`: raised with the process lock held by
/// `ProcShared::set_runnable`, lowered by the scheduler that picks one. A hart whose scan
/// would find nothing (the count is 0) goes straight to `wfi` instead of locking all 64 slots
/// (each disk wait costs two such scans otherwise). The count never misses a process made
/// runnable before it is read: the increment comes with the state change, under the lock.
pub static RUNNABLE: AtomicUsize = AtomicUsize::new(0);

/// The per-hart scheduler loop. Never returns.
pub fn scheduler() -> ! {
    // SAFETY: interrupts are briefly off in the loop below whenever the slot is touched.
    loop {
        // Let devices interrupt (and avoid deadlock if every process sleeps).
        csr::intr_on();
        csr::intr_off();
        let mut found = false;
        for p in PROCS.iter().take_while(|_| RUNNABLE.load(Ordering::Acquire) > 0) {
            let mut g = p.lock.lock();
            if g.state == State::Runnable && !g.held_off {
                RUNNABLE.fetch_sub(1, Ordering::Relaxed);
                g.state = State::Running;
                // SAFETY: interrupts are off (the lock is held) and this hart owns its slot.
                let c = unsafe { cpu::this_cpu() };
                c.proc = p;
                // The process is ours while Running; its context was saved by `sched` or set
                // up by `alloc_proc`.
                let ctx = p.context_ptr() as *const _;
                // SAFETY: both contexts are valid; the process's lock is passed across.
                unsafe { switch_context(&mut c.context, ctx) };
                // SAFETY: as above.
                unsafe { cpu::this_cpu().proc = core::ptr::null() };
                found = true;
            }
            drop(g);
        }
        if !found {
            // Wait with interrupts still off: `wfi` returns as soon as an interrupt is pending
            // (enabled in `sie`, whatever `sstatus.SIE` says), and the loop's top takes it. An
            // interrupt that arrived during the scan (a disk completion waking a process the
            // scan had already passed) is pending now, so this returns at once; enabling
            // interrupts before `wfi` would take it first and then sleep until the next one
            // (the next timer tick, 100 ms), with a runnable process waiting.
            let t = csr::time();
            csr::wfi();
            IDLE_TIME.fetch_add(csr::time() - t, Ordering::Relaxed);
        }
    }
}

/// Switches to this hart's scheduler. The caller holds exactly its own process lock (given as
/// `g`) and has already changed its state. Returns with the lock held again.
pub fn sched<'a>(g: SpinLockGuard<'a, super::ProcShared>) -> SpinLockGuard<'a, super::ProcShared> {
    let p = current();
    assert!(cpu::noff() == 1, "sched: locks held");
    assert!(g.state != State::Running, "sched: running");
    assert!(!csr::intr_get(), "sched: interruptible");
    let intena = cpu::intena();
    // SAFETY: we are this process (our context is ours to save); the scheduler context
    // belongs to this hart.
    unsafe { switch_context(p.context_ptr(), &cpu::this_cpu().context) };
    cpu::set_intena(intena);
    g
}

/// Gives up the hart for one scheduling round.
pub fn yield_now() {
    let p = current();
    let mut g = p.lock.lock();
    g.set_runnable();
    drop(sched(g));
}

/// Atomically releases `guard`'s lock and sleeps on `chan`; retakes the lock on wakeup.
///
/// The sleeper announces itself ([`SLEEPERS`], [`SLEEP_CHAN`]) before it releases `guard`,
/// so a waker that changes the condition under that lock afterwards finds it; taking its
/// process lock before the release means the waker's lock of the process waits until the
/// state says `Sleeping`.
pub fn sleep<'a, T>(chan: usize, guard: SpinLockGuard<'a, T>) -> SpinLockGuard<'a, T> {
    let p = current();
    let slot = p.slot();
    let lock: &'a SpinLock<T> = guard.lock_ref();
    SLEEP_CHAN[slot].store(chan, Ordering::Relaxed);
    SLEEPERS.fetch_or(1 << slot, Ordering::Relaxed);
    // Taking p.lock first means no wakeup can slip between releasing `guard` and sleeping.
    let mut g = p.lock.lock();
    drop(guard);
    g.chan = chan;
    g.state = State::Sleeping;
    let mut g = sched(g);
    g.chan = 0;
    drop(g);
    SLEEPERS.fetch_and(!(1 << slot), Ordering::Relaxed);
    SLEEP_CHAN[slot].store(0, Ordering::Relaxed);
    lock.lock()
}

/// Slots that may be asleep: bit `i` is set by slot `i`'s `sleep` before it releases the
/// condition's lock and cleared after it wakes, so a waker that took that lock after the
/// sleeper released it sees the bit (and `SLEEP_CHAN[i]`) by the lock's ordering. [`wakeup`]
/// locks only the slots whose bit is set and whose channel matches, instead of all 64.
static SLEEPERS: AtomicU64 = AtomicU64::new(0);

/// The channel slot `i` sleeps on while its bit in [`SLEEPERS`] is set (a hint: the process
/// lock's `chan` and `state` decide).
static SLEEP_CHAN: [AtomicUsize; NPROC] = [const { AtomicUsize::new(0) }; NPROC];

const _: () = assert!(NPROC <= 64, "SLEEPERS has one bit per process slot");

/// Wakes every process sleeping on `chan`. Must not be called with any process lock held.
/// The condition the sleepers wait for must have been changed under the lock they sleep
/// with (held here or released before this call), as every caller does.
pub fn wakeup(chan: usize) {
    let me = super::try_current().map(|p| p.slot());
    let mut mask = SLEEPERS.load(Ordering::Relaxed);
    while mask != 0 {
        let i = mask.trailing_zeros() as usize;
        mask &= mask - 1;
        if Some(i) == me || SLEEP_CHAN[i].load(Ordering::Relaxed) != chan {
            continue;
        }
        let mut g = PROCS[i].lock.lock();
        if g.state == State::Sleeping && g.chan == chan {
            g.set_runnable();
        }
    }
}

static FIRST: AtomicBool = AtomicBool::new(true);

/// Where a new process starts: release the lock handed over by the scheduler, finish the
/// first process's setup (file system, exec of /init), then return to user space.
pub extern "C" fn fork_return() -> ! {
    // SAFETY: the scheduler took our lock before switching here and we are its holder now.
    unsafe { current().lock.force_unlock() };
    if FIRST.swap(false, Ordering::AcqRel) {
        crate::fs::init();
        drop(super::replace_cwd(crate::fs::root()));
        let cmd = crate::boot::bootargs();
        let r = if cmd.is_empty() {
            super::exec(b"/init", &[b"init"])
        } else {
            super::exec(b"/init", &[b"init", b"-c", cmd])
        };
        if let Err(e) = r {
            panic!("cannot exec /init: {:?}", e);
        }
    }
    crate::arch::trap::user_trap_return();
}
