//! mmaptests: the memory-mapping suite (`mmap`, `munmap`, page faults on mappings, sharing,
//! write-back, and what `kstat` and `vmmaps` report about them), run from user space.
//!
//! Each case runs in a forked child under a watchdog that kills it after the case's time
//! limit; the case passes when its child exits with 0 and the kernel's free-page count (kstat
//! FREE_PAGES) is back where it was before the case, so every leaked page is caught. Output,
//! per case, is exactly `test NAME: OK` or `test NAME: FAILED` (after a line giving the
//! reason), then `ALL TESTS PASSED` (exit 0) or `SOME TESTS FAILED` (exit 1).
//! `mmaptests NAME...` runs only the named cases, `mmaptests -l` lists them. Arguments
//! starting with `--` are helper modes the suite execs itself in (see [`helper`]).
//!
//! Cases work in the root directory, create their files under names starting with `mm`, and
//! remove them (and any leftovers of an interrupted run) themselves, so they are independent.
//! The harness must not allocate between the two free-page readings of a case.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

#[macro_use]
mod util;
mod args;
mod big;
mod faults;
mod files;
mod layout;
mod limits;
mod observe;
mod sharing;
mod writeback;

use alloc::vec::Vec;
use ulib::io::Bstr;
use ulib::process;
use ulib::{fs, println, sys, Args};
use util::TestResult;

ulib::entry!(main);

/// One test case.
pub struct Case {
    /// Name printed in the result line and accepted on the command line.
    pub name: &'static str,
    /// The test; runs in a child process.
    pub run: fn() -> TestResult,
    /// Time limit in clock ticks (0.1 s).
    pub ticks: i32,
}

/// Time limit of an ordinary case: 60 s.
const NORMAL: i32 = 600;
/// Time limit of a case that writes a file of tens of MiB: 5 min.
const LONG: i32 = 3000;

const fn case(name: &'static str, run: fn() -> TestResult) -> Case {
    Case { name, run, ticks: NORMAL }
}

/// Every case, in the order they run.
static CASES: &[Case] = &[
    case("privateread", files::private_read),
    case("privatewrite", files::private_write),
    case("sharedrofd", files::shared_on_readonly_fd),
    case("sharedwriteback", files::shared_writeback),
    case("untouchedeof", files::untouched_past_eof),
    case("lazymap", files::lazy),
    case("closeunlink", files::close_unlink),
    case("populate", files::populate),
    case("writecoherent", files::write_coherent),
    case("forkmap", sharing::fork_map),
    case("forkshared", sharing::fork_shared),
    case("forkleak", sharing::fork_leak),
    case("anonshared", sharing::anon_shared),
    case("anonprivate", sharing::anon_private),
    case("twoprocs", sharing::two_processes),
    case("concurrent", sharing::concurrent_faults),
    case("parentunmap", sharing::parent_unmaps),
    case("churn", sharing::churn),
    case("munmapkills", faults::munmap_kills),
    case("rostore", faults::store_to_readonly),
    case("protnone", faults::prot_none),
    case("protexec", faults::prot_exec),
    case("readintoro", faults::read_into_readonly),
    case("syscallbuf", faults::syscall_buffers),
    case("samefilebuf", faults::same_file_buffers),
    case("callbufs", faults::other_call_buffers),
    case("holepunch", layout::hole_punch),
    case("spanthree", layout::span_three),
    case("manymaps", layout::many_maps),
    case("hugeanon", layout::huge_anon),
    case("hint", layout::hint_and_reuse),
    case("fixedreplace", layout::fixed_replace),
    case("sbrkfixed", layout::sbrk_below_fixed),
    case("badargs", args::bad_args),
    case("badmunmap", args::bad_munmap),
    case("mapexhaust", limits::map_exhaust),
    case("faultoom", limits::fault_oom),
    case("dirtyonly", writeback::dirty_only),
    case("exitwriteback", writeback::exit_writes_back),
    case("killwriteback", writeback::kill_writes_back),
    case("execwriteback", writeback::exec_writes_back),
    case("statanon", observe::anon_counters),
    case("statfile", observe::file_counters),
    case("statdirty", observe::dirty_counters),
    case("statother", observe::other_process),
    case("statzombie", observe::zombie),
    case("statrace", observe::racing),
    case("statmany", observe::many),
    case("statbadargs", observe::bad_args),
    Case { name: "bigfile", run: big::big_file, ticks: LONG },
];

