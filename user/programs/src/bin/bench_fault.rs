//! bench_fault: the cost of one page fault, by kind, averaged over every page of a file.
//! `bench_fault FILE` (FILE made by `bench_mkfile`, at least one page, not mapped by anyone
//! else) prints one line per kind:
//!
//! `bench fault case=KIND ops=PAGES time=T anon_faults=.. file_faults=.. disk_reads=..`
//!
//! The kinds, in the order they run: `anon` (first write to private anonymous memory:
//! zero-fill), `present` (the same loop again over pages now present: the loop's own cost,
//! no fault), `file_uncached` (first read of a shared file mapping whose pages no mapping
//! holds: the kernel reads the disk unless its buffer cache still has the blocks),
//! `file_cached` (first read of a second mapping of the file while the first still holds
//! every page), `private_write` (first write to a private mapping of the file while the first
//! mapping holds the pages: a copy of the cached page). One byte is touched per page.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use ulib::abi::{self, kstat, PGSIZE};
use ulib::bench::{self, Counters, Line};
use ulib::{eprintln, fs, memory, Args};

ulib::entry!(main);

/// The counters every line reports.
const COUNTERS: &[usize] = &[kstat::ANON_FAULTS, kstat::FILE_FAULTS, kstat::DISK_READS];

fn main(args: Args) -> i32 {
    let Some(path) = args.get_str(1) else {
        eprintln!("usage: bench_fault FILE");
        return 1;
    };
    match run(path) {
        Ok(()) => 0,
        Err(msg) => {
            eprintln!("bench_fault: {}", msg);
            1
        }
    }
}

/// Touches one byte of each of `pages` pages from `base` (a store when `write`), timed, and
/// prints the line for `case`.
///
/// # Safety
/// The pages must be mapped readable (and writable when `write`) and hold no Rust object.
unsafe fn measure(case: &str, base: usize, pages: usize, write: bool) {
    let before = Counters::read();
    let start = bench::now();
    for i in 0..pages {
        let addr = base + i * PGSIZE;
        if write {
            // SAFETY: the caller vouches for the pages.
            unsafe { bench::touch_write(addr, i as u8) };
        } else {
            // SAFETY: as above.
            unsafe { bench::touch_read(addr) };
        }
    }
    let time = bench::now() - start;
    let after = Counters::read();
    Line::new("fault").word("case", case).time(time, pages as u64).deltas(&before, &after, COUNTERS).print();
}

fn run(path: &str) -> Result<(), &'static str> {
    let size = fs::stat(path).map_err(|_| "cannot stat the file")?.size as usize;
    let pages = size / PGSIZE;
    if pages == 0 {
        return Err("the file is shorter than a page");
    }
    let len = pages * PGSIZE;
    let rw = abi::PROT_READ | abi::PROT_WRITE;

    // SAFETY: a fresh mapping placed by the kernel holds no Rust object.
    let anon = unsafe { memory::mmap(0, len, rw, abi::MAP_PRIVATE | abi::MAP_ANONYMOUS, -1, 0) }
        .map_err(|_| "anonymous mmap failed")?;
    // SAFETY: `anon` is ours, readable and writable, and used for nothing else.
    unsafe {
        measure("anon", anon, pages, true);
        measure("present", anon, pages, true);
        let _ = memory::munmap(anon, len);
    }

    let fd = fs::open(path, abi::O_RDONLY).map_err(|_| "cannot open the file")?;
    let shared = abi::MAP_SHARED;
    // SAFETY: fresh mappings placed by the kernel hold no Rust object; each is only touched
    // within its length and with the access its protection allows.
    unsafe {
        let first = memory::mmap(0, len, abi::PROT_READ, shared, fd, 0).map_err(|_| "file mmap failed")?;
        measure("file_uncached", first, pages, false);
        let second = memory::mmap(0, len, abi::PROT_READ, shared, fd, 0).map_err(|_| "second mmap failed")?;
        measure("file_cached", second, pages, false);
        let private = memory::mmap(0, len, rw, abi::MAP_PRIVATE, fd, 0).map_err(|_| "private mmap failed")?;
        measure("private_write", private, pages, true);
        let _ = memory::munmap(private, len);
        let _ = memory::munmap(second, len);
        let _ = memory::munmap(first, len);
    }
    let _ = fs::close(fd);
    Ok(())
}
