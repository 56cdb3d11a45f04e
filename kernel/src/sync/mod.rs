//! Locks: spinlocks that disable interrupts on their hart, and sleep locks that a process may
//! hold across disk I/O. Lock order is written once, in `proc/mod.rs`.

mod sleep;
mod spin;

pub use sleep::{SleepLock, SleepLockGuard};
pub use spin::{SpinLock, SpinLockGuard};
