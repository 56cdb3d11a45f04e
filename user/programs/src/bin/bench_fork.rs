//! bench_fork: the cost of `fork` + `exit` + `wait` for a process with a large mapping of
//! which part is touched. `bench_fork [MAPPED_MIB [TOUCHED_KIB...]]` (default 64 MiB mapped,
//! 1024 KiB touched) measures, 10 times each, a child that exits at once, for a parent with:
//! `none` (no mapping), then for each TOUCHED_KIB `anon_private` (a private anonymous mapping
//! of MAPPED_MIB whose first TOUCHED_KIB are written) and `anon_shared` (the same, shared
//! anonymous). Fork shares private pages copy-on-write, so every kind should cost about what
//! walking the page tables costs. It prints per kind:
//!
//! `bench fork map=KIND mapped_kib=M touched_kib=T op=fork cow_faults=C ops=10 time=T` (from
//! the call to `fork` returning in the parent), the same with `op=fork_exit_wait` (from the
//! call to `wait` returning the child's status), and with `op=fork_exec_wait` for a child
//! that execs `exec_tiny` at once. `cow_faults` is the kernel's count of copy-on-write copies
//! made during the 10 operations (the parent stores nothing meanwhile).
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
    let cow = || bench::counter(abi::kstat::COW_FAULTS).unwrap_or(0);
    let (mut fork_time, mut total_time) = (0, 0);
    let mut result = Ok(());
    let cow0 = cow();
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
    let fork_cow = cow() - cow0;
    // Fork + exec: the child replaces its image at once, so nothing of the parent's memory
    // should be copied (only the pages the child itself stores to before exec: its stack and
    // the heap page where the arguments are built).
    let (mut exec_time, cow1) = (0, cow());
    for _ in 0..REPS {
        if result.is_err() {
            break;
        }
        let start = bench::now();
        let pid = match process::fork() {
            Ok(Fork::Child) => {
                let _ = process::exec("exec_tiny", &["exec_tiny"]);
                process::exit(9)
            }
            Ok(Fork::Parent(pid)) => pid,
            Err(_) => {
                result = Err("fork failed");
                break;
            }
        };
        if process::wait_pid(pid) != Ok(0) {
            result = Err("the exec'd child did not exit with 0");
        }
        exec_time += bench::now() - start;
    }
    let exec_cow = cow() - cow1;
    if len != 0 {
        // SAFETY: nothing refers to the mapping any more.
        let _ = unsafe { memory::munmap(base, len) };
    }
    result?;
    for (op, time, cow) in [
        ("fork", fork_time, fork_cow),
        ("fork_exit_wait", total_time, fork_cow),
        ("fork_exec_wait", exec_time, exec_cow),
    ] {
        Line::new("fork")
            .word("map", kind)
            .num("mapped_kib", (len >> 10) as u64)
            .num("touched_kib", (touched >> 10) as u64)
            .word("op", op)
            .num("cow_faults", cow)
            .time(time, REPS)
            .print();
    }
    Ok(())
}
