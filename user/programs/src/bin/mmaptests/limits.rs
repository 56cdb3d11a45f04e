//! Running out: mapping until the kernel refuses (it must say -1, not panic, and fork of
//! such a process fails or works but never crashes), and faulting in more pages than there
//! is memory (only the faulting process dies, and all its pages come back).

use crate::util::{self, TestResult, PG, RW};
use ulib::abi::{MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED};

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

/// Issue 10 item 1: three-page mappings until mmap fails, then the middle page of each
/// unmapped (each munmap splits a mapping, which costs the kernel heap like a new mapping)
/// until munmap fails. It must fail cleanly with -1 and change nothing (the mapping it was
/// asked to split is whole and usable), never panic the kernel, and so must a MAP_FIXED
/// over that page (which would split the mapping as well); unmapping everything then
/// works and gives every page back (checked once the process that did it is gone, as
/// page-table pages go only then).
pub fn split_exhaust() -> TestResult {
    let before = util::free()?;
    let status = util::in_child(|| match split_until_refused() {
        Ok(()) => 0,
        Err(reason) => {
            ulib::println!("splitexhaust: {}", reason);
            1
        }
    })?;
    ensure!(status == 0, "the splitting child ended with status {}", status);
    let mut after = util::free()?;
    for _ in 0..30 {
        if after >= before {
            break;
        }
        let _ = ulib::process::pause(1);
        after = util::free()?;
    }
    ensure!(after >= before, "{} pages not given back after unmapping everything", before - after);
    Ok(())
}

/// The body of [`split_exhaust`], in its own process.
fn split_until_refused() -> TestResult {
    // The image, guard page, stack and heap are regions too: count from here.
    let regions0 = util::kstat(ulib::abi::kstat::MAPPINGS)?;
    let (mut lo, mut n) = (0, 0);
    while n < MAX_TRIES {
        let r = util::raw_mmap(0, 3 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if r == -1 {
            break;
        }
        if n == 0 {
            lo = r as usize;
        }
        // First fit from an empty mmap area packs the mappings one after the other.
        ensure!(r as usize == lo + 3 * PG * n, "mapping {} at {:#x}, not right after the others", n, r);
        n += 1;
    }
    ensure!(n >= 10_000, "only {} three-page mappings before mmap failed", n);
    // Give back a little heap (whole mappings: never a split) so that some splits succeed.
    let freed = 64.min(n);
    util::unmap(lo, 3 * PG * freed)?;
    let mut split = 0;
    let mut refused = None;
    for i in freed..n {
        let middle = lo + 3 * PG * i + PG;
        if i % 1024 == 0 {
            // SAFETY: a store into our own mapping, so this split also drops a present page.
            unsafe { util::store_byte(middle, 1) };
        }
        let maps = util::kstat(ulib::abi::kstat::MAPPINGS)?;
        match util::raw_munmap(middle, PG) {
            0 => split += 1,
            -1 => {
                let now = util::kstat(ulib::abi::kstat::MAPPINGS)?;
                ensure!(now == maps, "a failed munmap changed the mapping count from {} to {}", maps, now);
                let want = u8::from(i % 1024 == 0);
                // SAFETY: the refused munmap left the page mapped; if not, the kernel kills us.
                ensure!(unsafe { util::load_byte(middle) } == want, "a failed munmap lost the page's data");
                // MAP_FIXED over the same page would split the mapping too: refused alike.
                let r = util::raw_mmap(middle, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
                ensure!(
                    r == -1,
                    "MAP_FIXED over the middle page with the heap at its reserve returned {:#x}",
                    r
                );
                let now = util::kstat(ulib::abi::kstat::MAPPINGS)?;
                ensure!(now == maps, "a failed MAP_FIXED changed the mapping count from {} to {}", maps, now);
                // SAFETY: as above.
                let kept = unsafe { util::load_byte(middle) } == want;
                ensure!(kept, "a failed MAP_FIXED lost the page's data");
                refused = Some(i);
                break;
            }
            r => fail!("munmap({:#x}, {:#x}) returned {}", middle, PG, r),
        }
    }
    ulib::println!(
        "splitexhaust: {} mappings, {} splits, then munmap {}",
        n,
        split,
        match refused {
            Some(_) => "failed cleanly",
            None => "never failed",
        }
    );
    ensure!(split > 0, "no split succeeded after unmapping {} whole mappings", freed);
    util::unmap(lo, 3 * PG * n)?;
    ensure!(util::kstat(ulib::abi::kstat::MAPPINGS)? == regions0, "mappings left after unmapping them all");
    let a = util::map(0, 3 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    util::unmap(a + PG, PG)?;
    util::unmap(a, 3 * PG)
}
