//! bench_scan: reading a whole file sequentially, three ways. `bench_scan FILE...` (files made
//! by `bench_mkfile`) prints, for each file and method:
//!
//! `bench scan file=NAME kib=K method=M ops=PAGES time=T file_faults=.. disk_reads=..`
//!
//! Methods, in the order they run: `read` (open, `read()` into one 4 KiB buffer until end of
//! file, close), `mmap` (open, map the whole file shared read-only, load every word, unmap,
//! close; no mapping holds the file's pages beforehand), `mmap_cached` (the same through a
//! second mapping while a first one, scanned untimed just before, holds every page),
//! `read_cached` (`read()` into one 4 KiB buffer while that mapping keeps every page in the
//! file's page cache; only the `read()` calls are timed, the words are added up in a second,
//! untimed pass), `write_cached` (`write()` of 4 KiB calls over the whole file, rewriting the
//! bytes it holds, while the pages are cached: only the calls are timed; it writes to the disk
//! before returning, so the disk's time is in it). Each read method adds up every 64-bit word
//! of the file, loading each aligned word with one instruction (`sum_words`); the sums must
//! agree (also after the rewrite), else the program says so and exits 1.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use alloc::vec;
use ulib::abi::{self, kstat, PGSIZE};
use ulib::bench::{self, Counters, Line};
use ulib::{eprintln, fs, memory, Args};

ulib::entry!(main);

/// The counters every line reports.
const COUNTERS: &[usize] = &[kstat::FILE_FAULTS, kstat::DISK_READS];

fn main(args: Args) -> i32 {
    if args.len() < 2 {
        eprintln!("usage: bench_scan FILE...");
        return 1;
    }
    for path in (1..args.len()).filter_map(|i| args.get_str(i)) {
        if let Err(msg) = scan_file(path) {
            eprintln!("bench_scan: {}: {}", path, msg);
            return 1;
        }
    }
    0
}

/// The wrapping sum of the little-endian 64-bit words of `bytes` (its length a multiple of 8).
///
/// The mapping and the read buffer are page-aligned, so the words are loaded whole (one `ld`
/// and one add each): the rows then measure the kernel, not a byte loop (assembling a word
/// from eight byte loads costs about 25 instructions, 13,000 per page). A slice that does not
/// start on an 8-byte boundary falls back to assembling each word from its bytes.
fn sum_words(bytes: &[u8]) -> u64 {
    // SAFETY: every bit pattern of 8 bytes is a valid `u64`.
    let (head, words, tail) = unsafe { bytes.align_to::<u64>() };
    if !head.is_empty() {
        return sum_word_bytes(bytes);
    }
    words.iter().fold(sum_word_bytes(tail), |s, &w| s.wrapping_add(u64::from_le(w)))
}

/// `sum_words` a byte at a time, for a slice with no alignment.
fn sum_word_bytes(bytes: &[u8]) -> u64 {
    bytes
        .chunks_exact(8)
        .fold(0u64, |s, w| s.wrapping_add(u64::from_le_bytes(w.try_into().unwrap_or([0; 8]))))
}

