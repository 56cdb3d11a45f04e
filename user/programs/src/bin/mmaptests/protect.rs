//! mprotect (issue 9 item 1): it changes the protection of whole pages, splitting mappings
//! and merging equal neighbours again; it fails on a range with any unmapped page (the heap
//! included: not a mapping, a documented gap) and for PROT_WRITE on a shared mapping of a
//! file not opened for writing; it takes effect at once on present pages (a store after
//! PROT_READ kills, PROT_READ|PROT_WRITE allows it again), in private and shared, file and
//! anonymous mappings; PROT_NONE keeps the data; the regions exec made (text, data, guard,
//! stack) can be protected; a page fork shared read-only is copied at the first store after
//! either side makes it writable; bad arguments fail with -1 and change nothing.

use crate::util::{self, check_pattern, map, unmap, Ctx, TestResult, PG, RW};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::hint::black_box;
use ulib::abi::{
    self, VmMap, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, O_RDONLY, O_RDWR, PROT_EXEC, PROT_NONE, PROT_READ,
};
use ulib::{fs, process, sys};

/// Raw `mprotect`: 0 or -1.
pub fn raw_mprotect(addr: usize, len: usize, prot: usize) -> isize {
    // SAFETY: the cases protect only their own mappings (and, in children that are meant to
    // die, their own image), in which no Rust object lives.
    unsafe { sys::mprotect(addr, len, prot) }
}

/// `mprotect` that must succeed.
pub fn protect(addr: usize, len: usize, prot: usize) -> TestResult {
    let r = raw_mprotect(addr, len, prot);
    ensure!(r == 0, "mprotect({:#x}, {:#x}, {}) returned {}, expected 0", addr, len, prot, r);
    Ok(())
}

/// The records of this process's regions that overlap `[start, end)`.
pub fn records(start: usize, end: usize) -> Result<Vec<VmMap>, String> {
    let all = process::vmmaps(0).map_err(|e| format!("vmmaps failed ({})", e))?;
    Ok(all.into_iter().filter(|m| m.start < end as u64 && m.end > start as u64).collect())
}

/// Checks that `[start, end)` is described by exactly the pieces `want`: (pages, prot) each,
/// lowest first.
fn expect_pieces(what: &str, start: usize, want: &[(usize, usize)]) -> TestResult {
    let end = start + want.iter().map(|w| w.0).sum::<usize>() * PG;
    let got: Vec<(usize, usize, usize)> = records(start, end)?
        .iter()
        .map(|m| (m.start as usize, m.len() as usize / PG, m.prot as usize))
        .collect();
    let mut at = start;
    let mut expect = Vec::new();
    for &(pages, prot) in want {
        expect.push((at, pages, prot));
        at += pages * PG;
    }
    ensure!(got == expect, "{}: vmmaps shows (start, pages, prot) {:x?}, expected {:x?}", what, got, expect);
    Ok(())
}

/// A store that must work: writes `v` at `addr` and reads it back.
fn store_ok(what: &str, addr: usize, v: u8) -> TestResult {
    // SAFETY: the caller's mapping is writable at `addr` and holds no Rust object.
    let got = unsafe {
        util::store_byte(addr, v);
        util::load_byte(addr)
    };
    ensure!(got == v, "{}: stored {:#x}, read back {:#x}", what, v, got);
    Ok(())
}

