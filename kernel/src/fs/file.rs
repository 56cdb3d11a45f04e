//! Open files: what a file descriptor refers to. A process holds `Arc<File>` in its `ofile`
//! table; `dup` and `fork` clone the `Arc`, and dropping the last one closes the file
//! (releasing the inode in a transaction of its own, or closing a pipe end).
//!
//! User memory is only touched with no inode lock and no transaction held, so a page fault
//! taken while copying may itself use the file system (even the same file, through a
//! mapping). `read` of a regular file copies straight from the file's cache pages (a frame
//! reference keeps each page while it is copied with no lock held); `write` pins the user's
//! pages first (`UserPages::pin_in`: a frame reference each, taken with no lock held), then
//! copies from them into the cache pages under the inode lock (`fs::filedata`), falling back
//! to a kernel buffer for the rest of a chunk whose own pages are being written (a buffer
//! mapping the same file). Directories go through a kernel buffer both ways. This module must not
//! resolve paths or allocate file descriptors (the system-call layer does).
//!
//! **Dropping the last `Arc<File>` of an inode runs a transaction: never do it between
//! `log::begin_op` and `log::end_op`.**

use super::filedata::Bytes;
use super::inode::Inode;
use super::{log, pipe};
use crate::drivers::console;
use crate::mm::uaccess::{self, UserPages};
use crate::mm::PGSIZE;
use crate::sync::{SleepLock, SpinLock};
use abi::{Errno, Stat, CONSOLE_MAJOR};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ops::{Deref, DerefMut};
use fsformat::{BSIZE, T_DEVICE, T_FILE};

/// An open file.
pub struct File {
    kind: Kind,
    readable: bool,
    writable: bool,
}

enum Kind {
    /// A file or directory, with this open file's offset (the lock also serializes reads and
    /// writes through this open file).
    Inode {
        ip: ClosingInode,
        off: SleepLock<u64>,
        /// A regular file (not a directory): its data is in the inode's page cache.
        regular: bool,
    },
    /// A device node; only the console (major 1) can be read and written.
    Device {
        ip: ClosingInode,
        major: i16,
    },
    PipeRead(pipe::ReadEnd),
    PipeWrite(pipe::WriteEnd),
}

/// An inode reference released in a transaction of its own when dropped.
struct ClosingInode(Option<Inode>);

impl Deref for ClosingInode {
    type Target = Inode;
    fn deref(&self) -> &Inode {
        self.0.as_ref().expect("inode of a closed file")
    }
}

impl Drop for ClosingInode {
    fn drop(&mut self) {
        if let Some(ip) = self.0.take() {
            log::begin_op();
            drop(ip);
            log::end_op();
        }
    }
}

impl File {
    /// An open file for inode `ip`, whose type is `typ` and device major number `major`
    /// (both read by the caller under the inode lock).
    pub fn from_inode(ip: Inode, typ: i16, major: i16, readable: bool, writable: bool) -> File {
        let ip = ClosingInode(Some(ip));
        let kind = if typ == T_DEVICE {
            Kind::Device { ip, major }
        } else {
            Kind::Inode { ip, off: SleepLock::new("file offset", 0), regular: typ == T_FILE }
        };
        File { kind, readable, writable }
    }

    /// A new pipe: (read end, write end).
    pub fn pipe() -> (File, File) {
        let (r, w) = pipe::new();
        (
            File { kind: Kind::PipeRead(r), readable: true, writable: false },
            File { kind: Kind::PipeWrite(w), readable: false, writable: true },
        )
    }

    /// Whether the file was opened for reading (mmap checks this).
    pub fn readable(&self) -> bool {
        self.readable
    }

    /// Whether the file was opened for writing (mmap checks this).
    pub fn writable(&self) -> bool {
        self.writable
    }

    /// The inode behind this file (None for a pipe).
    pub fn inode(&self) -> Option<&Inode> {
        match &self.kind {
            Kind::Inode { ip, .. } | Kind::Device { ip, .. } => Some(ip),
            _ => None,
        }
    }

    /// `fstat`: the inode's metadata (pipes have none).
    pub fn stat(&self) -> Result<Stat, Errno> {
        match self.inode() {
            Some(ip) => Ok(ip.lock().stat()),
            None => Err(Errno::Inval),
        }
    }

    /// Reads up to `n` bytes into user memory at `dst`; returns the count (0 at end of file).
    pub fn read(&self, dst: usize, n: usize) -> Result<usize, Errno> {
        if !self.readable {
            return Err(Errno::BadF);
        }
        match &self.kind {
            Kind::Inode { ip, off, regular } => read_inode(ip, off, *regular, dst, n),
            Kind::Device { major, .. } if *major == CONSOLE_MAJOR => console::read(dst, n),
            Kind::Device { .. } => Err(Errno::Io),
            Kind::PipeRead(r) => r.read(dst, n),
            Kind::PipeWrite(_) => Err(Errno::BadF),
        }
    }

