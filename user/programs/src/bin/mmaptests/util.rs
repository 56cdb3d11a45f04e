//! Helpers shared by the mmap cases: failure macros, child processes whose exit status is the
//! verdict, raw loads and stores at exact addresses, `mmap`/`munmap` wrappers that name the
//! call in a failure, kernel counters, and small file utilities (the helpers both suites use
//! live in `ulib::testing` and are re-exported here). Nothing here decides what the kernel
//! must do; the cases do.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use ulib::{abi, fs, process, sys};

pub use ulib::testing::{expect_killed, in_child, load_byte, spawn, store_byte, wait_for, Ctx, TestResult};

/// The page size.
pub const PG: usize = abi::PGSIZE;
/// Read and write.
pub const RW: usize = abi::PROT_READ | abi::PROT_WRITE;

/// Fails the current test with a formatted reason.
macro_rules! fail {
    ($($arg:tt)*) => { return Err(alloc::format!($($arg)*)) };
}

/// Fails the current test unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => { if !$cond { fail!($($arg)*) } };
}

/// Waits for all of `pids` (in any order); returns their statuses in the order of `pids`.
pub fn wait_all(pids: &[i32]) -> Result<Vec<i32>, String> {
    process::wait_all(pids).map_err(|e| format!("wait failed ({})", e))
}

/// Runs `f` in a child that must exit with 0; a non-zero status is reported with `what`.
pub fn expect_child_ok(what: &str, f: impl FnOnce() -> i32) -> TestResult {
    match in_child(f)? {
        0 => Ok(()),
        s => Err(format!("child {} failed with status {}", what, s)),
    }
}

/// The `len` bytes at `addr`, which lie in a readable mapping of this process.
///
/// # Safety
/// `[addr, addr + len)` must stay mapped and readable while the slice is used. Other
/// processes may store into it (shared mappings), which the cases read as plain bytes.
pub unsafe fn bytes<'a>(addr: usize, len: usize) -> &'a [u8] {
    // SAFETY: the caller vouches for the range.
    unsafe { core::slice::from_raw_parts(addr as *const u8, len) }
}

/// The `len` bytes at `addr`, writable, in a writable mapping of this process.
///
/// # Safety
/// As for [`bytes`], and the range must be writable and used by nothing else in Rust.
pub unsafe fn bytes_mut<'a>(addr: usize, len: usize) -> &'a mut [u8] {
    // SAFETY: the caller vouches for the range.
    unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len) }
}

/// Raw `mmap`: the address or -1.
pub fn raw_mmap(addr: usize, len: usize, prot: usize, flags: usize, fd: i32, off: usize) -> isize {
    // SAFETY: every case calls this with MAP_FIXED only at addresses in the mmap area (far
    // above the heap, which is all Rust code uses) or at pages it set aside itself.
    unsafe { sys::mmap(addr, len, prot, flags, fd, off) }
}

/// `mmap` that must succeed; returns the address.
pub fn map(addr: usize, len: usize, prot: usize, flags: usize, fd: i32, off: usize) -> Result<usize, String> {
    let r = raw_mmap(addr, len, prot, flags, fd, off);
    if r == -1 {
        fail!("mmap({:#x}, {:#x}, {}, {:#x}, {}, {:#x}) failed", addr, len, prot, flags, fd, off);
    }
    ensure!(r > 0 && (r as usize).is_multiple_of(PG), "mmap returned {:#x}, not a page address", r);
    Ok(r as usize)
}

/// Raw `munmap`: 0 or -1.
pub fn raw_munmap(addr: usize, len: usize) -> isize {
    // SAFETY: the cases unmap only their own mappings, which no Rust object lives in.
    unsafe { sys::munmap(addr, len) }
}

/// `munmap` that must succeed.
pub fn unmap(addr: usize, len: usize) -> TestResult {
    let r = raw_munmap(addr, len);
    ensure!(r == 0, "munmap({:#x}, {:#x}) returned {}, expected 0", addr, len, r);
    Ok(())
}

/// Kernel counter `c` (`abi::kstat::*`).
pub fn kstat(c: usize) -> Result<u64, String> {
    process::kstat(c).ok_or_else(|| format!("kstat({}) is not supported", c))
}

/// Pages written back from shared mappings since boot.
pub fn written_back() -> Result<u64, String> {
    kstat(abi::kstat::PAGES_WRITTEN_BACK)
}

