//! Memory tests: sbrk growth (eager and lazy), shrinking that gives pages back, system calls
//! on lazily allocated memory, the limits of growth, and the faults that must kill a process:
//! the stack guard page, stack overflow, stores to text and read-only data, and accesses to
//! addresses outside the process.

use crate::util::{self, Ctx, TestResult};
use core::hint::black_box;
use core::slice;
use ulib::{abi, fs, memory, sys};

const PG: usize = abi::PGSIZE;

/// Free pages, or a failure when the kernel does not report them.
fn free() -> Result<u64, alloc::string::String> {
    util::free_pages().ok_or_else(|| alloc::string::String::from("kstat(FREE_PAGES) failed"))
}

/// Five thousand one-byte sbrks are contiguous and writable; a child sees and extends them.
pub fn sbrk_basic() -> TestResult {
    let start = memory::brk();
    // No allocation may happen in this loop: the allocator would move the break.
    for i in 0..5000 {
        let Ok(p) = memory::sbrk_eager(1) else { fail!("sbrk(1) number {} failed", i) };
        ensure!(p == start + i, "sbrk(1) number {} returned {:#x}, expected {:#x}", i, p, start + i);
        // SAFETY: the byte was just added to the heap for us.
        unsafe { util::store_byte(p, i as u8) };
    }
    let status = util::in_child(|| {
        let ok = (0..5000).all(|i| {
            // SAFETY: the child inherited the bytes grown above.
            unsafe { util::load_byte(start + i) == i as u8 }
        });
        match memory::sbrk_eager(1) {
            Ok(p) if ok && p == start + 5000 => 0,
            _ => 2,
        }
    })?;
    ensure!(status == 0, "child did not inherit the heap or could not grow it (status {})", status);
    let p = memory::sbrk_eager(10 * PG).ctx("sbrk(10 pages)")?;
    for i in (0..10 * PG).step_by(512) {
        // SAFETY: the memory was just added to the heap for us.
        let b = unsafe { util::load_byte(p + i) };
        ensure!(b == 0, "new heap memory at offset {} holds {}, not 0", i, b);
    }
    Ok(())
}

/// Growing by 256 pages takes them from the free pool; shrinking gives them back, and the
/// freed range is no longer accessible.
pub fn sbrk_shrink() -> TestResult {
    const N: usize = 256;
    let before = free()?;
    let p = memory::sbrk_eager(N * PG).ctx("sbrk(256 pages)")?;
    let grown = free()?;
    ensure!(grown + N as u64 <= before, "eager sbrk of {} pages took only {}", N, before - grown);
    // SAFETY: we own the pages just grown.
    unsafe { util::store_byte(p + N * PG - 1, 1) };
    // SAFETY: these pages were grown by us and hold nothing else.
    unsafe { memory::sbrk_shrink(N * PG) }.ctx("sbrk(-256 pages)")?;
    let after = free()?;
    ensure!(after + 4 >= before, "after shrinking, {} of {} pages are still gone", before - after, N);
    ensure!(memory::brk() == p, "break is {:#x} after shrinking, expected {:#x}", memory::brk(), p);
    util::expect_killed("reading freed heap memory", || {
        // SAFETY: the read faults (expected) or reads garbage that is ignored.
        black_box(unsafe { util::load_byte(p + PG) });
    })
}

/// A big eager growth (half of free memory, at most 96 MiB) is usable to its last byte.
pub fn sbrk_much() -> TestResult {
    let before = free()?;
    let n = ((before as usize / 2) * PG).min(96 << 20);
    // Nothing may allocate until the shrink below: the allocator would grow above `p + n`.
    let Ok(p) = memory::sbrk_eager(n) else { fail!("sbrk({} MiB) failed", n >> 20) };
    for off in (0..n).step_by(PG) {
        // SAFETY: the memory was just grown for us.
        unsafe { util::store_byte(p + off, (off / PG) as u8) };
    }
    // SAFETY: as above.
    unsafe { util::store_byte(p + n - 1, 99) };
    for off in (0..n).step_by(PG * 97) {
        // SAFETY: as above.
        let b = unsafe { util::load_byte(p + off) };
        ensure!(b == (off / PG) as u8, "byte at offset {:#x} reads {}", off, b);
    }
    // SAFETY: we grew exactly these bytes and nothing else lives there.
    unsafe { memory::sbrk_shrink(n) }.ctx("shrinking the big growth")?;
    let after = free()?;
    ensure!(after + 64 >= before, "{} pages still gone after shrinking", before - after);
    Ok(())
}

