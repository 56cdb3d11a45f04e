//! Typed memory calls: moving the break (`sbrk`, eager or lazy), mapping files or
//! anonymous memory (`mmap`, `munmap`), and changing mappings (`mprotect`, `msync`,
//! `madvise`).
//!
//! Growing the break is safe; shrinking it, mapping over a fixed address and unmapping are
//! `unsafe`, since they can take away memory that Rust code (the heap included) still uses.

use crate::fs::{check, SysResult};
use crate::sys;

/// The current break (end of the heap).
pub fn brk() -> usize {
    // SAFETY: sbrk(0) changes nothing.
    unsafe { sys::sbrk(0, abi::SBRK_EAGER) as usize }
}

/// Grows the heap by `n` bytes, allocating and zeroing the pages now; returns the old break
/// (the start of the new memory).
pub fn sbrk_eager(n: usize) -> SysResult<usize> {
    let n = isize::try_from(n).map_err(|_| crate::SysError(-1))?;
    // SAFETY: growing maps new memory and takes nothing away.
    check(unsafe { sys::sbrk(n, abi::SBRK_EAGER) })
}

/// Grows the heap by `n` bytes whose pages the kernel allocates on first touch; returns the old
/// break.
pub fn sbrk_lazy(n: usize) -> SysResult<usize> {
    let n = isize::try_from(n).map_err(|_| crate::SysError(-1))?;
    // SAFETY: growing maps new memory and takes nothing away.
    check(unsafe { sys::sbrk(n, abi::SBRK_LAZY) })
}

/// Shrinks the heap by `n` bytes; returns the old break.
///
/// # Safety
/// The top `n` bytes of the heap stop being memory: the caller must own them (for example,
/// it grew the break by at least `n` itself and has not let the allocator grow it since).
pub unsafe fn sbrk_shrink(n: usize) -> SysResult<usize> {
    let n = isize::try_from(n).map_err(|_| crate::SysError(-1))?;
    // SAFETY: the caller vouches for the top `n` bytes.
    check(unsafe { sys::sbrk(-n, abi::SBRK_EAGER) })
}

/// Maps `len` bytes: anonymous memory when `fd` is -1 and `flags` has `MAP_ANONYMOUS`, else
/// file `fd` from offset `off`. Returns the mapping's address.
///
/// # Safety
/// With `MAP_FIXED`, whatever lay at `addr` is replaced: nothing Rust code uses may lie there.
pub unsafe fn mmap(
    addr: usize,
    len: usize,
    prot: usize,
    flags: usize,
    fd: i32,
    off: usize,
) -> SysResult<usize> {
    // SAFETY: the caller vouches for the range.
    check(unsafe { sys::mmap(addr, len, prot, flags, fd, off) })
}

/// Unmaps `len` bytes at `addr`.
///
/// # Safety
/// The range stops being memory: nothing Rust code uses may lie in it.
pub unsafe fn munmap(addr: usize, len: usize) -> SysResult<()> {
    // SAFETY: the caller vouches for the range.
    check(unsafe { sys::munmap(addr, len) }).map(drop)
}

/// Sets the protection of the pages of `[addr, addr + len)` to `prot`.
///
/// # Safety
/// Nothing Rust code uses in the range may need more access than `prot` gives.
pub unsafe fn mprotect(addr: usize, len: usize, prot: usize) -> SysResult<()> {
    // SAFETY: the caller vouches for the range.
    check(unsafe { sys::mprotect(addr, len, prot) }).map(drop)
}

/// Writes back (`MS_SYNC`, `MS_ASYNC`) and/or drops (`MS_INVALIDATE`) the cached file pages
/// of `[addr, addr + len)`.
pub fn msync(addr: usize, len: usize, flags: usize) -> SysResult<()> {
    check(sys::msync(addr, len, flags)).map(drop)
}

/// Gives the kernel advice `advice` (`MADV_*`) about `[addr, addr + len)`.
///
/// # Safety
/// With `MADV_DONTNEED` the contents of private pages are lost: nothing Rust code uses may lie
/// in the range.
pub unsafe fn madvise(addr: usize, len: usize, advice: usize) -> SysResult<()> {
    // SAFETY: the caller vouches for the range.
    check(unsafe { sys::madvise(addr, len, advice) }).map(drop)
}
