//! Raw system calls: one function per call of ABI.md (1..23) plus the project's extensions
//! (`poweroff`, `kstat`, `vmmaps`, `mprotect`, `msync`, `madvise`), each returning exactly what the kernel put in `a0` (-1 on failure).
//!
//! Arguments are passed as the kernel sees them, pointers included, so that tests can hand the
//! kernel any address at all. Calls through which the kernel only *reads* user memory are safe
//! functions: the kernel validates every pointer, so the worst a bad one does is make the call
//! fail. Calls through which the kernel *writes* user memory (or unmaps it) are `unsafe`,
//! because they could overwrite memory Rust code relies on. This module does no checking and
//! no conversion; [`crate::fs`], [`crate::process`] and [`crate::memory`] build on it.

use abi::sys as nr;
use core::arch::asm;

/// Performs system call `n` with six arguments and returns the kernel's `a0`.
///
/// # Safety
/// The kernel may write to any memory the arguments name, and may change the address space
/// (sbrk, mmap, munmap): the caller must make sure that such effects cannot break memory that
/// Rust code is using.
#[inline(always)]
pub unsafe fn syscall(n: usize, args: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: `ecall` transfers control to the kernel, which restores every register except
    // a0 and touches only memory the arguments name; the caller vouches for that memory. The
    // asm block is not marked `nomem`, so the compiler assumes memory may have changed.
    unsafe {
        asm!(
            "ecall",
            inlateout("a0") args[0] => ret,
            in("a1") args[1],
            in("a2") args[2],
            in("a3") args[3],
            in("a4") args[4],
            in("a5") args[5],
            in("a7") n,
            options(nostack),
        );
    }
    ret
}

/// A call through which the kernel neither writes user memory nor changes the address space.
#[inline(always)]
fn harmless(n: usize, args: [usize; 6]) -> isize {
    // SAFETY: the callers below only pass calls that read user memory (which the kernel
    // validates) or that touch no user memory at all.
    unsafe { syscall(n, args) }
}

/// `int fork(void)`: the child's pid in the parent, 0 in the child, -1 on failure.
pub fn fork() -> isize {
    harmless(nr::FORK, [0; 6])
}

/// `void exit(int status)`: ends the process; never returns.
pub fn exit(status: i32) -> ! {
    harmless(nr::EXIT, [status as isize as usize, 0, 0, 0, 0, 0]);
    // The kernel never returns from exit; spin rather than run on if it did.
    loop {
        core::hint::spin_loop();
    }
}

/// `int wait(int *status)`: waits for a child to exit; returns its pid (or -1 when there are
/// no children) and stores its exit status at `status` unless that is 0.
///
/// # Safety
/// `status` is written by the kernel: it must be 0, or point at no memory Rust code uses
/// other than a live, writable `i32`.
pub unsafe fn wait(status: *mut i32) -> isize {
    // SAFETY: the caller vouches for `status`.
    unsafe { syscall(nr::WAIT, [status as usize, 0, 0, 0, 0, 0]) }
}

/// `int pipe(int fds[2])`: stores the read and write ends at `fds[0]` and `fds[1]`.
///
/// # Safety
/// The kernel writes two `i32`s at `fds`; see [`wait`].
pub unsafe fn pipe(fds: *mut i32) -> isize {
    // SAFETY: the caller vouches for `fds`.
    unsafe { syscall(nr::PIPE, [fds as usize, 0, 0, 0, 0, 0]) }
}

/// `int read(int fd, void *buf, int n)`: bytes read, 0 at end of file, -1 on failure.
///
/// # Safety
/// The kernel writes up to `n` bytes at `buf`; see [`wait`].
pub unsafe fn read(fd: i32, buf: *mut u8, n: usize) -> isize {
    // SAFETY: the caller vouches for `buf`.
    unsafe { syscall(nr::READ, [fd as isize as usize, buf as usize, n, 0, 0, 0]) }
}

