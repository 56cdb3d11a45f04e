//! A sleep lock: a lock a process may hold for a long time (across disk I/O); waiters sleep
//! instead of spinning. Only process context may take one (never an interrupt handler).

use super::SpinLock;
use crate::proc;
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};

struct State {
    locked: bool,
    pid: i32,
    /// Processes sleeping in `lock`: an unlock with none skips the wakeup, which scans the
    /// whole process table (most unlocks are uncontended).
    waiters: u32,
}

pub struct SleepLock<T> {
    state: SpinLock<State>,
    data: UnsafeCell<T>,
}

// SAFETY: `state` serializes ownership; only the owner touches `data`.
unsafe impl<T: Send> Sync for SleepLock<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for SleepLock<T> {}

impl<T> SleepLock<T> {
    pub const fn new(name: &'static str, data: T) -> Self {
        SleepLock {
            state: SpinLock::new(name, State { locked: false, pid: 0, waiters: 0 }),
            data: UnsafeCell::new(data),
        }
    }

    fn chan(&self) -> usize {
        self as *const Self as usize
    }

    /// Sleeps until the lock is free, then takes it.
    pub fn lock(&self) -> SleepLockGuard<'_, T> {
        let mut st = self.state.lock();
        while st.locked {
            st.waiters += 1;
            st = proc::sleep(self.chan(), st);
            st.waiters -= 1;
        }
        st.locked = true;
        st.pid = proc::current_pid();
        SleepLockGuard { lock: self }
    }

    /// Takes the lock if it is free; never sleeps (an interrupt handler may call it).
    pub fn try_lock(&self) -> Option<SleepLockGuard<'_, T>> {
        let mut st = self.state.lock();
        if st.locked {
            return None;
        }
        st.locked = true;
        st.pid = proc::current_pid();
        Some(SleepLockGuard { lock: self })
    }

    fn unlock(&self) {
        let mut st = self.state.lock();
        st.locked = false;
        st.pid = 0;
        if st.waiters > 0 {
            proc::wakeup(self.chan());
        }
    }
}

pub struct SleepLockGuard<'a, T> {
    lock: &'a SleepLock<T>,
}

impl<T> Deref for SleepLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the current process owns the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for SleepLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: ownership plus `&mut self` make this the only access.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SleepLockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}
