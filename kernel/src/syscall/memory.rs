//! System calls about memory: mmap and munmap, mprotect, msync and madvise, and the extensions kstat (kernel counters) and
//! vmmaps (a process's mappings). Each works through the address space's own methods, which
//! take its lock, so `vmmaps` from other processes never sees a set of mappings in the middle
//! of a change.

use super::arg;
use super::arg_i32;
use crate::mm::uaccess;
use crate::proc;
use crate::vm::stats;
use abi::{Errno, VmMap};
use alloc::vec::Vec;

/// `mmap(addr, len, prot, flags, fd, offset)`; see docs/syscalls.md.
pub fn sys_mmap() -> Result<usize, Errno> {
    proc::current_vm().mmap(arg(0), arg(1), arg(2), arg(3), arg_i32(4), arg(5))
}

/// `munmap(addr, len)`.
pub fn sys_munmap() -> Result<usize, Errno> {
    proc::current_vm().munmap(arg(0), arg(1))
}

/// `mprotect(addr, len, prot)`. Like mmap's, the int arguments are taken whole (64 bits), so
/// garbage in the upper half is refused rather than ignored, as Linux does.
pub fn sys_mprotect() -> Result<usize, Errno> {
    proc::current_vm().mprotect(arg(0), arg(1), arg(2))
}

/// `msync(addr, len, flags)`.
pub fn sys_msync() -> Result<usize, Errno> {
    proc::current_vm().msync(arg(0), arg(1), arg(2))
}

/// `madvise(addr, len, advice)`.
pub fn sys_madvise() -> Result<usize, Errno> {
    proc::current_vm().madvise(arg(0), arg(1), arg(2))
}

/// `kstat(counter)`: one kernel counter (`abi::kstat`); fails for an unknown one.
pub fn sys_kstat() -> Result<usize, Errno> {
    match arg(0) {
        abi::kstat::MAPPINGS => Ok(proc::current_vm().mapping_count()),
        id => stats::counter(id).map(|v| v as usize).ok_or(Errno::Inval),
    }
}

/// Records gathered per look at the target's space: bounds the kernel memory one call uses
/// however many mappings the target has, and how long its lock is held at a time.
const BATCH: usize = 64;

/// `vmmaps(pid, buf, max)`: writes records of the mappings of process `pid` (0: the caller),
/// lowest address first, at most `max` of them, to `buf`; returns how many mappings the
/// process has (so `max == 0` asks for the count only, and `buf` is then not used).
///
/// The records are gathered in batches, each under the target's address-space lock, and copied out
/// with no lock held (the copy may fault pages in). A target that maps or unmaps between two
/// batches gives records that are each exact but do not form one instant's picture; a
/// target that exits meanwhile ends the list. Fails for `max < 0` [Inval], no such process
/// [Srch], a buffer of `max` records that does not fit below the trap frame, or a record that
/// cannot be written [Fault], and when the kernel heap is down to its reserve [NoMem].
pub fn sys_vmmaps() -> Result<usize, Errno> {
    let (pid, buf) = (arg_i32(0), arg(1));
    let max = usize::try_from(arg_i32(2)).map_err(|_| Errno::Inval)?;
    if pid < 0 {
        return Err(Errno::Srch);
    }
    let room = max.checked_mul(VmMap::SIZE).and_then(|n| buf.checked_add(n));
    if max > 0 && room.is_none_or(|end| end > abi::USER_TOP) {
        return Err(Errno::Fault);
    }
    // A process with very many mappings may have the kernel heap down to its reserve.
    let cap = BATCH.min(max);
    if !crate::mm::heap::has_room_for_user(cap * core::mem::size_of::<VmMap>()) {
        return Err(Errno::NoMem);
    }
    let mut batch: Vec<VmMap> = Vec::with_capacity(cap);
    let (mut written, mut next) = (0, 0);
    let total = loop {
        let want = (max - written).min(BATCH);
        batch.clear();
        let looked = proc::vm_of(pid).map(|vm| vm.and_then(|vm| vm.records(next, want, &mut batch)));
        let n = match looked {
            Ok(Some(n)) => n,
            // Exiting, a zombie, not started yet or torn down: no mappings (left).
            Ok(None) => return Ok(written),
            // Reaped since an earlier batch: the list simply ends.
            Err(_) if written > 0 => return Ok(written),
            Err(e) => return Err(e),
        };
        for m in &batch {
            uaccess::copy_out(buf + written * VmMap::SIZE, &m.to_bytes())?;
            written += 1;
        }
        match batch.last() {
            Some(last) if batch.len() == want && written < max => next = last.end as usize,
            _ => break n.max(written),
        }
    };
    Ok(total)
}
