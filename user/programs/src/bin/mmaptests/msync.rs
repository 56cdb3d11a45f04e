//! msync (issue 9 item 2): MS_SYNC writes the range's modified shared file pages back (pages
//! stored to through the mapping, and pages the page cache holds as dirty) and nothing else,
//! so a later munmap has nothing left to write; MS_ASYNC does the same; MS_INVALIDATE drops
//! the range's clean cached pages, so the next touch reads the file again, keeps modified
//! and private pages, and leaves in the cache a page another mapping still maps; an unmapped
//! range and bad flags fail with -1.

use crate::protect::records;
use crate::util::{self, check_pattern, map, unmap, TestResult, PG, RW};
use ulib::abi::{
    self, kstat, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, MS_ASYNC, MS_INVALIDATE, MS_SYNC, O_RDWR, PROT_READ,
};
use ulib::{fs, sys};

/// `msync` that must succeed.
fn msync(addr: usize, len: usize, flags: usize) -> TestResult {
    let r = sys::msync(addr, len, flags);
    ensure!(r == 0, "msync({:#x}, {:#x}, {}) returned {}, expected 0", addr, len, flags, r);
    Ok(())
}

/// MS_SYNC and MS_ASYNC write back exactly the modified pages of the range (the dirty bit of
/// this mapping's pages, and a page the cache holds as dirty after MADV_DONTNEED moved the
/// bit there), the disk is written before the call returns, and munmap then writes nothing
/// more; stores after msync are written again by the next one.
pub fn sync_writes_back() -> TestResult {
    const F: &str = "mmsync";
    util::clean(&[F]);
    util::pattern_file(F, 80, 6 * PG)?;
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, 6 * PG, RW, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    // SAFETY: pages of our writable shared mapping.
    unsafe {
        util::store_byte(a + 1, 0xa1);
        util::store_byte(a + 3 * PG + 1, 0xa3);
        util::store_byte(a + 5 * PG + 1, 0xa5);
    }
    let back0 = util::written_back()?;
    let disk0 = util::kstat(kstat::DISK_WRITES)?;
    msync(a, 4 * PG, MS_SYNC)?; // pages 0..4: two modified
    ensure!(
        util::written_back()? - back0 == 2,
        "MS_SYNC of 2 modified pages wrote {}",
        util::written_back()? - back0
    );
    ensure!(util::kstat(kstat::DISK_WRITES)? > disk0, "MS_SYNC returned before writing the disk");
    msync(a, 4 * PG, MS_SYNC)?;
    ensure!(util::written_back()? - back0 == 2, "a second MS_SYNC wrote clean pages again");
    // SAFETY: as above.
    unsafe { util::store_byte(a + 1, 0xb1) };
    msync(a, PG, MS_ASYNC)?;
    ensure!(util::written_back()? - back0 == 3, "MS_ASYNC did not write the page stored to again");
    // A dirty page whose bit went into the cache (MADV_DONTNEED unmaps it) counts too.
    // SAFETY: the range is our own mapping, with nothing Rust uses in it.
    let r = unsafe { sys::madvise(a + 2 * PG, PG, abi::MADV_DONTNEED) };
    ensure!(r == 0, "madvise(MADV_DONTNEED) returned {}", r);
    // SAFETY: as above.
    unsafe { util::store_byte(a + 2 * PG + 1, 0xa2) };
    // SAFETY: as above.
    let r = unsafe { sys::madvise(a + 2 * PG, PG, abi::MADV_DONTNEED) };
    ensure!(r == 0, "madvise(MADV_DONTNEED) returned {}", r);
    msync(a, 6 * PG, MS_SYNC | MS_INVALIDATE)?;
    ensure!(util::written_back()? - back0 == 5, "MS_SYNC missed the page dirty in the cache or page 5");
    unmap(a, 6 * PG)?;
    ensure!(util::written_back()? - back0 == 5, "munmap after MS_SYNC wrote pages again");
    let back = util::read_file(F)?;
    for (page, v) in [(0, 0xb1), (2, 0xa2), (3, 0xa3), (5, 0xa5)] {
        ensure!(
            back[page * PG + 1] == v,
            "file page {} holds {:#x}, expected {:#x}",
            page,
            back[page * PG + 1],
            v
        );
    }
    check_pattern("file page 1", &back[PG..2 * PG], 80, PG)?;
    util::remove(F)
}

