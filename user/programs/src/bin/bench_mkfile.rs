//! bench_mkfile: the setup step of the file benchmarks. `bench_mkfile NAME SIZE` creates (or
//! truncates) the file NAME and fills it with SIZE bytes (`4096`, `64k`, `32m`) of the
//! benchmark pattern through `write()` calls of 4 KiB, and reports what the calls cost (the
//! time in `open`, `write` and `close`; making the pattern between them is not counted):
//!
//! `bench mkfile file=NAME kib=K ops=WRITES time=T disk_writes=D`
//!
//! It only makes data for the other `bench_*` programs; it checks nothing. Exit status 1 when
//! the arguments are wrong or the file could not be written in full.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use ulib::bench::{self, Counters, Line};
use ulib::{abi, eprintln, Args};

ulib::entry!(main);

/// Bytes per `write()` call.
const CHUNK: usize = 4096;

fn main(args: Args) -> i32 {
    let (Some(name), Some(size)) = (args.get_str(1), args.get_str(2).and_then(bench::parse_size)) else {
        eprintln!("usage: bench_mkfile NAME SIZE");
        return 1;
    };
    let before = Counters::read();
    let time = match bench::make_file(name, size, CHUNK) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bench_mkfile: writing {} failed ({})", name, e);
            return 1;
        }
    };
    let after = Counters::read();
    Line::new("mkfile")
        .word("file", name)
        .num("kib", (size / 1024) as u64)
        .time(time, size.div_ceil(CHUNK) as u64)
        .deltas(&before, &after, &[abi::kstat::DISK_WRITES])
        .print();
    0
}