    /// Writes `n` bytes from user memory at `src`; returns the count (short if the disk
    /// fills up or the file reaches its largest size, `MAXFILE_BYTES`; -1 at that size).
    pub fn write(&self, src: usize, n: usize) -> Result<usize, Errno> {
        if !self.writable {
            return Err(Errno::BadF);
        }
        match &self.kind {
            Kind::Inode { ip, off, regular } => write_inode(ip, off, *regular, src, n),
            Kind::Device { major, .. } if *major == CONSOLE_MAJOR => console::write(src, n),
            Kind::Device { .. } => Err(Errno::Io),
            Kind::PipeWrite(w) => w.write(src, n),
            Kind::PipeRead(_) => Err(Errno::BadF),
        }
    }
}

/// The page-cache index of byte `off` of a file, and the offset inside that page.
fn page_of(off: u64) -> (u64, usize) {
    (off / PGSIZE as u64, (off % PGSIZE as u64) as usize)
}

/// A byte count that may exceed `usize` only in theory, as a `usize` (saturating).
fn clamp_len(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A partial result: the count so far, or the error if nothing was transferred.
fn partial(done: usize, e: Errno) -> Result<usize, Errno> {
    if done == 0 {
        Err(e)
    } else {
        Ok(done)
    }
}

fn read_inode(ip: &Inode, off: &SleepLock<u64>, regular: bool, dst: usize, n: usize) -> Result<usize, Errno> {
    let mut off = off.lock();
    let mut done = 0;
    while done < n {
        let va = dst.checked_add(done).ok_or(Errno::Fault);
        let got = va.and_then(|va| {
            if regular {
                if let Some(got) = read_cached_page(ip, *off, va, n - done) {
                    return got;
                }
            }
            let g = ip.lock();
            if g.file_type() == T_FILE {
                read_file_page(g, *off, va, n - done)
            } else {
                read_meta(g, *off, va, n - done)
            }
        });
        let got = match got {
            Ok(0) => break,
            Ok(got) => got,
            Err(e) => return partial(done, e),
        };
        *off += got as u64;
        done += got;
    }
    Ok(done)
}

/// The fast path of `read` for a regular file: when the page holding `off` is cached and
/// inside the file, copies from it as `read_file_page` does, but without the inode lock (the
/// cache mirrors the size; a `read` racing a truncation sees the file before or after it).
/// `None` when the page must be read under the lock.
fn read_cached_page(ip: &Inode, off: u64, dst: usize, n: usize) -> Option<Result<usize, Errno>> {
    let cache = ip.cache();
    let size = cache.size();
    if off >= size {
        return None; // end of file, decided under the lock
    }
    let (index, at) = page_of(off);
    let pa = cache.lookup_fault(index)?;
    let m = (PGSIZE - at).min(n).min(clamp_len(size - off));
    let r = uaccess::copy_out_frame(dst, pa, at, m);
    crate::mm::frame::free(pa);
    Some(r.map(|()| m))
}

/// Copies to user address `dst` the bytes of a regular file from `off` to the end of their
/// page, at most `n`: the page comes from the cache (read from the disk with readahead on a
/// miss), the inode lock `g` is released, and the bytes are copied from the page itself.
/// Returns the count (0 at end of file).
fn read_file_page(g: crate::fs::InodeGuard<'_>, off: u64, dst: usize, n: usize) -> Result<usize, Errno> {
    let size = g.size();
    if off >= size {
        return Ok(0);
    }
    let (index, at) = page_of(off);
    let m = (PGSIZE - at).min(n).min(clamp_len(size - off));
    let cache = g.cache();
    let pa = match cache.lookup_fault(index) {
        Some(pa) => pa,
        None => {
            // Read what this call asks for at once, or more while reads are sequential.
            let wanted = (at + n).div_ceil(PGSIZE) as u64;
            g.page(index, cache.readahead_window(index).max(wanted))?
        }
    };
    drop(g);
    let r = uaccess::copy_out_frame(dst, pa, at, m);
    crate::mm::frame::free(pa);
    r.map(|()| m)
}

/// `read` of a directory: one block's worth through a kernel buffer, copied out once the
/// inode lock `g` is released.
fn read_meta(mut g: crate::fs::InodeGuard<'_>, off: u64, dst: usize, n: usize) -> Result<usize, Errno> {
    let mut kbuf = [0u8; BSIZE];
    let got = g.read(off, &mut kbuf[..n.min(BSIZE)])?;
    drop(g);
    uaccess::copy_out(dst, &kbuf[..got])?;
    Ok(got)
}

/// Bytes of user data copied into the kernel at a time for a write (one transaction takes
/// as much of it as its share of the log allows: 64 KiB of a sequential write logs only the
/// bitmap block, one or two indirect blocks and the inode, so each commit now carries 16
/// pages instead of 4, which writes a big file about 1.8 times as fast as 16 KiB did).
const WRITE_CHUNK: usize = 16 * PGSIZE;

/// How many [`WriteBuffer`]s of `WRITE_CHUNK` bytes are kept for reuse.
const SPARE_BUFFERS: usize = 4;

/// Write buffers no `write` is using, kept so that the next one neither allocates nor zeroes
/// (together that cost more than copying a page in).
static SPARE: SpinLock<[Option<Box<[u8]>>; SPARE_BUFFERS]> =
    SpinLock::new("write buffers", [const { None }; SPARE_BUFFERS]);

/// A kernel buffer for the user bytes of a `write`: a spare one of `WRITE_CHUNK` bytes if
/// there is one, else a new one. Its bytes are stale (another write's): a writer uses only
/// what it copied in. Dropping it keeps it as a spare, when it has the full size and there
/// is room.
struct WriteBuffer(Option<Box<[u8]>>);

impl WriteBuffer {
    /// A buffer of at least `len` bytes (at most `WRITE_CHUNK`); NoMem when the heap has
    /// neither a spare nor room for a new one.
    fn take(len: usize) -> Result<WriteBuffer, Errno> {
        let spare = SPARE.lock().iter_mut().find_map(Option::take);
        if let Some(b) = spare {
            return Ok(WriteBuffer(Some(b)));
        }
        // A full-size buffer can be kept afterwards; a small one when that does not fit.
        for size in [WRITE_CHUNK, len] {
            let mut v = Vec::new();
            if v.try_reserve_exact(size).is_err() {
                continue;
            }
            v.resize(size, 0);
            return Ok(WriteBuffer(Some(v.into_boxed_slice())));
        }
        Err(Errno::NoMem)
    }
}

impl Deref for WriteBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl DerefMut for WriteBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.0.as_deref_mut().unwrap_or(&mut [])
    }
}

