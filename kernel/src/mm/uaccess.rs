//! The only way the kernel reads or writes user memory: the current process's address space
//! (`vm::Vm`) walks its page table in software, page by page, faulting in pages the space
//! allows (lazy heap, mappings) and checking the U and R/W permission bits. A bad address
//! yields `Errno::Fault`; nothing here can crash the kernel.

use super::PhysAddr;
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
