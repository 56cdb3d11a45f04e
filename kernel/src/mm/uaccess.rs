//! The only way the kernel reads or writes user memory: the current process's address space
//! (`vm::Vm`) walks its page table in software, page by page, faulting in pages the space
//! allows (lazy heap, mappings) and checking the U and R/W permission bits. A bad address
//! yields `Errno::Fault`; nothing here can crash the kernel.
//!
//! `UserPages::pin_in` is the one way to read user memory later, with locks held that a
//! fault could need: it takes a reference to each frame of a range under the address-space
//! lock, as `copy_in` would find them, and the bytes are copied from those frames afterwards.

use super::{frame, page, PhysAddr, PGSIZE};
use crate::proc;
use abi::Errno;

/// Copies `src` to user address `dst` in the current process.
pub fn copy_out(dst: usize, src: &[u8]) -> Result<(), Errno> {
    proc::with_vm(|vm| vm.copy_out(dst, src))
}

/// Copies from user address `src` in the current process into `dst`.
pub fn copy_in(dst: &mut [u8], src: usize) -> Result<(), Errno> {
    proc::with_vm(|vm| vm.copy_in(dst, src))
}

/// Copies a NUL-terminated string from user address `src` into `buf`, returning its length
/// (without the NUL). Fails if there is no NUL within `buf.len()` bytes.
pub fn copy_in_str(buf: &mut [u8], src: usize) -> Result<usize, Errno> {
    proc::with_vm(|vm| vm.copy_in_str(buf, src))
}

/// Reads a little-endian u64 from user memory.
pub fn read_u64(src: usize) -> Result<u64, Errno> {
    let mut b = [0u8; 8];
    copy_in(&mut b, src)?;
    Ok(u64::from_le_bytes(b))
}

/// Copies `len` bytes of frame `pa` from byte `off` (inside the page) to user address `dst`
/// in the current process. The caller holds a reference to the frame.
pub fn copy_out_frame(dst: usize, pa: PhysAddr, off: usize, len: usize) -> Result<(), Errno> {
    proc::with_vm(|vm| vm.copy_out_frame(dst, pa, off, len))
}

/// The most pages a [`UserPages`] holds.
pub const MAX_PINNED_PAGES: usize = 17;

/// The most bytes `UserPages::pin_in` takes at once: whatever their alignment, they span at
/// most `MAX_PINNED_PAGES` pages.
pub const MAX_PINNED_BYTES: usize = (MAX_PINNED_PAGES - 1) * PGSIZE;

/// The frames behind a range of the current process's memory that the user may read, each
/// with a frame reference taken under the address-space lock ([`UserPages::pin_in`]). The
/// kernel can copy from them afterwards with any lock held, since nothing about them can
/// fault or sleep:
/// `write` copies the user's bytes straight into the file's cache pages under the inode lock.
/// The bytes are the user's: another process sharing a page may store into it meanwhile, as
/// it could during `copy_in`. Dropping it drops the references.
pub struct UserPages {
    /// The pinned frames, the range's first page first: `count` of them.
    frames: [Option<PhysAddr>; MAX_PINNED_PAGES],
    count: usize,
    /// Where the range starts in its first page.
    first_off: usize,
}

impl UserPages {
    /// Nothing pinned yet.
    pub const fn new() -> UserPages {
        UserPages { frames: [None; MAX_PINNED_PAGES], count: 0, first_off: 0 }
    }

    /// Pins the `len` bytes (at most `MAX_PINNED_BYTES`) at user address `src` of the current
    /// process for reading, in place of what was pinned before: faults pages in and fails
    /// [Fault] exactly where `copy_in` would, and takes a reference to each frame. (Filled in
    /// place: a `UserPages` is not moved once it is made, which costs a copy of its table.)
    ///
    /// # Panics
    /// If `len` exceeds `MAX_PINNED_BYTES` (a kernel bug).
    pub fn pin_in(&mut self, src: usize, len: usize) -> Result<(), Errno> {
        assert!(len <= MAX_PINNED_BYTES, "pin_in: {len} bytes");
        self.release();
        self.first_off = src % PGSIZE;
        proc::with_vm(|vm| {
            vm.pin_for_read(src, len, |pa| {
                self.frames[self.count] = Some(pa);
                self.count += 1;
            })
        })
    }

    /// Drops the references, leaving nothing pinned.
    pub fn release(&mut self) {
        for pa in self.frames[..self.count].iter_mut().filter_map(Option::take) {
            frame::free(pa);
        }
        self.count = 0;
    }

    /// Whether frame `pa` is one of the pinned frames (a store into it would change the
    /// bytes still to be copied).
    pub fn holds(&self, pa: PhysAddr) -> bool {
        self.frames[..self.count].contains(&Some(pa))
    }

    /// Copies the `len` bytes from byte `from` of the range into frame `dst` at byte `at`
    /// (inside that page; the caller holds a reference to `dst`).
    pub fn copy_to_frame(&self, from: usize, dst: PhysAddr, at: usize, len: usize) {
        self.pieces(from, len, |pa, off, done, n| page::copy(dst, at + done, pa, off, n));
    }

    /// Copies the bytes from byte `from` of the range into `dst`.
    pub fn copy_to_slice(&self, from: usize, dst: &mut [u8]) {
        let len = dst.len();
        self.pieces(from, len, |pa, off, done, n| page::read(pa, off, &mut dst[done..done + n]));
    }

    /// Calls `f(frame, offset, done, n)` for each piece of the range's bytes [from, from +
    /// len): `n` bytes at `offset` of `frame`, `done` bytes into the piece list.
    ///
    /// # Panics
    /// If the bytes lie past the pinned pages (a kernel bug).
    fn pieces(&self, from: usize, len: usize, mut f: impl FnMut(PhysAddr, usize, usize, usize)) {
        let mut done = 0;
        while done < len {
            let pos = self.first_off + from + done;
            let (k, off) = (pos / PGSIZE, pos % PGSIZE);
            let pa = self.frames[..self.count][k].expect("UserPages: unpinned page");
            let n = (PGSIZE - off).min(len - done);
            f(pa, off, done, n);
            done += n;
        }
    }
}

impl Drop for UserPages {
    fn drop(&mut self) {
        self.release();
    }
}