impl Drop for WriteBuffer {
    fn drop(&mut self) {
        let Some(b) = self.0.take().filter(|b| b.len() == WRITE_CHUNK) else { return };
        let mut spare = SPARE.lock();
        if let Some(slot) = spare.iter_mut().find(|s| s.is_none()) {
            *slot = Some(b);
            return;
        }
        drop(spare);
        drop(b);
    }
}

/// Writes `n` bytes from user address `src` at the open file's offset `off`, a chunk of
/// `WRITE_CHUNK` bytes at a time, each chunk in as many transactions as the log's
/// per-operation share requires (`InodeGuard::write` stops when the share runs out). A
/// regular file takes a chunk straight from the user's pinned frames; what is left of it when
/// such a write stops short (a page of the chunk's own source reached, or the log's share
/// spent) goes through a kernel buffer, as a directory's whole chunk does. A chunk the user
/// may not read whole is not written at all: the count so far, or -1.
fn write_inode(
    ip: &Inode,
    off: &SleepLock<u64>,
    regular: bool,
    src: usize,
    n: usize,
) -> Result<usize, Errno> {
    let mut off = off.lock();
    let mut kbuf: Option<WriteBuffer> = None;
    let mut pages = UserPages::new();
    let mut done = 0;
    while done < n {
        let m = (n - done).min(WRITE_CHUNK);
        let Some(va) = src.checked_add(done) else { return partial(done, Errno::Fault) };
        let mut direct = 0;
        if regular {
            if let Err(e) = pages.pin_in(va, m) {
                return partial(done, e);
            }
            match write_step(ip, &mut off, Bytes::User { pages: &pages, len: m }) {
                Ok(w) => direct = w,
                Err(e) => return partial(done, e),
            }
            done += direct;
            if direct == m {
                continue;
            }
        }
        if kbuf.is_none() {
            match WriteBuffer::take(n.min(WRITE_CHUNK)) {
                Ok(b) => kbuf = Some(b),
                Err(e) => return partial(done, e),
            }
        }
        let Some(buf) = kbuf.as_deref_mut() else { return partial(done, Errno::NoMem) };
        let buf = &mut buf[..m - direct];
        if regular {
            pages.copy_to_slice(direct, buf);
            pages.release();
        } else if let Err(e) = uaccess::copy_in(buf, va) {
            return partial(done, e);
        }
        let mut next = 0;
        while next < buf.len() {
            match write_step(ip, &mut off, Bytes::Kernel(&buf[next..])) {
                Ok(0) => return Ok(done),
                Ok(w) => {
                    done += w;
                    next += w;
                }
                Err(e) => return partial(done, e),
            }
        }
    }
    Ok(done)
}

/// One transaction of a write: writes what of `src` it can at `*off` and moves the offset
/// past it; returns the count (see `InodeGuard::write`).
fn write_step(ip: &Inode, off: &mut u64, src: Bytes<'_>) -> Result<usize, Errno> {
    log::begin_op();
    let wrote = ip.lock().write_from(*off, src);
    log::end_op();
    if let Ok(w) = wrote {
        *off += w as u64;
    }
    wrote
}