/// MS_INVALIDATE: the clean pages of the range leave this mapping and, where nothing else
/// maps them, the page cache, and the next touch reads the file again (same bytes); a page
/// stored to and not synced stays (its data reaches the file at munmap), so does a private
/// copy; a page another mapping still maps stays cached.
pub fn invalidate() -> TestResult {
    const F: &str = "mminval";
    util::clean(&[F]);
    util::pattern_file(F, 81, 4 * PG)?;
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, 4 * PG, RW, MAP_SHARED, fd, 0)?;
    let other = map(0, PG, PROT_READ, MAP_SHARED, fd, 3 * PG)?; // file page 3 again
    let p = map(0, 2 * PG, RW, MAP_PRIVATE, fd, 0)?;
    let _ = fs::close(fd);
    // SAFETY: readable pages of our mappings.
    check_pattern("shared mapping", unsafe { util::bytes(a, 4 * PG) }, 81, 0)?;
    // SAFETY: readable.
    check_pattern("other mapping", unsafe { util::bytes(other, PG) }, 81, 3 * PG)?;
    // SAFETY: page 1 of the shared mapping and page 0 of the private one are writable.
    unsafe {
        util::store_byte(a + PG + 4, 0xc1);
        black_box_load(p + PG);
        util::store_byte(p + 4, 0xd0);
    }
    let files0 = util::kstat(kstat::FILE_PAGES)?;
    msync(a, 4 * PG, MS_INVALIDATE)?;
    msync(p, 2 * PG, MS_INVALIDATE)?;
    let resident = records(a, a + PG)?[0].resident;
    ensure!(
        resident == 1,
        "{} pages of the shared mapping left after MS_INVALIDATE, expected 1 (the modified one)",
        resident
    );
    let resident = records(p, p + PG)?[0].resident;
    ensure!(
        resident == 1,
        "{} pages of the private mapping left after MS_INVALIDATE, expected 1 (its copy)",
        resident
    );
    ensure!(records(other, other + PG)?[0].resident == 1, "MS_INVALIDATE unmapped another mapping's page");
    // File pages 0 and 2 (clean, mapped by nobody now) left the cache; 1 is dirty, 3 mapped.
    let dropped = files0 - util::kstat(kstat::FILE_PAGES)?;
    ensure!(dropped == 2, "MS_INVALIDATE dropped {} cached pages, expected 2", dropped);
    let fills0 = util::kstat(kstat::CACHE_FILLS)?;
    let reads0 = util::kstat(kstat::DISK_READS)?;
    // SAFETY: readable.
    let v = unsafe { util::load_byte(a + 2 * PG + 9) };
    ensure!(v == util::pattern(81, 2 * PG + 9), "page read again holds {:#x}", v);
    ensure!(
        util::kstat(kstat::CACHE_FILLS)? > fills0,
        "the touch after MS_INVALIDATE did not fill the cache"
    );
    ensure!(util::kstat(kstat::DISK_READS)? > reads0, "the touch after MS_INVALIDATE did not read the disk");
    // SAFETY: readable.
    unsafe {
        ensure!(util::load_byte(a + PG + 4) == 0xc1, "the modified page lost its store");
        ensure!(util::load_byte(p + 4) == 0xd0, "the private copy lost its store");
    }
    unmap(p, 2 * PG)?;
    unmap(other, PG)?;
    unmap(a, 4 * PG)?;
    let back = util::read_file(F)?;
    ensure!(back[PG + 4] == 0xc1, "the store kept through MS_INVALIDATE did not reach the file");
    ensure!(back[4] == util::pattern(81, 4), "a private store reached the file");
    util::remove(F)
}

/// A load whose value is not needed.
///
/// # Safety
/// As `util::load_byte`.
unsafe fn black_box_load(addr: usize) {
    // SAFETY: the caller vouches for the address.
    core::hint::black_box(unsafe { util::load_byte(addr) });
}

