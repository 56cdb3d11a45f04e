//! bench_fork: the cost of `fork` + `exit` + `wait` for a process with a large mapping of
//! which part is touched. `bench_fork [MAPPED_MIB [TOUCHED_KIB...]]` (default 64 MiB mapped,
//! 1024 KiB touched) measures, 10 times each, a child that exits at once, for a parent with:
//! `none` (no mapping), then for each TOUCHED_KIB `anon_private` (a private anonymous mapping
//! of MAPPED_MIB whose first TOUCHED_KIB are written) and `anon_shared` (the same, shared
//! anonymous). Fork shares private pages copy-on-write, so every kind should cost about what
//! walking the page tables costs. It prints per kind:
//!
//! `bench fork map=KIND mapped_kib=M touched_kib=T op=fork ops=10 time=T` (from the call to
//! `fork` returning in the parent) and the same with `op=fork_exit_wait` (from the call to
//! `wait` returning the child's status).
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use alloc::vec::Vec;
use ulib::abi::{self, PGSIZE};
use ulib::bench::{self, Line};
use ulib::process::{self, Fork};
use ulib::{eprintln, memory, Args};

ulib::entry!(main);

/// Forks timed per kind.
const REPS: u64 = 10;

fn main(args: Args) -> i32 {
    let mapped = args.get_str(1).and_then(|s| s.parse::<usize>().ok()).unwrap_or(64) << 20;
    let mut touched: Vec<usize> =
        (2..args.len()).filter_map(|i| args.get_str(i).and_then(|s| s.parse::<usize>().ok())).collect();
    if touched.is_empty() {
        touched.push(1024);
    }
    if let Err(msg) = measure("none", 0, 0, 0) {
        eprintln!("bench_fork: none: {}", msg);
        return 1;
    }
    for kib in touched {
        let touch = (kib << 10).min(mapped);
        for (kind, share) in [("anon_private", abi::MAP_PRIVATE), ("anon_shared", abi::MAP_SHARED)] {
            if let Err(msg) = measure(kind, share, mapped, touch) {
                eprintln!("bench_fork: {}: {}", kind, msg);
                return 1;
            }
        }
    }
    0
}

/// Maps `len` bytes (none when `len` is 0) with `share`, writes the first `touched` bytes
/// page by page, times `REPS` forks of a child that exits at once, prints the two lines and
/// unmaps.
fn measure(kind: &str, share: usize, len: usize, touched: usize) -> Result<(), &'static str> {
    let base = if len == 0 {
        0
    } else {
        let prot = abi::PROT_READ | abi::PROT_WRITE;
        // SAFETY: a fresh mapping placed by the kernel holds no Rust object.
        let base = unsafe { memory::mmap(0, len, prot, share | abi::MAP_ANONYMOUS, -1, 0) }
            .map_err(|_| "mmap failed")?;
        for off in (0..touched).step_by(PGSIZE) {
            // SAFETY: the page lies in the writable mapping made above.
            unsafe { bench::touch_write(base + off, 1) };
        }
        base
    };
    let (mut fork_time, mut total_time) = (0, 0);
    let mut result = Ok(());
    for _ in 0..REPS {
        let start = bench::now();
        let pid = match process::fork() {
            Ok(Fork::Child) => process::exit(0),
            Ok(Fork::Parent(pid)) => pid,
            Err(_) => {
                result = Err("fork failed");
                break;
            }
        };
        let forked = bench::now();
        let waited = process::wait_pid(pid);
        let done = bench::now();
        if waited != Ok(0) {
            result = Err("the child did not exit with 0");
            break;
        }
        fork_time += forked - start;
        total_time += done - start;
    }
    if len != 0 {
        // SAFETY: nothing refers to the mapping any more.
        let _ = unsafe { memory::munmap(base, len) };
    }
    result?;
    for (op, time) in [("fork", fork_time), ("fork_exit_wait", total_time)] {
        Line::new("fork")
            .word("map", kind)
            .num("mapped_kib", (len >> 10) as u64)
            .num("touched_kib", (touched >> 10) as u64)
            .word("op", op)
            .time(time, REPS)
            .print();
    }
    Ok(())
}
