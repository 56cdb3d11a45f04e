//! What a mapping forbids and what system calls do with mapped buffers: touching an unmapped
//! range kills (and leaves the parent's mappings intact), so do stores to PROT_READ mappings,
//! any touch of a PROT_NONE mapping and calls into a mapping without PROT_EXEC (code in one
//! with it runs); read() into a read-only mapping fails with -1; read(), write(), pipe(),
//! fstat() and exec's strings work on mapped pages never touched before (the kernel faults
//! them in), also when the mapping is of the very file being read or written (even over the
//! pages the write overwrites), a source page unmapped or PROT_NONE in the middle of a write
//! makes it stop before that chunk, and a read() into a shared mapping reaches the file.

use crate::util::{self, check_pattern, check_zero, map, unmap, Ctx, TestResult, PG, RW};
use core::hint::black_box;
use ulib::abi::{self, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, O_RDONLY, O_RDWR, PROT_NONE, PROT_READ};
use ulib::{fs, sys};

/// After munmap, touching the range kills the process; the rest of the mapping, and the
/// parent's own copy of what a child unmapped, stay intact.
pub fn munmap_kills() -> TestResult {
    const F: &str = "mmunk";
    util::clean(&[F]);
    util::pattern_file(F, 50, 3 * PG)?;
    let fd = util::open(F, O_RDONLY)?;
    let a = map(0, 3 * PG, PROT_READ, MAP_SHARED, fd, 0)?;
    let b = map(0, 2 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let _ = fs::close(fd);
    // SAFETY: three readable pages and two writable ones, used only here.
    let (ma, mb) = unsafe { (util::bytes(a, 3 * PG), util::bytes_mut(b, 2 * PG)) };
    check_pattern("mapping", ma, 50, 0)?;
    mb.fill(0x3c);
    util::expect_killed("touching a file page the child unmapped", || {
        if util::raw_munmap(a + PG, PG) != 0 {
            ulib::process::exit(9);
        }
        // SAFETY: the load is meant to kill the process.
        black_box(unsafe { util::load_byte(a + PG + 7) });
    })?;
    util::expect_killed("storing to anonymous memory the child unmapped", || {
        if util::raw_munmap(b, 2 * PG) != 0 {
            ulib::process::exit(9);
        }
        // SAFETY: the store is meant to kill the process.
        unsafe { util::store_byte(b + PG, 1) };
    })?;
    util::expect_killed("touching a page unmapped before it was ever touched", || {
        let c = util::raw_mmap(0, 2 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if c == -1 || util::raw_munmap(c as usize, 2 * PG) != 0 {
            ulib::process::exit(9);
        }
        // SAFETY: the load is meant to kill the process.
        black_box(unsafe { util::load_byte(c as usize) });
    })?;
    check_pattern("parent's mapping after children unmapped parts", ma, 50, 0)?;
    ensure!(mb.iter().all(|&v| v == 0x3c), "parent's anonymous pages changed after a child's munmap");
    unmap(a, PG)?;
    util::expect_killed("touching a page the parent unmapped before fork", || {
        // SAFETY: the load is meant to kill the process.
        black_box(unsafe { util::load_byte(a + 5) });
    })?;
    // SAFETY: pages 1 and 2 are still mapped.
    check_pattern("pages left after munmap of the first", unsafe { util::bytes(a + PG, 2 * PG) }, 50, PG)?;
    unmap(a + PG, 2 * PG)?;
    unmap(b, 2 * PG)?;
    util::remove(F)
}

/// A store to a PROT_READ mapping kills the process whatever the file's open mode, whether
/// the page was read before or not; the file does not change.
pub fn store_to_readonly() -> TestResult {
    const F: &str = "mmro";
    util::clean(&[F]);
    util::pattern_file(F, 51, 2 * PG)?;
    let rw = util::open(F, O_RDWR)?;
    let ro = util::open(F, O_RDONLY)?;
    let maps = [
        ("shared, O_RDWR file", map(0, 2 * PG, PROT_READ, MAP_SHARED, rw, 0)?),
        ("shared, O_RDONLY file", map(0, 2 * PG, PROT_READ, MAP_SHARED, ro, 0)?),
        ("private, O_RDWR file", map(0, 2 * PG, PROT_READ, MAP_PRIVATE, rw, 0)?),
        ("private, O_RDONLY file", map(0, 2 * PG, PROT_READ, MAP_PRIVATE, ro, 0)?),
        ("anonymous", map(0, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?),
        ("shared anonymous", map(0, 2 * PG, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0)?),
    ];
    let _ = fs::close(rw);
    let _ = fs::close(ro);
    for (what, a) in maps {
        // Page 0 is read first (present, read-only); page 1 is never touched before the store.
        // SAFETY: a load from a readable mapping.
        black_box(unsafe { util::load_byte(a) });
        util::expect_killed(&alloc::format!("a store to a page read before ({})", what), || {
            // SAFETY: the store is meant to kill the process.
            unsafe { util::store_byte(a + 10, 0x99) };
        })?;
        util::expect_killed(&alloc::format!("a store to an untouched page ({})", what), || {
            // SAFETY: the store is meant to kill the process.
            unsafe { util::store_byte(a + PG + 10, 0x99) };
        })?;
        util::expect_killed(&alloc::format!("a store after its own read ({})", what), || {
            // SAFETY: the load reads a readable page; the store is meant to kill the process.
            unsafe {
                black_box(util::load_byte(a + PG + 20));
                util::store_byte(a + PG + 20, 0x99);
            }
        })?;
    }
    for (_, a) in maps {
        unmap(a, 2 * PG)?;
    }
    check_pattern("file after killed stores", &util::read_file(F)?, 51, 0)?;
    util::remove(F)
}

/// Any touch of a PROT_NONE mapping kills; system calls refuse it as a buffer.
pub fn prot_none() -> TestResult {
    const F: &str = "mmnone";
    util::clean(&[F]);
    util::pattern_file(F, 52, PG)?;
    let fd = util::open(F, O_RDWR)?;
    let maps = [
        ("shared file", map(0, PG, PROT_NONE, MAP_SHARED, fd, 0)?),
        ("private file", map(0, PG, PROT_NONE, MAP_PRIVATE, fd, 0)?),
        ("anonymous", map(0, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?),
    ];
    for (what, a) in maps {
        util::expect_killed(&alloc::format!("a load from a PROT_NONE mapping ({})", what), || {
            // SAFETY: the load is meant to kill the process.
            black_box(unsafe { util::load_byte(a + 1) });
        })?;
        util::expect_killed(&alloc::format!("a store to a PROT_NONE mapping ({})", what), || {
            // SAFETY: the store is meant to kill the process.
            unsafe { util::store_byte(a + 2, 1) };
        })?;
        // SAFETY: the kernel must refuse to write into the PROT_NONE page.
        let r = unsafe { sys::read(fd, a as *mut u8, 10) };
        ensure!(r == -1, "read() into a PROT_NONE mapping ({}) returned {}", what, r);
        let r = sys::write(fd, a as *const u8, 10);
        ensure!(r == -1, "write() from a PROT_NONE mapping ({}) returned {}", what, r);
    }
    let _ = fs::close(fd);
    for (_, a) in maps {
        unmap(a, PG)?;
    }
    check_pattern("file", &util::read_file(F)?, 52, 0)?;
    util::remove(F)
}

/// read() (and the other calls that store into user memory) into a PROT_READ mapping fail
/// with -1, before and after the page was touched, and change nothing.
pub fn read_into_readonly() -> TestResult {
    const SRC: &str = "mmrsrc";
    const F: &str = "mmrdst";
    util::clean(&[SRC, F]);
    util::pattern_file(SRC, 53, 2 * PG)?;
    util::pattern_file(F, 54, 2 * PG)?;
    let src = util::open(SRC, O_RDONLY)?;
    let fd = util::open(F, O_RDWR)?;
    let maps = [
        ("shared", map(0, 2 * PG, PROT_READ, MAP_SHARED, fd, 0)?),
        ("private", map(0, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0)?),
    ];
    let anon = map(0, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    for (what, a) in maps {
        // Page 1 untouched, then page 0 after a read.
        // SAFETY: the kernel must refuse to store into the read-only page.
        let r = unsafe { sys::read(src, (a + PG) as *mut u8, 100) };
        ensure!(r == -1, "read() into an untouched PROT_READ page ({}) returned {}", what, r);
        // SAFETY: a load from a readable mapping.
        black_box(unsafe { util::load_byte(a) });
        // SAFETY: as above.
        let r = unsafe { sys::read(src, a as *mut u8, 100) };
        ensure!(r == -1, "read() into a touched PROT_READ page ({}) returned {}", what, r);
        let (prd, pwr) = fs::pipe().ctx("pipe")?;
        fs::write_all(pwr, b"0123456789").ctx("write to pipe")?;
        // SAFETY: as above.
        let r = unsafe { sys::read(prd, (a + 8) as *mut u8, 10) };
        let _ = fs::close(prd);
        let _ = fs::close(pwr);
        ensure!(r == -1, "read() from a pipe into a PROT_READ page ({}) returned {}", what, r);
        // SAFETY: as above.
        let r = unsafe { sys::fstat(src, (a + 64) as *mut u8) };
        ensure!(r == -1, "fstat() into a PROT_READ page ({}) returned {}", what, r);
        // SAFETY: two readable pages.
        let m = unsafe { util::bytes(a, 2 * PG) };
        check_pattern(&alloc::format!("{} mapping after refused calls", what), m, 54, 0)?;
    }
    // SAFETY: as above.
    let r = unsafe { sys::read(src, anon as *mut u8, 100) };
    ensure!(r == -1, "read() into a PROT_READ anonymous page returned {}", r);
    // SAFETY: a readable page.
    check_zero("read-only anonymous page", unsafe { util::bytes(anon, PG) })?;
    for (_, a) in maps {
        unmap(a, 2 * PG)?;
    }
    unmap(anon, PG)?;
    for x in [src, fd] {
        let _ = fs::close(x);
    }
    check_pattern("file behind the read-only mappings", &util::read_file(F)?, 54, 0)?;
    util::remove(SRC)?;
    util::remove(F)
}

/// read() and write() take buffers in mapped pages never touched before: read() from one
/// file into an untouched shared mapping of another reaches that file at munmap; write()
/// from untouched file and anonymous mappings writes their contents; pipes work too.
pub fn syscall_buffers() -> TestResult {
    const SRC: &str = "mmbsrc";
    const DST: &str = "mmbdst";
    const OUT: &str = "mmbout";
    const N: usize = 2 * PG + 50;
    util::clean(&[SRC, DST, OUT]);
    util::pattern_file(SRC, 55, 3 * PG)?;
    util::pattern_file(DST, 56, 3 * PG)?;
    // read() into an untouched shared mapping of DST, across two page boundaries.
    let src = util::open(SRC, O_RDONLY)?;
    let dfd = util::open(DST, O_RDWR)?;
    let d = map(0, 3 * PG, RW, MAP_SHARED, dfd, 0)?;
    let _ = fs::close(dfd);
    // SAFETY: the kernel stores into the writable shared mapping, which nothing else uses.
    let r = unsafe { sys::read(src, (d + 100) as *mut u8, N) };
    ensure!(r == N as isize, "read() of {} bytes into an untouched shared mapping returned {}", N, r);
    // SAFETY: three readable pages.
    let md = unsafe { util::bytes(d, 3 * PG) };
    check_pattern("mapping after read()", &md[100..100 + N], 55, 0)?;
    check_pattern("mapping before the read() buffer", &md[..100], 56, 0)?;
    unmap(d, 3 * PG)?;
    let data = util::read_file(DST)?;
    ensure!(data.len() == 3 * PG, "{} changed size to {}", DST, data.len());
    check_pattern("file after read() into its shared mapping and munmap", &data[100..100 + N], 55, 0)?;
    check_pattern("rest of the file", &data[100 + N..], 56, 100 + N)?;
    // read() into an untouched private anonymous mapping.
    let anon = map(0, 4 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let src2 = util::open(SRC, O_RDONLY)?;
    // SAFETY: as above, for the anonymous mapping.
    let r = unsafe { sys::read(src2, (anon + PG - 10) as *mut u8, N) };
    ensure!(r == N as isize, "read() into an untouched anonymous mapping returned {}", r);
    // SAFETY: four readable pages.
    let ma = unsafe { util::bytes(anon, 4 * PG) };
    check_pattern("anonymous mapping after read()", &ma[PG - 10..PG - 10 + N], 55, 0)?;
    check_zero("anonymous mapping before the buffer", &ma[..PG - 10])?;
    // write() from an untouched private file mapping and an untouched shared one.
    let sfd = util::open(SRC, O_RDONLY)?;
    let p = map(0, 3 * PG, PROT_READ, MAP_PRIVATE, sfd, 0)?;
    let s = map(0, 3 * PG, PROT_READ, MAP_SHARED, sfd, 0)?;
    let e = map(0, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let out = util::open(OUT, abi::O_CREATE | O_RDWR | abi::O_TRUNC)?;
    let w1 = sys::write(out, (p + 7) as *const u8, N);
    let w2 = sys::write(out, s as *const u8, 3 * PG);
    let w3 = sys::write(out, (e + 1) as *const u8, PG);
    ensure!(
        w1 == N as isize && w2 == (3 * PG) as isize && w3 == PG as isize,
        "write() from untouched mappings returned {}, {}, {}",
        w1,
        w2,
        w3
    );
    let _ = fs::close(out);
    let data = util::read_file(OUT)?;
    ensure!(data.len() == N + 4 * PG, "{} holds {} bytes, expected {}", OUT, data.len(), N + 4 * PG);
    check_pattern("bytes written from a private mapping", &data[..N], 55, 7)?;
    check_pattern("bytes written from a shared mapping", &data[N..N + 3 * PG], 55, 0)?;
    check_zero("bytes written from an anonymous mapping", &data[N + 3 * PG..])?;
    // A pipe between two untouched mappings.
    let (prd, pwr) = fs::pipe().ctx("pipe")?;
    let q = map(0, 2 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    let w = sys::write(pwr, (p + 2 * PG - 3) as *const u8, 300);
    // SAFETY: the kernel stores into the untouched anonymous mapping.
    let r = unsafe { sys::read(prd, (q + PG - 100) as *mut u8, 300) };
    ensure!(w == 300 && r == 300, "pipe write/read with untouched mapped buffers returned {}/{}", w, r);
    // SAFETY: two readable pages.
    let mq = unsafe { util::bytes(q, 2 * PG) };
    check_pattern("bytes through a pipe", &mq[PG - 100..PG + 200], 55, 2 * PG - 3)?;
    for x in [src, src2, sfd, prd, pwr] {
        let _ = fs::close(x);
    }
    for (a, n) in [(anon, 4 * PG), (p, 3 * PG), (s, 3 * PG), (e, 2 * PG), (q, 2 * PG)] {
        unmap(a, n)?;
    }
    util::remove(SRC)?;
    util::remove(DST)?;
    util::remove(OUT)
}

/// read() and write() between a file and an untouched shared mapping of that same file
/// (other pages of it): the fault that fills the buffer reads the file the call is using.
pub fn same_file_buffers() -> TestResult {
    const F: &str = "mmsame";
    util::clean(&[F]);
    util::pattern_file(F, 57, 4 * PG)?;
    let fd = util::open(F, O_RDWR)?;
    let a = map(0, 4 * PG, RW, MAP_SHARED, fd, 0)?;
    // File page 0 into mapping page 2 (file page 2), through read().
    // SAFETY: the kernel stores into the case's shared writable mapping.
    let r = unsafe { sys::read(fd, (a + 2 * PG) as *mut u8, PG) };
    ensure!(r == PG as isize, "read() of the file into its own mapping returned {}", r);
    // SAFETY: page 2 of the mapping is readable.
    check_pattern("mapping page 2 after read()", unsafe { util::bytes(a + 2 * PG, PG) }, 57, 0)?;
    // Mapping page 3 (untouched) to file page 0, through write().
    let fd2 = util::open(F, O_RDWR)?;
    let w = sys::write(fd2, (a + 3 * PG) as *const u8, PG);
    ensure!(w == PG as isize, "write() from the file's own mapping to the file returned {}", w);
    let _ = fs::close(fd2);
    let _ = fs::close(fd);
    unmap(a, 4 * PG)?;
    let data = util::read_file(F)?;
    check_pattern("file page 0 (written from mapping page 3)", &data[..PG], 57, 3 * PG)?;
    check_pattern("file page 1", &data[PG..2 * PG], 57, PG)?;
    check_pattern("file page 2 (read() into the mapping, written back)", &data[2 * PG..3 * PG], 57, 0)?;
    check_pattern("file page 3", &data[3 * PG..], 57, 3 * PG)?;
    util::remove(F)
}

/// Other calls that take user buffers work on untouched mappings: exec's path and argument
/// strings in an untouched file mapping, pipe() and fstat() results into untouched
/// anonymous memory; wait() refuses a read-only mapping for the status.
pub fn other_call_buffers() -> TestResult {
    const F: &str = "mmstrs";
    util::clean(&[F]);
    // Strings at fixed offsets: path at 0, arguments at 100 and 2 * PG - 3 (across a page).
    let mut text = alloc::vec![0u8; 3 * PG];
    text[..10].copy_from_slice(b"mmaptests\0");
    text[100..107].copy_from_slice(b"--exit\0");
    text[2 * PG - 3..2 * PG].copy_from_slice(b"42\0");
    util::write_file(F, &text)?;
    let fd = util::open(F, O_RDONLY)?;
    let s = map(0, 3 * PG, PROT_READ, MAP_PRIVATE, fd, 0)?;
    let _ = fs::close(fd);
    let argv = [s as *const u8, (s + 100) as *const u8, (s + 2 * PG - 3) as *const u8, core::ptr::null()];
    let status = util::in_child(|| {
        sys::exec(s as *const u8, argv.as_ptr());
        77
    })?;
    ensure!(
        status == 42,
        "exec with strings in an untouched mapping ended with {} (77: exec failed)",
        status
    );
    let m = map(0, 2 * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
    // SAFETY: the kernel stores two descriptors into the untouched anonymous mapping.
    let r = unsafe { sys::pipe((m + PG - 4) as *mut i32) };
    ensure!(r == 0, "pipe() into an untouched mapping, across pages, returned {}", r);
    // SAFETY: reads of what the kernel stored.
    let (rd, wr) = unsafe { (((m + PG - 4) as *const i32).read(), ((m + PG) as *const i32).read()) };
    ensure!(fs::write(wr, b"ok") == Ok(2), "the pipe from an untouched mapping does not work");
    let mut got = [0u8; 2];
    ensure!(fs::read(rd, &mut got) == Ok(2) && &got == b"ok", "the pipe from an untouched mapping lost data");
    let _ = fs::close(rd);
    let _ = fs::close(wr);
    let fd = util::open(F, O_RDONLY)?;
    // SAFETY: the kernel stores a stat into the untouched second page.
    let r = unsafe { sys::fstat(fd, (m + PG + 64) as *mut u8) };
    let _ = fs::close(fd);
    ensure!(r == 0, "fstat() into an untouched mapping returned {}", r);
    // SAFETY: the size field of the stat the kernel stored.
    let size = unsafe { ((m + PG + 64 + 16) as *const u64).read() };
    ensure!(size == 3 * PG as u64, "fstat() into a mapping gave size {}", size);
    // wait() may not store the status into a read-only mapping.
    let pid = util::spawn(|| 0)?;
    // SAFETY: the kernel must refuse to store into the read-only mapping.
    let r = unsafe { sys::wait((s + 8) as *mut i32) };
    ensure!(r == -1, "wait() with its status in a PROT_READ mapping returned {}", r);
    let _ = util::wait_for(pid);
    unmap(m, 2 * PG)?;
    unmap(s, 3 * PG)?;
    util::remove(F)
}

/// `addi a0, zero, 42; ret`, little-endian.
const RETURN_42: [u8; 8] = [0x13, 0x05, 0xa0, 0x02, 0x67, 0x80, 0x00, 0x00];

/// Code in a PROT_EXEC file mapping runs (private and shared, never touched before the
/// call); calling into a mapping without PROT_EXEC kills the process.
pub fn prot_exec() -> TestResult {
    const F: &str = "mmcode";
    util::clean(&[F]);
    let mut code = alloc::vec![0u8; 2 * PG];
    code[PG..PG + 8].copy_from_slice(&RETURN_42);
    util::write_file(F, &code)?;
    let fd = util::open(F, O_RDONLY)?;
    let x = map(0, 2 * PG, PROT_READ | abi::PROT_EXEC, MAP_PRIVATE, fd, 0)?;
    let xs = map(0, 2 * PG, abi::PROT_EXEC, MAP_SHARED, fd, 0)?;
    let nx = map(0, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0)?;
    let _ = fs::close(fd);
    for (what, a) in [("private", x), ("shared, execute-only", xs)] {
        // SAFETY: the mapped page holds a complete function that follows the C ABI.
        let f: extern "C" fn() -> i32 = unsafe { core::mem::transmute(a + PG) };
        let v = f();
        ensure!(v == 42, "code in a PROT_EXEC mapping ({}) returned {}", what, v);
    }
    util::expect_killed("calling into a mapping without PROT_EXEC", || {
        // SAFETY: the call is meant to kill the process (instruction page fault).
        let f: extern "C" fn() -> i32 = unsafe { core::mem::transmute(nx + PG) };
        black_box(f());
    })?;
    util::expect_killed("a load from an execute-only mapping", || {
        // SAFETY: the load is meant to kill the process.
        black_box(unsafe { util::load_byte(xs + PG) });
    })?;
    for a in [x, xs, nx] {
        unmap(a, 2 * PG)?;
    }
    util::remove(F)
}

/// write() from a shared mapping of the file being written, over pages of that mapping the
/// write itself overwrites: the file (and the mapping) get the bytes the buffer held when the
/// call began, whether the buffer's pages were present or not, aligned or not, the source
/// before the destination, after it or the same bytes.
pub fn same_file_overlap() -> TestResult {
    const F: &str = "mmovl";
    const N: usize = 8 * PG;
    util::clean(&[F]);
    let cases = [(PG, 0, 4 * PG), (PG + 100, 0, 4 * PG + 50), (0, PG + 7, 5 * PG), (2 * PG, 2 * PG, 3 * PG)];
    for (k, &(dst, src, len)) in cases.iter().enumerate() {
        for present in [true, false] {
            let seed = 60 + k;
            util::pattern_file(F, seed, N)?;
            let old = util::pattern_vec(seed, N);
            let mut expect = old.clone();
            expect[dst..dst + len].copy_from_slice(&old[src..src + len]);
            let fd = util::open(F, O_RDWR)?;
            let a = map(0, N, RW, MAP_SHARED, fd, 0)?;
            if present {
                // SAFETY: the mapping is readable; the loads make every page present.
                let m = unsafe { util::bytes(a, N) };
                black_box(m.iter().map(|&b| usize::from(b)).sum::<usize>());
            }
            // No lseek: move the offset to `dst` by reading.
            let mut skip = alloc::vec![0u8; dst];
            ensure!(fs::read(fd, &mut skip) == Ok(dst), "read() to move the offset to {}", dst);
            let r = sys::write(fd, (a + src) as *const u8, len);
            ensure!(
                r == len as isize,
                "write({}, map + {}, {}) from the file's own mapping returned {}",
                dst,
                src,
                len,
                r
            );
            // SAFETY: the mapping is readable.
            let m = unsafe { util::bytes(a, N) };
            ensure!(
                m == &expect[..],
                "case {} (present {}): the mapping does not show the write's bytes",
                k,
                present
            );
            unmap(a, N)?;
            let _ = fs::close(fd);
            let data = util::read_file(F)?;
            ensure!(
                data == expect,
                "case {} (present {}): write() at {} from the file's own bytes at {} ({} bytes)",
                k,
                present,
                dst,
                src,
                len
            );
        }
    }
    util::remove(F)
}

/// write() of several pages from a buffer with an unmapped or PROT_NONE page in the middle
/// writes nothing when that page is among the call's first 64 KiB (-1), and otherwise
/// returns a count short of the bad page with exactly that many bytes in the file.
pub fn write_bad_middle() -> TestResult {
    const F: &str = "mmbadmid";
    const N: usize = 24 * PG;
    util::clean(&[F]);
    for unmapped in [false, true] {
        for (pages, bad) in [(3, 1), (20, 18)] {
            util::pattern_file(F, 71, N)?;
            let buf = map(0, pages * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)?;
            // SAFETY: the buffer is ours and writable.
            unsafe { util::bytes_mut(buf, pages * PG) }.copy_from_slice(&util::pattern_vec(72, pages * PG));
            if unmapped {
                unmap(buf + bad * PG, PG)?;
            } else {
                crate::protect::protect(buf + bad * PG, PG, PROT_NONE)?;
            }
            let fd = util::open(F, O_RDWR)?;
            let r = sys::write(fd, buf as *const u8, pages * PG);
            let _ = fs::close(fd);
            let what = alloc::format!(
                "write of {} pages, page {} {}",
                pages,
                bad,
                if unmapped { "unmapped" } else { "PROT_NONE" }
            );
            let data = util::read_file(F)?;
            ensure!(data.len() == N, "{}: the file has {} bytes", what, data.len());
            if bad * PG < 16 * PG {
                ensure!(r == -1, "{} returned {}, expected -1", what, r);
                check_pattern(&alloc::format!("file after {}", what), &data, 71, 0)?;
            } else {
                ensure!(r > 0 && r as usize <= bad * PG, "{} returned {}", what, r);
                let r = r as usize;
                check_pattern(&alloc::format!("bytes written by {}", what), &data[..r], 72, 0)?;
                check_pattern(&alloc::format!("bytes after {}", what), &data[r..], 71, r)?;
            }
            if unmapped {
                unmap(buf, bad * PG)?;
                unmap(buf + (bad + 1) * PG, (pages - bad - 1) * PG)?;
            } else {
                unmap(buf, pages * PG)?;
            }
        }
    }
    util::remove(F)
}
