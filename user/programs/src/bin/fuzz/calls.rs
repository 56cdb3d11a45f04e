//! The calls of one chunk: which number, with which arguments.
//!
//! Arguments are drawn from pools of adversarial values: pointers (null, kernel memory, the
//! trap frame and trampoline, just below the top of user space, past MAXVA, the text, read-only
//! data, the stack, the break, the mmap area, a string running into an unmapped page,
//! misaligned addresses inside a scratch buffer), lengths (0, -1, huge, page boundaries), file
//! descriptors (-1, 0..20, 1 << 31), random flag bits, and paths (a fixed set of names under
//! the run's directory, long, over-long, unterminated, or bad pointers). The chunk runs in a
//! child that may be killed at any time, so nothing here cleans up after itself.
//!
//! Three things are kept out on purpose, since they would stop the run rather than test the
//! kernel: `poweroff`; reads and writes on descriptors that are not regular files or
//! directories (a console read or a read of an empty pipe blocks forever, and console writes
//! would print random memory); and paths naming anything outside the fuzzer's own files.

use crate::rng::Rng;
use crate::{leaked, Stats, EV_IMAGE_RAN};
use alloc::vec::Vec;
use ulib::abi::{self, sys as nr, MAP_ANONYMOUS, MAP_PRIVATE, PGSIZE as PG, PROT_READ, PROT_WRITE};
use ulib::{fs, sys};

/// Start of the mmap area (ABI: far above any heap).
const MMAP_BASE: usize = 0x20_0000_0000;
/// Bytes of the scratch buffer calls read from and write into.
const SCRATCH: usize = 16 * PG;
/// Read-only data for the kernel to be asked to write into.
static RODATA: [u8; 64] = [0x5a; 64];

/// Paths the calls use (all relative names start with `fz`, and all files live below `/fz`).
const PATHS: &[&[u8]] = &[
    b"fzf0",
    b"fzf1",
    b"fzf2",
    b"fzd0",
    b"fzd0/fzf0",
    b"fzd0/fzd1",
    b"fzd0/fzd1/fzf3",
    b"fzd0/../fzf1",
    b"fzd0//fzf2",
    b"fzx0",
    b"fzx1",
    b"fzx2",
    b"/fz/fzf0",
    b"/fz/fzd0",
    b"fz_name_longer_than_dirsiz",
    b"fz_fourteen_cc",
    b".",
    b"..",
    b"/",
    b"",
    b"fzf0/fzf1",
    b"/fz/fzx1/fzx2",
];

/// Call numbers the fuzzer never makes: poweroff stops the machine.
const NEVER: &[usize] = &[nr::POWEROFF];

/// Data the chunks share, made by the parent before the first chunk so that every chunk
/// finds it at the same addresses and the free-page count includes it.
pub struct World {
    seed: u64,
    /// Addresses of the NUL-terminated strings of [`PATHS`], then the long ones.
    paths: Vec<usize>,
    /// Addresses of argv arrays: ordinary, too many, too big, with a bad pointer, empty.
    argvs: Vec<usize>,
    /// The scratch buffer (made last, so that an overrun runs into free heap).
    scratch: usize,
}

impl World {
    /// Makes the strings, argv arrays and scratch buffer.
    pub fn new(seed: u64) -> World {
        let mut paths = Vec::new();
        for p in PATHS {
            let b = leaked(p.len() + 1);
            b[..p.len()].copy_from_slice(p);
            paths.push(b.as_ptr() as usize);
        }
        // Longest allowed (127 + NUL), one too long, far too long.
        for n in [127usize, 128, 600] {
            let b = leaked(n + 1);
            b[..n].fill(b'z');
            b[..2].copy_from_slice(b"fz");
            paths.push(b.as_ptr() as usize);
        }
        let small = paths[9]; // "fzx0"
        let big = leaked(2000);
        big[..1999].fill(b'q');
        let big = big.as_ptr() as usize;
        let argv = |ptrs: &[usize]| {
            let v: &'static mut [usize] = alloc::vec![0usize; ptrs.len() + 1].leak();
            v[..ptrs.len()].copy_from_slice(ptrs);
            v.as_ptr() as usize
        };
        let argvs = alloc::vec![
            argv(&[small, small]),
            argv(&[small; abi::MAXARG + 8]),
            argv(&[big; abi::MAXARG]),
            argv(&[small, 0x8000_0000, small]),
            argv(&[]),
            argv(&[small, abi::TRAPFRAME]),
        ];
        let scratch = leaked(SCRATCH).as_ptr() as usize;
        World { seed, paths, argvs, scratch }
    }

