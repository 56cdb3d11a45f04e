//! A sleep lock: a lock a process may hold for a long time (across disk I/O); waiters sleep
//! instead of spinning. Only process context may take one (never an interrupt handler).

use super::SpinLock;
use crate::proc;
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU8, Ordering};

/// `word` bit: the lock is held.
const LOCKED: u8 = 1;
/// `word` bit: processes sleep (or are about to) in `lock`; the unlock must wake them.
const WAITERS: u8 = 2;

/// The lock itself is one atomic word, so the uncontended case (nearly every lock: inodes,
/// buffers, address spaces) is one compare-and-swap to take it and one atomic AND to release
/// it. Waiters announce themselves (`WAITERS`) and sleep under `sleepers`, a spinlock that
/// also counts them; an unlock that sees `WAITERS` takes that spinlock and wakes them, so no
/// wakeup is lost: a waiter checks the lock and goes to sleep while holding it.
pub struct SleepLock<T> {
    word: AtomicU8,
    /// Processes in the slow path of `lock`.
    sleepers: SpinLock<u32>,
    data: UnsafeCell<T>,
}

// SAFETY: `word` serializes ownership; only the owner touches `data`.
unsafe impl<T: Send> Sync for SleepLock<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for SleepLock<T> {}

impl<T> SleepLock<T> {
    pub const fn new(name: &'static str, data: T) -> Self {
        SleepLock { word: AtomicU8::new(0), sleepers: SpinLock::new(name, 0), data: UnsafeCell::new(data) }
    }

    fn chan(&self) -> usize {
        self as *const Self as usize
    }

    /// Sleeps until the lock is free, then takes it. A lock with waiters goes to one of them,
    /// never to a newcomer's fast path.
    pub fn lock(&self) -> SleepLockGuard<'_, T> {
        if self.word.compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            return SleepLockGuard { lock: self };
        }
        let mut n = self.sleepers.lock();
        *n += 1;
        self.word.fetch_or(WAITERS, Ordering::Relaxed);
        while self.word.fetch_or(LOCKED, Ordering::Acquire) & LOCKED != 0 {
            n = proc::sleep(self.chan(), n);
        }
        *n -= 1;
        if *n == 0 {
            self.word.fetch_and(!WAITERS, Ordering::Relaxed);
        }
        SleepLockGuard { lock: self }
    }

    /// Takes the lock if it is free and nobody waits for it; never sleeps (an interrupt
    /// handler may call it).
    pub fn try_lock(&self) -> Option<SleepLockGuard<'_, T>> {
        self.word
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| SleepLockGuard { lock: self })
    }

    fn unlock(&self) {
        if self.word.fetch_and(!LOCKED, Ordering::Release) & WAITERS != 0 {
            let _n = self.sleepers.lock();
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