/// A lazy 1 GiB growth costs (almost) nothing until touched; touched pages work, also in a
/// forked child, and shrinking it back makes it inaccessible.
pub fn sbrk_lazy() -> TestResult {
    const GIB: usize = 1 << 30;
    let before = free()?;
    let p = memory::sbrk_lazy(GIB).ctx("lazy sbrk(1 GiB)")?;
    let reserved = free()?;
    ensure!(reserved + 16 >= before, "lazy sbrk(1 GiB) took {} pages at once", before - reserved);
    for (k, off) in [0, GIB / 4, GIB / 2 + 12345, GIB - 1].into_iter().enumerate() {
        // SAFETY: the range was just grown for us.
        unsafe { util::store_byte(p + off, 10 + k as u8) };
    }
    for (k, off) in [0, GIB / 4, GIB / 2 + 12345, GIB - 1].into_iter().enumerate() {
        // SAFETY: as above.
        let b = unsafe { util::load_byte(p + off) };
        ensure!(b == 10 + k as u8, "lazy byte at offset {:#x} reads {}", off, b);
    }
    let touched = free()?;
    ensure!(touched + 64 >= before, "touching 4 lazy pages took {} pages", before - touched);
    let status = util::in_child(|| {
        // SAFETY: the child inherited the range; one page it never touched before.
        let seen = unsafe { util::load_byte(p + GIB / 4) };
        // SAFETY: as above.
        unsafe { util::store_byte(p + 3 * GIB / 4, 1) };
        // SAFETY: as above.
        let fresh = unsafe { util::load_byte(p + 3 * GIB / 4 + 1) };
        i32::from(seen != 11 || fresh != 0) * 2
    })?;
    ensure!(status == 0, "child saw wrong data in the lazy range (status {})", status);
    // SAFETY: we grew exactly this range and nothing else lives there.
    unsafe { memory::sbrk_shrink(GIB) }.ctx("sbrk(-1 GiB)")?;
    ensure!(memory::brk() == p, "break is {:#x} after shrinking, expected {:#x}", memory::brk(), p);
    util::expect_killed("touching a shrunk lazy range", || {
        // SAFETY: the store faults (expected); the range is not ours any more.
        unsafe { util::store_byte(p + GIB / 2, 1) };
    })
}

/// System calls work on lazily allocated memory that was never touched.
pub fn sbrk_lazy_syscall() -> TestResult {
    let want = util::read_file("README")?;
    let n = want.len().min(3 * PG);
    let p = memory::sbrk_lazy(4 * PG).ctx("lazy sbrk(4 pages)")?;
    let fd = fs::open("README", abi::O_RDONLY).ctx("open README")?;
    // SAFETY: the untouched lazy range is ours; the kernel must fault it in.
    let r = unsafe { sys::read(fd, (p + 100) as *mut u8, n) };
    let _ = fs::close(fd);
    ensure!(r == n as isize, "read into untouched lazy memory returned {}, expected {}", r, n);
    // SAFETY: the kernel just filled these bytes of our range.
    let got = unsafe { slice::from_raw_parts((p + 100) as *const u8, n) };
    ensure!(got == &want[..n], "read into lazy memory stored wrong data");
    let (rd, wr) = fs::pipe().ctx("pipe")?;
    let w = sys::write(wr, (p + 3 * PG + 8) as *const u8, 64);
    ensure!(w == 64, "write from untouched lazy memory returned {}", w);
    let mut back = [1u8; 64];
    ensure!(fs::read_full(rd, &mut back) == Ok(64), "pipe read failed");
    ensure!(back.iter().all(|&b| b == 0), "untouched lazy memory did not read as zeros");
    // SAFETY: the kernel writes two i32s into our lazy range, which holds nothing else.
    let r = unsafe { sys::pipe((p + 2 * PG + 16) as *mut i32) };
    ensure!(r == 0, "pipe() into lazy memory returned {}", r);
    // SAFETY: the kernel just stored the two descriptors there.
    let fds = unsafe { slice::from_raw_parts((p + 2 * PG + 16) as *const i32, 2) };
    let _ = (fs::close(fds[0]), fs::close(fds[1]), fs::close(rd), fs::close(wr));
    Ok(())
}

/// sbrk(0x80000004): an int argument of about -2 GiB (or +2 GiB if read as 64 bits) either
/// fails or, as xv6 does, changes nothing; the heap stays as it was and usable.
pub fn sbrk_negative() -> TestResult {
    let page = util::top_page()?;
    let top = memory::brk();
    // SAFETY: if the kernel wrongly shrank the heap, the process dies or the check below
    // fails; nothing in the heap is used after this call except the page we own.
    let r = unsafe { sys::sbrk(0x8000_0004, abi::SBRK_EAGER) };
    ensure!(r == -1 || r as usize == top, "sbrk(0x80000004) returned {:#x}, expected -1", r);
    ensure!(memory::brk() == top, "the break moved from {:#x} to {:#x}", top, memory::brk());
    // SAFETY: the last byte of our own page.
    unsafe { util::store_byte(page + PG - 1, 7) };
    Ok(())
}

