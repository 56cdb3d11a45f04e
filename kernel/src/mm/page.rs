//! Raw page primitives: copying and zeroing the bytes of physical frames. Every byte the
//! kernel moves into or out of a frame that user mappings may also reach (cache pages,
//! anonymous pages) goes through here, so the rest of the memory system needs no `unsafe`.
//!
//! The caller must hold a reference to every frame it names (`frame::alloc` or
//! `frame::share`), so the frame cannot be recycled during the copy. User mappings may store
//! into the same frame on another hart meanwhile: the copies are plain byte copies through raw
//! pointers, never Rust references to the frame, and such a race gives a mixture of old and new
//! bytes, as it would on any Unix.

use super::addr::{PhysAddr, PhysMem, PGSIZE};
use core::ptr;

/// Checks that `[off, off + len)` lies inside one page and returns the pointer to `pa + off`.
fn at(pa: PhysAddr, off: usize, len: usize) -> *mut u8 {
    assert!(pa.is_page_aligned() && off <= PGSIZE && len <= PGSIZE - off, "page: bad range");
    pa.as_ptr::<u8>().wrapping_add(off)
}

/// Copies `src` into frame `pa` at byte `off`.
///
/// # Panics
/// If the range leaves the page (a kernel bug).
pub fn write(pa: PhysAddr, off: usize, src: &[u8]) {
    let dst = at(pa, off, src.len());
    // SAFETY: the caller holds a reference to the frame (module docs); the range was checked
    // to lie inside it, and a kernel buffer never overlaps a frame it is copied into.
    unsafe { ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
}

/// Copies bytes of frame `pa` from byte `off` into `dst`.
///
/// # Panics
/// If the range leaves the page (a kernel bug).
pub fn read(pa: PhysAddr, off: usize, dst: &mut [u8]) {
    let src = at(pa, off, dst.len());
    // SAFETY: as in `write`, with the roles swapped.
    unsafe { ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), dst.len()) };
}

/// Copies `len` bytes from `src + src_off` to `dst + dst_off` (both inside their pages). The
/// frames may be the same one (a `read` into a shared mapping of the file being read): the
/// copy then behaves as `memmove`.
///
/// # Panics
/// If a range leaves its page (a kernel bug).
pub fn copy(dst: PhysAddr, dst_off: usize, src: PhysAddr, src_off: usize, len: usize) {
    let (d, s) = (at(dst, dst_off, len), at(src, src_off, len));
    // SAFETY: both frames are held by the caller (module docs) and the ranges lie inside
    // them; `ptr::copy` allows them to overlap.
    unsafe { ptr::copy(s, d, len) };
}

/// Copies the whole frame `src` into the frame `dst`.
pub fn copy_page(dst: PhysAddr, src: PhysAddr) {
    copy(dst, 0, src, 0, PGSIZE);
}

/// Zeroes frame `pa` from byte `from` to its end.
///
/// # Panics
/// If `from` is past the page (a kernel bug).
pub fn zero_from(pa: PhysAddr, from: usize) {
    let p = at(pa, from, PGSIZE - from.min(PGSIZE));
    // SAFETY: as in `write`.
    unsafe { ptr::write_bytes(p, 0, PGSIZE - from) };
}
