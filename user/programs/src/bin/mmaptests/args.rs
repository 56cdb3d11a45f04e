//! Bad arguments to mmap and munmap: each is refused with -1, maps nothing and leaves the
//! process running; the good call next to each bad one succeeds, so a refusal is not an
//! accident of the setup.

use crate::util::{self, map, unmap, Ctx, TestResult, PG, RW};
use ulib::abi::{
    self, MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, O_RDONLY, O_RDWR, O_WRONLY,
    PROT_READ, PROT_WRITE,
};
use ulib::fs;

/// Fails unless the raw mmap returned -1; `what` names the case.
fn refused(
    what: &str,
    addr: usize,
    len: usize,
    prot: usize,
    flags: usize,
    fd: i32,
    off: usize,
) -> TestResult {
    let r = util::raw_mmap(addr, len, prot, flags, fd, off);
    ensure!(
        r == -1,
        "mmap with {} ({:#x}, {:#x}, {}, {:#x}, {}, {:#x}) returned {:#x}, expected -1",
        what,
        addr,
        len,
        prot,
        flags,
        fd,
        off,
        r
    );
    Ok(())
}

/// Every bad mmap argument in issue 3's list is refused; the matching good call works.
pub fn bad_args() -> TestResult {
    const F: &str = "mmargs";
    const W: &str = "mmargw";
    util::clean(&[F, W]);
    util::pattern_file(F, 70, 2 * PG)?;
    util::pattern_file(W, 71, PG)?;
    let fd = util::open(F, O_RDWR)?;
    let ro = util::open(F, O_RDONLY)?;
    let wo = util::open(W, O_WRONLY)?;
    let dir = util::open(".", O_RDONLY)?;
    let con = util::open("console", O_RDWR)?;
    let (prd, pwr) = fs::pipe().ctx("pipe")?;
    let anon = MAP_PRIVATE | MAP_ANONYMOUS;

    // Flags: exactly one of MAP_SHARED and MAP_PRIVATE; no unknown bits.
    refused("neither MAP_SHARED nor MAP_PRIVATE", 0, PG, PROT_READ, 0, fd, 0)?;
    refused("both MAP_SHARED and MAP_PRIVATE", 0, PG, PROT_READ, MAP_SHARED | MAP_PRIVATE, fd, 0)?;
    refused("only MAP_ANONYMOUS", 0, PG, RW, MAP_ANONYMOUS, -1, 0)?;
    refused("an unknown flag bit", 0, PG, PROT_READ, MAP_SHARED | 0x4, fd, 0)?;
    refused("a high unknown flag bit", 0, PG, PROT_READ, MAP_SHARED | (1 << 40), fd, 0)?;
    refused("an unknown prot bit", 0, PG, PROT_READ | 0x8, MAP_SHARED, fd, 0)?;
    // Length: not 0, not overflowing when rounded up, not beyond user space.
    refused("len 0", 0, 0, PROT_READ, MAP_SHARED, fd, 0)?;
    refused("len 0 (anonymous)", 0, 0, RW, anon, -1, 0)?;
    refused("len usize::MAX", 0, usize::MAX, PROT_READ, MAP_SHARED, fd, 0)?;
    refused("len rounding up past usize::MAX", 0, usize::MAX - PG + 2, RW, anon, -1, 0)?;
    refused("len larger than user space", 0, abi::USER_TOP + PG, RW, anon, -1, 0)?;
    refused("len 1 TiB", 0, 1 << 40, RW, anon, -1, 0)?;
    // Offsets and fixed addresses must be page-aligned; offset + len may not overflow.
    refused("an unaligned offset", 0, PG, PROT_READ, MAP_SHARED, fd, 100)?;
    refused("offset PG + 1", 0, PG, PROT_READ, MAP_PRIVATE, fd, PG + 1)?;
    refused("an offset whose end overflows", 0, 2 * PG, PROT_READ, MAP_PRIVATE, fd, usize::MAX & !(PG - 1))?;
    refused("an unaligned MAP_FIXED address", 0x30_0000_0001, PG, RW, anon | MAP_FIXED, -1, 0)?;
    refused(
        "an unaligned MAP_FIXED_NOREPLACE address",
        0x30_0000_0800,
        PG,
        RW,
        anon | MAP_FIXED_NOREPLACE,
        -1,
        0,
    )?;
    // Descriptors: open, a regular file, opened for what the mapping needs.
    refused("fd -1 without MAP_ANONYMOUS", 0, PG, PROT_READ, MAP_SHARED, -1, 0)?;
    refused("fd 15 (not open)", 0, PG, PROT_READ, MAP_SHARED, 15, 0)?;
    refused("fd 1000", 0, PG, PROT_READ, MAP_PRIVATE, 1000, 0)?;
    refused("fd -5", 0, PG, PROT_READ, MAP_PRIVATE, -5, 0)?;
    refused("a pipe's read end", 0, PG, PROT_READ, MAP_SHARED, prd, 0)?;
    refused("a pipe's write end", 0, PG, PROT_READ, MAP_PRIVATE, pwr, 0)?;
    refused("a directory", 0, PG, PROT_READ, MAP_PRIVATE, dir, 0)?;
    refused("a directory, shared", 0, PG, PROT_READ, MAP_SHARED, dir, 0)?;
    refused("the console device", 0, PG, PROT_READ, MAP_SHARED, con, 0)?;
    refused("the console device, private", 0, PG, RW, MAP_PRIVATE, con, 0)?;
    refused("PROT_READ on a write-only file", 0, PG, PROT_READ, MAP_SHARED, wo, 0)?;
    refused("PROT_READ|PROT_WRITE on a write-only file", 0, PG, RW, MAP_SHARED, wo, 0)?;
    refused("private PROT_READ on a write-only file", 0, PG, PROT_READ, MAP_PRIVATE, wo, 0)?;
    refused("MAP_SHARED|PROT_WRITE on an O_RDONLY file", 0, PG, RW, MAP_SHARED, ro, 0)?;
    refused("MAP_SHARED with PROT_WRITE alone on an O_RDONLY file", 0, PG, PROT_WRITE, MAP_SHARED, ro, 0)?;
    refused("MAP_ANONYMOUS with a file descriptor", 0, PG, RW, anon, fd, 0)?;
    refused("MAP_ANONYMOUS|MAP_SHARED with a file descriptor", 0, PG, RW, MAP_SHARED | MAP_ANONYMOUS, fd, 0)?;
    // Ranges touching the kernel's part at the top (trap frame, trampoline).
    let top = abi::USER_TOP;
    refused("a fixed range ending past the top", top - PG, 2 * PG, RW, anon | MAP_FIXED, -1, 0)?;
    refused("a fixed range at the top", top, PG, RW, anon | MAP_FIXED, -1, 0)?;
    refused("a fixed range at the trap frame", abi::TRAPFRAME, PG, RW, anon | MAP_FIXED, -1, 0)?;
    refused(
        "a fixed range at the trampoline",
        abi::TRAMPOLINE,
        PG,
        PROT_READ,
        MAP_SHARED | MAP_FIXED,
        fd,
        0,
    )?;
    refused(
        "a noreplace range at the trampoline",
        abi::TRAMPOLINE,
        PG,
        RW,
        anon | MAP_FIXED_NOREPLACE,
        -1,
        0,
    )?;
    refused("a fixed range at MAXVA", abi::MAXVA, PG, RW, anon | MAP_FIXED, -1, 0)?;
    refused("a fixed range that wraps around", usize::MAX & !(PG - 1), 2 * PG, RW, anon | MAP_FIXED, -1, 0)?;
    // MAP_FIXED_NOREPLACE over an existing mapping, wholly or in part.
    let m = map(0, 2 * PG, RW, anon, -1, 0)?;
    refused("MAP_FIXED_NOREPLACE over a mapping", m, 2 * PG, RW, anon | MAP_FIXED_NOREPLACE, -1, 0)?;
    refused(
        "MAP_FIXED_NOREPLACE overlapping a mapping's end",
        m + PG,
        2 * PG,
        PROT_READ,
        MAP_SHARED | MAP_FIXED_NOREPLACE,
        fd,
        0,
    )?;
    refused(
        "MAP_FIXED_NOREPLACE overlapping a mapping's start",
        m - PG,
        2 * PG,
        RW,
        anon | MAP_FIXED_NOREPLACE,
        -1,
        0,
    )?;
    // SAFETY: stores into the case's mapping, which survived the refusals.
    unsafe { util::store_byte(m + PG, 5) };

    // The good calls next to the bad ones work, and the last page below the top is usable.
    for (prot, flags, f) in [
        (PROT_READ, MAP_SHARED, fd),
        (RW, MAP_SHARED, fd),
        (RW, MAP_PRIVATE, ro),
        (PROT_READ, MAP_SHARED, ro),
    ] {
        let a = map(0, PG, prot, flags, f, PG)?;
        unmap(a, PG)?;
    }
    let a = map(m + 2 * PG, PG, RW, anon | MAP_FIXED_NOREPLACE, -1, 0)?;
    ensure!(a == m + 2 * PG, "MAP_FIXED_NOREPLACE at a free address returned {:#x}", a);
    unmap(a, PG)?;
    let last = map(top - PG, PG, RW, anon | MAP_FIXED, -1, 0)?;
    // SAFETY: a store into the mapping just made.
    unsafe { util::store_byte(last + PG - 1, 1) };
    unmap(last, PG)?;
    unmap(m, 2 * PG)?;
    for x in [fd, ro, wo, dir, con, prd, pwr] {
        let _ = fs::close(x);
    }
    util::remove(F)?;
    util::remove(W)
}