/// Scans `path` with every method and prints their lines.
fn scan_file(path: &str) -> Result<(), &'static str> {
    let size = fs::stat(path).map_err(|_| "cannot stat")?.size as usize;
    if size == 0 || !size.is_multiple_of(8) {
        return Err("size must be a non-zero multiple of 8");
    }
    let pages = size.div_ceil(PGSIZE) as u64;
    // The counters' deltas (idle time included) are taken over the timed section only.
    let report_between = |method: &str, time: u64, before: &Counters, after: &Counters| {
        Line::new("scan")
            .word("file", path)
            .num("kib", (size / 1024) as u64)
            .word("method", method)
            .time(time, pages)
            .deltas(before, after, COUNTERS)
            .print();
    };
    let report =
        |method: &str, time: u64, before: &Counters| report_between(method, time, before, &Counters::read());

    let before = Counters::read();
    let start = bench::now();
    let by_read = scan_read(path)?;
    report("read", bench::now() - start, &before);

    let before = Counters::read();
    let start = bench::now();
    let by_map = scan_mapped(path, size, None)?;
    report("mmap", bench::now() - start, &before);

    let fd = fs::open(path, abi::O_RDONLY).map_err(|_| "cannot open")?;
    // SAFETY: a fresh mapping placed by the kernel holds no Rust object.
    let holder = unsafe { memory::mmap(0, size, abi::PROT_READ, abi::MAP_SHARED, fd, 0) }
        .map_err(|_| "mmap of the holding mapping failed")?;
    // SAFETY: `holder` maps `size` readable bytes of the file and nothing writes them.
    let warm = sum_words(unsafe { core::slice::from_raw_parts(holder as *const u8, size) });
    let before = Counters::read();
    let start = bench::now();
    let cached = scan_mapped(path, size, Some(fd));
    let time = bench::now() - start;
    let after = Counters::read();
    let before_read = Counters::read();
    let start = bench::now();
    let timed = read_all(path, false);
    let read_time = bench::now() - start;
    let after_read = Counters::read();
    let by_cached_read = scan_read(path);
    let before_write = Counters::read();
    let written = rewrite(path, size);
    let after_write = Counters::read();
    // SAFETY: `holder` is ours and no reference into it is alive.
    let _ = unsafe { memory::munmap(holder, size) };
    let _ = fs::close(fd);
    let cached = cached?;
    report_between("mmap_cached", time, &before, &after);
    timed?;
    let by_cached_read = by_cached_read?;
    report_between("read_cached", read_time, &before_read, &after_read);
    report_between("write_cached", written?, &before_write, &after_write);
    if scan_read(path)? != warm {
        return Err("the rewrite changed the file");
    }

    if by_read != by_map || by_map != cached || cached != warm || by_cached_read != warm {
        return Err("the methods read different data");
    }
    Ok(())
}

/// Rewrites the `size` bytes of `path` with the bytes it holds (`bench::pattern`), in 4 KiB
/// `write()` calls; returns the time spent in the calls.
fn rewrite(path: &str, size: usize) -> Result<u64, &'static str> {
    let fd = fs::open(path, abi::O_RDWR).map_err(|_| "cannot open for writing")?;
    let mut buf = vec![0u8; PGSIZE];
    let mut time = 0;
    let mut result = Ok(());
    for off in (0..size).step_by(PGSIZE) {
        let n = PGSIZE.min(size - off);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = bench::pattern(off + i);
        }
        let start = bench::now();
        let wrote = fs::write(fd, &buf[..n]);
        time += bench::now() - start;
        if wrote != Ok(n) {
            result = Err("write failed");
            break;
        }
    }
    let _ = fs::close(fd);
    result.map(|()| time)
}

/// Reads `path` through `read()` into a 4 KiB buffer; returns the sum of its words.
fn scan_read(path: &str) -> Result<u64, &'static str> {
    read_all(path, true)
}

/// Reads `path` through `read()` into a 4 KiB buffer; returns the sum of its words when `sum`
/// is set, else 0 (the reads alone).
fn read_all(path: &str, sum: bool) -> Result<u64, &'static str> {
    let fd = fs::open(path, abi::O_RDONLY).map_err(|_| "cannot open")?;
    let mut buf = vec![0u8; PGSIZE];
    let mut total = 0u64;
    let result = loop {
        match fs::read(fd, &mut buf) {
            Ok(0) => break Ok(total),
            Ok(n) if sum => total = total.wrapping_add(sum_words(&buf[..n])),
            Ok(_) => {}
            Err(_) => break Err("read failed"),
        }
    };
    let _ = fs::close(fd);
    result
}

/// Maps `size` bytes of `path` (through `fd` when given, else opening it), sums its words and
/// unmaps it.
fn scan_mapped(path: &str, size: usize, fd: Option<i32>) -> Result<u64, &'static str> {
    let fd_used = match fd {
        Some(fd) => fd,
        None => fs::open(path, abi::O_RDONLY).map_err(|_| "cannot open")?,
    };
    // SAFETY: a fresh mapping placed by the kernel holds no Rust object.
    let mapped = unsafe { memory::mmap(0, size, abi::PROT_READ, abi::MAP_SHARED, fd_used, 0) };
    let result = mapped.map_err(|_| "mmap failed").map(|addr| {
        // SAFETY: `addr` maps `size` readable bytes of the file and nothing writes them.
        let sum = sum_words(unsafe { core::slice::from_raw_parts(addr as *const u8, size) });
        // SAFETY: the slice above is gone; nothing else refers to the mapping.
        let _ = unsafe { memory::munmap(addr, size) };
        sum
    });
    if fd.is_none() {
        let _ = fs::close(fd_used);
    }
    result
}
