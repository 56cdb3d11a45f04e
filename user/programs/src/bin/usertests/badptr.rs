//! Bad-pointer tests: every call that takes a pointer gets addresses the process may not
//! use (the kernel half, the trap frame and trampoline, unmapped memory above 0x8000_0000,
//! past MAXVA, freed heap, strings and arrays that run off the end of the heap) and
//! addresses it may read but not write (text, read-only data). Each call must return -1 and
//! the process must live on; memory the kernel may not write stays unchanged.

use crate::util::{self, Ctx, TestResult};
use core::ptr;
use ulib::process;
use ulib::{abi, fs, memory, sys};

use abi::{O_CREATE, O_RDONLY, O_RDWR, O_TRUNC};

/// Addresses no user access may touch.
const BAD: [usize; 7] = [
    usize::MAX,
    usize::MAX - 4095,
    0xffff_ffff_8000_0000,
    abi::MAXVA,
    abi::TRAMPOLINE,
    abi::TRAPFRAME,
    0x8000_0000,
];

/// An address in the program's text (read-only); 0 itself is the null pointer in C.
const TEXT: usize = 0x40;

/// The first bytes of the text, read with plain loads.
fn text_bytes() -> [u8; 64] {
    let mut b = [0u8; 64];
    for (i, x) in b.iter_mut().enumerate() {
        // SAFETY: the text segment starts at 0 and is readable.
        *x = unsafe { util::load_byte(i) };
    }
    b
}

/// read() into bad, read-only and text addresses fails and changes nothing.
pub fn read() -> TestResult {
    let fd = fs::open("README", O_RDONLY).ctx("open README")?;
    let before = text_bytes();
    for a in BAD.into_iter().chain([0, TEXT, util::RODATA_PROBE.as_ptr() as usize]) {
        // SAFETY: none of these addresses holds memory Rust code may write; if the kernel
        // wrongly wrote, the checks below report it.
        let r = unsafe { sys::read(fd, a as *mut u8, 10) };
        ensure!(r == -1, "read(fd, {:#x}, 10) returned {}, expected -1", a, r);
    }
    ensure!(text_bytes() == before, "read() changed the program text");
    ensure!(util::RODATA_PROBE.iter().all(|&b| b == 0xa5), "read() changed read-only data");
    let _ = fs::close(fd);
    Ok(())
}

/// write() from bad addresses fails; a buffer running off the heap is not written whole.
pub fn write() -> TestResult {
    let fd = fs::open("bpw", O_CREATE | O_RDWR | O_TRUNC).ctx("create bpw")?;
    for a in BAD {
        let r = sys::write(fd, a as *const u8, 10);
        ensure!(r == -1, "write(fd, {:#x}, 10) returned {}, expected -1", a, r);
    }
    let page = util::top_page()?;
    let r = sys::write(fd, (page + abi::PGSIZE - 5) as *const u8, 100);
    ensure!(r != 100, "write of 100 bytes starting 5 bytes before the break succeeded");
    let _ = fs::close(fd);
    fs::unlink("bpw").ctx("unlink bpw")?;
    Ok(())
}

/// The lowest free descriptor, found by opening and closing a file.
fn lowest_free_fd() -> Result<i32, alloc::string::String> {
    let fd = fs::open("README", O_RDONLY).ctx("open README")?;
    let _ = fs::close(fd);
    Ok(fd)
}

/// pipe() into bad or read-only memory fails and leaves no descriptor behind.
pub fn pipe() -> TestResult {
    let low = lowest_free_fd()?;
    let before = text_bytes();
    for a in BAD.into_iter().chain([TEXT, util::RODATA_PROBE.as_ptr() as usize]) {
        // SAFETY: none of these addresses holds memory Rust code may write.
        let r = unsafe { sys::pipe(a as *mut i32) };
        ensure!(r == -1, "pipe({:#x}) returned {}, expected -1", a, r);
    }
    ensure!(text_bytes() == before, "pipe() changed the program text");
    let now = lowest_free_fd()?;
    ensure!(now == low, "failed pipe() calls left descriptors open (lowest free fd {} -> {})", low, now);
    Ok(())
}

