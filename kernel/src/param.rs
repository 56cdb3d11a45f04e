//! Kernel-wide sizes and limits. User-visible limits live in the `abi` crate.

/// Most harts the kernel will run on; extra harts park in `_entry`.
pub const NCPU: usize = 8;
/// Size of each hart's boot stack (also its scheduler stack).
pub const BOOT_STACK_SIZE: usize = 16 * 1024;
/// Most processes at once.
pub const NPROC: usize = 64;
/// Pages in each process's kernel stack (a guard page sits below each).
pub const KSTACK_PAGES: usize = 4;
/// Timer interrupt interval in `time` units: one tick (0.1 s at 10 MHz).
pub const TICK_INTERVAL: u64 = abi::TICK_TIME_UNITS;
/// Open files per process.
pub const NOFILE: usize = abi::NOFILE;
/// Pages of user stack (ABI: USERSTACK 1).
pub const USERSTACK: usize = 1;