    /// Runs chunk `c` of `calls` calls (in a forked child); returns its exit status, 0.
    pub fn chunk(&self, c: u64, calls: usize, stats: &Stats) -> i32 {
        let mut rng = Rng::new(self.seed, c + 1);
        let stack_probe = 0u64;
        let mut ch = Chunk {
            w: self,
            rng: Rng::new(self.seed ^ 0x5eed, c + 1),
            stack: core::hint::black_box(&stack_probe) as *const u64 as usize,
            nonterm: unterminated_string(),
            last_child: 0,
            last_fd: 3,
        };
        write_images(&mut rng);
        make_targets();
        for _ in 0..calls {
            let n = ch.number();
            let r = ch.call(n);
            if (n == nr::OPEN || n == nr::DUP) && r >= 0 {
                ch.last_fd = r as usize;
            }
            stats.record(n, r);
            if n == nr::EXEC && r == 77 {
                stats.bump(EV_IMAGE_RAN);
            }
        }
        0
    }
}

/// Per-chunk state.
struct Chunk<'a> {
    w: &'a World,
    rng: Rng,
    /// An address on this process's stack.
    stack: usize,
    /// A string of `a`s that runs into an unmapped page without a NUL.
    nonterm: usize,
    /// The pid of the child forked last (a target for kill, wait, vmmaps).
    last_child: isize,
    /// The descriptor open returned last (so that reads, writes and mmaps hit open files).
    last_fd: usize,
}

/// The address of a page of `a`s followed by an unmapped page, 8 bytes before the end.
fn unterminated_string() -> usize {
    // SAFETY: a fresh anonymous mapping, chosen by the kernel.
    let r = unsafe { sys::mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) };
    if r == -1 {
        return 0x8000_0000;
    }
    let a = r as usize;
    // SAFETY: the first page of the mapping just made, used by nothing else.
    unsafe { core::slice::from_raw_parts_mut(a as *mut u8, PG).fill(b'a') };
    // SAFETY: the second page of our own fresh mapping.
    unsafe { sys::munmap(a + PG, PG) };
    a + PG - 8
}

/// Pages from `MMAP_BASE` that [`make_targets`] maps, where mprotect, msync, madvise and
/// munmap mostly aim.
const TARGET_PAGES: usize = 160;

/// Maps, at fixed places in the first [`TARGET_PAGES`] pages of the mmap area, memory for
/// mprotect, msync and madvise to work on: private and shared anonymous memory, and shared
/// and private mappings of a 16-page file of its own (each page touched, so that some are
/// present and dirty). Failures are ignored: the calls then simply find less mapped.
fn make_targets() {
    let rw = PROT_READ | PROT_WRITE;
    let fixed = abi::MAP_FIXED;
    let _ = put_file(b"fzm0", &[0x6d; 16 * PG]);
    let fd = fs::open(b"fzm0", abi::O_RDWR).unwrap_or(-1);
    let maps: [(usize, usize, usize, i32); 4] = [
        (16, 32, MAP_PRIVATE | MAP_ANONYMOUS, -1),
        (64, 16, abi::MAP_SHARED | MAP_ANONYMOUS, -1),
        (96, 16, abi::MAP_SHARED, fd),
        (128, 16, MAP_PRIVATE, fd),
    ];
    for (page, pages, flags, fd) in maps {
        let at = MMAP_BASE + page * PG;
        // SAFETY: fixed addresses in the mmap area, where no Rust object of this disposable
        // chunk lives.
        if unsafe { sys::mmap(at, pages * PG, rw, flags | fixed, fd, 0) } == at as isize {
            for i in (0..pages).step_by(2) {
                // SAFETY: a page of the writable mapping just made.
                unsafe { ((at + i * PG) as *mut u8).write_volatile(i as u8) };
            }
        }
    }
    if fd >= 0 {
        let _ = fs::close(fd);
    }
}