/// Physical pages free or holding droppable file data (`FREE_PAGES + FILE_PAGES`: programs
/// are read lazily through the page cache, and memory pressure evicts cached pages and brings
/// them back), or a failure when the kernel does not report them.
pub fn free() -> Result<u64, String> {
    Ok(kstat(abi::kstat::FREE_PAGES)? + kstat(abi::kstat::FILE_PAGES)?)
}

/// Byte `i` of the test pattern `seed`: different for nearby offsets, pages and seeds, and
/// never 0 for seeds below 128 (so zero-filled memory never matches).
pub fn pattern(seed: usize, i: usize) -> u8 {
    let v = (i.wrapping_mul(31) ^ (i >> 12).wrapping_mul(17) ^ seed.wrapping_mul(101)) as u8;
    v | (0x80 * u8::from(v == 0))
}

/// `len` bytes of pattern `seed`.
pub fn pattern_vec(seed: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| pattern(seed, i)).collect()
}

/// Checks that `got` equals pattern `seed` from offset `base`, naming `what` on a mismatch.
pub fn check_pattern(what: &str, got: &[u8], seed: usize, base: usize) -> TestResult {
    if let Some(k) = (0..got.len()).find(|&k| got[k] != pattern(seed, base + k)) {
        fail!("{}: byte {} is {:#x}, expected {:#x}", what, base + k, got[k], pattern(seed, base + k));
    }
    Ok(())
}

/// Checks that every byte of `got` is zero, naming `what` on a mismatch.
pub fn check_zero(what: &str, got: &[u8]) -> TestResult {
    if let Some(k) = got.iter().position(|&b| b != 0) {
        fail!("{}: byte {} is {:#x}, expected 0", what, k, got[k]);
    }
    Ok(())
}

/// Creates (or truncates) `name` and writes `data` into it.
pub fn write_file(name: &str, data: &[u8]) -> TestResult {
    let fd = fs::open(name, abi::O_CREATE | abi::O_WRONLY | abi::O_TRUNC)
        .ctx(&format!("open({}, O_CREATE|O_WRONLY|O_TRUNC)", name))?;
    let r = fs::write_all(fd, data);
    let _ = fs::close(fd);
    r.ctx(&format!("write of {} bytes to {}", data.len(), name))
}

/// Creates `name` holding `len` bytes of pattern `seed`.
pub fn pattern_file(name: &str, seed: usize, len: usize) -> TestResult {
    write_file(name, &pattern_vec(seed, len))
}

/// Reads all of `name`.
pub fn read_file(name: &str) -> Result<Vec<u8>, String> {
    let fd = fs::open(name, abi::O_RDONLY).ctx(&format!("open({}, O_RDONLY)", name))?;
    let r = fs::read_to_end(fd);
    let _ = fs::close(fd);
    r.ctx(&format!("read of {}", name))
}

/// Opens `name` with `flags`.
pub fn open(name: &str, flags: usize) -> Result<i32, String> {
    fs::open(name, flags).ctx(&format!("open({}, {:#x})", name, flags))
}

/// Removes files left by an earlier, interrupted run (errors ignored).
pub fn clean(names: &[&str]) {
    for n in names {
        let _ = fs::unlink(n);
    }
}

/// Removes `name`, which must exist.
pub fn remove(name: &str) -> TestResult {
    fs::unlink(name).ctx(&format!("unlink({})", name))
}

/// A pipe used to order events between processes: one byte is one "go".
pub struct Signal {
    rd: i32,
    wr: i32,
}

impl Signal {
    pub fn new() -> Result<Signal, String> {
        let (rd, wr) = fs::pipe().ctx("pipe")?;
        Ok(Signal { rd, wr })
    }

    /// Sends `n` signals.
    pub fn post(&self, n: usize) {
        for _ in 0..n {
            let _ = fs::write(self.wr, b"g");
        }
    }

    /// Waits for one signal; false if the pipe broke (every writer gone).
    pub fn wait(&self) -> bool {
        let mut b = [0u8; 1];
        matches!(fs::read(self.rd, &mut b), Ok(1))
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        let _ = fs::close(self.rd);
        let _ = fs::close(self.wr);
    }
}

/// Clock ticks (0.1 s) since boot.
pub fn ticks() -> usize {
    process::uptime()
}