/// `int write(int fd, const void *buf, int n)`: bytes written or -1.
pub fn write(fd: i32, buf: *const u8, n: usize) -> isize {
    harmless(nr::WRITE, [fd as isize as usize, buf as usize, n, 0, 0, 0])
}

/// `int kill(int pid)`: 0 or -1.
pub fn kill(pid: i32) -> isize {
    harmless(nr::KILL, [pid as isize as usize, 0, 0, 0, 0, 0])
}

/// `int exec(const char *path, char **argv)`: returns only on failure, with -1.
pub fn exec(path: *const u8, argv: *const *const u8) -> isize {
    harmless(nr::EXEC, [path as usize, argv as usize, 0, 0, 0, 0])
}

/// `int fstat(int fd, struct stat *st)`: fills the 24-byte `struct stat` at `st`.
///
/// # Safety
/// The kernel writes 24 bytes at `st`; see [`wait`].
pub unsafe fn fstat(fd: i32, st: *mut u8) -> isize {
    // SAFETY: the caller vouches for `st`.
    unsafe { syscall(nr::FSTAT, [fd as isize as usize, st as usize, 0, 0, 0, 0]) }
}

/// `int chdir(const char *path)`.
pub fn chdir(path: *const u8) -> isize {
    harmless(nr::CHDIR, [path as usize, 0, 0, 0, 0, 0])
}

/// `int dup(int fd)`: the new descriptor (the lowest free one) or -1.
pub fn dup(fd: i32) -> isize {
    harmless(nr::DUP, [fd as isize as usize, 0, 0, 0, 0, 0])
}

/// `int getpid(void)`.
pub fn getpid() -> isize {
    harmless(nr::GETPID, [0; 6])
}

/// `char *sbrk(int n, int type)`: moves the break by `n` bytes (type 1 eager, 2 lazy) and
/// returns the old break, or -1.
///
/// # Safety
/// A negative `n` unmaps the top of the heap: no memory Rust code uses may lie there (the
/// allocator's memory does, unless the caller grew the break itself just before).
pub unsafe fn sbrk(n: isize, kind: usize) -> isize {
    // SAFETY: the caller vouches that shrinking frees nothing in use.
    unsafe { syscall(nr::SBRK, [n as usize, kind, 0, 0, 0, 0]) }
}

/// `int pause(int ticks)`: sleeps for `ticks` clock ticks (0.1 s each).
pub fn pause(ticks: i32) -> isize {
    harmless(nr::PAUSE, [ticks as isize as usize, 0, 0, 0, 0, 0])
}

/// `int uptime(void)`: ticks since boot.
pub fn uptime() -> isize {
    harmless(nr::UPTIME, [0; 6])
}

/// `int open(const char *path, int flags)`: a descriptor or -1.
pub fn open(path: *const u8, flags: usize) -> isize {
    harmless(nr::OPEN, [path as usize, flags, 0, 0, 0, 0])
}

/// `int mknod(const char *path, short major, short minor)`.
pub fn mknod(path: *const u8, major: i16, minor: i16) -> isize {
    harmless(nr::MKNOD, [path as usize, major as isize as usize, minor as isize as usize, 0, 0, 0])
}

/// `int unlink(const char *path)`.
pub fn unlink(path: *const u8) -> isize {
    harmless(nr::UNLINK, [path as usize, 0, 0, 0, 0, 0])
}

/// `int link(const char *old, const char *new)`.
pub fn link(old: *const u8, new: *const u8) -> isize {
    harmless(nr::LINK, [old as usize, new as usize, 0, 0, 0, 0])
}

/// `int mkdir(const char *path)`.
pub fn mkdir(path: *const u8) -> isize {
    harmless(nr::MKDIR, [path as usize, 0, 0, 0, 0, 0])
}

/// `int close(int fd)`.
pub fn close(fd: i32) -> isize {
    harmless(nr::CLOSE, [fd as isize as usize, 0, 0, 0, 0, 0])
}

