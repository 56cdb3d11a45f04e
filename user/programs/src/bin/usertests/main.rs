//! usertests: the kernel's test suite, run from user space.
//!
//! Each case runs in a forked child, watched by a second child that kills it after the
//! case's time limit; the case passes when its child exits with 0 and the kernel's free-page
//! count (kstat FREE_PAGES) is back where it was before the case. Output, per case, is
//! exactly `test NAME: OK` or `test NAME: FAILED` (after a line giving the reason), then
//! `ALL TESTS PASSED` (exit 0) or `SOME TESTS FAILED` (exit 1). `usertests NAME...` runs only
//! the named cases, `usertests -l` lists them. Options starting with `--` are helper modes
//! the suite execs itself in (see [`helper`]).
//!
//! Cases run with the root as working directory. The harness must not allocate between the
//! two free-page readings of a case.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

#[macro_use]
mod util;
mod badptr;
mod dir;
mod exec;
mod file;
mod full;
mod mem;
mod pipe;
mod proc;

use alloc::vec::Vec;
use core::sync::atomic::Ordering;
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
/// Time limit of a case that fills the disk or memory.
const LONG: i32 = 3000;

const fn case(name: &'static str, run: fn() -> TestResult) -> Case {
    Case { name, run, ticks: NORMAL }
}

const fn long(name: &'static str, run: fn() -> TestResult) -> Case {
    Case { name, run, ticks: LONG }
}

/// Every case, in the order they run: quick ones first, resource exhaustion last.
static CASES: &[Case] = &[
    case("exitwait", proc::exitwait),
    case("waitnochild", proc::waitnochild),
    case("waitmany", proc::waitmany),
    case("getpid", proc::getpid),
    case("forkcopy", proc::forkcopy),
    case("uptime", proc::uptime_pause),
    case("kstat", proc::kstat),
    case("unknownsyscall", proc::unknown_syscall),
    case("killloop", proc::killloop),
    case("killsleeper", proc::killsleeper),
    case("killstatus", proc::killstatus),
    case("reparent", proc::reparent),
    case("preempt", proc::preempt),
    case("exececho", exec::echo),
    case("execstatus", exec::status),
    case("execmaxarg", exec::maxarg),
    case("exectoomanyargs", exec::toomany),
    case("execargsize", exec::argsize),
    case("execmissing", exec::missing),
    case("execbadelf", exec::badelf),
    case("pipebasic", pipe::basic),
    case("pipebig", pipe::big),
    case("pipeeof", pipe::eof),
    case("pipenoreader", pipe::noreader),
    case("pipewrongend", pipe::wrongend),
    case("pipewakeup", pipe::wakeup),
    case("pipefds", pipe::fds),
    case("filerw", file::rw),
    case("filetrunc", file::trunc),
    case("filemissing", file::missing),
    case("filemodes", file::modes),
    case("unlinkopen", file::unlink_open),
    case("linkcount", file::link_count),
    case("dupfd", file::dup_fd),
    case("badfd", file::bad_fd),
    case("fileoffset", file::offsets),
    case("fdexhaust", file::fd_exhaust),
    case("name14", file::name14),
    case("longpath", file::long_path),
    case("devices", file::devices),
    case("bigwrite", file::bigwrite),
    case("sharedfd", file::sharedfd),
    case("fourfiles", file::fourfiles),
    case("createdelete", file::createdelete),
    case("linkunlink", file::linkunlink),
    case("manyfiles", file::manyfiles),
    case("bigfile", file::bigfile),
    case("dirbasic", dir::basic),
    case("dirdots", dir::dots),
    case("dirfile", dir::dirfile),
    case("dirroot", dir::root),
    case("direntries", dir::entries),
    case("cwdremoved", dir::cwd_removed),
    case("dirdeep", dir::deep),
    case("badptrread", badptr::read),
    case("badptrwrite", badptr::write),
    case("badptrpipe", badptr::pipe),
    case("badptrfstat", badptr::fstat),
    case("badptrwait", badptr::wait),
    case("badptrexec", badptr::exec),
    case("badptropen", badptr::open),
    case("badptrpaths", badptr::paths),
    case("badptrfreed", badptr::freed_heap),
    case("badptrvalidate", badptr::validate),
    case("badptrlen", badptr::length),
    case("sbrkbasic", mem::sbrk_basic),
    case("sbrkshrink", mem::sbrk_shrink),
    case("sbrkmuch", mem::sbrk_much),
    case("sbrklazy", mem::sbrk_lazy),
    case("sbrklazyargs", mem::sbrk_lazy_syscall),
    case("sbrknegative", mem::sbrk_negative),
    case("sbrklazylimit", mem::sbrk_lazy_limit),
    case("stackguard", mem::stack_guard),
    case("stackoverflow", mem::stack_overflow),
    case("textwrite", mem::text_write),
    case("rodatawrite", mem::rodata_write),
    case("highaddrs", mem::high_addresses),
    long("forkbomb", full::forkbomb),
    long("sbrkoom", full::sbrk_oom),
    long("execoom", full::exec_oom),
    long("outofinodes", full::out_of_inodes),
    Case { name: "diskfull", run: full::disk_full, ticks: 2 * LONG },
];

fn main(args: Args) -> i32 {
    util::ARGV_ADDR.store(args.argv_addr(), Ordering::Relaxed);
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
                println!("usertests: no test named {}", Bstr(name));
                failed.push("(unknown name)");
            }
        }
    }
    if args.len() <= 1 {
        selected.extend(CASES.iter());
    }
    // Cases name files relative to the root, where README and the programs live.
    if fs::chdir("/").is_err() {
        println!("usertests: chdir / failed");
    }
    println!("usertests starting");
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
        // Pages of the dead child are freed by the time wait returns; a reparented
        // grandchild may still be on its way out, so give it a moment.
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
/// - `--exit N`: exit with status N.
/// - `--argcheck ARG...`: check that each ARG is [`exec::arg_pattern`] of its index, then
///   exit with argc (or 200 + the index of the first bad argument).
fn helper(mode: &[u8], args: Args) -> i32 {
    match mode {
        b"--exit" => args.get_str(2).and_then(|s| s.parse().ok()).unwrap_or(255),
        b"--argcheck" => {
            for (i, a) in args.iter().enumerate().skip(2) {
                if a != exec::arg_pattern(i).as_slice() {
                    return 200 + i as i32;
                }
            }
            args.len() as i32
        }
        _ => {
            println!("usertests: unknown helper mode {}", Bstr(mode));
            255
        }
    }
}
