//! The harness of the guest test suites (usertests, mmaptests): a table of [`Case`]s run by
//! [`run_suite`], plus the helpers every case uses to judge a child process or to probe an
//! exact address.
//!
//! [`run_suite`] runs each case in a forked child, watched by a second child (forked first, so
//! that no fork of the harness runs during a case) whose end after the case's time limit
//! makes the harness kill the case; the case passes when its child exits with 0 and the kernel's
//! count of available pages (kstat FREE_PAGES + FILE_PAGES: free, or file data in the page
//! cache) is back where it was before the case. Output, per case,
//! is exactly `test NAME: OK` or `test NAME: FAILED` (after a line giving the reason), then
//! `ALL TESTS PASSED` (exit 0) or `SOME TESTS FAILED` (exit 1). `SUITE NAME...` runs only the
//! named cases, `SUITE -l` lists them. Cases run with the root as working directory. The
//! harness does not allocate between the two free-page readings of a case.

use crate::io::Bstr;
use crate::process::{self, Fork};
use crate::{fs, println, sys, Args, SysResult};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::arch::asm;

/// A test case's verdict: `Err` carries the reason printed before "FAILED".
pub type TestResult = Result<(), String>;

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
pub const NORMAL: i32 = 600;
/// Time limit of a long case (one that fills the disk or memory, or writes a file of tens of
/// MiB): 5 min.
pub const LONG: i32 = 3000;

/// An ordinary case, limited to [`NORMAL`].
pub const fn case(name: &'static str, run: fn() -> TestResult) -> Case {
    Case { name, run, ticks: NORMAL }
}

/// A long case, limited to [`LONG`].
pub const fn long(name: &'static str, run: fn() -> TestResult) -> Case {
    Case { name, run, ticks: LONG }
}