/// Bad calls fail with -1: an unmapped range (or one with a hole, or the heap), undefined
/// flag bits, MS_ASYNC with MS_SYNC, an unaligned address, a range past the user space. A zero
/// length, flags 0, and anonymous memory (nothing to write) succeed.
pub fn bad_args() -> TestResult {
    let a = map(0, 3 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    unmap(a + PG, PG)?;
    let heap = ulib::memory::sbrk_eager(2 * PG).map_err(|e| alloc::format!("sbrk failed ({})", e))?;
    let cases: &[(&str, usize, usize, usize)] = &[
        ("a hole in the range", a, 3 * PG, MS_SYNC),
        ("an address never mapped", 0x3b_0000_0000, PG, MS_SYNC),
        ("the heap", heap.next_multiple_of(PG), PG, MS_SYNC),
        ("MS_ASYNC | MS_SYNC", a, PG, MS_ASYNC | MS_SYNC),
        ("flag 8", a, PG, 8),
        ("flags -1", a, PG, usize::MAX),
        ("MS_SYNC | bit 32", a, PG, MS_SYNC | 1 << 32),
        ("an unaligned address", a + 8, PG, MS_SYNC),
        ("length -1", a, usize::MAX, MS_SYNC),
        ("the trap frame", abi::TRAPFRAME, PG, MS_SYNC),
    ];
    for &(what, addr, len, flags) in cases {
        let r = sys::msync(addr, len, flags);
        ensure!(r == -1, "msync of {} returned {}", what, r);
    }
    for (addr, len, flags) in
        [(a, 0, MS_SYNC), (a, PG, 0), (a, PG, MS_SYNC | MS_INVALIDATE), (a, 1, MS_ASYNC)]
    {
        msync(addr, len, flags)?;
    }
    unmap(a, PG)?;
    unmap(a + 2 * PG, PG)
}

/// MS_SYNC of a range writes back exactly the range's modified pages (a contiguous run of
/// more than one kernel batch, and scattered ones), no page outside it; munmap then writes
/// only those outside; the file read again from the disk, once its cache is dropped, holds
/// every store.
pub fn sync_range() -> TestResult {
    const F: &str = "mmsyncr";
    const PAGES: usize = 48;
    let size = PAGES * PG;
    util::clean(&[F]);
    util::pattern_file(F, 86, size)?;
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, size, RW, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    // Pages 2..38 and 41 inside the range [1, 44); 0, 45 and 47 outside it.
    let inside: alloc::vec::Vec<usize> = (2..38).chain([41]).collect();
    let outside = [0usize, 45, 47];
    let all: alloc::vec::Vec<usize> = inside.iter().chain(&outside).copied().collect();
    for &p in &all {
        for off in [5usize, 1024 + 6, 2048 + 7, 3072 + 8].map(|o| p * PG + o) {
            // SAFETY: a store into our own shared mapping.
            unsafe { util::store_byte(a + off, crate::writeback::stored_byte(off)) };
        }
    }
    let back0 = util::written_back()?;
    let disk0 = util::kstat(kstat::DISK_WRITES)?;
    msync(a + PG, 43 * PG, MS_SYNC)?;
    let n = util::written_back()? - back0;
    ensure!(n == inside.len() as u64, "MS_SYNC of {} modified pages wrote back {}", inside.len(), n);
    let blocks = util::kstat(kstat::DISK_WRITES)? - disk0;
    ensure!(blocks >= 4 * n, "MS_SYNC wrote {} blocks for {} pages", blocks, n);
    unmap(a, size)?;
    let n = util::written_back()? - back0 - inside.len() as u64;
    ensure!(n == outside.len() as u64, "munmap after MS_SYNC wrote back {} pages, expected 3", n);
    let reads = util::kstat(kstat::DISK_READS)?;
    let data = util::read_file(F)?;
    let read = util::kstat(kstat::DISK_READS)? - reads;
    ensure!(read >= (size / 1024) as u64, "the file came from the cache ({} blocks read)", read);
    crate::writeback::check_stores(&data, size, 86, &all)
}
