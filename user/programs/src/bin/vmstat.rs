//! vmstat: prints the kernel's memory-system counters (the `kstat` extension call).
//!
//! `vmstat` prints one counter per line, its value last:
//!
//! ```text
//! free pages                31210
//! total pages               32456
//! page-cache pages             12
//! ...
//! ```
//!
//! `vmstat N` prints a header and then a row every N clock ticks (0.1 s each) until killed;
//! `vmstat N COUNT` stops after COUNT rows. In the rows, `free`, `cache` and `dirty` are the
//! values at that moment (pages); the other columns are events since the previous row (the
//! first row: since boot): `anon` zero-fill faults, `filef` page-cache faults, of which
//! `copy` private copies and `shrd` shared maps, `cow` copy-on-write copies of pages
//! shared since a fork, `fills` pages read into the cache (misses),
//! `wback` pages written back, `dread`/`dwrit` disk blocks read and written. A counter the
//! kernel does not report shows as `?`.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use ulib::abi::kstat;
use ulib::{eprintln, print, println, process, Args};

ulib::entry!(main);

/// What the long form prints: counter and label.
const LONG: &[(usize, &str)] = &[
    (kstat::FREE_PAGES, "free pages"),
    (kstat::TOTAL_PAGES, "total pages"),
    (kstat::CACHE_PAGES, "page-cache pages"),
    (kstat::CACHE_DIRTY, "dirty page-cache pages"),
    (kstat::ANON_FAULTS, "anonymous zero-fill faults"),
    (kstat::FILE_FAULTS, "page-cache faults"),
    (kstat::COPY_FAULTS, "private copy faults"),
    (kstat::SHARED_FAULTS, "shared map faults"),
    (kstat::COW_FAULTS, "copy-on-write faults"),
    (kstat::CACHE_FILLS, "page-cache fills"),
    (kstat::PAGES_WRITTEN_BACK, "pages written back"),
    (kstat::PAGES_RECLAIMED, "pages reclaimed"),
    (kstat::PAGES_CLEANED, "pages cleaned by reclaim"),
    (kstat::DISK_READS, "disk blocks read"),
    (kstat::DISK_WRITES, "disk blocks written"),
];

/// The columns of the repeating form: counter, heading, and whether it counts events (shown
/// as the change since the previous row) rather than a current amount.
const COLUMNS: &[(usize, &str, bool)] = &[
    (kstat::FREE_PAGES, "free", false),
    (kstat::CACHE_PAGES, "cache", false),
    (kstat::CACHE_DIRTY, "dirty", false),
    (kstat::ANON_FAULTS, "anon", true),
    (kstat::FILE_FAULTS, "filef", true),
    (kstat::COPY_FAULTS, "copy", true),
    (kstat::SHARED_FAULTS, "shrd", true),
    (kstat::COW_FAULTS, "cow", true),
    (kstat::CACHE_FILLS, "fills", true),
    (kstat::PAGES_WRITTEN_BACK, "wback", true),
    (kstat::DISK_READS, "dread", true),
    (kstat::DISK_WRITES, "dwrit", true),
];

const NCOL: usize = COLUMNS.len();

fn main(args: Args) -> i32 {
    if args.len() < 2 {
        for &(id, label) in LONG {
            match process::kstat(id) {
                Some(v) => println!("{:<28}{:>10}", label, v),
                None => println!("{:<28}{:>10}", label, "?"),
            }
        }
        return 0;
    }
    let number = |i: usize| args.get_str(i).and_then(|s| s.parse::<i32>().ok()).filter(|&n| n > 0);
    let interval = number(1);
    let count = number(2);
    match (interval, args.len()) {
        (Some(interval), 2) => repeat(interval, None),
        (Some(interval), 3) if count.is_some() => repeat(interval, count),
        _ => {
            eprintln!("usage: vmstat [TICKS [COUNT]] (TICKS and COUNT positive)");
            1
        }
    }
}

/// Prints a row every `interval` ticks, `count` rows (or until killed).
fn repeat(interval: i32, count: Option<i32>) -> i32 {
    for &(_, head, _) in COLUMNS {
        print!("{:>7}", head);
    }
    println!();
    let mut last: [Option<u64>; NCOL] = [Some(0); NCOL];
    let mut row = 0;
    loop {
        let now: [Option<u64>; NCOL] = core::array::from_fn(|i| process::kstat(COLUMNS[i].0));
        for (i, &(_, _, event)) in COLUMNS.iter().enumerate() {
            let shown = if event { now[i].zip(last[i]).map(|(n, l)| n.wrapping_sub(l)) } else { now[i] };
            match shown {
                Some(v) => print!("{:>7}", v),
                None => print!("{:>7}", "?"),
            }
        }
        println!();
        last = now;
        row += 1;
        if count.is_some_and(|c| row >= c) {
            return 0;
        }
        if process::pause(interval).is_err() {
            return 1;
        }
    }
}
