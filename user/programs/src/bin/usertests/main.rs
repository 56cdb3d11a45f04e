//! usertests: the kernel's test suite, run from user space.
//!
//! The harness is `ulib::testing::run_suite`: each case runs in a forked child, watched by a
//! second child that kills it after the case's time limit; the case passes when its child exits with 0 and the kernel's free-page
//! count (kstat FREE_PAGES) is back where it was before the case. Output, per case, is
//! exactly `test NAME: OK` or `test NAME: FAILED` (after a line giving the reason), then
//! `ALL TESTS PASSED` (exit 0) or `SOME TESTS FAILED` (exit 1). `usertests NAME...` runs only
//! the named cases, `usertests -l` lists them. Options starting with `--` are helper modes
//! the suite execs itself in (see [`helper`]).
//!
//! Cases run with the root as working directory. The harness does not allocate between the
//! two free-page readings of a case.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

#[macro_use]
mod util;
mod badptr;
mod dir;
mod disk;
mod exec;
mod file;
mod full;
mod mem;
mod pipe;
mod proc;

use core::sync::atomic::Ordering;
use ulib::io::Bstr;
use ulib::testing::{self, case, long, Case, LONG};
use ulib::{println, Args};

ulib::entry!(main);

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
    case("killinit", proc::killinit),
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
    case("diskoverlap", disk::overlap),
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
    case("sbrkpastzero", mem::sbrk_past_zero),
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
    testing::run_suite("usertests", args, CASES)
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
