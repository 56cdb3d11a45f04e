//! Typed file-system calls: paths as byte strings (made NUL-terminated here), buffers as
//! slices, results as [`SysResult`], `fstat` decoded into [`Stat`], directory entries decoded
//! into [`DirEntry`].
//!
//! Nothing here retries or hides a failure: a call that fails yields the kernel's raw result
//! inside [`SysError`]. Raw pointer access is in [`crate::sys`].

use crate::sys;
use alloc::vec::Vec;
use core::fmt;

pub use abi::Stat;

/// A failed system call: what the kernel returned (normally -1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SysError(pub isize);

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "returned {}", self.0)
    }
}

/// The result of a typed system call.
pub type SysResult<T> = Result<T, SysError>;

/// Turns a raw result into `Ok(value)` when it is not negative.
pub fn check(ret: isize) -> SysResult<usize> {
    if ret < 0 {
        Err(SysError(ret))
    } else {
        Ok(ret as usize)
    }
}

/// Calls `f` with a pointer to a NUL-terminated copy of `s` (or `s` itself when it already
/// ends in NUL). Short strings are copied on the stack, long ones on the heap.
pub fn with_cstr<R>(s: &[u8], f: impl FnOnce(*const u8) -> R) -> R {
    if s.last() == Some(&0) {
        return f(s.as_ptr());
    }
    const SHORT: usize = 160;
    if s.len() < SHORT {
        let mut buf = [0u8; SHORT];
        buf[..s.len()].copy_from_slice(s);
        f(buf.as_ptr())
    } else {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s);
        v.push(0);
        f(v.as_ptr())
    }
}

/// Opens `path` with `flags` (`abi::O_*`); returns the new descriptor.
pub fn open(path: impl AsRef<[u8]>, flags: usize) -> SysResult<i32> {
    with_cstr(path.as_ref(), |p| check(sys::open(p, flags))).map(|fd| fd as i32)
}

/// Closes `fd`.
pub fn close(fd: i32) -> SysResult<()> {
    check(sys::close(fd)).map(drop)
}

/// Reads up to `buf.len()` bytes; `Ok(0)` at end of file.
pub fn read(fd: i32, buf: &mut [u8]) -> SysResult<usize> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, which we borrow mutably.
    check(unsafe { sys::read(fd, buf.as_mut_ptr(), buf.len()) })
}

