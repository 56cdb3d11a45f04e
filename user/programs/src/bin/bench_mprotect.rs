//! bench_mprotect: the cost of `mprotect` over 256 present pages, and of the write faults
//! that follow making private pages writable again. Prints one line per case:
//!
//! `bench mprotect case=KIND ops=N time=T anon_faults=..`
//!
//! The cases, in the order they run, over a 256-page mapping whose pages were all written
//! first (present): `to_read` (private anonymous, PROT_READ|PROT_WRITE → PROT_READ: W is
//! cleared in 256 entries), `to_write` (PROT_READ → PROT_READ|PROT_WRITE: the entries of a
//! private mapping stay read-only, the next store decides), `store_after` (one store to each
//! of the 256 pages after `to_write`: a write fault that just sets W on a page no one else
//! holds; ops = pages), and `shared_to_read` / `shared_to_write` (the same flips on a shared
//! anonymous mapping, whose entries get W back at once). Each mprotect case is `ROUNDS`
//! calls; ops counts calls, so `insns/op` is the cost of flipping 256 pages once.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use ulib::abi::{self, kstat, PGSIZE};
use ulib::bench::{self, Counters, Line};
use ulib::{eprintln, memory, Args};

ulib::entry!(main);

/// Pages flipped by each call.
const PAGES: usize = 256;
/// Calls per mprotect case.
const ROUNDS: usize = 20;
/// The counters every line reports.
const COUNTERS: &[usize] = &[kstat::ANON_FAULTS];

fn main(_args: Args) -> i32 {
    match run() {
        Ok(()) => 0,
        Err(msg) => {
            eprintln!("bench_mprotect: {}", msg);
            1
        }
    }
}

/// Prints the line of `case`: `ops` operations took `time`, with counters from `before`.
fn report(case: &str, time: u64, ops: usize, before: &Counters) {
    let after = Counters::read();
    Line::new("mprotect").word("case", case).time(time, ops as u64).deltas(before, &after, COUNTERS).print();
}

/// Times `ROUNDS` calls of `mprotect(base, len, prot)`, alternating with untimed calls back to
/// `back` (followed, when `rewrite`, by a store to every page, so that a private mapping's
/// entries are writable again before the next timed call), and prints the line of `case`.
///
/// # Safety
/// The mapping at `base` holds no Rust object.
unsafe fn flips(
    case: &str,
    base: usize,
    prot: usize,
    back: usize,
    rewrite: bool,
) -> Result<(), &'static str> {
    let len = PAGES * PGSIZE;
    let before = Counters::read();
    let mut time = 0;
    for _ in 0..ROUNDS {
        let start = bench::now();
        // SAFETY: the caller vouches for the mapping.
        unsafe { memory::mprotect(base, len, prot) }.map_err(|_| "mprotect failed")?;
        time += bench::now() - start;
        // SAFETY: as above.
        unsafe { memory::mprotect(base, len, back) }.map_err(|_| "mprotect failed")?;
        if rewrite {
            // SAFETY: as above; the mapping is writable again.
            unsafe { write_all(base) };
        }
    }
    report(case, time, ROUNDS, &before);
    Ok(())
}

/// Stores to every page of the mapping at `base`.
///
/// # Safety
/// The mapping is writable and holds no Rust object.
unsafe fn write_all(base: usize) {
    for i in 0..PAGES {
        // SAFETY: the caller vouches for the mapping.
        unsafe { bench::touch_write(base + i * PGSIZE, i as u8) };
    }
}

fn run() -> Result<(), &'static str> {
    let len = PAGES * PGSIZE;
    let (r, rw) = (abi::PROT_READ, abi::PROT_READ | abi::PROT_WRITE);
    for (shared, name) in [(false, ""), (true, "shared_")] {
        let flags = abi::MAP_ANONYMOUS | if shared { abi::MAP_SHARED } else { abi::MAP_PRIVATE };
        // SAFETY: a fresh mapping placed by the kernel holds no Rust object; it is only
        // touched within its length, and stored to only while writable.
        unsafe {
            let base = memory::mmap(0, len, rw, flags, -1, 0).map_err(|_| "mmap failed")?;
            write_all(base);
            flips(&alloc::format!("{name}to_read"), base, r, rw, !shared)?;
            memory::mprotect(base, len, r).map_err(|_| "mprotect failed")?;
            flips(&alloc::format!("{name}to_write"), base, rw, r, false)?;
            memory::mprotect(base, len, rw).map_err(|_| "mprotect failed")?;
            if !shared {
                let before = Counters::read();
                let start = bench::now();
                write_all(base);
                report("store_after", bench::now() - start, PAGES, &before);
            }
            let _ = memory::munmap(base, len);
        }
    }
    Ok(())
}