/// Splitting: protecting the middle of a mapping leaves three mappings (the file offsets of
/// the pieces shift), the rest keeps its protection; protecting it back merges them into one
/// again; a length that is not a page multiple covers the last page partly named; a range
/// across two mappings changes both and merges them when they continue each other.
pub fn split_and_merge() -> TestResult {
    const F: &str = "mmpsplit";
    util::clean(&[F]);
    util::pattern_file(F, 70, 6 * PG)?;
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, 6 * PG, RW, MAP_SHARED, fd, 0)?;
    let _ = fs::close(fd);
    protect(a + 2 * PG, PG + 1, PROT_READ)?; // two pages: the length is rounded up
    expect_pieces("middle of a file mapping protected", a, &[(2, RW), (2, PROT_READ), (2, RW)])?;
    let offsets: Vec<u64> = records(a, a + 6 * PG)?.iter().map(|m| m.offset).collect();
    ensure!(offsets == [0, 2 * PG as u64, 4 * PG as u64], "offsets of the pieces {:x?}", offsets);
    // SAFETY: page 0 is writable, page 3 readable.
    unsafe { util::store_byte(a + 5, 0x42) };
    // SAFETY: readable.
    check_pattern("read-only middle", unsafe { util::bytes(a + 2 * PG, 2 * PG) }, 70, 2 * PG)?;
    util::expect_killed("a store to the protected middle", || {
        // SAFETY: the store is meant to kill the process.
        unsafe { util::store_byte(a + 3 * PG + 1, 1) };
    })?;
    protect(a + 2 * PG, 2 * PG, RW)?;
    expect_pieces("middle protected back", a, &[(6, RW)])?;
    // Two anonymous mappings side by side: one mprotect over both, then they are one.
    let b = map(0x31_0000_0000, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | abi::MAP_FIXED, -1, 0)?;
    let c = map(b + 2 * PG, 3 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS | abi::MAP_FIXED, -1, 0)?;
    expect_pieces("two anonymous mappings", b, &[(2, PROT_READ), (3, RW)])?;
    protect(b + PG, 3 * PG, PROT_READ | PROT_EXEC)?;
    expect_pieces("a range across both", b, &[(1, PROT_READ), (3, PROT_READ | PROT_EXEC), (1, RW)])?;
    protect(b, 5 * PG, RW)?;
    expect_pieces("both made equal", b, &[(5, RW)])?;
    store_ok("page of the former first mapping", b + 10, 7)?;
    unmap(b, 2 * PG)?;
    unmap(c, 3 * PG)?;
    unmap(a, 6 * PG)?;
    let back = util::read_file(F)?;
    ensure!(back[5] == 0x42, "the store before mprotect did not reach the file");
    util::remove(F)
}