/// `void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)`: the
/// mapping's address, or -1.
///
/// # Safety
/// With `MAP_FIXED` the mapping replaces whatever was at `addr`; the caller must make sure
/// no memory Rust code uses lies there.
pub unsafe fn mmap(addr: usize, len: usize, prot: usize, flags: usize, fd: i32, off: usize) -> isize {
    // SAFETY: the caller vouches for the range.
    unsafe { syscall(nr::MMAP, [addr, len, prot, flags, fd as isize as usize, off]) }
}

/// `int munmap(void *addr, size_t len)`.
///
/// # Safety
/// The range stops being memory: nothing Rust code uses may lie in it.
pub unsafe fn munmap(addr: usize, len: usize) -> isize {
    // SAFETY: the caller vouches for the range.
    unsafe { syscall(nr::MUNMAP, [addr, len, 0, 0, 0, 0]) }
}

/// Extension `int mprotect(void *addr, size_t len, int prot)`.
///
/// # Safety
/// Access to the range may be taken away: nothing Rust code uses may need more access than
/// `prot` gives.
pub unsafe fn mprotect(addr: usize, len: usize, prot: usize) -> isize {
    // SAFETY: the caller vouches for the range.
    unsafe { syscall(nr::MPROTECT, [addr, len, prot, 0, 0, 0]) }
}

/// Extension `int msync(void *addr, size_t len, int flags)`. Safe: writing back changes no
/// memory, and invalidation only drops pages that equal the file.
pub fn msync(addr: usize, len: usize, flags: usize) -> isize {
    harmless(nr::MSYNC, [addr, len, flags, 0, 0, 0])
}

/// Extension `int madvise(void *addr, size_t len, int advice)`.
///
/// # Safety
/// `MADV_DONTNEED` discards the contents of private pages (anonymous ones read as zeros
/// again): nothing Rust code uses may lie in the range.
pub unsafe fn madvise(addr: usize, len: usize, advice: usize) -> isize {
    // SAFETY: the caller vouches for the range.
    unsafe { syscall(nr::MADVISE, [addr, len, advice, 0, 0, 0]) }
}

/// Extension `void poweroff(int status)`: stops the machine; QEMU exits with `status`.
pub fn poweroff(status: i32) -> ! {
    harmless(nr::POWEROFF, [status as isize as usize, 0, 0, 0, 0, 0]);
    // A kernel without the extension returns -1: idle rather than spin.
    loop {
        pause(100);
    }
}

/// Extension `uint64 kstat(int counter)`: one kernel counter (see `abi::kstat`), or
/// `u64::MAX` (-1) for an unknown counter.
pub fn kstat(counter: usize) -> u64 {
    harmless(nr::KSTAT, [counter, 0, 0, 0, 0, 0]) as u64
}

/// Extension `int vmmaps(int pid, struct vmmap *buf, int max)`: writes up to `max` records
/// (`abi::VmMap`, 48 bytes each) of the mappings of process `pid` (0: this one) at `buf`;
/// returns how many mappings the process has, or -1.
///
/// # Safety
/// The kernel writes up to `max` records at `buf`: that memory must be the caller's to
/// overwrite.
pub unsafe fn vmmaps(pid: i32, buf: *mut u8, max: i32) -> isize {
    // SAFETY: the caller vouches for the buffer.
    unsafe { syscall(nr::VMMAPS, [pid as isize as usize, buf as usize, max as isize as usize, 0, 0, 0]) }
}

/// A call number the ABI does not define (0, or above the last extension), with zero
/// arguments: for testing how the kernel answers numbers it does not know. Known numbers are
/// refused here with -1 without entering the kernel.
pub fn unknown(n: usize) -> isize {
    if (nr::FORK..=nr::MADVISE).contains(&n) {
        return -1;
    }
    harmless(n, [0; 6])
}