/// munmap refuses an unaligned address, length 0 and ranges reaching the kernel's part; an
/// aligned range with nothing mapped is fine and returns 0.
pub fn bad_munmap() -> TestResult {
    let m = map(0, 2 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    // SAFETY: stores into the case's mapping.
    unsafe { util::store_byte(m, 1) };
    for (what, addr, len) in [
        ("an unaligned address", m + 1, PG),
        ("length 0", m, 0),
        ("a range past the top", abi::USER_TOP - PG, 2 * PG),
        ("the trap frame", abi::TRAPFRAME, PG),
        ("a wrapping range", usize::MAX & !(PG - 1), 2 * PG),
    ] {
        let r = util::raw_munmap(addr, len);
        ensure!(r == -1, "munmap of {} ({:#x}, {:#x}) returned {}, expected -1", what, addr, len, r);
    }
    // SAFETY: the mapping survived the refused calls.
    ensure!(unsafe { util::load_byte(m) } == 1, "a refused munmap removed the mapping");
    unmap(0x31_0000_0000, 16 * PG)?; // nothing mapped there
    unmap(m + 2 * PG, PG)?; // just past the mapping
    unmap(m, 2 * PG)?;
    unmap(m, 2 * PG)?; // a second time: nothing left, still fine
    Ok(())
}