/// A range with any unmapped page fails and changes nothing: a hole in the middle, a range
/// running past a mapping's end, an address never mapped, and the heap (not a mapping here).
pub fn unmapped_fails() -> TestResult {
    let a = map(0, 3 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    unmap(a + PG, PG)?;
    for (what, addr, len) in [
        ("a range over a hole", a, 3 * PG),
        ("a range past the end", a + 2 * PG, 2 * PG),
        ("an address never mapped", 0x3a_0000_0000, PG),
    ] {
        for prot in [PROT_READ, RW, PROT_NONE] {
            let r = raw_mprotect(addr, len, prot);
            ensure!(r == -1, "mprotect of {} to {} returned {}", what, prot, r);
        }
    }
    expect_pieces("first page after refused calls", a, &[(1, RW)])?;
    expect_pieces("last page after refused calls", a + 2 * PG, &[(1, RW)])?;
    store_ok("first page", a, 1)?;
    store_ok("last page", a + 2 * PG, 2)?;
    // The heap is not a mapping: mprotect of it fails (a known gap; Linux allows it).
    let heap = ulib::memory::sbrk_eager(2 * PG).ctx("sbrk")?;
    let page = heap.next_multiple_of(PG);
    let r = raw_mprotect(page, PG, PROT_READ);
    ensure!(r == -1, "mprotect of a heap page returned {}, expected -1 (the heap is not a mapping)", r);
    store_ok("heap page after the refused mprotect", page, 3)?;
    unmap(a, PG)?;
    unmap(a + 2 * PG, PG)
}

/// PROT_WRITE on a shared mapping of a file opened read-only fails (alone or as part of a
/// range), as mmap would; PROT_READ/PROT_EXEC on it work; a private mapping of the same file
/// may be made writable, and its stores never reach the file; a shared mapping of a file
/// opened read-write may be made writable, and its stores do.
pub fn shared_readonly_file() -> TestResult {
    const F: &str = "mmpro";
    util::clean(&[F]);
    util::pattern_file(F, 71, 2 * PG)?;
    let ro = util::open(F, O_RDONLY)?;
    let rw = util::open(F, O_RDWR)?;
    let s = map(0x32_0000_0000, 2 * PG, PROT_READ, MAP_SHARED | abi::MAP_FIXED, ro, 0)?;
    let anon = map(s + 2 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | abi::MAP_FIXED, -1, 0)?;
    let p = map(0, 2 * PG, PROT_READ, MAP_PRIVATE, ro, 0)?;
    let w = map(0, 2 * PG, PROT_READ, MAP_SHARED, rw, 0)?;
    for x in [ro, rw] {
        let _ = fs::close(x);
    }
    for (what, addr, len) in [("the shared mapping", s, 2 * PG), ("a range ending in it", s + PG, 2 * PG)] {
        for prot in [RW, abi::PROT_WRITE, RW | PROT_EXEC] {
            let r = raw_mprotect(addr, len, prot);
            ensure!(r == -1, "mprotect({}) of {} of a read-only file returned {}", prot, what, r);
        }
    }
    expect_pieces("after the refused calls", s, &[(2, PROT_READ), (1, PROT_READ)])?;
    protect(s, 2 * PG, PROT_READ | PROT_EXEC)?;
    protect(s, 2 * PG, PROT_NONE)?;
    protect(s, 2 * PG, PROT_READ)?;
    // SAFETY: readable.
    check_pattern("shared read-only mapping", unsafe { util::bytes(s, 2 * PG) }, 71, 0)?;
    protect(p, 2 * PG, RW)?;
    store_ok("private mapping of a read-only file made writable", p + 9, 0x11)?;
    protect(w, 2 * PG, RW)?;
    store_ok("shared mapping of a read-write file made writable", w + PG + 9, 0x22)?;
    unmap(s, 2 * PG)?;
    unmap(anon, PG)?;
    unmap(p, 2 * PG)?;
    unmap(w, 2 * PG)?;
    let back = util::read_file(F)?;
    ensure!(back[9] == util::pattern(71, 9), "a private store reached the file");
    ensure!(back[PG + 9] == 0x22, "a shared store after mprotect(RW) did not reach the file");
    util::remove(F)
}

/// The change takes effect at once on pages already present: in each kind of mapping a page
/// written (present, writable), then made PROT_READ, kills a store but keeps its data; made
/// PROT_READ|PROT_WRITE again, it takes stores again. An untouched page made read-only faults
/// in for loads and kills stores.
pub fn at_once() -> TestResult {
    const F: &str = "mmpnow";
    util::clean(&[F]);
    util::pattern_file(F, 72, 2 * PG)?;
    let fd = util::open(F, O_RDWR)?;
    let maps = [
        ("private anonymous", map(0, 2 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?),
        ("shared anonymous", map(0, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0)?),
        ("shared file", map(0, 2 * PG, RW, MAP_SHARED, fd, 0)?),
        ("private file", map(0, 2 * PG, RW, MAP_PRIVATE, fd, 0)?),
    ];
    let _ = fs::close(fd);
    for (i, (what, a)) in maps.iter().enumerate() {
        let v = 0x30 + i as u8;
        store_ok(what, a + 100, v)?;
        protect(*a, 2 * PG, PROT_READ)?;
        // SAFETY: page 0 is readable.
        ensure!(unsafe { util::load_byte(a + 100) } == v, "{}: data lost by mprotect(PROT_READ)", what);
        util::expect_killed(&format!("a store to a present page made read-only ({})", what), || {
            // SAFETY: the store is meant to kill the process.
            unsafe { util::store_byte(a + 101, 1) };
        })?;
        util::expect_killed(&format!("a store to an untouched page made read-only ({})", what), || {
            // SAFETY: the load reads a readable page; the store is meant to kill the process.
            unsafe {
                black_box(util::load_byte(a + PG + 3));
                util::store_byte(a + PG + 3, 1);
            }
        })?;
        protect(*a, 2 * PG, RW)?;
        store_ok(&format!("{} made writable again", what), a + 101, v + 1)?;
        store_ok(&format!("{} made writable again, page 1", what), a + PG + 3, v + 2)?;
        // SAFETY: readable.
        ensure!(unsafe { util::load_byte(a + 100) } == v, "{}: earlier store lost", what);
    }
    for (_, a) in maps {
        unmap(a, 2 * PG)?;
    }
    let back = util::read_file(F)?;
    ensure!(
        back[100] == 0x32 && back[101] == 0x33 && back[PG + 3] == 0x34,
        "the shared file mapping's stores did not all reach the file"
    );
    util::remove(F)
}

/// PROT_NONE: a present page keeps its data (private and shared, and a dirty shared file page
/// is still written back), but any touch kills and system calls refuse it as a buffer;
/// protecting it readable again shows the data.
pub fn prot_none_keeps_data() -> TestResult {
    const F: &str = "mmpnone";
    util::clean(&[F]);
    util::pattern_file(F, 73, PG)?;
    let fd = util::open(F, O_RDWR)?;
    let anon = map(0, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let file = map(0, PG, RW, MAP_SHARED, fd, 0)?;
    store_ok("anonymous page", anon + 7, 0x77)?;
    store_ok("shared file page", file + 7, 0x78)?;
    for (what, a) in [("anonymous", anon), ("shared file", file)] {
        protect(a, PG, PROT_NONE)?;
        ensure!(records(a, a + PG)?[0].resident == 1, "{}: the PROT_NONE page is not resident", what);
        util::expect_killed(&format!("a load from a page made PROT_NONE ({})", what), || {
            // SAFETY: the load is meant to kill the process.
            black_box(unsafe { util::load_byte(a) });
        })?;
        let r = sys::write(fd, a as *const u8, 10);
        ensure!(r == -1, "write() from a PROT_NONE page ({}) returned {}", what, r);
    }
    // A child forked now gets the PROT_NONE pages too, with their data.
    util::expect_child_ok("reading PROT_NONE pages made readable after fork", || {
        if raw_mprotect(anon, PG, PROT_READ) != 0 || raw_mprotect(file, PG, PROT_READ) != 0 {
            return 2;
        }
        // SAFETY: both pages are readable now.
        let got = unsafe { [util::load_byte(anon + 7), util::load_byte(file + 7)] };
        i32::from(got != [0x77, 0x78])
    })?;
    protect(anon, PG, PROT_READ)?;
    // SAFETY: readable again.
    ensure!(unsafe { util::load_byte(anon + 7) } == 0x77, "anonymous data lost under PROT_NONE");
    unmap(file, PG)?; // still PROT_NONE: its dirty page is written back all the same
    let _ = fs::close(fd);
    unmap(anon, PG)?;
    ensure!(util::read_file(F)?[7] == 0x78, "a dirty page unmapped while PROT_NONE was not written back");
    util::remove(F)
}

/// The regions exec made are mappings and can be protected: the guard page made readable
/// reads zeros; a child that makes its stack page or data read-only, or its text
/// non-executable, is killed at its next store there or its next instruction; making text
/// writable gives a private copy.
pub fn image_regions() -> TestResult {
    let all = process::vmmaps(0).map_err(|e| format!("vmmaps failed ({})", e))?;
    let role = |r: u32| all.iter().filter(|m| m.flags & abi::VMMAP_ROLES == r).copied().collect::<Vec<_>>();
    let guard = *role(abi::VMMAP_GUARD).first().ok_or("no guard page in vmmaps")?;
    let stack = *role(abi::VMMAP_STACK).first().ok_or("no stack in vmmaps")?;
    let image = role(abi::VMMAP_IMAGE);
    let text = *image.iter().find(|m| m.prot as usize & PROT_EXEC != 0).ok_or("no text in vmmaps")?;
    let data =
        *image.iter().rev().find(|m| m.prot as usize & abi::PROT_WRITE != 0).ok_or("no data in vmmaps")?;
    util::expect_child_ok("reading the guard page made readable", || {
        if raw_mprotect(guard.start as usize, PG, PROT_READ) != 0 {
            return 2;
        }
        // SAFETY: the guard page is readable now.
        let v = unsafe { util::load_byte(guard.start as usize + 8) };
        match records(guard.start as usize, guard.end as usize) {
            Ok(r) if r.len() == 1 && r[0].prot as usize == PROT_READ && v == 0 => 0,
            _ => 1,
        }
    })?;
    // (ulib moves sp into the heap at start, so the exec stack page holds only argv.)
    util::expect_killed("storing to the stack page made read-only", || {
        let _ = raw_mprotect(stack.start as usize, stack.len() as usize, PROT_READ);
        // SAFETY: the store is meant to kill the process.
        unsafe { util::store_byte(stack.start as usize, 1) };
    })?;
    util::expect_killed("storing to data made read-only", || {
        let _ = raw_mprotect(data.start as usize, data.len() as usize, PROT_READ);
        // SAFETY: the store is meant to kill the process.
        unsafe { util::store_byte(data.start as usize, 1) };
    })?;
    util::expect_killed("running with the text made non-executable", || {
        let _ = raw_mprotect(text.start as usize, text.len() as usize, PROT_READ);
    })?;
    util::expect_child_ok("storing into text made writable", || {
        let at = text.start as usize;
        if raw_mprotect(at, PG, PROT_READ | abi::PROT_WRITE | PROT_EXEC) != 0 {
            return 2;
        }
        // SAFETY: the page is writable now (a private copy); the byte is rewritten unchanged.
        let ok = unsafe {
            let v = util::load_byte(at);
            util::store_byte(at, v);
            util::load_byte(at) == v
        };
        i32::from(!ok)
    })
}

/// A page fork shared read-only (made PROT_READ before fork) is copied at the first store
/// after either side makes it writable: neither sees the other's stores. A page only this
/// process holds just becomes writable again, with its data.
pub fn after_fork() -> TestResult {
    const F: &str = "mmpfork";
    util::clean(&[F]);
    util::pattern_file(F, 74, PG)?;
    let fd = util::open(F, O_RDONLY)?;
    let anon = map(0, PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let file = map(0, PG, RW, MAP_PRIVATE, fd, 0)?;
    let _ = fs::close(fd);
    store_ok("anonymous page", anon, 1)?;
    store_ok("private file page", file, 2)?;
    protect(anon, PG, PROT_READ)?;
    protect(file, PG, PROT_READ)?;
    let sig = util::Signal::new()?;
    let done = util::Signal::new()?;
    let pid = util::spawn(|| {
        if raw_mprotect(anon, PG, RW) != 0 || raw_mprotect(file, PG, RW) != 0 {
            return 2;
        }
        // SAFETY: both pages are writable in the child now.
        unsafe {
            util::store_byte(anon, 0x51);
            util::store_byte(file, 0x52);
        }
        sig.post(1);
        if !done.wait() {
            return 3;
        }
        // SAFETY: readable.
        let got = unsafe { [util::load_byte(anon), util::load_byte(file)] };
        i32::from(got != [0x51, 0x52]) * 4
    })?;
    ensure!(sig.wait(), "child died before storing");
    // SAFETY: readable.
    let got = unsafe { [util::load_byte(anon), util::load_byte(file)] };
    ensure!(got == [1, 2], "the child's stores after mprotect reached the parent: {:x?}", got);
    protect(anon, PG, RW)?;
    protect(file, PG, RW)?;
    store_ok("parent's anonymous page", anon, 0x61)?;
    store_ok("parent's file page", file, 0x62)?;
    done.post(1);
    let st = util::wait_for(pid)?;
    ensure!(st == 0, "child saw the parent's stores or failed (status {})", st);
    unmap(anon, PG)?;
    unmap(file, PG)?;
    check_pattern("file behind the private mapping", &util::read_file(F)?, 74, 0)?;
    util::remove(F)
}

/// Bad arguments fail with -1 and change nothing: an unaligned address, undefined prot bits,
/// a length that overflows or reaches the kernel's pages; a zero length succeeds doing
/// nothing (as on Linux).
pub fn bad_args() -> TestResult {
    let a = map(0, 2 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let cases: &[(&str, usize, usize, usize)] = &[
        ("unaligned address", a + 1, PG, PROT_READ),
        ("prot bit 8", a, PG, 8),
        ("prot 0x10 | PROT_READ", a, PG, 0x11),
        ("prot -1", a, PG, usize::MAX),
        ("prot 0x1_0000_0001 (int is 32 bits)", a, PG, 0x1_0000_0001),
        ("length -1", a, usize::MAX, PROT_READ),
        ("length past the user space", a, abi::USER_TOP, PROT_READ),
        ("the trap frame", abi::TRAPFRAME, PG, PROT_READ),
        ("past MAXVA", abi::MAXVA, PG, PROT_READ),
    ];
    for &(what, addr, len, prot) in cases {
        let r = raw_mprotect(addr, len, prot);
        ensure!(r == -1, "mprotect with {} returned {}", what, r);
    }
    let r = raw_mprotect(a, 0, PROT_NONE);
    ensure!(r == 0, "mprotect of length 0 returned {}, expected 0", r);
    expect_pieces("mapping after refused calls", a, &[(2, RW)])?;
    store_ok("mapping after refused calls", a + PG, 9)?;
    unmap(a, 2 * PG)
}