/// Reads until `buf` is full or end of file; returns the bytes read.
pub fn read_full(fd: i32, buf: &mut [u8]) -> SysResult<usize> {
    let mut done = 0;
    while done < buf.len() {
        match read(fd, &mut buf[done..])? {
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}

/// Reads everything left in `fd` into a vector.
pub fn read_to_end(fd: i32) -> SysResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        match read(fd, &mut chunk)? {
            0 => return Ok(out),
            n => out.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Writes `buf` once; returns the bytes written (possibly fewer than asked).
pub fn write(fd: i32, buf: &[u8]) -> SysResult<usize> {
    check(sys::write(fd, buf.as_ptr(), buf.len()))
}

/// Writes all of `buf`, repeating after short writes; a write of 0 bytes is an error.
pub fn write_all(fd: i32, mut buf: &[u8]) -> SysResult<()> {
    while !buf.is_empty() {
        match write(fd, buf)? {
            0 => return Err(SysError(0)),
            n => buf = &buf[n..],
        }
    }
    Ok(())
}

/// Duplicates `fd` onto the lowest free descriptor.
pub fn dup(fd: i32) -> SysResult<i32> {
    check(sys::dup(fd)).map(|fd| fd as i32)
}

/// Makes a pipe; returns `(read end, write end)`.
pub fn pipe() -> SysResult<(i32, i32)> {
    let mut fds = [-1i32; 2];
    // SAFETY: the kernel writes two i32s into `fds`, a local array.
    check(unsafe { sys::pipe(fds.as_mut_ptr()) })?;
    Ok((fds[0], fds[1]))
}

/// `fstat`, decoded.
pub fn fstat(fd: i32) -> SysResult<Stat> {
    let mut raw = [0u8; Stat::SIZE];
    // SAFETY: the kernel writes `Stat::SIZE` bytes into `raw`, a local array of that size.
    check(unsafe { sys::fstat(fd, raw.as_mut_ptr()) })?;
    Ok(Stat::from_bytes(&raw))
}

/// `stat` of a path: open read-only, `fstat`, close.
pub fn stat(path: impl AsRef<[u8]>) -> SysResult<Stat> {
    let fd = open(path, abi::O_RDONLY)?;
    let st = fstat(fd);
    let _ = close(fd);
    st
}

/// Creates a device node.
pub fn mknod(path: impl AsRef<[u8]>, major: i16, minor: i16) -> SysResult<()> {
    with_cstr(path.as_ref(), |p| check(sys::mknod(p, major, minor))).map(drop)
}

/// Removes a directory entry.
pub fn unlink(path: impl AsRef<[u8]>) -> SysResult<()> {
    with_cstr(path.as_ref(), |p| check(sys::unlink(p))).map(drop)
}

/// Makes `new` another name of `old`.
pub fn link(old: impl AsRef<[u8]>, new: impl AsRef<[u8]>) -> SysResult<()> {
    with_cstr(old.as_ref(), |o| with_cstr(new.as_ref(), |n| check(sys::link(o, n)))).map(drop)
}

/// Creates a directory.
pub fn mkdir(path: impl AsRef<[u8]>) -> SysResult<()> {
    with_cstr(path.as_ref(), |p| check(sys::mkdir(p))).map(drop)
}

/// Changes the working directory.
pub fn chdir(path: impl AsRef<[u8]>) -> SysResult<()> {
    with_cstr(path.as_ref(), |p| check(sys::chdir(p))).map(drop)
}

/// One directory entry as `read()` returns it from a directory: `{ u16 inum; char name[14] }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Inode number; 0 marks a free slot.
    pub inum: u16,
    /// The name, NUL-padded (not terminated when it is 14 bytes long).
    pub raw_name: [u8; abi::DIRSIZ],
}

impl DirEntry {
    /// Bytes per entry on disk and in `read()`.
    pub const SIZE: usize = 2 + abi::DIRSIZ;

    /// Decodes one 16-byte entry.
    pub fn from_bytes(b: &[u8; Self::SIZE]) -> DirEntry {
        let mut raw_name = [0u8; abi::DIRSIZ];
        raw_name.copy_from_slice(&b[2..]);
        DirEntry { inum: u16::from_le_bytes([b[0], b[1]]), raw_name }
    }

    /// The name without its NUL padding.
    pub fn name(&self) -> &[u8] {
        let len = self.raw_name.iter().position(|&c| c == 0).unwrap_or(abi::DIRSIZ);
        &self.raw_name[..len]
    }
}

/// Reads the next entry (free slots included) from directory `fd`; `Ok(None)` at the end.
/// A short read is reported as an error carrying the byte count.
pub fn read_dirent(fd: i32) -> SysResult<Option<DirEntry>> {
    let mut b = [0u8; DirEntry::SIZE];
    match read_full(fd, &mut b)? {
        0 => Ok(None),
        DirEntry::SIZE => Ok(Some(DirEntry::from_bytes(&b))),
        n => Err(SysError(n as isize)),
    }
}

/// All used entries (inum != 0) of directory `path`.
pub fn read_dir(path: impl AsRef<[u8]>) -> SysResult<Vec<DirEntry>> {
    let fd = open(path, abi::O_RDONLY)?;
    let mut out = Vec::new();
    let result = loop {
        match read_dirent(fd) {
            Ok(Some(e)) if e.inum != 0 => out.push(e),
            Ok(Some(_)) => {}
            Ok(None) => break Ok(out),
            Err(e) => break Err(e),
        }
    };
    let _ = close(fd);
    result
}
