//! bench_mapcount: does the cost of `mmap` and `munmap` grow with the number of mappings a
//! process has? `bench_mapcount [COUNT...]` (default 10 16 100 1000 10000, ascending) grows the
//! process to each COUNT one-page anonymous mappings (adjacent ones alternate between
//! read-only and read-write, so a kernel cannot merge them) and then, 100 times, maps one
//! anonymous read-write page and unmaps it again (untouched). Per COUNT it prints:
//!
//! `bench mapcount op=create maps=COUNT ops=NEW time=T` (making the NEW mappings since the
//! previous COUNT), `bench mapcount op=mmap maps=COUNT ops=100 time=T` and
//! `bench mapcount op=munmap maps=COUNT ops=100 time=T`, and
//! `bench mapcount op=pair4 maps=COUNT ops=100 time=T` (one op: mmap of a 4-page anonymous
//! region and its munmap, untouched: the classic lab's measure of the mapping table's cost);
//! at the end
//! `bench mapcount op=teardown maps=COUNT ops=COUNT time=T` (unmapping them one by one).
//!
//! When the kernel refuses a mapping (a kernel with a fixed table, or out of memory), the
//! program says how many it got and stops growing there.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use alloc::vec::Vec;
use ulib::abi::{self, PGSIZE};
use ulib::bench::{self, Line};
use ulib::{eprintln, memory, Args};

ulib::entry!(main);

/// mmap + munmap pairs timed per count.
const REPS: u64 = 100;

/// Read and write.
const RW: usize = abi::PROT_READ | abi::PROT_WRITE;

/// Private anonymous memory.
const ANON: usize = abi::MAP_PRIVATE | abi::MAP_ANONYMOUS;

/// Counts measured when none are given.
const DEFAULT_COUNTS: [usize; 5] = [10, 16, 100, 1000, 10_000];

fn main(args: Args) -> i32 {
    let mut counts: Vec<usize> = (1..args.len()).filter_map(|i| args.get_str(i)?.parse().ok()).collect();
    if counts.is_empty() {
        counts.extend_from_slice(&DEFAULT_COUNTS);
    }
    let mut maps: Vec<usize> = Vec::with_capacity(counts.iter().copied().max().unwrap_or(0));
    let mut status = 0;
    for &count in &counts {
        let new = count.saturating_sub(maps.len());
        let start = bench::now();
        while maps.len() < count {
            let prot = if maps.len().is_multiple_of(2) { abi::PROT_READ } else { RW };
            // SAFETY: a fresh mapping placed by the kernel holds no Rust object.
            match unsafe { memory::mmap(0, PGSIZE, prot, ANON, -1, 0) } {
                Ok(addr) => maps.push(addr),
                Err(_) => break,
            }
        }
        let time = bench::now() - start;
        if maps.len() < count {
            eprintln!("bench_mapcount: the kernel refused mapping number {}", maps.len() + 1);
            status = 1;
            break;
        }
        Line::new("mapcount").word("op", "create").num("maps", count as u64).time(time, new as u64).print();
        if let Err(msg) = map_unmap(count) {
            eprintln!("bench_mapcount: {} with {} mappings", msg, count);
            status = 1;
            break;
        }
    }
    let start = bench::now();
    for &addr in &maps {
        // SAFETY: the page was mapped above for this program alone and holds no Rust object.
        let _ = unsafe { memory::munmap(addr, PGSIZE) };
    }
    let time = bench::now() - start;
    Line::new("mapcount")
        .word("op", "teardown")
        .num("maps", maps.len() as u64)
        .time(time, maps.len() as u64)
        .print();
    status
}

/// Times `REPS` pairs of mapping one anonymous page and unmapping it, with `count` other
/// mappings present, and prints the two lines.
fn map_unmap(count: usize) -> Result<(), &'static str> {
    let (mut map_time, mut unmap_time) = (0, 0);
    for _ in 0..REPS {
        let t0 = bench::now();
        // SAFETY: a fresh mapping placed by the kernel holds no Rust object.
        let addr = unsafe { memory::mmap(0, PGSIZE, RW, ANON, -1, 0) }.map_err(|_| "mmap failed")?;
        let t1 = bench::now();
        // SAFETY: the page was just mapped for this loop alone.
        unsafe { memory::munmap(addr, PGSIZE) }.map_err(|_| "munmap failed")?;
        let t2 = bench::now();
        map_time += t1 - t0;
        unmap_time += t2 - t1;
    }
    Line::new("mapcount").word("op", "mmap").num("maps", count as u64).time(map_time, REPS).print();
    Line::new("mapcount").word("op", "munmap").num("maps", count as u64).time(unmap_time, REPS).print();
    let t0 = bench::now();
    for _ in 0..REPS {
        // SAFETY: a fresh mapping placed by the kernel holds no Rust object.
        let addr = unsafe { memory::mmap(0, 4 * PGSIZE, RW, ANON, -1, 0) }.map_err(|_| "mmap failed")?;
        // SAFETY: the region was just mapped for this loop alone.
        unsafe { memory::munmap(addr, 4 * PGSIZE) }.map_err(|_| "munmap failed")?;
    }
    Line::new("mapcount").word("op", "pair4").num("maps", count as u64).time(bench::now() - t0, REPS).print();
    Ok(())
}
