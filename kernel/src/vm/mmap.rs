//! `mmap` and `munmap`, and the unmapping path that exit and exec share with munmap.
//!
//! mmap only validates, picks a range and records a VMA: no page is allocated and nothing is
//! read (unless MAP_POPULATE). munmap removes any page range across any number of VMAs; for
//! each removed piece the present pages are unmapped, dirty shared pages are marked in their
//! cache and written back to the file (clamped to its size), and the piece's references to
//! the file and cache are dropped. Page tables fork shared over the range are let go (whole
//! blocks) or copied (blocks covered in part) first (`vm::stubs`), so munmap may fail [NoMem]
//! before anything changed; exit and exec let go of all of them without copying.

use super::anon::SharedAnon;
use super::fault;
use super::fileio;
use super::space::{AddressSpace, MapObject, MMAP_BASE};
use super::{Access, Vm};
use crate::mm::addr::page_round_up;
use crate::mm::pagetable::{Pte, VaRange};
use crate::mm::{frame, PGSIZE};
use abi::Errno;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use vmspace::{Backing, MmapRequest, Placement, Share, VirtRange, Vma};

/// Pages written back to files from shared mappings since boot.
pub static PAGES_WRITTEN_BACK: AtomicU64 = AtomicU64::new(0);

/// Kernel heap bytes one mapping takes, rounded up: its VMA in the B-tree (with node slack,
/// about 100 bytes) and its gap-index node (64 bytes after the buddy allocator's rounding).
pub(super) const MAPPING_HEAP_COST: usize = 256;

impl Vm {
    /// `mmap(addr, len, prot, flags, fd, offset)` in this space, for the current process
    /// (whose descriptor `fd` names the file).
    pub fn mmap(
        &self,
        addr: usize,
        len: usize,
        prot: usize,
        flags: usize,
        fd: i32,
        offset: usize,
    ) -> Result<usize, Errno> {
        let req = MmapRequest::parse(addr, len, prot, flags, offset, abi::USER_TOP)?;
        // Each mapping costs kernel heap (its VMA, a gap-index node, maybe a cache); a process
        // must not be able to exhaust the heap and panic the kernel by mapping without end.
        if !crate::mm::heap::has_room_for_user(MAPPING_HEAP_COST) {
            return Err(Errno::NoMem);
        }
        let backing = if req.anonymous {
            if fd != -1 {
                return Err(Errno::Inval);
            }
            match req.share {
                Share::Private => Backing::Anonymous,
                Share::Shared => {
                    Backing::File { file: MapObject::SharedAnon(Arc::new(SharedAnon::new())), offset: 0 }
                }
            }
        } else {
            let f = fileio::fd_file(fd)?;
            fileio::check_mappable(&f)?;
            if !fileio::readable(&f) {
                return Err(Errno::Access);
            }
            if req.share == Share::Shared && req.prot.contains(vmspace::Prot::WRITE) && !fileio::writable(&f)
            {
                return Err(Errno::Access);
            }
            Backing::File { file: MapObject::File(f), offset: req.offset }
        };
        let mut guard = self.lock();
        let space = &mut *guard;
        let heap_top = page_round_up(space.brk);
        // Never place a mapping over the image, stack or heap, even if they reach the mmap area.
        let lowest = MMAP_BASE.max(heap_top);
        let start = match req.placement {
            Placement::Fixed { addr, replace } => {
                let range = VirtRange::from_start_len(addr, req.len).ok_or(Errno::NoMem)?;
                if addr < heap_top {
                    return Err(Errno::NoMem); // never over the image, stack or heap
                }
                if space.vmas.overlaps(range) {
                    if !replace {
                        return Err(Errno::Exist);
                    }
                    // Replacing the middle of a mapping leaves two pieces around the new one:
                    // charge the extra piece too, and fail before anything is unmapped.
                    if splits_one_vma(space, range)
                        && !crate::mm::heap::has_room_for_user(2 * MAPPING_HEAP_COST)
                    {
                        return Err(Errno::NoMem);
                    }
                    space.prepare_removal(range.start(), range.end())?;
                    unmap(space, range);
                }
                addr
            }
            Placement::Hint(h) => {
                space.vmas.find_gap(req.len, Some(h), lowest, abi::USER_TOP).ok_or(Errno::NoMem)?
            }
            Placement::Any => {
                space.vmas.find_gap(req.len, None, lowest, abi::USER_TOP).ok_or(Errno::NoMem)?
            }
        };
        let range = VirtRange::from_start_len(start, req.len).ok_or(Errno::NoMem)?;
        space.vmas.insert(Vma::new(range, req.prot, req.share, backing)).map_err(|_| Errno::Exist)?;
        if req.populate {
            // A block shared since fork is this space's own first (else the pages stay lazy).
            let pages = VaRange::new(range.start(), range.end()).expect("mappings lie below MAXVA");
            let _ = space.resolve_reclaiming(pages, false);
            let access = if req.prot.contains(vmspace::Prot::WRITE) { Access::Write } else { Access::Read };
            for va in range.page_starts() {
                if fault::fault_vma(space, va, access).is_err() {
                    break; // past end-of-file or out of memory: the rest stays lazy
                }
            }
        }
        Ok(start)
    }