fn main(args: Args) -> i32 {
    if let Some(mode) = args.get(1).filter(|a| a.starts_with(b"--")) {
        return helper(mode, args);
    }
    if args.get(1) == Some(b"-l") {
        for c in CASES {
            println!("{}", c.name);
        }
        return 0;
    }
    let mut selected: Vec<&Case> = Vec::with_capacity(CASES.len());
    let mut failed: Vec<&str> = Vec::with_capacity(CASES.len() + args.len());
    for name in args.iter().skip(1) {
        match CASES.iter().find(|c| c.name.as_bytes() == name) {
            Some(c) => selected.push(c),
            None => {
                println!("mmaptests: no test named {}", Bstr(name));
                failed.push("(unknown name)");
            }
        }
    }
    if args.len() <= 1 {
        selected.extend(CASES.iter());
    }
    if fs::chdir("/").is_err() {
        println!("mmaptests: chdir / failed");
    }
    println!("mmaptests starting");
    for c in selected {
        if !run_case(c) {
            failed.push(c.name);
        }
    }
    if failed.is_empty() {
        println!("ALL TESTS PASSED");
        0
    } else {
        for name in &failed {
            println!("failed: {}", name);
        }
        println!("SOME TESTS FAILED");
        1
    }
}

/// How a case's child ended.
enum Outcome {
    Exited(i32),
    TimedOut,
    NoFork,
}

/// Runs one case in a child under a watchdog; prints and returns its verdict.
fn run_case(c: &Case) -> bool {
    let before = util::free_pages();
    let outcome = supervise(c);
    let leak = before.and_then(|before| {
        // The dead child's pages are free by the time wait returns; a grandchild reparented to
        // init may still be on its way out, so give it a moment.
        let mut after = util::free_pages().unwrap_or(before);
        for _ in 0..30 {
            if after >= before {
                return None;
            }
            let _ = process::pause(1);
            after = util::free_pages().unwrap_or(before);
        }
        (after < before).then_some(before - after)
    });
    let ok = match outcome {
        Outcome::Exited(0) => true,
        Outcome::Exited(1) => false, // the child printed why
        Outcome::Exited(-1) => {
            println!("{}: the test process was killed (status -1)", c.name);
            false
        }
        Outcome::Exited(s) => {
            println!("{}: the test process exited with status {}", c.name, s);
            false
        }
        Outcome::TimedOut => {
            println!("{}: timed out after {} ticks and was killed", c.name, c.ticks);
            false
        }
        Outcome::NoFork => {
            println!("{}: fork of the test process failed", c.name);
            false
        }
    };
    let ok = match leak {
        Some(pages) if ok => {
            println!("{}: leaked {} pages (kstat FREE_PAGES)", c.name, pages);
            false
        }
        _ => ok,
    };
    println!("test {}: {}", c.name, if ok { "OK" } else { "FAILED" });
    ok
}

/// Forks the case and its watchdog and waits for the case to end.
fn supervise(c: &Case) -> Outcome {
    let pid = sys::fork();
    if pid == 0 {
        let status = match (c.run)() {
            Ok(()) => 0,
            Err(reason) => {
                println!("{}: {}", c.name, reason);
                1
            }
        };
        sys::exit(status);
    }
    if pid < 0 {
        return Outcome::NoFork;
    }
    let pid = pid as i32;
    let dog = sys::fork();
    if dog == 0 {
        // The watchdog: if the pause runs its course, the case is overdue.
        if process::pause(c.ticks).is_ok() {
            let _ = process::kill(pid);
        }
        sys::exit(0);
    }
    let dog = dog as i32;
    let mut timed_out = false;
    let mut dog_done = dog < 0;
    let status = loop {
        match process::wait() {
            Ok((p, s)) if p == pid => break s,
            Ok((p, _)) if p == dog => {
                timed_out = true;
                dog_done = true;
            }
            Ok(_) => {}
            Err(_) => break -1,
        }
    };
    if !dog_done {
        let _ = process::kill(dog);
        let _ = process::wait_pid(dog);
    }
    if timed_out && status == -1 {
        Outcome::TimedOut
    } else {
        Outcome::Exited(status)
    }
}

/// Helper modes the suite execs itself in.
/// - `--exit N`: exit with status N (a fresh image: nothing of the caller's mappings).
/// - `--touch ADDR`: load a byte from hexadecimal ADDR, then exit with 0 (a process that
///   has nothing mapped there is killed instead, status -1).
/// - `--maps`: make a few known mappings and run `pmap` on this process (see [`observe`]).
/// - `--hold TICKS`: make the same mappings and sleep TICKS ticks (for Ctrl-P).
fn helper(mode: &[u8], args: Args) -> i32 {
    match mode {
        b"--exit" => args.get_str(2).and_then(|s| s.parse().ok()).unwrap_or(255),
        b"--touch" => {
            let Some(addr) = args.get_str(2).and_then(|s| usize::from_str_radix(s, 16).ok()) else {
                return 254;
            };
            // SAFETY: a load has no effect on memory; if nothing is mapped the kernel kills us.
            core::hint::black_box(unsafe { util::load_byte(addr) });
            0
        }
        b"--maps" => observe::maps_helper(),
        b"--hold" => observe::hold_helper(args.get_str(2).and_then(|s| s.parse().ok()).unwrap_or(100)),
        _ => {
            println!("mmaptests: unknown helper mode {}", Bstr(mode));
            255
        }
    }
}
