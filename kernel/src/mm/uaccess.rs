//! The only way the kernel reads or writes user memory: a software walk of the current
//! process's page table, page by page, faulting in pages the address space allows (lazy heap,
//! mappings) and checking the U and R/W permission bits. A bad address yields `Errno::Fault`;
//! nothing here can crash the kernel.

use super::PGSIZE;
use crate::proc;
use crate::vm::Access;
use abi::Errno;
use core::ptr;

/// Copies `src` to user address `dst` in the current process.
pub fn copy_out(dst: usize, src: &[u8]) -> Result<(), Errno> {
    let space = proc::current_space();
    let mut done = 0;
    while done < src.len() {
        let va = dst.checked_add(done).ok_or(Errno::Fault)?;
        let pa = space.translate(va, Access::Write)?;
        let n = (PGSIZE - va % PGSIZE).min(src.len() - done);
        // SAFETY: `pa..pa+n` lies in one user page of this process that `translate` just
        // checked; it cannot overlap the kernel buffer `src`.
        unsafe { ptr::copy_nonoverlapping(src.as_ptr().add(done), pa.as_ptr::<u8>(), n) };
        done += n;
    }
    Ok(())
}

/// Copies from user address `src` in the current process into `dst`.
pub fn copy_in(dst: &mut [u8], src: usize) -> Result<(), Errno> {
    let space = proc::current_space();
    let mut done = 0;
    while done < dst.len() {
        let va = src.checked_add(done).ok_or(Errno::Fault)?;
        let pa = space.translate(va, Access::Read)?;
        let n = (PGSIZE - va % PGSIZE).min(dst.len() - done);
        // SAFETY: as in `copy_out`, with the roles swapped.
        unsafe { ptr::copy_nonoverlapping(pa.as_ptr::<u8>(), dst.as_mut_ptr().add(done), n) };
        done += n;
    }
    Ok(())
}

/// Copies a NUL-terminated string from user address `src` into `buf`, returning its length
/// (without the NUL). Fails if there is no NUL within `buf.len()` bytes.
pub fn copy_in_str(buf: &mut [u8], src: usize) -> Result<usize, Errno> {
    let space = proc::current_space();
    let mut done = 0;
    while done < buf.len() {
        let va = src.checked_add(done).ok_or(Errno::Fault)?;
        let pa = space.translate(va, Access::Read)?;
        let n = (PGSIZE - va % PGSIZE).min(buf.len() - done);
        for i in 0..n {
            // SAFETY: `pa + i` is inside the user page `translate` checked.
            let c = unsafe { *pa.as_ptr::<u8>().add(i) };
            buf[done + i] = c;
            if c == 0 {
                return Ok(done + i);
            }
        }
        done += n;
    }
    Err(Errno::NameTooLong)
}

/// Reads a little-endian u64 from user memory.
pub fn read_u64(src: usize) -> Result<u64, Errno> {
    let mut b = [0u8; 8];
    copy_in(&mut b, src)?;
    Ok(u64::from_le_bytes(b))
}

/// Copies `len` bytes of frame `pa` from byte `off` (inside the page) to user address `dst`
/// in the current process. The caller holds a reference to the frame.
pub fn copy_out_frame(dst: usize, pa: super::PhysAddr, off: usize, len: usize) -> Result<(), Errno> {
    let space = proc::current_space();
    let mut done = 0;
    while done < len {
        let va = dst.checked_add(done).ok_or(Errno::Fault)?;
        let user = space.translate(va, Access::Write)?;
        let n = (PGSIZE - va % PGSIZE).min(len - done);
        let user_page = super::PhysAddr(user.0 - va % PGSIZE);
        super::page::copy(user_page, va % PGSIZE, pa, off + done, n);
        done += n;
    }
    Ok(())
}