/// fstat() into bad or read-only memory fails.
pub fn fstat() -> TestResult {
    let fd = fs::open("README", O_RDONLY).ctx("open README")?;
    let before = text_bytes();
    for a in BAD.into_iter().chain([TEXT, util::RODATA_PROBE.as_ptr() as usize]) {
        // SAFETY: none of these addresses holds memory Rust code may write.
        let r = unsafe { sys::fstat(fd, a as *mut u8) };
        ensure!(r == -1, "fstat(fd, {:#x}) returned {}, expected -1", a, r);
    }
    ensure!(text_bytes() == before, "fstat() changed the program text");
    let _ = fs::close(fd);
    Ok(())
}

/// wait() with a bad status pointer fails; the child can then still be reaped (or is gone).
pub fn wait() -> TestResult {
    for a in BAD.into_iter().chain([TEXT]) {
        let pid = util::spawn(|| 3)?;
        let _ = process::pause(1);
        // SAFETY: none of these addresses holds memory Rust code may write.
        let r = unsafe { sys::wait(a as *mut i32) };
        ensure!(r == -1, "wait({:#x}) returned {}, expected -1", a, r);
        let mut status = 0;
        // SAFETY: the kernel writes one i32 into `status`, a local.
        let again = unsafe { sys::wait(&mut status) };
        ensure!(
            again == -1 || (again == pid as isize && status == 3),
            "after a failed wait, wait returned {} with status {} (child {} exited with 3)",
            again,
            status,
            pid
        );
        if again == -1 {
            // The kernel reaped the child in the failed call; nothing is left.
            ensure!(util::wait_raw() == -1, "a child is left over");
        }
    }
    Ok(())
}

/// exec() with a bad path, a bad argv array, a bad argument string, or an argv array or
/// path string that runs off the end of the heap, fails.
pub fn exec() -> TestResult {
    let good: [*const u8; 2] = [cs!("echo"), ptr::null()];
    for a in BAD {
        util::expect_exec_fails("a bad path pointer", || sys::exec(a as *const u8, good.as_ptr()))?;
        util::expect_exec_fails("a bad argv pointer", || sys::exec(cs!("/echo"), a as *const *const u8))?;
        let argv: [*const u8; 3] = [cs!("echo"), a as *const u8, ptr::null()];
        util::expect_exec_fails("a bad argument pointer", || sys::exec(cs!("/echo"), argv.as_ptr()))?;
    }
    let page = util::top_page()?;
    let top = page + abi::PGSIZE;
    // SAFETY: the page is ours alone (just grown) and the writes stay inside it.
    unsafe {
        let slots = (top - 16) as *mut *const u8;
        slots.write(cs!("echo"));
        slots.add(1).write(cs!("x"));
        ptr::write_bytes((top - 40) as *mut u8, b'e', 24);
    }
    util::expect_exec_fails("an unterminated argv array at the break", || {
        sys::exec(cs!("/echo"), (top - 16) as *const *const u8)
    })?;
    util::expect_exec_fails("an unterminated path at the break", || {
        sys::exec((top - 40) as *const u8, good.as_ptr())
    })?;
    Ok(())
}

/// open() of bad pointers and of a name running off the heap fails.
pub fn open() -> TestResult {
    for a in BAD {
        for flags in [O_RDONLY, O_CREATE | O_RDWR] {
            let r = sys::open(a as *const u8, flags);
            ensure!(r == -1, "open({:#x}, {:#x}) returned {}, expected -1", a, flags, r);
        }
    }
    let page = util::top_page()?;
    let top = page + abi::PGSIZE;
    // SAFETY: the page is ours alone and the write stays inside it.
    unsafe { ptr::write_bytes((top - 8) as *mut u8, b'R', 8) };
    let r = sys::open((top - 8) as *const u8, O_CREATE | O_RDWR);
    ensure!(r == -1, "open of a name without NUL before the break returned {}", r);
    Ok(())
}

