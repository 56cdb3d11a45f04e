//! `msync`: writing the modified pages of a range of shared file mappings back to the file
//! (`MS_SYNC`, and `MS_ASYNC`, which does the same: the disk is polled, so every write-back
//! has completed when the call returns), and dropping the range's clean cached pages
//! (`MS_INVALIDATE`) so the next touch reads the file again.
//!
//! A page counts as modified when its PTE's dirty bit is set (stores through this mapping)
//! or its cache marks it dirty (stores collected from mappings already gone). Write-back
//! moves the PTE's D bit into the cache's mark and clears it (so later stores set it again),
//! then writes every marked page of the range, clamped to the file size, as munmap does.
//!
//! Invalidation unmaps, in this space, the range's file pages that hold nothing the file
//! lacks (shared pages with D clear, private pages still mapping the cached page itself; a
//! private copy is the process's own data and stays), then drops from the page cache the
//! range's clean pages that nothing else references.
//!
//! Both walk file mappings only, whose pages never lie in a page table fork shares
//! (`vm::stubs`); the walks skip such tables' stubs.

use super::mmap::write_back;
use super::protect::{check_mapped, user_range};
use super::space::{AddressSpace, MapObject};
use super::Vm;
use crate::mm::pagetable::{flush_tlb, Pte, PteFlags, VaRange};
use crate::mm::{frame, PGSIZE};
use abi::{Errno, MS_ASYNC, MS_INVALIDATE, MS_SYNC};
use vmspace::{Backing, Share, VirtRange};

impl Vm {
    /// `msync(addr, len, flags)`: see the module docs and docs/syscalls.md.
    pub fn msync(&self, addr: usize, len: usize, flags: usize) -> Result<usize, Errno> {
        if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
            || flags & (MS_ASYNC | MS_SYNC) == MS_ASYNC | MS_SYNC
        {
            return Err(Errno::Inval);
        }
        let Some(range) = user_range(addr, len)? else { return Ok(0) };
        let mut guard = self.lock();
        let space = &mut *guard;
        check_mapped(space, range)?;
        if flags & (MS_ASYNC | MS_SYNC) != 0 {
            sync(space, range);
        }
        if flags & MS_INVALIDATE != 0 {
            invalidate(space, range);
        }
        Ok(0)
    }
}

impl Vm {
    /// Writes back every page the shared file mappings of this space modified (at power-off,
    /// so a clean shutdown loses no store made through a mapping).
    pub fn sync_all(&self) {
        let mut guard = self.lock();
        if let Some(all) = VirtRange::new(0, abi::USER_TOP) {
            sync(&mut guard, all);
        }
    }
}

/// The file pages of `vma` inside `range`: the open file, its first page index in the range
/// and the range's part of the VMA.
fn file_part<'a>(
    vma: &'a vmspace::Vma<MapObject>,
    range: &VirtRange,
) -> Option<(&'a crate::fs::file::File, u64, VirtRange)> {
    let Backing::File { file: MapObject::File(f), offset } = &vma.backing else { return None };
    let r = vma.range().intersection(range)?;
    Some((f, (offset + (r.start() - vma.range().start()) as u64) / PGSIZE as u64, r))
}

/// Writes back the modified pages of the shared file mappings in `range`.
fn sync(space: &mut AddressSpace, range: VirtRange) {
    let AddressSpace { pt, vmas, .. } = space;
    for vma in vmas.iter_overlapping(range).filter(|v| v.share == Share::Shared) {
        let Some((f, first, r)) = file_part(vma, &range) else { continue };
        let Some(cache) = f.inode().map(|ip| ip.cache()) else { continue };
        let pages = VaRange::new(r.start(), r.end()).expect("mappings lie below MAXVA");
        pt.update_leaves(pages, |va, pte| {
            if pte.flags().contains(PteFlags::D) {
                cache.mark_dirty(first + ((va.as_usize() - r.start()) / PGSIZE) as u64);
                *pte = pte.with_flags(pte.flags() - PteFlags::D);
            }
        });
        // Stores from now on must set D again in the entry, not in a stale TLB copy.
        flush_tlb();
        write_back(f, first, first + r.pages() as u64);
    }
}

/// Drops the clean file pages of `range` from this space and, where nothing else maps them,
/// from their page cache.
fn invalidate(space: &mut AddressSpace, range: VirtRange) {
    let AddressSpace { pt, vmas, .. } = space;
    for vma in vmas.iter_overlapping(range) {
        let Some((f, first, r)) = file_part(vma, &range) else { continue };
        let Some(cache) = f.inode().map(|ip| ip.cache()) else { continue };
        let pages = VaRange::new(r.start(), r.end()).expect("mappings lie below MAXVA");
        pt.update_leaves(pages, |va, pte| {
            let index = first + ((va.as_usize() - r.start()) / PGSIZE) as u64;
            let clean = match vma.share {
                Share::Shared => !pte.flags().contains(PteFlags::D),
                Share::Private => cache.holds(index, pte.pa()),
            };
            if clean {
                frame::free(core::mem::replace(pte, Pte::EMPTY).pa());
            }
        });
        flush_tlb();
        cache.evict_clean(first, first + r.pages() as u64);
    }
}
