//! bench_overlap: does a computing process get the CPU while another waits for the disk?
//! `bench_overlap ALONE SHARED` (two files made by `bench_mkfile`, cold: no process holds
//! them) reads ALONE with `read()` of 4 KiB calls while nothing else runs, then starts a child
//! that counts in a shared page, measures its counting rate while the parent sleeps two ticks,
//! and reads SHARED the same way while the child counts:
//!
//! `bench overlap case=C file=NAME ops=PAGES time=T progress=N compute_pct=P disk_reads=..`
//!
//! `progress` is how far the child counted during the read (0 for `alone`), `compute_pct`
//! that count as a percentage of what the child would have counted in the read's whole
//! time at its measured rate. On one hart a kernel that keeps the CPU during disk I/O gives 0
//! unless a timer tick preempts the reader; one whose readers sleep gives the child the hart
//! from each sleep to the next tick, so the reader's own time grows (it is woken by the disk
//! but runs only when the child's slice ends).
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use alloc::vec;
use core::sync::atomic::{AtomicU64, Ordering};
use ulib::abi::{self, kstat, PGSIZE};
use ulib::bench::{self, Counters, Line};
use ulib::process::{self, Fork};
use ulib::{eprintln, fs, memory, Args};

ulib::entry!(main);

fn main(args: Args) -> i32 {
    let (Some(alone), Some(shared)) = (args.get_str(1), args.get_str(2)) else {
        eprintln!("usage: bench_overlap ALONE SHARED");
        return 1;
    };
    match run(alone, shared) {
        Ok(()) => 0,
        Err(msg) => {
            eprintln!("bench_overlap: {}", msg);
            1
        }
    }
}

/// Reads `path` with 4 KiB `read()` calls; returns (pages, time).
fn read_all(path: &str) -> Result<(u64, u64), &'static str> {
    let fd = fs::open(path, abi::O_RDONLY).map_err(|_| "cannot open")?;
    let mut buf = vec![0u8; PGSIZE];
    let mut pages = 0;
    let start = bench::now();
    let result = loop {
        match fs::read(fd, &mut buf) {
            Ok(0) => break Ok(()),
            Ok(_) => pages += 1,
            Err(_) => break Err("read failed"),
        }
    };
    let time = bench::now() - start;
    let _ = fs::close(fd);
    result.map(|()| (pages, time))
}

fn run(alone: &str, shared: &str) -> Result<(), &'static str> {
    let before = Counters::read();
    let (pages, time) = read_all(alone)?;
    Line::new("overlap")
        .word("case", "alone")
        .word("file", alone)
        .time(time, pages)
        .num("progress", 0)
        .num("compute_pct", 0)
        .deltas(&before, &Counters::read(), &[kstat::DISK_READS])
        .print();

    // SAFETY: a fresh anonymous mapping placed by the kernel holds no Rust object.
    let page = unsafe {
        memory::mmap(0, PGSIZE, abi::PROT_READ | abi::PROT_WRITE, abi::MAP_SHARED | abi::MAP_ANONYMOUS, -1, 0)
    }
    .map_err(|_| "mmap failed")?;
    // SAFETY: the page is mapped read-write for this process and the child, and aligned.
    let (count, stop) = unsafe { (&*(page as *const AtomicU64), &*((page + 8) as *const AtomicU64)) };
    let pid = match process::fork() {
        Ok(Fork::Child) => {
            while stop.load(Ordering::Relaxed) == 0 {
                count.fetch_add(1, Ordering::Relaxed);
            }
            process::exit(0)
        }
        Ok(Fork::Parent(pid)) => pid,
        Err(_) => return Err("fork failed"),
    };
    // The child's rate: its count over two ticks in which the parent sleeps.
    while count.load(Ordering::Relaxed) == 0 {
        let _ = process::pause(1);
    }
    let (c0, t0) = (count.load(Ordering::Relaxed), bench::now());
    let _ = process::pause(2);
    let (c1, t1) = (count.load(Ordering::Relaxed), bench::now());
    let before = Counters::read();
    let c_start = count.load(Ordering::Relaxed);
    let read = read_all(shared);
    let progress = count.load(Ordering::Relaxed) - c_start;
    let after = Counters::read();
    stop.store(1, Ordering::Relaxed);
    let _ = process::wait_all(&[pid]);
    // SAFETY: nothing refers to the page any more.
    let _ = unsafe { memory::munmap(page, PGSIZE) };
    let (pages, time) = read?;
    let possible = (c1 - c0) as u128 * time as u128 / (t1 - t0).max(1) as u128;
    let pct = (progress as u128 * 100).checked_div(possible).unwrap_or(0) as u64;
    Line::new("overlap")
        .word("case", "with_compute")
        .word("file", shared)
        .time(time, pages)
        .num("progress", progress)
        .num("compute_pct", pct)
        .deltas(&before, &after, &[kstat::DISK_READS])
        .print();
    Ok(())
}
