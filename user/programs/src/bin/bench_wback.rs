//! bench_wback: what `munmap` of a shared file mapping writes. `bench_wback FILE
//! [N...]` (FILE made by `bench_mkfile`, 256 pages or more; N defaults to 0 1 16 256) maps
//! the first 256 pages of FILE shared read-write, reads one byte of every page (all resident,
//! all clean), writes one byte in N of them (spread evenly), and times the `munmap`:
//!
//! `bench writeback dirty=N ops=1 time=T written_back=.. disk_writes=..`
//!
//! `written_back` is the kernel's count of pages written back (it should equal N) and
//! `disk_writes` the disk blocks written, log included, as counted at the disk driver.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use alloc::vec::Vec;
use ulib::abi::{self, kstat, PGSIZE};
use ulib::bench::{self, Counters, Line};
use ulib::{eprintln, fs, memory, Args};

ulib::entry!(main);

/// Pages mapped.
const PAGES: usize = 256;

/// Dirty-page counts measured when none are given.
const DEFAULT_DIRTY: [usize; 4] = [0, 1, 16, 256];

fn main(args: Args) -> i32 {
    let Some(path) = args.get_str(1) else {
        eprintln!("usage: bench_wback FILE [N...]");
        return 1;
    };
    let mut counts: Vec<usize> = (2..args.len()).filter_map(|i| args.get_str(i)?.parse().ok()).collect();
    if counts.is_empty() {
        counts.extend_from_slice(&DEFAULT_DIRTY);
    }
    for n in counts {
        if let Err(msg) = measure(path, n.min(PAGES)) {
            eprintln!("bench_wback: {} dirty pages: {}", n, msg);
            return 1;
        }
    }
    0
}

/// Maps, dirties `dirty` pages, times the munmap and prints the line.
fn measure(path: &str, dirty: usize) -> Result<(), &'static str> {
    let len = PAGES * PGSIZE;
    if (fs::stat(path).map_err(|_| "cannot stat")?.size as usize) < len {
        return Err("the file is shorter than 256 pages");
    }
    let fd = fs::open(path, abi::O_RDWR).map_err(|_| "cannot open")?;
    // SAFETY: a fresh mapping placed by the kernel holds no Rust object.
    let mapped = unsafe { memory::mmap(0, len, abi::PROT_READ | abi::PROT_WRITE, abi::MAP_SHARED, fd, 0) };
    let _ = fs::close(fd);
    let base = mapped.map_err(|_| "mmap failed")?;
    for page in 0..PAGES {
        // SAFETY: the page lies in the readable mapping made above.
        unsafe { bench::touch_read(base + page * PGSIZE) };
    }
    for i in 0..dirty {
        let addr = base + i * PAGES / dirty * PGSIZE;
        // SAFETY: the page lies in the writable mapping made above, which holds no Rust object.
        unsafe { bench::touch_write(addr, bench::pattern(addr - base).wrapping_add(1)) };
    }
    let before = Counters::read();
    let start = bench::now();
    // SAFETY: nothing refers to the mapping any more.
    let unmapped = unsafe { memory::munmap(base, len) };
    let time = bench::now() - start;
    let after = Counters::read();
    unmapped.map_err(|_| "munmap failed")?;
    Line::new("writeback")
        .num("dirty", dirty as u64)
        .time(time, 1)
        .deltas(&before, &after, &[kstat::PAGES_WRITTEN_BACK, kstat::DISK_WRITES])
        .print();
    Ok(())
}
