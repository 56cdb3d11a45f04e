//! fuzz: a system-call fuzzer. `fuzz SEED N` makes N random system calls with adversarial
//! arguments; `fuzz SEED N oom` first exhausts kernel resources on purpose (see [`oom`]).
//!
//! The calls come from a small PRNG seeded by SEED, so a run can be repeated. They are made
//! in chunks of [`CHUNK`], each in a forked child under a watchdog child that kills it after
//! [`CHUNK_TICKS`] ticks: a chunk that the kernel kills for a bad access, or that hangs in a
//! blocking call, is normal; only the kernel must survive. Every call number from 0 to 31 and
//! some beyond is made, except `poweroff` (24), which would stop the machine. Calls that end
//! the caller (`exit`, `exec`, `kill` of itself) run in grandchildren. At the end the parent
//! checks that the kernel's free-page count is back at its start value, that the file system
//! still works (create, write, read back, unlink), and prints one verdict line:
//! `fuzz: PASS` (exit 0) or `fuzz: FAIL: REASON` (exit 1).
//!
//! Everything the fuzzer creates lives under `/fz` and has a name starting with `fz`; the
//! directory is removed at the end.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

mod calls;
mod oom;
mod rng;

use alloc::vec;
use alloc::vec::Vec;
use ulib::abi::{self, MAP_ANONYMOUS, MAP_SHARED, PGSIZE, PROT_READ, PROT_WRITE};
use ulib::process;
use ulib::testing::{supervise, Outcome};
use ulib::{fs, println, sys, Args};

ulib::entry!(main);

/// Calls per chunk (per forked child).
pub const CHUNK: usize = 500;
/// Ticks a chunk may run before its watchdog kills it (20 s).
pub const CHUNK_TICKS: i32 = 200;
/// Chunks between two progress lines (free pages and time so far).
const PROGRESS: usize = 40;
/// The working directory of the run; every file the fuzzer makes is below it.
const DIR: &str = "/fz";
/// Where the statistics page shared by all chunks is mapped (far from the addresses the
/// fuzzer aims at, so that a random munmap rarely takes it).
const STATS_HINT: usize = 0x30_0000_0000;

/// Counters in the shared statistics page: calls made and calls that did not fail, per call
/// number (numbers of 62 and more share bucket 63), then a few events.
pub struct Stats(usize);

/// Buckets of the per-number counters.
pub const BUCKETS: usize = 64;
/// Event slot: an `exec` of a hand-made image that ran (exited with 77).
pub const EV_IMAGE_RAN: usize = 2 * BUCKETS;
/// Event slot: a failing call that returned something other than -1.
pub const EV_NOT_MINUS_ONE: usize = 2 * BUCKETS + 1;

impl Stats {
    fn slot(&self, i: usize) -> *mut u64 {
        (self.0 + 8 * i) as *mut u64
    }

    /// Adds one to slot `i`.
    pub fn bump(&self, i: usize) {
        // SAFETY: the page is this process's shared statistics page (if a random munmap took
        // it, the store kills the chunk, which is allowed); one process writes at a time.
        unsafe { self.slot(i).write_volatile(self.slot(i).read_volatile() + 1) };
    }

    /// Slot `i`.
    pub fn get(&self, i: usize) -> u64 {
        // SAFETY: as for `bump`; the parent never unmaps the page.
        unsafe { self.slot(i).read_volatile() }
    }

    /// Records one call of number `n` with result `r`.
    pub fn record(&self, n: usize, r: isize) {
        let b = n.min(BUCKETS - 1);
        self.bump(b);
        if r != -1 {
            self.bump(BUCKETS + b);
        }
        if r < -1 && n != abi::sys::SBRK && n != abi::sys::KSTAT {
            self.bump(EV_NOT_MINUS_ONE);
        }
    }
}