/// Runs the suite called `suite` (the name its messages start with) over `cases`, as the
/// command line `args` asks: `-l` lists the cases, names select cases, no arguments runs
/// them all in table order. Returns the exit status: 0 when every case passed, else 1.
pub fn run_suite(suite: &str, args: Args, cases: &'static [Case]) -> i32 {
    if args.get(1) == Some(b"-l") {
        for c in cases {
            println!("{}", c.name);
        }
        return 0;
    }
    let mut selected: Vec<&Case> = Vec::with_capacity(cases.len());
    let mut failed: Vec<&str> = Vec::with_capacity(cases.len() + args.len());
    for name in args.iter().skip(1) {
        match cases.iter().find(|c| c.name.as_bytes() == name) {
            Some(c) => selected.push(c),
            None => {
                println!("{}: no test named {}", suite, Bstr(name));
                failed.push("(unknown name)");
            }
        }
    }
    if args.len() <= 1 {
        selected.extend(cases.iter());
    }
    // Cases name files relative to the root, where README and the programs live.
    if fs::chdir("/").is_err() {
        println!("{}: chdir / failed", suite);
    }
    println!("{} starting", suite);
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

/// How a supervised child ended.
pub enum Outcome {
    Exited(i32),
    TimedOut,
    NoFork,
}

/// Runs one case in a child under a watchdog; prints and returns its verdict.
fn run_case(c: &Case) -> bool {
    let before = process::available_pages();
    let outcome = supervise_case(c);
    let leak = before.and_then(|before| {
        // The dead child's pages are free by the time wait returns; a grandchild reparented to
        // init may still be on its way out, so give it a moment.
        let mut after = process::available_pages().unwrap_or(before);
        for _ in 0..30 {
            if after >= before {
                return None;
            }
            let _ = process::pause(1);
            after = process::available_pages().unwrap_or(before);
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
            println!("{}: leaked {} pages (kstat FREE_PAGES + FILE_PAGES)", c.name, pages);
            false
        }
        _ => ok,
    };
    println!("test {}: {}", c.name, if ok { "OK" } else { "FAILED" });
    ok
}

/// Forks the case and its watchdog and waits for the case to end.
fn supervise_case(c: &Case) -> Outcome {
    supervise(c.ticks, || match (c.run)() {
        Ok(()) => 0,
        Err(reason) => {
            println!("{}: {}", c.name, reason);
            1
        }
    })
}

/// Runs `f` in a child process, which exits with `f`'s result, under a watchdog that kills
/// it after `ticks` ticks, and waits for it. (The test suites and the fuzzer run every case
/// and chunk this way.)
pub fn supervise(ticks: i32, f: impl FnOnce() -> i32) -> Outcome {
    // The watchdog comes first: a fork of this process copies its memory, which must not
    // happen while the child runs (a case that counts free pages would see it).
    let dog = sys::fork();
    if dog == 0 {
        // The watchdog: if the pause runs its course, the child is overdue.
        let _ = process::pause(ticks);
        sys::exit(0);
    }
    let pid = sys::fork();
    if pid == 0 {
        sys::exit(f());
    }
    let dog = dog as i32;
    if pid < 0 {
        if dog > 0 {
            let _ = process::kill(dog);
            let _ = process::wait_pid(dog);
        }
        return Outcome::NoFork;
    }
    let pid = pid as i32;
    let mut timed_out = false;
    let mut dog_done = dog < 0;
    let status = loop {
        match process::wait() {
            Ok((p, s)) if p == pid => break s,
            Ok((p, _)) if p == dog => {
                // The watchdog's pause ran its course: the child is overdue.
                timed_out = true;
                dog_done = true;
                let _ = process::kill(pid);
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

/// Adds the name of the failed call to a typed result.
pub trait Ctx<T> {
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T> Ctx<T> for SysResult<T> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{} failed ({})", what, e))
    }
}

/// Forks a child running `f`, which exits with `f`'s result; returns the child's pid.
pub fn spawn(f: impl FnOnce() -> i32) -> Result<i32, String> {
    match process::fork() {
        Ok(Fork::Child) => process::exit(f()),
        Ok(Fork::Parent(pid)) => Ok(pid),
        Err(e) => Err(format!("fork failed ({})", e)),
    }
}

/// Waits for child `pid`; returns its exit status. Other children that exit first are reaped
/// and lost.
pub fn wait_for(pid: i32) -> Result<i32, String> {
    process::wait_pid(pid).map_err(|e| format!("wait for child {} failed ({})", pid, e))
}

/// Runs `f` in a child and returns the child's exit status.
pub fn in_child(f: impl FnOnce() -> i32) -> Result<i32, String> {
    let pid = spawn(f)?;
    wait_for(pid)
}

/// Runs `f` in a child that must be killed by the kernel (exit status -1); `what` names the
/// fatal action in the failure reason.
pub fn expect_killed(what: &str, f: impl FnOnce()) -> TestResult {
    match in_child(|| {
        f();
        0
    })? {
        -1 => Ok(()),
        0 => Err(format!("child survived {}", what)),
        s => Err(format!("child exited with {} after {}, expected -1 (killed)", s, what)),
    }
}

/// Loads the byte at `addr` with a plain `lbu`.
///
/// # Safety
/// The load may fault and kill the process; if it succeeds it reads memory Rust does not
/// track, which is harmless.
pub unsafe fn load_byte(addr: usize) -> u8 {
    let v: u8;
    // SAFETY: a load has no side effects on memory; a fault is handled by the kernel.
    unsafe { asm!("lbu {v}, 0({a})", v = out(reg) v, a = in(reg) addr, options(nostack)) };
    v
}

/// Stores `v` at `addr` with a plain `sb`.
///
/// # Safety
/// The store may fault and kill the process; the caller must make sure that, if it succeeds,
/// it changes no memory Rust code relies on (or that the process ends right after).
pub unsafe fn store_byte(addr: usize, v: u8) {
    // SAFETY: the caller vouches for the target.
    unsafe { asm!("sb {v}, 0({a})", v = in(reg) v, a = in(reg) addr, options(nostack)) };
}