    /// `munmap(addr, len)`: addr page-aligned, len > 0; unmapped parts of the range are fine.
    ///
    /// A range strictly inside one mapping splits it in two, which costs kernel heap like a new
    /// mapping: when the heap is down to its reserve that munmap fails [NoMem] and changes
    /// nothing (as Linux fails one that would pass its map-count limit).
    pub fn munmap(&self, addr: usize, len: usize) -> Result<usize, Errno> {
        if !addr.is_multiple_of(PGSIZE) || len == 0 {
            return Err(Errno::Inval);
        }
        let end =
            addr.checked_add(len).map(page_round_up).filter(|&e| e <= abi::USER_TOP).ok_or(Errno::Inval)?;
        let range = VirtRange::new(addr, end).ok_or(Errno::Inval)?;
        let mut guard = self.lock();
        let space = &mut *guard;
        if splits_one_vma(space, range) && !crate::mm::heap::has_room_for_user(MAPPING_HEAP_COST) {
            return Err(Errno::NoMem);
        }
        // Blocks shared since fork: the whole ones are let go, the others copied (which may
        // fail [NoMem] before anything is unmapped).
        space.prepare_removal(range.start(), range.end())?;
        unmap(space, range);
        Ok(0)
    }
}

/// True when `range` lies strictly inside one mapping, so that removing it leaves a piece on
/// each side: the only unmap that adds a VMA (and a gap) to the set. Any other unmap only
/// trims or removes mappings, which frees heap.
fn splits_one_vma(space: &AddressSpace, range: VirtRange) -> bool {
    space
        .vmas
        .find(range.start())
        .is_some_and(|v| v.range().start() < range.start() && range.end() < v.range().end())
}

/// Removes every mapped page of `range` from `space`, writing back dirty shared file pages.
/// Blocks shared since fork must have been let go or resolved first
/// (`AddressSpace::prepare_removal`, `drop_all_stubs`): the walk skips their stubs.
///
/// The VMAs go one at a time, lowest first (`VmaSet::take_first`), so the memory this takes
/// stays constant (nothing is allocated) however many VMAs the range covers (a process may hold hundreds of thousands, and the kernel heap
/// may be nearly full just then). O(k log n) for k VMAs in the range.
pub(super) fn unmap(space: &mut AddressSpace, range: VirtRange) {
    let mut rest = range;
    while let Some(piece) = space.vmas.take_first(rest) {
        let end = piece.range().end();
        release(space, piece);
        // Nothing of `rest` below `end` is mapped any more.
        match VirtRange::new(end, rest.end()) {
            Some(r) => rest = r,
            None => break,
        }
    }
}

/// Removes every mapping of `space` (exit, exec).
pub(super) fn unmap_all(space: &mut AddressSpace) {
    if let Some(all) = VirtRange::new(0, abi::USER_TOP) {
        unmap(space, all);
    }
}

/// Unmaps the pages of one removed piece and writes back its dirty shared file pages.
fn release(space: &mut AddressSpace, vma: Vma<MapObject>) {
    let range = vma.range();
    let obj = match &vma.backing {
        Backing::File { file, offset } => Some((file, *offset)),
        Backing::Anonymous => None,
    };
    let kind = super::fault::kind_of(&vma);
    let pages = VaRange::new(range.start(), range.end()).expect("mappings lie below MAXVA");
    space.pt.update_leaves(pages, |va, pte| {
        let old = core::mem::replace(pte, Pte::EMPTY);
        if let Some((o, off)) = obj {
            if vmcore::needs_writeback(kind, super::fault::core_bits(old.flags())) {
                if let Some(cache) = o.cache() {
                    cache.mark_dirty((off + (va.as_usize() - range.start()) as u64) / PGSIZE as u64);
                }
            }
        }
        frame::free(old.pa());
    });
    if let (Some((MapObject::File(f), off)), Share::Shared) = (obj, vma.share) {
        let first = off / PGSIZE as u64;
        write_back(f, first, first + range.pages() as u64);
    }
}

/// Writes every dirty cached page of `f` with index in [first, end) back to the file, in
/// batches of up to `fileio::WRITE_BACK_BATCH` pages (`fileio::write_back_pages`: one disk
/// request per run of consecutive blocks, across pages, all in flight at once), so memory
/// use stays bounded however many pages go. A page whose write fails is marked dirty again.
/// Also `msync` (`vm/msync.rs`).
pub(super) fn write_back(f: &crate::fs::file::File, first: u64, end: u64) {
    let Some(cache) = f.inode().map(|ip| ip.cache()) else { return };
    let mut next = first;
    while let Some(head) = cache.take_dirty(next, end) {
        // The rest of the array is overwritten before it is used.
        let mut pages = [head; fileio::WRITE_BACK_BATCH];
        let mut n = 1;
        next = head.0 + 1;
        while n < pages.len() {
            let Some(page) = cache.take_dirty(next, end) else { break };
            pages[n] = page;
            next = page.0 + 1;
            n += 1;
        }
        let mut written = n as u64;
        fileio::write_back_pages(f, &pages[..n], |index| {
            cache.mark_dirty(index);
            written -= 1;
        });
        PAGES_WRITTEN_BACK.fetch_add(written, Ordering::Relaxed);
        for &(_, pa) in &pages[..n] {
            frame::free(pa);
        }
        if n < pages.len() {
            // The range held no other dirty page (each look is a walk over the range's
            // cached pages). One dirtied meanwhile by the unmap of another mapping is
            // written back by that unmap.
            return;
        }
    }
}
