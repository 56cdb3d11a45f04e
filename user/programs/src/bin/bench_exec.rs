//! bench_exec: the cost of `exec` by program size. `bench_exec PROGRAM...` runs, 20 times per
//! program, a child that execs the program (which exits at once), and prints
//!
//! `bench exec prog=NAME kib=K op=fork_exec_exit_wait ops=20 time=T`
//!
//! (`kib` = the program file's size; time from `fork` to `wait` returning the child's status).
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use ulib::bench::{self, Line};
use ulib::process::{self, Fork};
use ulib::{eprintln, fs, Args};

ulib::entry!(main);

/// Execs timed per program.
const REPS: u64 = 20;

fn main(args: Args) -> i32 {
    for prog in (1..args.len()).filter_map(|i| args.get_str(i)) {
        let Ok(st) = fs::stat(prog) else {
            eprintln!("bench_exec: cannot stat {}", prog);
            return 1;
        };
        // One untimed run first, so that every timed one finds the same cache state.
        if run(prog) != Some(0) {
            eprintln!("bench_exec: {} failed", prog);
            return 1;
        }
        let start = bench::now();
        for _ in 0..REPS {
            if run(prog) != Some(0) {
                eprintln!("bench_exec: {} failed", prog);
                return 1;
            }
        }
        let time = bench::now() - start;
        Line::new("exec")
            .word("prog", prog)
            .num("kib", st.size.div_ceil(1024))
            .word("op", "fork_exec_exit_wait")
            .time(time, REPS)
            .print();
    }
    0
}

/// Forks a child that execs `prog`; returns its exit status.
fn run(prog: &str) -> Option<i32> {
    match process::fork().ok()? {
        Fork::Child => {
            let _ = process::exec(prog, &[prog]);
            process::exit(127)
        }
        Fork::Parent(pid) => process::wait_all(&[pid]).ok().and_then(|s| s.first().copied()),
    }
}