/// Writes the files exec is aimed at: random bytes (`fzx0`), and two ELF images with one
/// header field set to a random or extreme value (`fzx1`, `fzx2`). Their code, wherever it
/// is entered, exits with 77, so an image the kernel loads shows up as status 77.
fn write_images(rng: &mut Rng) {
    let mut junk = alloc::vec![0u8; rng.below(3000)];
    junk.iter_mut().for_each(|b| *b = rng.next() as u8);
    let _ = put_file(b"fzx0", &junk);
    for name in [&b"fzx1"[..], b"fzx2"] {
        let mut e = elf_image();
        // (offset, size) of the header fields worth breaking.
        const FIELDS: &[(usize, usize)] = &[
            (16, 2),
            (18, 2),
            (24, 8),
            (32, 8),
            (54, 2),
            (56, 2),
            (64, 4),
            (68, 4),
            (72, 8),
            (80, 8),
            (96, 8),
            (104, 8),
        ];
        let (at, size) = rng.pick(FIELDS);
        let v: u64 = match rng.below(8) {
            0 => 0,
            1 => u64::MAX,
            2 => 1 << 40,
            3 => 0x20_0000_0000 - PG as u64,
            4 => abi::TRAPFRAME as u64,
            5 => rng.below(8192) as u64,
            6 => 0x1f_ffff_f000,
            _ => rng.next(),
        };
        e[at..at + size].copy_from_slice(&v.to_le_bytes()[..size]);
        let _ = put_file(name, &e);
    }
}

/// A valid static ELF with one segment at 0 mapping the whole file, whose code is
/// `exit(77)` repeated.
fn elf_image() -> Vec<u8> {
    let mut e = alloc::vec![0u8; 128];
    e[..8].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    let put = |e: &mut Vec<u8>, at: usize, v: u64, size: usize| {
        e[at..at + size].copy_from_slice(&v.to_le_bytes()[..size])
    };
    put(&mut e, 16, 2, 2);
    put(&mut e, 18, 0xf3, 2);
    put(&mut e, 20, 1, 4);
    put(&mut e, 24, 128, 8);
    put(&mut e, 32, 64, 8);
    put(&mut e, 52, 64, 2);
    put(&mut e, 54, 56, 2);
    put(&mut e, 56, 1, 2);
    put(&mut e, 64, 1, 4);
    put(&mut e, 68, 5, 4);
    put(&mut e, 72, 0, 8);
    put(&mut e, 80, 0, 8);
    put(&mut e, 96, 256, 8);
    put(&mut e, 104, PG as u64, 8);
    // li a0, 77; li a7, 2; ecall; (repeated)
    for _ in 0..10 {
        for w in [0x04d0_0513u32, 0x0020_0893, 0x0000_0073, 0x0000_0013] {
            e.extend_from_slice(&w.to_le_bytes());
        }
    }
    e
}

/// Creates or truncates `name` (relative, NUL added here) and writes `data`.
fn put_file(name: &[u8], data: &[u8]) -> Option<()> {
    let fd = fs::open(name, abi::O_CREATE | abi::O_WRONLY | abi::O_TRUNC).ok()?;
    let r = fs::write_all(fd, data).ok();
    let _ = fs::close(fd);
    r
}

