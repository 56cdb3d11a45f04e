//! Running out: mapping until the kernel refuses (it must say -1, not panic, and fork of
//! such a process fails or works but never crashes), and faulting in more pages than there
//! is memory (only the faulting process dies, and all its pages come back).

use crate::util::{self, TestResult, PG, RW};
use ulib::abi::{MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED};

/// Most mappings tried before giving up on finding the limit.
const MAX_TRIES: usize = 400_000;

/// One-page mappings until mmap returns -1 (kernel bookkeeping is finite) or MAX_TRIES are
/// held; fork then either fails cleanly or gives a working child; one munmap frees them all
/// and mapping works again.
pub fn map_exhaust() -> TestResult {
    let (mut lo, mut hi, mut n) = (usize::MAX, 0, 0);
    while n < MAX_TRIES {
        let r = util::raw_mmap(0, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if r == -1 {
            break;
        }
        let a = r as usize;
        (lo, hi, n) = (lo.min(a), hi.max(a + PG), n + 1);
    }
    ensure!(n >= 10_000, "only {} mappings before mmap failed", n);
    // SAFETY: a store into the last mapping made.
    unsafe { util::store_byte(hi - PG, 1) };
    let forked = match ulib::sys::fork() {
        -1 => "refused",
        0 => ulib::process::exit(0),
        pid => {
            let s = util::wait_for(pid as i32)?;
            ensure!(s == 0, "child of a process with {} mappings ended with {}", n, s);
            "worked"
        }
    };
    ulib::println!("mapexhaust: {} mappings before mmap failed; fork then {}", n, forked);
    util::unmap(lo, hi - lo)?;
    let a = util::map(0, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    util::unmap(a, PG)?;
    let s = util::in_child(|| 0)?;
    ensure!(s == 0, "fork after unmapping everything failed");
    Ok(())
}

/// A process that touches more mapped pages than there is memory is killed (private and
/// shared anonymous memory); the parent lives on and every page comes back.
pub fn fault_oom() -> TestResult {
    for flags in [MAP_PRIVATE | MAP_ANONYMOUS, MAP_SHARED | MAP_ANONYMOUS] {
        let pages = util::free()? as usize + 2048;
        util::expect_killed("touching more mapped pages than memory holds", || {
            let Ok(a) = util::map(0, pages * PG, RW, flags, -1, 0) else { ulib::process::exit(9) };
            for p in 0..pages {
                // SAFETY: stores into the child's own mapping; the kernel kills it when memory
                // runs out.
                unsafe { util::store_byte(a + p * PG, 1) };
            }
        })?;
    }
    Ok(())
}
