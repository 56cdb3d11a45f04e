//! What the guest benchmark programs (`bench_*`) share: the clock, the result line they print,
//! kernel counters read around a measurement, and making and touching test data.
//!
//! The clock is the `time` CSR read straight from user mode (no system call), in units of
//! the 10 MHz timebase; under QEMU's `-icount shift=0` one unit is 100 guest instructions.
//! Every result is one line, `bench NAME key=value ...`, which the host's `cargo bench`
//! parses; by convention `time` is the measured section's total in `time` units and `ops` the
//! number of operations it performed. Counters come from the `kstat` extension; on a kernel
//! without it they are simply left out of the line, so the programs run on any kernel with
//! xv6's system calls 1-23. Nothing here measures by itself or decides what a figure means.

use crate::{abi, fs, SysResult};
use alloc::string::String;
use alloc::vec;
use core::fmt::Write;

/// The `time` CSR: ticks of the 10 MHz timebase since boot.
#[inline(always)]
pub fn now() -> u64 {
    let t: u64;
    // SAFETY: reading `time` has no side effects; the kernel lets user mode read it
    // (scounteren), and a kernel that does not would kill the program, not corrupt memory.
    unsafe { core::arch::asm!("rdtime {}", out(reg) t, options(nomem, nostack)) };
    t
}

/// Reads the kernel counter `counter` (`abi::kstat::*`); `None` on a kernel without it.
pub fn counter(counter: usize) -> Option<u64> {
    crate::process::kstat(counter)
}

/// The kernel counters a benchmark reports as deltas, read at one moment.
#[derive(Clone, Copy, Debug)]
pub struct Counters {
    /// Disk blocks read since boot.
    pub disk_reads: Option<u64>,
    /// Disk blocks written since boot.
    pub disk_writes: Option<u64>,
    /// Pages of shared mappings written back to their files since boot.
    pub written_back: Option<u64>,
    /// Anonymous zero-fill faults since boot.
    pub anon_faults: Option<u64>,
    /// Faults served from the page cache (file or shared memory) since boot.
    pub file_faults: Option<u64>,
    /// Time the harts spent idle since boot (`time` units).
    pub idle: Option<u64>,
}

impl Counters {
    /// The counters now.
    pub fn read() -> Counters {
        use abi::kstat::*;
        Counters {
            disk_reads: counter(DISK_READS),
            disk_writes: counter(DISK_WRITES),
            written_back: counter(PAGES_WRITTEN_BACK),
            anon_faults: counter(ANON_FAULTS),
            file_faults: counter(FILE_FAULTS),
            idle: counter(IDLE_TIME),
        }
    }
}

/// One result line under construction: `bench NAME`, then `key=value` pairs in the order
/// they are added.
pub struct Line {
    text: String,
}

impl Line {
    /// A line for benchmark `name` (one word).
    pub fn new(name: &str) -> Line {
        let mut text = String::from("bench ");
        text.push_str(name);
        Line { text }
    }

    /// Adds `key=value`; `value` must be one word.
    pub fn word(mut self, key: &str, value: &str) -> Line {
        let _ = write!(self.text, " {key}={value}");
        self
    }

    /// Adds `key=value` for a number.
    pub fn num(mut self, key: &str, value: u64) -> Line {
        let _ = write!(self.text, " {key}={value}");
        self
    }

    /// Adds the measured section: its total `time` units and the number of operations in it.
    pub fn time(self, time: u64, ops: u64) -> Line {
        self.num("ops", ops).num("time", time)
    }

    /// Adds the change of each counter from `before` to `after`, leaving out the counters the
    /// kernel does not have. Only the counters named in `which` (`abi::kstat::*`) are added,
    /// and then, always, `idle`: the time the hart spent waiting with nothing to run (for the
    /// disk), which the report subtracts from `time` to count the guest's own instructions.
    pub fn deltas(mut self, before: &Counters, after: &Counters, which: &[usize]) -> Line {
        use abi::kstat::*;
        for &c in which {
            let (key, b, a) = match c {
                DISK_READS => ("disk_reads", before.disk_reads, after.disk_reads),
                DISK_WRITES => ("disk_writes", before.disk_writes, after.disk_writes),
                PAGES_WRITTEN_BACK => ("written_back", before.written_back, after.written_back),
                ANON_FAULTS => ("anon_faults", before.anon_faults, after.anon_faults),
                FILE_FAULTS => ("file_faults", before.file_faults, after.file_faults),
                _ => continue,
            };
            if let (Some(b), Some(a)) = (b, a) {
                self = self.num(key, a.wrapping_sub(b));
            }
        }
        if let (Some(b), Some(a)) = (before.idle, after.idle) {
            self = self.num("idle", a.wrapping_sub(b));
        }
        self
    }

    /// Prints the line on standard output.
    pub fn print(self) {
        crate::println!("{}", self.text);
    }
}

/// The byte at offset `off` of every benchmark data file: varied, so that a checksum notices
/// a page read from the wrong place.
pub fn pattern(off: usize) -> u8 {
    (off / abi::PGSIZE * 7 + off % 251) as u8
}

/// Creates (or truncates) the file `path` and writes `size` bytes of [`pattern`] to it with
/// `write()` calls of `chunk` bytes. Returns the time spent in the calls (`open`, `write`,
/// `close`), without the making of the pattern between them.
pub fn make_file(path: &str, size: usize, chunk: usize) -> SysResult<u64> {
    let start = now();
    let fd = fs::open(path, abi::O_CREATE | abi::O_TRUNC | abi::O_WRONLY)?;
    let mut time = now() - start;
    let mut buf = vec![0u8; chunk];
    let mut off = 0;
    let mut result = Ok(());
    while off < size && result.is_ok() {
        let n = chunk.min(size - off);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = pattern(off + i);
        }
        let start = now();
        result = fs::write_all(fd, &buf[..n]);
        time += now() - start;
        off += n;
    }
    let start = now();
    let _ = fs::close(fd);
    time += now() - start;
    result.map(|()| time)
}

/// Loads the byte at `addr`, so that its page is faulted in (read access).
///
/// # Safety
/// `addr` must lie in memory the process may read; a mapping that is not yet present is fine.
#[inline(always)]
pub unsafe fn touch_read(addr: usize) -> u8 {
    // SAFETY: the caller vouches for `addr`.
    unsafe { core::ptr::read_volatile(addr as *const u8) }
}

/// Stores `value` at `addr`, so that its page is faulted in (write access).
///
/// # Safety
/// `addr` must lie in memory the process may write and that no Rust object occupies.
#[inline(always)]
pub unsafe fn touch_write(addr: usize, value: u8) {
    // SAFETY: the caller vouches for `addr`.
    unsafe { core::ptr::write_volatile(addr as *mut u8, value) }
}

/// Parses a size argument: a decimal number with an optional `k` or `m` suffix (KiB, MiB).
pub fn parse_size(s: &str) -> Option<usize> {
    let (digits, unit) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1024),
        b'm' | b'M' => (&s[..s.len() - 1], 1024 * 1024),
        _ => (s, 1),
    };
    digits.parse::<usize>().ok()?.checked_mul(unit)
}