/// Every path-taking call rejects bad path pointers.
pub fn paths() -> TestResult {
    for a in BAD {
        let p = a as *const u8;
        let calls = [
            ("mkdir", sys::mkdir(p)),
            ("unlink", sys::unlink(p)),
            ("chdir", sys::chdir(p)),
            ("mknod", sys::mknod(p, 1, 0)),
            ("link(bad, new)", sys::link(p, cs!("bplink"))),
            ("link(README, bad)", sys::link(cs!("README"), p)),
        ];
        for (name, r) in calls {
            ensure!(r == -1, "{} with path {:#x} returned {}, expected -1", name, a, r);
        }
    }
    ensure!(!util::exists("bplink"), "a failed link created bplink");
    Ok(())
}

/// Heap memory given back with sbrk cannot be used by system calls.
pub fn freed_heap() -> TestResult {
    let a = memory::sbrk_eager(8192).ctx("sbrk(8192)")?;
    // SAFETY: we grew these 8192 bytes just above and nothing else uses them.
    unsafe { memory::sbrk_shrink(8192) }.ctx("sbrk(-8192)")?;
    let fd = fs::open("README", O_RDONLY).ctx("open README")?;
    // SAFETY: the address is no longer mapped; nothing of ours lies there.
    let r = unsafe { sys::read(fd, (a + 4096) as *mut u8, 10) };
    ensure!(r == -1, "read into freed heap returned {}", r);
    let _ = fs::close(fd);
    let fd = fs::open("bpfreed", O_CREATE | O_RDWR).ctx("create bpfreed")?;
    let r = sys::write(fd, (a + 4096) as *const u8, 10);
    ensure!(r == -1, "write from freed heap returned {}", r);
    let _ = fs::close(fd);
    fs::unlink("bpfreed").ctx("unlink bpfreed")?;
    // SAFETY: as above.
    let r = unsafe { sys::pipe((a + 4096) as *mut i32) };
    ensure!(r == -1, "pipe into freed heap returned {}", r);
    Ok(())
}

/// link() of a missing file fails for any new-name pointer at all, over the first 4 MiB.
pub fn validate() -> TestResult {
    for p in (0..0x40_0000usize).step_by(4 * abi::PGSIZE) {
        let r = sys::link(cs!("nosuchfile"), p as *const u8);
        ensure!(r == -1, "link(nosuchfile, {:#x}) returned {}", p, r);
    }
    Ok(())
}

/// Lengths of -1 with buffers near the break: the kernel stops at the end of memory.
pub fn length() -> TestResult {
    let page = util::top_page()?;
    let top = page + abi::PGSIZE;
    let fd = fs::open("README", O_RDONLY).ctx("open README")?;
    // SAFETY: only the last byte of our own page is valid to write; beyond is unmapped.
    let r = unsafe { sys::read(fd, (top - 1) as *mut u8, usize::MAX) };
    ensure!(r <= 1, "read(fd, break - 1, -1) returned {}", r);
    let _ = fs::close(fd);
    let fd = fs::open("bplen", O_CREATE | O_RDWR | O_TRUNC).ctx("create bplen")?;
    let r = sys::write(fd, (top - 100) as *const u8, usize::MAX);
    ensure!(r <= 100, "write(fd, break - 100, -1) returned {}", r);
    let _ = fs::close(fd);
    fs::unlink("bplen").ctx("unlink bplen")?;
    let ok = [1u8; 16];
    ensure!(sys::write(1, ok.as_ptr(), 0) == 0, "a write of 0 bytes did not return 0");
    Ok(())
}
