//! madvise (issue 9 item 3) and what pmap shows of it (item 7): MADV_DONTNEED frees private
//! anonymous pages at once (they read as zeros again), makes private file pages read the file
//! again, and keeps the data of shared pages (a modified shared file page is still written
//! back); MADV_WILLNEED reads a range into the page cache without mapping it; MADV_RANDOM
//! turns readahead and fault-around off for a mapping, MADV_SEQUENTIAL reads ahead the largest
//! window, MADV_NORMAL restores both; advice is a mapping attribute that mprotect, munmap and
//! madvise of part of a mapping split; pmap prints protection and advice; unknown advice and
//! unmapped ranges fail with -1.

use crate::protect::{protect, records};
use crate::util::{self, check_pattern, check_zero, map, unmap, Ctx, TestResult, PG, RW};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use ulib::abi::{
    self, kstat, MADV_DONTNEED, MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MAP_ANONYMOUS,
    MAP_PRIVATE, MAP_SHARED, O_RDONLY, O_RDWR, PROT_READ,
};
use ulib::{fs, process, sys};

/// Raw `madvise`: 0 or -1.
fn raw_madvise(addr: usize, len: usize, advice: usize) -> isize {
    // SAFETY: the cases advise only their own mappings, in which no Rust object lives.
    unsafe { sys::madvise(addr, len, advice) }
}

/// `madvise` that must succeed.
fn madvise(addr: usize, len: usize, advice: usize) -> TestResult {
    let r = raw_madvise(addr, len, advice);
    ensure!(r == 0, "madvise({:#x}, {:#x}, {}) returned {}, expected 0", addr, len, advice, r);
    Ok(())
}

/// Pages of the mapping containing `addr` present now.
fn resident(addr: usize) -> Result<u64, String> {
    Ok(records(addr, addr + 1)?.first().ok_or("no record for the mapping")?.resident)
}

/// Reads one byte of each of `pages` pages from `addr`.
fn touch(addr: usize, pages: usize) {
    for i in 0..pages {
        // SAFETY: the callers pass readable mappings of at least `pages` pages.
        core::hint::black_box(unsafe { util::load_byte(addr + i * PG) });
    }
}

