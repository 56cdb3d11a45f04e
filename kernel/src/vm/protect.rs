//! `mprotect`: changing the protection of whole mapped pages, and the argument checks that
//! `mprotect`, `msync` and `madvise` share (a page-aligned start, a length rounded up to pages,
//! every page of the range mapped).
//!
//! The VMA arithmetic (cutting VMAs at the range's edges, merging equal neighbours again) is
//! `vmspace::VmaSet::update_range`; this file checks the request, then rewrites the entries of
//! the pages already present so the change takes effect at once:
//! - removing a permission clears its PTE bit now (a store after `mprotect(PROT_READ)` kills);
//! - `PROT_NONE` keeps a present page (its data must survive) as a leaf with R but without U,
//!   so no user access passes and the kernel's own user copies refuse it too;
//! - adding `PROT_WRITE` sets W at once only in shared mappings. Present pages of private
//!   mappings stay read-only and the write fault decides (`vm::fault`): a frame that only this
//!   mapping holds just becomes writable, a shared one (a cached file page, or one fork
//!   shared) is copied first. So a page shared copy-on-write is never written under the other
//!   sharer's feet, however its protection changed.
//!
//! The heap (`sbrk`, [heap_start, brk)) is not a VMA, so a range touching it fails like an
//! unmapped one (a known gap; docs/syscalls.md).
//!
//! Page tables fork shared over the range become this space's own first (`vm::stubs`): a copy
//! that cannot be allocated fails the call [NoMem] before anything changed.
//!
//! TLB: only the current process's table changes, and it runs on this hart alone (one thread
//! per process); the TLB is flushed here and again on the way back to user mode.

use super::fault::{core_bits, kernel_bits, kind_of};
use super::fileio;
use super::space::{AddressSpace, MapObject};
use super::Vm;
use crate::mm::pagetable::{flush_tlb, PteFlags, VaRange};
use crate::mm::PGSIZE;
use abi::Errno;
use core::ptr;
use vmspace::{Backing, Prot, Share, VirtRange, Vma};

impl PartialEq for MapObject {
    /// The same object (the same open file, or the same shared anonymous memory): what lets
    /// two neighbouring VMAs merge (`vmspace::Vma::can_join`).
    fn eq(&self, other: &MapObject) -> bool {
        match (self, other) {
            (MapObject::File(a), MapObject::File(b)) => ptr::eq(&**a, &**b),
            (MapObject::SharedAnon(a), MapObject::SharedAnon(b)) => ptr::eq(&**a, &**b),
            _ => false,
        }
    }
}

impl Vm {
    /// `mprotect(addr, len, prot)`: see the module docs and docs/syscalls.md.
    pub fn mprotect(&self, addr: usize, len: usize, prot: usize) -> Result<usize, Errno> {
        let prot = Prot::from_bits(prot).ok_or(Errno::Inval)?;
        let Some(range) = user_range(addr, len)? else { return Ok(0) };
        let mut guard = self.lock();
        let space = &mut *guard;
        check_mapped(space, range)?;
        if prot.contains(Prot::WRITE) && space.vmas.iter_overlapping(range).any(shared_on_readonly_file) {
            return Err(Errno::Access);
        }
        reserve_cuts(space, range)?;
        // The present pages change below: blocks shared since fork become this space's own
        // first (a copy that cannot be had fails the call before anything changed).
        let pages = VaRange::new(range.start(), range.end()).expect("mappings lie below MAXVA");
        space.resolve_reclaiming(pages, false)?;
        space.vmas.update_range(range, |v| v.prot = prot);
        let AddressSpace { pt, vmas, .. } = space;
        for vma in vmas.iter_overlapping(range) {
            let Some(r) = vma.range().intersection(&range) else { continue };
            let pages = VaRange::new(r.start(), r.end()).expect("mappings lie below MAXVA");
            pt.update_leaves(pages, |_, pte| *pte = pte.with_flags(present_flags(vma, pte.flags())));
        }
        flush_tlb();
        Ok(0)
    }
}

/// The page range named by `addr` and `len` (rounded up to whole pages), or `None` for a
/// zero length (nothing to do, as on Linux). Fails [Inval] for an unaligned `addr`, [NoMem]
/// for a range that overflows or reaches the kernel's top pages.
pub(super) fn user_range(addr: usize, len: usize) -> Result<Option<VirtRange>, Errno> {
    if !addr.is_multiple_of(PGSIZE) {
        return Err(Errno::Inval);
    }
    if len == 0 {
        return Ok(None);
    }
    let end = addr.checked_add(len).and_then(vmspace::page_round_up).ok_or(Errno::NoMem)?;
    if end > abi::USER_TOP {
        return Err(Errno::NoMem);
    }
    VirtRange::new(addr, end).map(Some).ok_or(Errno::NoMem)
}

/// Fails [NoMem] (as Linux does) unless every page of `range` belongs to a mapping. The heap
/// is not a mapping, so a range reaching into it fails too.
pub(super) fn check_mapped(space: &AddressSpace, range: VirtRange) -> Result<(), Errno> {
    if space.vmas.is_mapped(range) {
        Ok(())
    } else {
        Err(Errno::NoMem)
    }
}

/// Fails [NoMem] when cutting the VMAs at the ends of `range` (each cut adds a VMA) could eat
/// into the kernel heap's reserve; nothing has changed then.
pub(super) fn reserve_cuts(space: &AddressSpace, range: VirtRange) -> Result<(), Errno> {
    let cuts = space.vmas.cuts_needed(range);
    if cuts > 0 && !crate::mm::heap::has_room_for_user(cuts * super::mmap::MAPPING_HEAP_COST) {
        return Err(Errno::NoMem);
    }
    Ok(())
}

/// A shared mapping of a file not opened for writing: it may never get `PROT_WRITE` (the
/// rule of mmap).
fn shared_on_readonly_file(vma: &Vma<MapObject>) -> bool {
    match &vma.backing {
        Backing::File { file: MapObject::File(f), .. } => vma.share == Share::Shared && !fileio::writable(f),
        _ => false,
    }
}

/// The flags of a page present with `old` after the protection of its mapping `vma` changed:
/// `vmcore::protect_flags` (PROT_NONE keeps a leaf with R and without U; a private page
/// gains W only at its write fault), with the V and G bits as they were.
pub(super) fn present_flags(vma: &Vma<MapObject>, old: PteFlags) -> PteFlags {
    let new = vmcore::protect_flags(kind_of(vma), vma.prot, core_bits(old));
    (old & (PteFlags::V | PteFlags::G)) | kernel_bits(new)
}