/// sbrk(-(size + 1)), a shrink by more than the whole process, returns the old break and
/// changes nothing, as on xv6 (whose lazy_copy test relies on it), for both growth types;
/// every page stays (free pages do not move) and the heap stays usable.
pub fn sbrk_past_zero() -> TestResult {
    let page = util::top_page()?;
    // SAFETY: a store into the page just grown for us.
    unsafe { util::store_byte(page, 9) };
    let top = memory::brk();
    let pages = free()?;
    for kind in [abi::SBRK_EAGER, abi::SBRK_LAZY] {
        // SAFETY: if the kernel wrongly shrank the heap, the process dies or the checks below
        // fail; no allocation happens until they are done.
        let r = unsafe { sys::sbrk(-(top as isize + 1), kind) };
        ensure!(
            r as usize == top,
            "sbrk(-(size + 1), {}) returned {:#x}, expected the break {:#x}",
            kind,
            r,
            top
        );
        ensure!(memory::brk() == top, "the break moved from {:#x} to {:#x}", top, memory::brk());
    }
    ensure!(free()? == pages, "sbrk(-(size + 1)) changed the free page count from {}", pages);
    // SAFETY: the first and last bytes of our own page.
    ensure!(unsafe { util::load_byte(page) } == 9, "the top heap page lost its contents");
    // SAFETY: as above.
    unsafe { util::store_byte(page + PG - 1, 7) };
    Ok(())
}

/// Lazy growth by 2 GiB steps fails before reaching the kernel's pages at the top of the
/// user half, and every success lies below them.
pub fn sbrk_lazy_limit() -> TestResult {
    const STEP: usize = 0x7fff_f000;
    for i in 0..200 {
        match memory::sbrk_lazy(STEP) {
            Ok(p) => ensure!(
                p + STEP <= abi::USER_TOP,
                "lazy sbrk number {} returned {:#x}, reaching past {:#x}",
                i,
                p,
                abi::USER_TOP
            ),
            Err(_) => {
                ensure!(i > 0, "the first lazy sbrk of 2 GiB failed");
                // SAFETY: the last byte below the break is ours (lazily allocated).
                unsafe { util::store_byte(memory::brk() - 1, 1) };
                return Ok(());
            }
        }
    }
    fail!("200 lazy sbrks of 2 GiB all succeeded (400 GiB, more than the user half)")
}

/// Touching the guard page just below the stack page kills the process.
pub fn stack_guard() -> TestResult {
    let guard = util::stack_page() - 8;
    util::expect_killed("reading the stack guard page", || {
        // SAFETY: the read faults (expected).
        black_box(unsafe { util::load_byte(guard) });
    })?;
    util::expect_killed("writing the stack guard page", || {
        // SAFETY: the write faults (expected).
        unsafe { util::store_byte(guard - PG + 16, 1) };
    })
}

/// Endless recursion runs off the stack into the guard page and is killed.
pub fn stack_overflow() -> TestResult {
    fn recurse(depth: usize) -> usize {
        let frame = [depth as u8; 512];
        black_box(&frame);
        if depth == 0 {
            return 0;
        }
        recurse(depth - 1) + black_box(frame[7]) as usize
    }
    util::expect_killed("recursing 1 MiB deep", || {
        black_box(recurse(black_box(2048)));
    })
}

/// Stores to the program text (address 0 and a function) kill the process.
pub fn text_write() -> TestResult {
    util::expect_killed("writing address 0", || {
        // SAFETY: the store faults (expected); text is read-only.
        unsafe { util::store_byte(0, 0) };
    })?;
    let f = text_write as *const () as usize;
    util::expect_killed("writing into a function's code", || {
        // SAFETY: as above.
        unsafe { util::store_byte(f, 0) };
    })
}

/// Stores to read-only data kill the process.
pub fn rodata_write() -> TestResult {
    let a = util::RODATA_PROBE.as_ptr() as usize;
    util::expect_killed("writing read-only data", || {
        // SAFETY: the store faults (expected); the data is read-only.
        unsafe { util::store_byte(a + 3, 0) };
    })
}

/// Loads and stores outside the process's memory kill it.
pub fn high_addresses() -> TestResult {
    let above_heap = memory::brk().next_multiple_of(PG) + 16 * PG;
    let targets = [
        0x8000_0000,
        0x8000_0000 + 0x10_0000,
        abi::TRAPFRAME,
        abi::TRAMPOLINE,
        abi::MAXVA,
        abi::MAXVA << 1,
        0xffff_ffff_ffff_f000,
        above_heap,
    ];
    for a in targets {
        util::expect_killed(&alloc::format!("reading {:#x}", a), || {
            // SAFETY: the load faults (expected).
            black_box(unsafe { util::load_byte(a) });
        })?;
        util::expect_killed(&alloc::format!("writing {:#x}", a), || {
            // SAFETY: the store faults (expected).
            unsafe { util::store_byte(a, 1) };
        })?;
    }
    Ok(())
}
