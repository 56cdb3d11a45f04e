//! bench_mmapsize: does mapping a file cost more when the file is bigger? `bench_mmapsize
//! FILE...` (files made by `bench_mkfile`) maps each whole file shared read-only and unmaps it
//! again, untouched, 100 times, and prints per file:
//!
//! `bench mmapsize file=NAME kib=K op=mmap ops=100 time=T disk_reads=..` and the same with
//! `op=munmap`.
//!
//! A lazy kernel reads nothing at mmap time, so both figures should not depend on K and the
//! disk-read deltas should be 0.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use ulib::abi::{self, kstat};
use ulib::bench::{self, Line};
use ulib::{eprintln, fs, memory, Args};

ulib::entry!(main);

/// mmap + munmap pairs timed per file.
const REPS: u64 = 100;

fn main(args: Args) -> i32 {
    if args.len() < 2 {
        eprintln!("usage: bench_mmapsize FILE...");
        return 1;
    }
    for path in (1..args.len()).filter_map(|i| args.get_str(i)) {
        if let Err(msg) = measure(path) {
            eprintln!("bench_mmapsize: {}: {}", path, msg);
            return 1;
        }
    }
    0
}

/// Times `REPS` maps and unmaps of the whole of `path` and prints the two lines.
fn measure(path: &str) -> Result<(), &'static str> {
    let size = fs::stat(path).map_err(|_| "cannot stat")?.size as usize;
    let fd = fs::open(path, abi::O_RDONLY).map_err(|_| "cannot open")?;
    // (time, disk reads) spent in each call, summed over the repetitions.
    let (mut map, mut unmap) = ((0, Some(0)), (0, Some(0)));
    let mut result = Ok(());
    for _ in 0..REPS {
        let r0 = bench::counter(kstat::DISK_READS);
        let t0 = bench::now();
        // SAFETY: a fresh mapping placed by the kernel holds no Rust object.
        let mapped = unsafe { memory::mmap(0, size, abi::PROT_READ, abi::MAP_SHARED, fd, 0) };
        let t1 = bench::now();
        let r1 = bench::counter(kstat::DISK_READS);
        let Ok(addr) = mapped else {
            result = Err("mmap failed");
            break;
        };
        // SAFETY: the mapping was just made for this loop alone and was never touched.
        let unmapped = unsafe { memory::munmap(addr, size) };
        let t2 = bench::now();
        let r2 = bench::counter(kstat::DISK_READS);
        if unmapped.is_err() {
            result = Err("munmap failed");
            break;
        }
        map = (map.0 + t1 - t0, add_delta(map.1, r0, r1));
        unmap = (unmap.0 + t2 - t1, add_delta(unmap.1, r1, r2));
    }
    let _ = fs::close(fd);
    result?;
    let kib = (size / 1024) as u64;
    for (op, (time, reads)) in [("mmap", map), ("munmap", unmap)] {
        let mut line =
            Line::new("mmapsize").word("file", path).num("kib", kib).word("op", op).time(time, REPS);
        if let Some(reads) = reads {
            line = line.num("disk_reads", reads);
        }
        line.print();
    }
    Ok(())
}

/// `sum` plus the change from `before` to `after`, or `None` once a counter was missing.
fn add_delta(sum: Option<u64>, before: Option<u64>, after: Option<u64>) -> Option<u64> {
    Some(sum? + after?.wrapping_sub(before?))
}