fn main(args: Args) -> i32 {
    if args.get(1) == Some(b"--exit") {
        return args.get_str(2).and_then(|s| s.parse().ok()).unwrap_or(255);
    }
    let (Some(seed), Some(n)) = (
        args.get_str(1).and_then(|s| s.parse::<u64>().ok()),
        args.get_str(2).and_then(|s| s.parse::<usize>().ok()),
    ) else {
        println!("usage: fuzz SEED N [oom]");
        return 2;
    };
    let oom = args.get(3) == Some(b"oom");
    let _ = fs::unlink("/fzcheck");
    remove_tree(DIR, 0);
    if fs::mkdir(DIR).is_err() || fs::chdir(DIR).is_err() {
        println!("fuzz: FAIL: cannot make and enter {}", DIR);
        return 1;
    }
    // SAFETY: a fresh shared anonymous page far above the heap.
    let stats =
        unsafe { sys::mmap(STATS_HINT, PGSIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0) };
    if stats == -1 {
        println!("fuzz: FAIL: mmap of the statistics page failed");
        return 1;
    }
    let stats = Stats(stats as usize);
    // SAFETY: the first store faults the page in now, before the free pages are counted.
    unsafe { stats.slot(0).write_volatile(0) };
    // The chunks' data, made before the free-page count is taken (and never freed).
    let world = calls::World::new(seed);
    let Some(start) = process::available_pages() else {
        println!("fuzz: FAIL: kstat(FREE_PAGES, FILE_PAGES) failed");
        return 1;
    };
    println!("fuzz: seed {}, {} calls{}, {} free pages", seed, n, if oom { ", oom mode" } else { "" }, start);
    let mut failures = 0;
    if oom {
        failures += oom::run(seed);
    }
    let chunks = n.div_ceil(CHUNK);
    let (mut finished, mut killed, mut timed_out, mut other) = (0, 0, 0, 0);
    for c in 0..chunks {
        let calls = CHUNK.min(n - c * CHUNK);
        match supervise(CHUNK_TICKS, || world.chunk(c as u64, calls, &stats)) {
            Outcome::Exited(0) => finished += 1,
            Outcome::Exited(-1) => killed += 1,
            Outcome::TimedOut => timed_out += 1,
            Outcome::Exited(_) => other += 1,
            Outcome::NoFork => {
                println!("fuzz: fork of chunk {} failed", c);
                failures += 1;
            }
        }
        if (c + 1) % PROGRESS == 0 && c + 1 < chunks {
            let free = process::available_pages().unwrap_or(0);
            println!(
                "fuzz: {} of {} chunks done, {} ticks, {} free pages",
                c + 1,
                chunks,
                process::uptime(),
                free
            );
        }
    }
    let made: u64 = (0..BUCKETS).map(|b| stats.get(b)).sum::<u64>();
    println!(
        "fuzz: {} chunks: {} finished, {} killed by the kernel, {} timed out, {} other; {} calls made",
        chunks, finished, killed, timed_out, other, made
    );
    print_counts(&stats);
    let odd = stats.get(EV_NOT_MINUS_ONE);
    if odd > 0 {
        println!("fuzz: {} failing calls returned a negative value other than -1", odd);
        failures += 1;
    }
    let end = settle(start);
    if end != start {
        println!("fuzz: free pages {} at the start, {} at the end", start, end);
        failures += 1;
    } else {
        println!("fuzz: free pages back at {}", end);
    }
    let _ = fs::chdir("/");
    remove_tree(DIR, 0);
    match fs_check() {
        Ok(()) => println!("fuzz: file system works"),
        Err(what) => {
            println!("fuzz: file system check failed: {}", what);
            failures += 1;
        }
    }
    if failures == 0 {
        println!("fuzz: PASS");
        0
    } else {
        println!("fuzz: FAIL: {} problems (see above)", failures);
        1
    }
}

/// Prints, per call number, how many calls were made and how many succeeded.
fn print_counts(stats: &Stats) {
    let mut line = alloc::string::String::new();
    for b in 0..BUCKETS {
        let made = stats.get(b);
        if made > 0 {
            line.push_str(&alloc::format!(" {}:{}/{}", b, stats.get(BUCKETS + b), made));
        }
    }
    println!("fuzz: calls (number:ok/made):{}", line);
    let ran = stats.get(EV_IMAGE_RAN);
    if ran > 0 {
        println!("fuzz: {} hand-made images ran", ran);
    }
}

/// The free-page count once every process of the run has gone (reparented grandchildren
/// may still be exiting): waits up to 10 s for it to reach `start`.
fn settle(start: u64) -> u64 {
    let mut now = process::available_pages().unwrap_or(0);
    for _ in 0..100 {
        if now >= start {
            break;
        }
        let _ = process::pause(1);
        now = process::available_pages().unwrap_or(0);
    }
    now
}

/// Creates a file, writes a pattern, reads it back, unlinks it, and checks it is gone.
fn fs_check() -> Result<(), &'static str> {
    const NAME: &str = "/fzcheck";
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + 3) as u8).collect();
    let fd = fs::open(NAME, abi::O_CREATE | abi::O_RDWR | abi::O_TRUNC).map_err(|_| "create")?;
    let w = fs::write_all(fd, &data);
    let _ = fs::close(fd);
    w.map_err(|_| "write")?;
    let fd = fs::open(NAME, abi::O_RDONLY).map_err(|_| "reopen")?;
    let back = fs::read_to_end(fd);
    let _ = fs::close(fd);
    if back.map_err(|_| "read")? != data {
        return Err("read back different bytes");
    }
    fs::unlink(NAME).map_err(|_| "unlink")?;
    if fs::open(NAME, abi::O_RDONLY).is_ok() {
        return Err("the file is still there after unlink");
    }
    Ok(())
}

/// Removes `path` and, if it is a directory, everything below it whose name starts with
/// `fz` (only the fuzzer's own files), up to a depth of 24.
fn remove_tree(path: &str, depth: usize) {
    if let Ok(st) = fs::stat(path) {
        if st.typ == abi::T_DIR && depth < 24 {
            for e in fs::read_dir(path).unwrap_or_default() {
                let name = e.name();
                if name.starts_with(b"fz") {
                    if let Ok(n) = core::str::from_utf8(name) {
                        remove_tree(&alloc::format!("{}/{}", path, n), depth + 1);
                    }
                }
            }
        }
        let _ = fs::unlink(path);
    }
}

/// A vector of `n` zero bytes that is never freed (its address stays valid in every child).
pub fn leaked(n: usize) -> &'static mut [u8] {
    vec![0u8; n].leak()
}
