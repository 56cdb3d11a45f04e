//! mmaptests: the memory-mapping suite (`mmap`, `munmap`, `mprotect`, `msync`, `madvise`,
//! page faults on mappings, sharing, write-back, and what `kstat`, `vmmaps` and `pmap` report
//! about them), run from user space.
//!
//! The harness is `ulib::testing::run_suite`: each case runs in a forked child under a
//! watchdog that kills it after the case's time limit; the case passes when its child exits
//! with 0 and the kernel's free-page count (kstat FREE_PAGES) is back where it was before the
//! case, so every leaked page is caught. Output, per case, is exactly `test NAME: OK` or `test NAME: FAILED` (after a line giving the
//! reason), then `ALL TESTS PASSED` (exit 0) or `SOME TESTS FAILED` (exit 1).
//! `mmaptests NAME...` runs only the named cases, `mmaptests -l` lists them. The last
//! [`SLOW`] cases run only when named: they need more disk than the default image has
//! or files the host test puts in the image (tests/mmaptests.rs and tests/bigfs.rs boot
//! them on images of their own). Arguments
//! starting with `--` are helper modes the suite execs itself in (see [`helper`]).
//!
//! Cases work in the root directory, create their files under names starting with `mm`, and
//! remove them (and any leftovers of an interrupted run) themselves, so they are independent.
//! The harness does not allocate between the two free-page readings of a case.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

#[macro_use]
mod util;
mod advise;
mod args;
mod big;
mod blocks;
mod cow;
mod faults;
mod files;
mod layout;
mod limits;
mod msync;
mod observe;
mod protect;
mod sharing;
mod trunc;
mod writeback;

use ulib::io::Bstr;
use ulib::testing::{self, case, long, Case};
use ulib::{println, Args};

ulib::entry!(main);