/// MADV_DONTNEED: private anonymous pages are freed at once and read as zeros; a private file
/// page stored to reads the file again; shared pages (file and anonymous) keep their data, and
/// a shared file page stored to is still written back at munmap.
pub fn dont_need() -> TestResult {
    const F: &str = "mmdontneed";
    util::clean(&[F]);
    util::pattern_file(F, 90, 2 * PG)?;
    let fd = util::open(F, O_RDWR)?;
    let anon = map(0, 4 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let private = map(0, 2 * PG, RW, MAP_PRIVATE, fd, 0)?;
    let shared = map(0, 2 * PG, RW, MAP_SHARED, fd, 0)?;
    let sanon = map(0, PG, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0)?;
    let _ = fs::close(fd);
    // SAFETY: our writable mappings, with no Rust object in them.
    unsafe {
        util::bytes_mut(anon, 4 * PG).fill(0xee);
        util::store_byte(private + 5, 0x15);
        util::store_byte(shared + PG + 5, 0x25);
        util::store_byte(sanon + 5, 0x35);
    }
    let free0 = util::kstat(kstat::FREE_PAGES)?;
    madvise(anon, 4 * PG, MADV_DONTNEED)?;
    let freed = util::kstat(kstat::FREE_PAGES)? - free0;
    ensure!(freed >= 4, "MADV_DONTNEED of 4 private anonymous pages freed {} pages", freed);
    ensure!(resident(anon)? == 0, "pages left resident after MADV_DONTNEED");
    // SAFETY: readable.
    check_zero("private anonymous memory after MADV_DONTNEED", unsafe { util::bytes(anon, 4 * PG) })?;
    for (a, len) in [(private, 2 * PG), (shared, 2 * PG), (sanon, PG)] {
        madvise(a, len, MADV_DONTNEED)?;
        ensure!(resident(a)? == 0, "pages left resident after MADV_DONTNEED");
    }
    // SAFETY: readable. (Page 1 shows the shared mapping's store: a private page not
    // copied shows the file's cached page.)
    let p = unsafe { util::bytes(private, PG) };
    check_pattern("private file mapping after MADV_DONTNEED", p, 90, 0)?;
    // SAFETY: readable.
    unsafe {
        ensure!(
            util::load_byte(shared + PG + 5) == 0x25,
            "a shared file page lost its store to MADV_DONTNEED"
        );
        ensure!(
            util::load_byte(sanon + 5) == 0x35,
            "shared anonymous memory lost its store to MADV_DONTNEED"
        );
    }
    let back0 = util::written_back()?;
    unmap(shared, 2 * PG)?;
    ensure!(
        util::written_back()? - back0 == 1,
        "the page stored to before MADV_DONTNEED was not written back"
    );
    for (a, len) in [(anon, 4 * PG), (private, 2 * PG), (sanon, PG)] {
        unmap(a, len)?;
    }
    let back = util::read_file(F)?;
    ensure!(back[PG + 5] == 0x25 && back[5] == util::pattern(90, 5), "file after MADV_DONTNEED: wrong bytes");
    util::remove(F)
}

/// MADV_WILLNEED reads the range's file pages into the page cache (and maps none); touching
/// them afterwards reads nothing from the disk. On anonymous memory it does nothing.
pub fn will_need() -> TestResult {
    const F: &str = "mmwillneed";
    util::clean(&[F]);
    util::pattern_file(F, 91, 12 * PG)?;
    let fd = util::open(F, O_RDONLY)?;
    let a = map(0, 8 * PG, PROT_READ, MAP_SHARED, fd, 2 * PG)?;
    let anon = map(0, 2 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let _ = fs::close(fd);
    let fills0 = util::kstat(kstat::CACHE_FILLS)?;
    madvise(a, 8 * PG, MADV_WILLNEED)?;
    let fills = util::kstat(kstat::CACHE_FILLS)? - fills0;
    ensure!(fills == 8, "MADV_WILLNEED of 8 file pages brought {} pages into the cache", fills);
    ensure!(resident(a)? == 0, "MADV_WILLNEED mapped pages");
    let reads0 = util::kstat(kstat::DISK_READS)?;
    // SAFETY: readable.
    check_pattern("mapping after MADV_WILLNEED", unsafe { util::bytes(a, 8 * PG) }, 91, 2 * PG)?;
    ensure!(util::kstat(kstat::DISK_READS)? == reads0, "pages read ahead by MADV_WILLNEED were read again");
    madvise(anon, 2 * PG, MADV_WILLNEED)?;
    ensure!(resident(anon)? == 0, "MADV_WILLNEED on anonymous memory allocated pages");
    unmap(a, 8 * PG)?;
    unmap(anon, 2 * PG)?;
    util::remove(F)
}

/// MADV_RANDOM: each fault reads exactly its page and maps no neighbour; with MADV_NORMAL a
/// fault maps the cached pages around it again; MADV_SEQUENTIAL reads ahead 32 pages at the
/// first fault, where MADV_NORMAL reads one.
pub fn random_and_sequential() -> TestResult {
    const F: &str = "mmadvra";
    util::clean(&[F]);
    util::pattern_file(F, 92, 64 * PG)?;
    let fd = util::open(F, O_RDONLY)?;
    // Fixed addresses 16 pages apart, so each fault-around window covers pages 0..16.
    let fixed = MAP_SHARED | abi::MAP_FIXED;
    let r = map(0x33_0000_0000, 16 * PG, PROT_READ, fixed, fd, 0)?;
    madvise(r, 16 * PG, MADV_RANDOM)?;
    let fills0 = util::kstat(kstat::CACHE_FILLS)?;
    touch(r, 8);
    let fills = util::kstat(kstat::CACHE_FILLS)? - fills0;
    ensure!(fills == 8, "8 faults in order under MADV_RANDOM read {} pages, expected 8", fills);
    ensure!(resident(r)? == 8, "{} pages resident after 8 faults under MADV_RANDOM", resident(r)?);
    // Pages 0..8 are cached now. A normal mapping's fault maps them all (fault-around) ...
    let n = map(0x33_0010_0000, 16 * PG, PROT_READ, fixed, fd, 0)?;
    touch(n, 1);
    ensure!(resident(n)? == 8, "{} pages resident after one fault with fault-around", resident(n)?);
    // ... a random one only the page faulted on; back to normal, all of them again.
    for (advice, want) in [(MADV_RANDOM, 1), (MADV_NORMAL, 8)] {
        madvise(n, 16 * PG, MADV_DONTNEED)?;
        madvise(n, 16 * PG, advice)?;
        touch(n, 1);
        let got = resident(n)?;
        ensure!(got == want, "advice {}: {} pages resident after one fault, expected {}", advice, got, want);
    }
    // Sequential: the first fault reads 32 pages, where a normal mapping's first fault far
    // from the last access reads one.
    let s = map(0x33_0020_0000, 48 * PG, PROT_READ, fixed, fd, 16 * PG)?;
    let far = map(0x33_0030_0000, PG, PROT_READ, fixed, fd, 60 * PG)?;
    madvise(s, 48 * PG, MADV_SEQUENTIAL)?;
    let _ = fs::close(fd);
    let fills0 = util::kstat(kstat::CACHE_FILLS)?;
    touch(far, 1); // file page 60
    let one = util::kstat(kstat::CACHE_FILLS)? - fills0;
    touch(s, 1); // file page 16
    let seq = util::kstat(kstat::CACHE_FILLS)? - fills0 - one;
    ensure!(one == 1, "a fault under MADV_NORMAL far from the last access read {} pages, expected 1", one);
    ensure!(seq == 32, "the first fault under MADV_SEQUENTIAL read {} pages, expected 32", seq);
    // SAFETY: readable.
    check_pattern("sequential mapping", unsafe { util::bytes(s, 48 * PG) }, 92, 16 * PG)?;
    // SAFETY: readable.
    check_pattern("random mapping", unsafe { util::bytes(r, 16 * PG) }, 92, 0)?;
    for a in [r, n] {
        unmap(a, 16 * PG)?;
    }
    unmap(s, 48 * PG)?;
    unmap(far, PG)?;
    util::remove(F)
}

/// Advice is a mapping attribute: madvise of part of a mapping splits it, mprotect and munmap
/// of part of an advised mapping keep the advice on every piece, equal neighbours merge again;
/// vmmaps reports it in the flags' advice bits.
pub fn advice_splits() -> TestResult {
    let a = map(0, 6 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let shape = || -> Result<Vec<(usize, usize, usize)>, String> {
        Ok(records(a, a + 6 * PG)?
            .iter()
            .map(|m| ((m.start as usize - a) / PG, m.prot as usize, m.advice()))
            .collect())
    };
    madvise(a + PG, 3 * PG, MADV_RANDOM)?;
    let s = shape()?;
    ensure!(s == [(0, RW, 0), (1, RW, 1), (4, RW, 0)], "after MADV_RANDOM of pages 1..4: {:?}", s);
    protect(a + 2 * PG, PG, PROT_READ)?;
    let s = shape()?;
    ensure!(
        s == [(0, RW, 0), (1, RW, 1), (2, PROT_READ, 1), (3, RW, 1), (4, RW, 0)],
        "after mprotect of page 2: {:?}",
        s
    );
    unmap(a + 3 * PG, PG)?;
    madvise(a + 4 * PG, 2 * PG, MADV_SEQUENTIAL)?;
    let s = shape()?;
    ensure!(s == [(0, RW, 0), (1, RW, 1), (2, PROT_READ, 1), (4, RW, 2)], "after munmap of page 3: {:?}", s);
    protect(a + 2 * PG, PG, RW)?;
    madvise(a, 3 * PG, MADV_NORMAL)?;
    let s = shape()?;
    ensure!(s == [(0, RW, 0), (4, RW, 2)], "after making pages 0..3 equal: {:?}", s);
    unmap(a, 3 * PG)?;
    unmap(a + 4 * PG, 2 * PG)
}

/// pmap prints each mapping's current protection and its advice (when not normal).
pub fn pmap_shows() -> TestResult {
    let a = map(0, 3 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    protect(a + PG, PG, PROT_READ)?;
    madvise(a + 2 * PG, PG, MADV_SEQUENTIAL)?;
    let (rd, wr) = fs::pipe().ctx("pipe")?;
    let me = format!("{}", process::getpid());
    let pid = util::spawn(|| {
        let _ = fs::close(1);
        if fs::dup(wr) != Ok(1) {
            return 98;
        }
        let _ = fs::close(rd);
        let _ = fs::close(wr);
        let _ = process::exec("/pmap", &["pmap", me.as_str()]);
        99
    })?;
    let _ = fs::close(wr);
    let out = fs::read_to_end(rd).ctx("read of pmap's output");
    let _ = fs::close(rd);
    let st = util::wait_for(pid)?;
    let out = String::from_utf8(out?).map_err(|_| String::from("pmap printed bytes that are not UTF-8"))?;
    ensure!(st == 0, "pmap exited with {}; it printed:\n{}", st, out);
    let row = |page: usize| -> Result<Vec<&str>, String> {
        let range = format!("{:#x}-{:#x}", a + page * PG, a + (page + 1) * PG);
        let line = out
            .lines()
            .find(|l| l.starts_with(&range))
            .ok_or(format!("pmap shows no {}:\n{}", range, out))?;
        Ok(line.split_whitespace().collect())
    };
    let (r0, r1, r2) = (row(0)?, row(1)?, row(2)?);
    ensure!(r0[2] == "rw-" && !r0.iter().any(|w| w.starts_with("advice=")), "row of page 0: {:?}", r0);
    ensure!(r1[2] == "r--", "row of the page made read-only: {:?}", r1);
    ensure!(r2[2] == "rw-" && r2.last() == Some(&"advice=sequential"), "row of the advised page: {:?}", r2);
    unmap(a, 3 * PG)
}

/// Bad calls fail with -1 and change nothing: unknown advice, a range with an unmapped page
/// (a hole, the heap, an address never mapped), an unaligned address, a range past the user
/// space. A zero length succeeds.
pub fn bad_args() -> TestResult {
    let a = map(0, 3 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    // SAFETY: our own fresh mapping.
    unsafe { util::bytes_mut(a, 3 * PG).fill(0x5a) };
    unmap(a + PG, PG)?;
    let heap = ulib::memory::sbrk_eager(2 * PG).ctx("sbrk")?.next_multiple_of(PG);
    let cases: &[(&str, usize, usize, usize)] = &[
        ("advice 5", a, PG, 5),
        ("advice 100", a, PG, 100),
        ("advice -1", a, PG, usize::MAX),
        ("advice MADV_DONTNEED | bit 32", a, PG, MADV_DONTNEED | 1 << 32),
        ("a hole in the range", a, 3 * PG, MADV_DONTNEED),
        ("the heap", heap, PG, MADV_DONTNEED),
        ("an address never mapped", 0x3c_0000_0000, PG, MADV_WILLNEED),
        ("an unaligned address", a + 1, PG, MADV_DONTNEED),
        ("length -1", a, usize::MAX, MADV_NORMAL),
        ("the trap frame", abi::TRAPFRAME, PG, MADV_RANDOM),
    ];
    for &(what, addr, len, advice) in cases {
        let r = raw_madvise(addr, len, advice);
        ensure!(r == -1, "madvise with {} returned {}", what, r);
    }
    // SAFETY: readable; nothing may have been dropped.
    ensure!(unsafe { util::load_byte(a) } == 0x5a, "a refused MADV_DONTNEED dropped a page");
    // SAFETY: a heap page this case grew the break for.
    ensure!(unsafe { util::load_byte(heap) } == 0, "the heap changed");
    madvise(a, 0, MADV_DONTNEED)?;
    unmap(a, PG)?;
    unmap(a + 2 * PG, PG)
}
