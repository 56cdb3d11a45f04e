//! Helpers shared by the test cases: failure macros that name the call and what it returned,
//! child processes whose exit status is the verdict, probes that load or store at an exact
//! address (the ones both suites use live in `ulib::testing` and are re-exported here), and
//! small file utilities. Nothing here decides what a kernel must do.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use ulib::{abi, fs, process};

pub use ulib::testing::{expect_killed, in_child, load_byte, spawn, store_byte, wait_for, Ctx, TestResult};

/// Fails the current test with a formatted reason.
macro_rules! fail {
    ($($arg:tt)*) => { return Err(alloc::format!($($arg)*)) };
}

/// Fails the current test unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => { if !$cond { fail!($($arg)*) } };
}

/// Evaluates a raw system call that must fail; fails the test unless it returned -1.
macro_rules! expect_fail {
    ($call:expr) => {{
        let ret = $call as isize;
        if ret != -1 {
            fail!("{} returned {}, expected -1", stringify!($call), ret);
        }
    }};
}

/// Evaluates a raw system call that must succeed; yields its (non-negative) result.
macro_rules! expect_ok {
    ($call:expr) => {{
        let ret = $call as isize;
        if ret < 0 {
            fail!("{} failed (returned {})", stringify!($call), ret);
        }
        ret
    }};
}

/// A NUL-terminated byte-string literal, as a pointer for the raw calls.
macro_rules! cs {
    ($s:literal) => {
        concat!($s, "\0").as_ptr()
    };
}

/// The address of the argv array the kernel gave this program (inside its stack page).
pub static ARGV_ADDR: AtomicUsize = AtomicUsize::new(0);

/// The first byte of the kernel-provided stack page (the guard page lies just below it).
pub fn stack_page() -> usize {
    ARGV_ADDR.load(Ordering::Relaxed) & !(abi::PGSIZE - 1)
}

/// Waits for all of `pids` (in any order); returns `(pid, status)` in the order of `pids`.
pub fn wait_all(pids: &[i32]) -> Result<Vec<(i32, i32)>, String> {
    let statuses = process::wait_all(pids).map_err(|e| format!("wait failed ({})", e))?;
    Ok(pids.iter().copied().zip(statuses).collect())
}

/// `wait(0)`: the raw result (a pid, or -1 when there are no children).
pub fn wait_raw() -> isize {
    // SAFETY: a null status pointer asks the kernel to store nothing.
    unsafe { ulib::sys::wait(core::ptr::null_mut()) }
}

/// Status a child uses to report "exec returned -1" in exec tests.
pub const EXEC_FAILED: i32 = 77;

/// Runs `attempt` (which should call exec and fail) in a child, and checks that exec really
/// failed: the child exits with [`EXEC_FAILED`] when the attempt returns -1.
pub fn expect_exec_fails(what: &str, attempt: impl FnOnce() -> isize) -> TestResult {
    let status = in_child(|| match attempt() {
        -1 => EXEC_FAILED,
        _ => 78,
    })?;
    match status {
        EXEC_FAILED => Ok(()),
        78 => Err(format!("exec of {} returned something other than -1", what)),
        s => Err(format!("exec of {} did not fail: the process ended with status {}", what, s)),
    }
}

/// Physical pages free or holding droppable file data (`process::available_pages`), if the
/// kernel reports the counters.
pub fn free_pages() -> Option<u64> {
    process::available_pages()
}

/// Creates (or truncates) `name` and writes `data` into it.
pub fn write_file(name: &str, data: &[u8]) -> TestResult {
    let fd = fs::open(name, abi::O_CREATE | abi::O_WRONLY | abi::O_TRUNC)
        .ctx(&format!("open({}, O_CREATE|O_WRONLY|O_TRUNC)", name))?;
    let r = fs::write(fd, data);
    let _ = fs::close(fd);
    match r {
        Ok(n) if n == data.len() => Ok(()),
        Ok(n) => Err(format!("write of {} bytes to {} wrote {}", data.len(), name, n)),
        Err(e) => Err(format!("write to {} failed ({})", name, e)),
    }
}

/// Reads all of `name`.
pub fn read_file(name: &str) -> Result<Vec<u8>, String> {
    let fd = fs::open(name, abi::O_RDONLY).ctx(&format!("open({}, O_RDONLY)", name))?;
    let r = fs::read_to_end(fd);
    let _ = fs::close(fd);
    r.ctx(&format!("read of {}", name))
}

/// Does `name` exist?
pub fn exists(name: &str) -> bool {
    match fs::open(name, abi::O_RDONLY) {
        Ok(fd) => {
            let _ = fs::close(fd);
            true
        }
        Err(_) => false,
    }
}

/// Removes leftovers of an earlier, interrupted run (errors ignored); directories after the
/// files in them, so list files first.
pub fn clean(names: &[&str]) {
    for n in names {
        let _ = fs::unlink(n);
    }
}

/// The first index where `got` and `want` differ, for mismatch reports.
pub fn first_difference(got: &[u8], want: &[u8]) -> Option<usize> {
    got.iter().zip(want).position(|(a, b)| a != b).or({
        if got.len() != want.len() {
            Some(got.len().min(want.len()))
        } else {
            None
        }
    })
}

/// A deterministic byte pattern: byte `i` of stream `seed`.
pub fn pattern(seed: usize, i: usize) -> u8 {
    (i.wrapping_mul(7) ^ (i >> 8) ^ seed.wrapping_mul(131)) as u8
}

/// A small deterministic pseudo-random generator (xorshift).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self, below: u64) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x % below
    }
}

/// Grows the heap to a page boundary and then by one page that only the caller uses;
/// returns its address. The break is the end of that page, and nothing is mapped above it.
pub fn top_page() -> Result<usize, String> {
    let cur = ulib::memory::brk();
    let pad = cur.next_multiple_of(abi::PGSIZE) - cur;
    if pad > 0 {
        ulib::memory::sbrk_eager(pad).ctx("sbrk to a page boundary")?;
    }
    let page = ulib::memory::sbrk_eager(abi::PGSIZE).ctx("sbrk(4096)")?;
    ensure!(page % abi::PGSIZE == 0, "sbrk returned {:#x}, not page-aligned", page);
    Ok(page)
}

/// Read-only data the tests try to make the kernel write into.
pub static RODATA_PROBE: [u8; 64] = [0xa5; 64];
