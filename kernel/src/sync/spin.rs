//! A spinlock owning its data. Taking it disables interrupts on this hart (so an interrupt
//! handler can never deadlock against the code it interrupted) until the hart releases its last
//! spinlock; taking one this hart already holds is a kernel bug and panics.

use crate::arch::cpu::{self, pop_off, push_off};
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const NO_OWNER: usize = usize::MAX;

pub struct SpinLock<T> {
    locked: AtomicBool,
    owner: AtomicUsize,
    name: &'static str,
    data: UnsafeCell<T>,
}

// SAFETY: the lock serializes all access to `data`, so sharing the lock between harts is sound
// whenever the data itself may be sent between them.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: as above; moving the lock moves the data.
unsafe impl<T: Send> Send for SpinLock<T> {}

impl<T> SpinLock<T> {
    pub const fn new(name: &'static str, data: T) -> Self {
        SpinLock {
            locked: AtomicBool::new(false),
            owner: AtomicUsize::new(NO_OWNER),
            name,
            data: UnsafeCell::new(data),
        }
    }

    /// Spins until the lock is free, then takes it.
    ///
    /// # Panics
    /// If this hart already holds the lock (a kernel bug).
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        push_off();
        if self.holding() {
            panic!("spinlock {} taken twice", self.name);
        }
        while self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            core::hint::spin_loop();
        }
        self.owner.store(cpu::hart_id(), Ordering::Relaxed);
        SpinLockGuard { lock: self }
    }

    /// Takes the lock if it is free and not held by this hart; never spins (an interrupt
    /// handler may call it).
    pub fn try_lock(&self) -> Option<SpinLockGuard<'_, T>> {
        push_off();
        if self.holding()
            || self.locked.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err()
        {
            pop_off();
            return None;
        }
        self.owner.store(cpu::hart_id(), Ordering::Relaxed);
        Some(SpinLockGuard { lock: self })
    }

    /// Whether this hart holds the lock. Interrupts must be off.
    pub fn holding(&self) -> bool {
        self.locked.load(Ordering::Relaxed) && self.owner.load(Ordering::Relaxed) == cpu::hart_id()
    }

    /// Releases a lock whose guard was consumed elsewhere (a context switch hands the lock of
    /// a process from the scheduler to the process).
    ///
    /// # Safety
    /// This hart must hold the lock and no live guard may be used afterwards.
    pub unsafe fn force_unlock(&self) {
        self.owner.store(NO_OWNER, Ordering::Relaxed);
        self.locked.store(false, Ordering::Release);
        pop_off();
    }

    /// Access without locking.
    ///
    /// # Safety
    /// The caller guarantees no other hart touches the data meanwhile.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get_unchecked(&self) -> &mut T {
        // SAFETY: exclusivity is the caller's promise.
        unsafe { &mut *self.data.get() }
    }
}

pub struct SpinLockGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<'a, T> SpinLockGuard<'a, T> {
    /// The lock this guard holds (so `sleep` can release and retake it).
    pub fn lock_ref(&self) -> &'a SpinLock<T> {
        self.lock
    }
}

impl<T> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves this hart holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves this hart holds the lock, and `&mut self` makes it unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: a live guard means this hart holds the lock.
        unsafe { self.lock.force_unlock() };
    }
}