impl Chunk<'_> {
    /// The next call number: mostly the defined ones, sometimes undefined ones.
    fn number(&mut self) -> usize {
        loop {
            let n = if self.rng.one_in(20) {
                self.rng.pick(&[0, 30, 31, 32, 64, 1000, (1 << 32) | 5, usize::MAX])
            } else {
                1 + self.rng.below(nr::MADVISE)
            };
            if !NEVER.contains(&n) {
                return n;
            }
        }
    }

    /// Any pointer at all.
    fn any_ptr(&mut self) -> usize {
        let r = &mut self.rng;
        match r.below(20) {
            0 => 0,
            1 => 1 + r.below(16),
            2 => 0x8000_0000,
            3 => 0x8000_0000 + r.below(0x800_0000),
            4 => abi::TRAPFRAME + r.below(16),
            5 => abi::TRAMPOLINE,
            6 => abi::USER_TOP - 1 - r.below(64),
            7 => abi::MAXVA + r.below(PG),
            8 => usize::MAX - r.below(16),
            9 => 1 << 63,
            10 => text_probe as *const () as usize + r.below(64),
            11 => RODATA.as_ptr() as usize + r.below(64),
            12 => self.stack,
            13 => ulib::memory::brk() + r.below(2 * PG),
            14 => MMAP_BASE + r.below(256) * PG + if r.one_in(4) { r.below(PG) } else { 0 },
            15 => self.nonterm,
            _ => self.w.scratch + r.below(SCRATCH),
        }
    }

    /// A pointer the kernel will be asked to write through: mostly into the scratch buffer,
    /// never onto the stack.
    fn out_ptr(&mut self) -> usize {
        if self.rng.below(10) < 7 {
            return self.w.scratch + self.rng.below(SCRATCH / 2);
        }
        match self.any_ptr() {
            p if p == self.stack => 0,
            p => p,
        }
    }

    /// A length or count.
    fn len(&mut self) -> usize {
        let r = &mut self.rng;
        match r.below(13) {
            0 => 0,
            1 => 1,
            2 => usize::MAX,
            3 => 0xffff_ffff,
            4 => 1 << 40,
            5 => PG - 1,
            6 => PG,
            7 => PG + 1,
            8 => 2 * PG,
            9 => 0x7fff_ffff,
            10 => 0x8000_0000,
            11 => 3 * PG,
            _ => r.below(600),
        }
    }

    /// A file descriptor.
    fn fd(&mut self) -> usize {
        let r = &mut self.rng;
        let fd: i64 = match r.below(16) {
            12..=15 => self.last_fd as i64,
            0 => -1,
            1 => 1 << 31,
            2 => 16,
            3 => 20,
            4 => 0x7fff_ffff,
            5 => -(r.below(40) as i64),
            _ => r.below(16) as i64,
        };
        let garbage_above = if r.one_in(8) { r.next() << 32 } else { 0 };
        (fd as u64 as usize & 0xffff_ffff) | garbage_above as usize | if fd < 0 { !0xffff_ffff } else { 0 }
    }

    /// A path: one of [`PATHS`] or the long ones, or a bad pointer.
    fn path(&mut self) -> usize {
        if self.rng.below(10) < 8 {
            self.rng.pick(&self.w.paths)
        } else {
            self.any_ptr()
        }
    }

    /// Random bits, biased towards the low ones.
    fn bits(&mut self) -> usize {
        match self.rng.below(3) {
            0 => self.rng.next() as usize,
            1 => self.rng.next() as usize & 0xffff,
            _ => 1 << self.rng.below(24),
        }
    }

    /// Whether `fd` (as passed) is safe to read or write: a regular file or a directory, or
    /// no open descriptor at all (never the console, a device or a pipe, which would block
    /// or print).
    fn io_safe(fd: usize) -> bool {
        let fd = fd as u32 as i32;
        if !(0..abi::NOFILE as i32).contains(&fd) {
            return true;
        }
        match fs::fstat(fd) {
            Ok(st) => st.typ == abi::T_FILE || st.typ == abi::T_DIR,
            Err(_) => false, // closed, or a pipe
        }
    }

    /// Makes call `n` with generated arguments; returns the kernel's a0.
    fn call(&mut self, n: usize) -> isize {
        let a = match n {
            nr::FORK => return self.fork(),
            nr::EXIT => return self.exit(),
            nr::WAIT => [self.wait_ptr(), 0, 0, 0, 0, 0],
            nr::PIPE => [self.out_ptr(), 0, 0, 0, 0, 0],
            nr::READ | nr::WRITE => {
                let fd = self.fd();
                if !Self::io_safe(fd) {
                    return -1; // not made: counted as a failed call
                }
                let buf = if n == nr::READ { self.out_ptr() } else { self.any_ptr() };
                let mut len = self.len();
                if n == nr::WRITE && buf >= self.w.scratch && buf < self.w.scratch + SCRATCH {
                    len %= SCRATCH + 1; // never gigabytes of heap into a file
                }
                [fd, buf, len, 0, 0, 0]
            }
            nr::KILL => [self.kill_target(), 0, 0, 0, 0, 0],
            nr::EXEC => return self.exec(),
            nr::FSTAT => [self.fd(), self.out_ptr(), 0, 0, 0, 0],
            nr::CHDIR | nr::UNLINK | nr::MKDIR => [self.path(), 0, 0, 0, 0, 0],
            nr::DUP | nr::CLOSE => [self.fd(), 0, 0, 0, 0, 0],
            nr::GETPID | nr::UPTIME => [0; 6],
            nr::SBRK => {
                let r = &mut self.rng;
                let brk = ulib::memory::brk();
                let delta: isize = match r.below(10) {
                    0 => 0,
                    1 => r.below(3 * PG) as isize,
                    2 => -(r.below(2 * PG) as isize),
                    3 => -(brk as isize) - 1,
                    4 => -(brk as isize),
                    5 => i32::MIN as isize,
                    6 => i32::MAX as isize,
                    7 => 1 << 30,
                    8 => r.next() as isize,
                    _ => PG as isize,
                };
                [delta as usize, r.pick(&[1, 2, 0, 3, usize::MAX]), 0, 0, 0, 0]
            }
            nr::PAUSE => {
                let t = if self.rng.one_in(16) { 1 } else { self.rng.pick(&[0, -1, i32::MIN as isize]) };
                [t as usize, 0, 0, 0, 0, 0]
            }
            nr::OPEN => {
                let flags = match self.rng.below(3) {
                    0 => self.bits(),
                    _ => self.rng.pick(&[0, 1, 2, 0x202, 0x401, 0x602, 0x201, 0x400, 0x200]),
                };
                [self.path(), flags, 0, 0, 0, 0]
            }
            nr::MKNOD => {
                [self.path(), self.rng.next() as u16 as usize, self.rng.next() as u16 as usize, 0, 0, 0]
            }
            nr::LINK => [self.path(), self.path(), 0, 0, 0, 0],
            nr::MMAP => self.mmap_args(),
            nr::MUNMAP => [self.range_start(), self.len(), 0, 0, 0, 0],
            nr::MPROTECT | nr::MSYNC | nr::MADVISE => {
                let addr = self.range_start();
                let arg = match (n, self.rng.below(4)) {
                    (_, 0) => self.bits(),
                    (nr::MPROTECT | nr::MSYNC, _) => self.rng.below(8),
                    _ => self.rng.pick(&[0, 1, 2, 3, 4, 5, 100, usize::MAX]),
                };
                [addr, self.len(), arg, 0, 0, 0]
            }
            nr::KSTAT => {
                [self.rng.pick(&[0, 3, 7, 12, 13, 14, 15, 1000, usize::MAX, 1 << 32]), 0, 0, 0, 0, 0]
            }
            nr::VMMAPS => {
                let pid = self.rng.pick(&[0, 1, -1, 99999, i32::MIN as isize, self.last_child]) as usize;
                let max = self.rng.pick(&[0usize, 1, 2, 16, 0xffff_ffff, 0x7fff_ffff, 1 << 32]);
                [pid, self.out_ptr(), max, 0, 0, 0]
            }
            _ => {
                let mut a = [0; 6];
                for x in a.iter_mut() {
                    *x = self.any_ptr();
                }
                a
            }
        };
        // SAFETY: the chunk is a disposable child: whatever the call does to its memory (the
        // worst being a kill, or corrupted state that the watchdog ends), the parent's memory
        // is its own. Pointers the kernel writes through avoid the stack (`out_ptr`).
        unsafe { sys::syscall(n, a) }
    }

    /// The start of a range for munmap, mprotect, msync and madvise: mostly a page of the mmap
    /// area (most often among the chunk's [`make_targets`]), sometimes any pointer (its image,
    /// stack, heap, kernel addresses, unaligned ones).
    fn range_start(&mut self) -> usize {
        match self.rng.below(6) {
            0 | 1 => self.any_ptr(),
            2 => MMAP_BASE + self.rng.below(300) * PG,
            _ => MMAP_BASE + self.rng.below(TARGET_PAGES) * PG,
        }
    }

    /// A status pointer for wait: mostly null or scratch.
    fn wait_ptr(&mut self) -> usize {
        if self.rng.one_in(2) {
            0
        } else {
            self.out_ptr()
        }
    }

    /// fork: the child exits at once (with a random status), so that wait finds something.
    fn fork(&mut self) -> isize {
        let status = self.rng.below(256) as i32 - 128;
        let pid = sys::fork();
        if pid == 0 {
            sys::exit(status);
        }
        if pid > 0 {
            self.last_child = pid;
        }
        pid
    }

    /// exit, in a child (with a random status); returns the child's pid.
    fn exit(&mut self) -> isize {
        let status = self.rng.next() as usize;
        let pid = sys::fork();
        if pid == 0 {
            // SAFETY: exit touches no memory.
            unsafe { sys::syscall(nr::EXIT, [status, 0, 0, 0, 0, 0]) };
            sys::exit(0);
        }
        pid
    }

    /// A pid to kill: never the parent or the shell, rarely this process itself.
    fn kill_target(&mut self) -> usize {
        let pid = match self.rng.below(40) {
            0 if self.rng.one_in(8) => sys::getpid(),
            0 => 0,
            1..=8 => self.last_child,
            9..=12 => 1,
            13..=16 => 0,
            17..=20 => -1,
            21..=24 => i32::MIN as isize,
            25..=28 => 99999,
            _ => {
                // A child of our own that is still around: kill it.
                let pid = sys::fork();
                if pid == 0 {
                    let _ = sys::pause(1);
                    sys::exit(0);
                }
                pid
            }
        };
        pid as usize
    }

    /// exec in a child: the chunk waits for it; its status says how it went (0: exec
    /// failed, 77: a hand-made image ran, -1: killed).
    fn exec(&mut self) -> isize {
        let path = match self.rng.below(8) {
            0 => self.any_ptr(),
            1 | 2 => self.w.paths[9],  // fzx0: junk
            3 | 4 => self.w.paths[10], // fzx1: broken ELF
            5 => self.w.paths[11],     // fzx2: broken ELF
            _ => self.path(),
        };
        let argv = if self.rng.one_in(4) { self.any_ptr() } else { self.rng.pick(&self.w.argvs) };
        let pid = sys::fork();
        if pid == 0 {
            let r = sys::exec(path as *const u8, argv as *const *const u8);
            sys::exit(if r == -1 { 0 } else { 1 });
        }
        if pid < 0 {
            return -1;
        }
        let mut status = 0i32;
        loop {
            // SAFETY: `status` is a live local i32.
            let w = unsafe { sys::wait(&mut status) };
            if w == pid || w < 0 {
                break;
            }
        }
        // Report it as the call's result: -1 when exec failed, as it should have.
        if status == 0 {
            -1
        } else {
            status as isize
        }
    }

    /// mmap arguments: addresses anywhere (MAP_FIXED over text, stack, heap and scratch
    /// included), odd lengths, random protections and flags, descriptors, offsets.
    fn mmap_args(&mut self) -> [usize; 6] {
        let addr = match self.rng.below(6) {
            0 => 0,
            1 => self.any_ptr() & !(PG - 1),
            2 => abi::USER_TOP - PG * (1 + self.rng.below(2)),
            3 => {
                self.rng.pick(&[
                    text_probe as *const () as usize,
                    self.stack,
                    self.w.scratch,
                    ulib::memory::brk(),
                ]) & !(PG - 1)
            }
            _ => MMAP_BASE + self.rng.below(300) * PG,
        };
        let len = if self.rng.one_in(2) { PG * (1 + self.rng.below(8)) } else { self.len() };
        let prot = if self.rng.one_in(4) { self.bits() } else { self.rng.below(8) };
        let base = self.rng.pick(&[abi::MAP_PRIVATE, abi::MAP_SHARED, 0, 3]);
        let mut flags = base;
        for f in [
            abi::MAP_FIXED,
            abi::MAP_ANONYMOUS,
            abi::MAP_ANONYMOUS,
            abi::MAP_POPULATE,
            abi::MAP_FIXED_NOREPLACE,
        ] {
            if self.rng.one_in(3) {
                flags |= f;
            }
        }
        if self.rng.one_in(10) {
            flags |= self.bits();
        }
        if flags & abi::MAP_POPULATE != 0 && len > 64 * PG {
            flags &= !abi::MAP_POPULATE; // populate gigabytes: slow, and nothing new
        }
        let fd =
            if flags & abi::MAP_ANONYMOUS != 0 && self.rng.below(4) != 0 { usize::MAX } else { self.fd() };
        let off = self.rng.pick(&[0, 0, PG, 2 * PG, 1, usize::MAX & !(PG - 1), 1 << 40]);
        [addr, len, prot, flags, fd, off]
    }
}

/// A function whose address is a pointer into the text.
#[inline(never)]
fn text_probe() {}
