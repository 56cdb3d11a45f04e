//! The space lock: one per process, held by the process while it changes the *shape* of its
//! address space (its set of mappings, or which address space it has at all), and by anyone
//! who reads that shape from outside (`vmmaps` of another pid, Ctrl-P).
//!
//! The owner takes it around mmap, munmap, exec, and exit's final unmap, all of which may sleep
//! for disk I/O, so it is a sleeping lock. Page faults and sbrk do not take it: they only add
//! or remove page-table entries (interior tables are never freed while the space lives), which
//! a reader may see half-way without harm. Unlike `SleepLock` it knows whether anyone waits, so
//! the uncontended case (every mmap and munmap) costs two spinlock round trips and no wakeup
//! scan, and it offers `try_lock` for the console's interrupt handler, which must not sleep.
//!
//! The guard also carries the `torn_down` flag: exit sets it (under the lock) once the last
//! mapping is gone, telling readers that the space may be freed by the parent's `wait` at any
//! moment without this lock, so they must not look at it any more.

use super::{sleep, wakeup};
use crate::sync::SpinLock;

struct State {
    held: bool,
    /// Processes sleeping in `lock`.
    waiters: u32,
    /// The owner has exited: its space is no longer to be read (see the module docs).
    torn_down: bool,
}

pub struct SpaceLock {
    state: SpinLock<State>,
}

impl SpaceLock {
    pub const fn new() -> SpaceLock {
        SpaceLock { state: SpinLock::new("space", State { held: false, waiters: 0, torn_down: false }) }
    }

    fn chan(&self) -> usize {
        self as *const SpaceLock as usize
    }

    /// Sleeps until the lock is free, then takes it. Process context only.
    pub fn lock(&self) -> SpaceGuard<'_> {
        let mut st = self.state.lock();
        while st.held {
            st.waiters += 1;
            st = sleep(self.chan(), st);
            st.waiters -= 1;
        }
        st.held = true;
        SpaceGuard { lock: self }
    }

    /// Takes the lock if it is free; never sleeps (interrupt handlers may call it).
    pub fn try_lock(&self) -> Option<SpaceGuard<'_>> {
        let mut st = self.state.lock();
        if st.held {
            return None;
        }
        st.held = true;
        Some(SpaceGuard { lock: self })
    }
}

/// Proof that the space lock is held; releases it when dropped.
pub struct SpaceGuard<'a> {
    lock: &'a SpaceLock,
}

impl SpaceGuard<'_> {
    /// Whether the owner has exited and its space must not be read any more.
    pub fn torn_down(&self) -> bool {
        self.lock.state.lock().torn_down
    }

    /// Sets the torn-down flag (exit) or clears it (a new process in the slot).
    pub fn set_torn_down(&mut self, v: bool) {
        self.lock.state.lock().torn_down = v;
    }
}

impl Drop for SpaceGuard<'_> {
    fn drop(&mut self) {
        let mut st = self.lock.state.lock();
        st.held = false;
        if st.waiters > 0 {
            wakeup(self.lock.chan());
        }
    }
}