/// Every case, in the order they run; the last [`SLOW`] only when named.
static CASES: &[Case] = &[
    case("privateread", files::private_read),
    case("privatewrite", files::private_write),
    case("sharedrofd", files::shared_on_readonly_fd),
    case("sharedwriteback", files::shared_writeback),
    case("coldtail", files::cold_tail),
    case("untouchedeof", files::untouched_past_eof),
    case("lazymap", files::lazy),
    case("closeunlink", files::close_unlink),
    case("populate", files::populate),
    case("writecoherent", files::write_coherent),
    case("inodereuse", files::inode_reuse),
    case("forkmap", sharing::fork_map),
    case("forkshared", sharing::fork_shared),
    case("forkleak", sharing::fork_leak),
    case("anonshared", sharing::anon_shared),
    case("anonprivate", sharing::anon_private),
    case("twoprocs", sharing::two_processes),
    case("pingpong", sharing::ping_pong),
    case("concurrent", sharing::concurrent_faults),
    case("parentunmap", sharing::parent_unmaps),
    case("churn", sharing::churn),
    case("cowprivate", cow::private_both_ways),
    case("cowthree", cow::three_sharers),
    case("cowafterexit", cow::after_exit),
    case("cowread", cow::read_into_shared),
    case("cowexec", cow::fork_exec),
    case("cowoom", cow::copy_oom),
    case("forkoom", cow::fork_oom),
    case("forkblocks", blocks::private_both_ways),
    case("forkexecblocks", blocks::fork_exec),
    case("forkexitblocks", blocks::after_exit),
    case("forknested", blocks::nested),
    case("forkchanges", blocks::child_changes),
    case("forksharedblocks", blocks::shared_stays_shared),
    case("forktables", blocks::tables_shared),
    case("forkreads", blocks::kernel_reads),
    case("truncself", trunc::own_mappings),
    case("trunccache", trunc::cache_pages),
    case("truncother", trunc::other_process),
    case("truncspin", trunc::spinning_reader),
    case("truncwriteback", trunc::no_write_back),
    case("truncgrow", trunc::grows_again),
    case("munmapkills", faults::munmap_kills),
    case("rostore", faults::store_to_readonly),
    case("protnone", faults::prot_none),
    case("protexec", faults::prot_exec),
    case("readintoro", faults::read_into_readonly),
    case("syscallbuf", faults::syscall_buffers),
    case("samefilebuf", faults::same_file_buffers),
    case("samefileovl", faults::same_file_overlap),
    case("writebadmid", faults::write_bad_middle),
    case("callbufs", faults::other_call_buffers),
    case("holepunch", layout::hole_punch),
    case("spanthree", layout::span_three),
    case("manymaps", layout::many_maps),
    case("hugeanon", layout::huge_anon),
    case("hint", layout::hint_and_reuse),
    case("fixedreplace", layout::fixed_replace),
    case("sbrkfixed", layout::sbrk_below_fixed),
    case("imagetop", layout::image_top),
    case("badargs", args::bad_args),
    case("badmunmap", args::bad_munmap),
    case("mapexhaust", limits::map_exhaust),
    case("faultoom", limits::fault_oom),
    case("splitexhaust", limits::split_exhaust),
    case("dirtyonly", writeback::dirty_only),
    case("exitwriteback", writeback::exit_writes_back),
    case("killwriteback", writeback::kill_writes_back),
    case("execwriteback", writeback::exec_writes_back),
    case("execshared", writeback::exec_sees_shared_stores),
    case("wbbatch", writeback::batched),
    case("statanon", observe::anon_counters),
    case("statfile", observe::file_counters),
    case("statdirty", observe::dirty_counters),
    case("statother", observe::other_process),
    case("statzombie", observe::zombie),
    case("statrace", observe::racing),
    case("statmany", observe::many),
    case("statbadargs", observe::bad_args),
    case("wholespace", observe::whole_space),
    case("protsplit", protect::split_and_merge),
    case("protunmapped", protect::unmapped_fails),
    case("protsharedro", protect::shared_readonly_file),
    case("protatonce", protect::at_once),
    case("protnonekeeps", protect::prot_none_keeps_data),
    case("protimage", protect::image_regions),
    case("protfork", protect::after_fork),
    case("protbadargs", protect::bad_args),
    case("msyncwrite", msync::sync_writes_back),
    case("msyncinval", msync::invalidate),
    case("msyncbadargs", msync::bad_args),
    case("msyncrange", msync::sync_range),
    case("dontneed", advise::dont_need),
    case("willneed", advise::will_need),
    case("advrandomseq", advise::random_and_sequential),
    case("advsplit", advise::advice_splits),
    case("pmapadvice", advise::pmap_shows),
    case("madvbadargs", advise::bad_args),
    long("bigfile", big::big_file),
    long("bigscan", big::big_scan),
    long("reclaimothers", big::reclaim_others),
    long("bigwrite", big::big_write),
    long("beyondram", big::beyond_ram),
    long("faroffsets", big::far_offsets),
];

/// Cases at the end of [`CASES`] that a run without names skips (see the module docs).
const SLOW: usize = 2;

fn main(args: Args) -> i32 {
    if let Some(mode) = args.get(1).filter(|a| a.starts_with(b"--")) {
        return helper(mode, args);
    }
    let cases = if args.len() > 1 { CASES } else { &CASES[..CASES.len() - SLOW] };
    testing::run_suite("mmaptests", args, cases)
}

/// Helper modes the suite execs itself in.
/// - `--exit N`: exit with status N (a fresh image: nothing of the caller's mappings).
/// - `--touch ADDR`: load a byte from hexadecimal ADDR, then exit with 0 (a process that
///   has nothing mapped there is killed instead, status -1).
/// - `--maps`: make a few known mappings and run `pmap` on this process (see [`observe`]).
/// - `--hold TICKS`: make the same mappings and sleep TICKS ticks (for Ctrl-P).
/// - `--marker`: print `marker: ` and [`writeback::EXEC_MARKER`] (a string in the program file).
/// - `--store-poweroff FILE`: create FILE (two pages of `.`), store a text through a shared
///   mapping of it and power the machine off without unmapping (tests/shutdown.rs).
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
        b"--marker" => {
            println!("marker: {}", writeback::EXEC_MARKER);
            0
        }
        b"--store-poweroff" => writeback::store_then_poweroff(args.get_str(2).unwrap_or("mmoff")),
        b"--hold" => observe::hold_helper(args.get_str(2).and_then(|s| s.parse().ok()).unwrap_or(100)),
        _ => {
            println!("mmaptests: unknown helper mode {}", Bstr(mode));
            255
        }
    }
}
