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
    unsafe { copy_bytes(dst, src.as_ptr(), src.len()) };
}

/// Copies bytes of frame `pa` from byte `off` into `dst`.
///
/// # Panics
/// If the range leaves the page (a kernel bug).
pub fn read(pa: PhysAddr, off: usize, dst: &mut [u8]) {
    let src = at(pa, off, dst.len());
    // SAFETY: as in `write`, with the roles swapped.
    unsafe { copy_bytes(dst.as_mut_ptr(), src, dst.len()) };
}

/// Appends the `len` bytes of frame `pa` from byte `off` to `out`, which must have room for
/// them without growing (no byte of `out`'s spare room is written twice: a kernel buffer
/// for the disk need not be zeroed first).
///
/// # Panics
/// If the range leaves the page or `out` lacks the room (a kernel bug).
pub fn append_to(pa: PhysAddr, off: usize, len: usize, out: &mut alloc::vec::Vec<u8>) {
    let src = at(pa, off, len);
    assert!(out.capacity() - out.len() >= len, "page: no room to append");
    // SAFETY: as in `read`; the destination is `len` bytes of `out`'s spare capacity, which
    // are initialized by the copy before the length covers them.
    unsafe {
        copy_bytes(out.as_mut_ptr().add(out.len()), src, len);
        out.set_len(out.len() + len);
    }
}

/// Copies `len` bytes from `s` to `d`: 8 words per step when both are 8-byte aligned and
/// the ranges do not overlap (a page copy is the kernel's hottest loop), else `ptr::copy`.
///
/// # Safety
/// Both ranges must be valid for `len` bytes.
unsafe fn copy_bytes(d: *mut u8, s: *const u8, len: usize) {
    let aligned = (d as usize | s as usize).is_multiple_of(8);
    let apart = (d as usize).abs_diff(s as usize) >= len;
    if !aligned || !apart {
        // SAFETY: the caller's promise; `ptr::copy` allows overlap.
        unsafe { ptr::copy(s, d, len) };
        return;
    }
    let (d64, s64) = (d as *mut u64, s as *const u64);
    let words = len / 8;
    let mut i = 0;
    // Volatile accesses keep the compiler from turning the loop back into a call to a
    // word-at-a-time `memcpy`; they compile to plain loads and stores.
    while i + 8 <= words {
        // SAFETY: words i..i + 8 lie inside both ranges, which are 8-byte aligned.
        unsafe {
            let v: [u64; 8] = core::array::from_fn(|k| ptr::read_volatile(s64.add(i + k)));
            for (k, w) in v.into_iter().enumerate() {
                ptr::write_volatile(d64.add(i + k), w);
            }
        }
        i += 8;
    }
    // SAFETY: the rest lies inside both ranges.
    unsafe { ptr::copy_nonoverlapping(s.add(i * 8), d.add(i * 8), len - i * 8) };
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
    // them; `copy_bytes` handles overlap (the same frame).
    unsafe { copy_bytes(d, s, len) };
}

/// Copies the whole frame `src` into the frame `dst`.
pub fn copy_page(dst: PhysAddr, src: PhysAddr) {
    copy(dst, 0, src, 0, PGSIZE);
}

/// Zeroes the whole page at `pa`, 8 words per step (every frame the allocator hands out).
///
/// # Safety
/// The caller must own the page (the allocator, before handing it out).
pub unsafe fn zero_page(pa: usize) {
    let p = pa as *mut u64;
    let mut i = 0;
    while i < PGSIZE / 8 {
        for k in 0..8 {
            // SAFETY: words i..i + 8 lie inside the page, which the caller owns.
            unsafe { ptr::write_volatile(p.add(i + k), 0) };
        }
        i += 8;
    }
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
