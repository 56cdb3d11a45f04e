//! Page tables shared after fork, as address spaces use them: which 2 MiB blocks fork shares
//! whole, and how an address space gets its own leaves back before it changes them.
//!
//! Fork (`AddressSpace::duplicate`) gives the child, for each 2 MiB block of anonymous
//! memory, the parent's level-0 table itself, behind a *stub* in both spaces (`sv39`'s
//! `share.rs`), instead of copying its 512 entries: the leaves, their W bits and their frame
//! references stay as they were, held once by the shared table. No hart walks a stub, so any
//! access to such a block faults, and everything that changes leaves first calls one of:
//!
//! - [`AddressSpace::resolve_stubs`] (faults, mprotect, eager sbrk, MAP_POPULATE): a table
//!   nobody else holds is linked again as it is; a shared one is copied, each present page
//!   getting a frame reference and, if private, losing W in the copy and in the shared
//!   original (both now map it: copy-on-write, decided by `fault::write_fault_on_present` as
//!   after any fork). The copy needs a table page: without one the call fails [NoMem] and
//!   nothing anyone can see has changed.
//! - [`AddressSpace::prepare_removal`] (munmap, MAP_FIXED over a mapping, sbrk shrink,
//!   MADV_DONTNEED): the blocks the range covers only partly are resolved as above (the only
//!   part that can fail), then the space drops its share of the blocks wholly inside, copying
//!   nothing; the last holder of a table gets it back linked and unmaps its pages.
//! - [`AddressSpace::drop_all_stubs`] (exit, exec, a failed fork's half-built child): every
//!   share dropped, nothing allocated, nothing copied.
//!
//! Which blocks are shared: those below the trampoline's block in which no mapping of a file
//! lies (the heap and the bss past the program file's last block, private and shared
//! anonymous mappings). Blocks holding file pages are copied leaf by leaf as before,
//! because truncation (`vm::truncate`) and reclaim (`vm::reclaim`) must be able to remove
//! file pages from any space at any time without allocating; they walk with the changing
//! leaf walk, which skips stubs, and a stubbed block holds no file page to skip. (A file
//! mapped into a stubbed block later has no page in the shared table; its first fault
//! resolves the stub.) Readers read through stubs instead of resolving them: `vm::stats`'
//! resident counts, and the kernel's own reads of user memory (`AddressSpace::translate`).

use super::space::{user_ranges, AddressSpace, MapObject, RECLAIM_TRIES};
use crate::mm::frame;
use crate::mm::pagetable::{Pte, VaRange, MAXVA};
use crate::mm::{VirtAddr, PGSIZE};
use abi::Errno;
use vmspace::{Backing, Share, VirtRange, VmaSet};

/// Bytes one level-0 table maps.
const BLOCK: usize = sv39::level_span(1);

/// `range` rounded out to whole blocks.
fn blocks_around(range: VaRange) -> VaRange {
    let start = range.start() & !(BLOCK - 1);
    let end = range.end().div_ceil(BLOCK).saturating_mul(BLOCK).min(MAXVA);
    VaRange::new(start, end).expect("block-aligned and below MAXVA")
}

/// Whether fork may share the level-0 table of `block` whole between parent and child:
/// below the block of the trampoline and trap frame (which differ per process), and with no
/// file mapped in it (see the module docs).
pub(super) fn shareable(vmas: &VmaSet<MapObject>, block: VaRange) -> bool {
    if block.end() > abi::TRAPFRAME & !(BLOCK - 1) {
        return false;
    }
    let Some(r) = VirtRange::new(block.start(), block.end()) else { return false };
    !vmas.iter_overlapping(r).any(|v| matches!(v.backing, Backing::File { file: MapObject::File(_), .. }))
}

/// Fork's rule for one present page, as the copy that resolving a shared table makes: one
/// more frame reference; a page of a shared mapping keeps W (D cleared in the copy, whose
/// stores set its own), a private page loses W in the original and the copy. It depends only
/// on the page's address and entry, and every holder of a shared table has the same mappings
/// over its pages, so holders resolving at once write the same entries.
fn cow_leaf<'a>(vmas: &'a VmaSet<MapObject>, heap_top: usize) -> impl FnMut(VirtAddr, &mut Pte) -> Pte + 'a {
    // The region last looked up, [start, end) and whether it is shared: one lookup per
    // mapping, not per page.
    let mut known: Option<(usize, usize, bool)> = None;
    move |va, pte| {
        let a = va.as_usize();
        let shared = match known {
            Some((s, e, shared)) if s <= a && a < e => shared,
            _ => {
                let region = if a < heap_top {
                    (0, heap_top, false) // image, stack and heap: private
                } else {
                    vmas.find(a)
                        .map(|v| (v.range().start(), v.range().end(), v.share == Share::Shared))
                        .unwrap_or((a, a + PGSIZE, false))
                };
                known = Some(region);
                region.2
            }
        };
        super::fault::fork_leaf(if shared { Share::Shared } else { Share::Private }, pte)
    }
}

impl AddressSpace {
    /// Resolves the stubs of the blocks meeting `range` (with `keep_whole`, not those wholly
    /// inside it) so that their pages may change (see the module docs). Fails [NoMem] when a
    /// shared table cannot be copied; the blocks not resolved stay stubs, so nothing the
    /// process can see has changed.
    pub(super) fn resolve_stubs(&mut self, range: VaRange, keep_whole: bool) -> Result<(), Errno> {
        if !self.stubs {
            return Ok(());
        }
        let AddressSpace { pt, vmas, brk, .. } = self;
        let heap_top = crate::mm::addr::page_round_up(*brk);
        let release = |_: VirtAddr, pte: Pte| frame::free(pte.pa());
        pt.resolve_stubs(range, keep_whole, cow_leaf(vmas, heap_top), release).map(|_| ())
    }

    /// Makes the pages of `range` this space's own before they are removed (munmap, sbrk
    /// shrink, MADV_DONTNEED): resolves the blocks the range covers only partly, reclaiming
    /// memory for a copy as a fault would, then drops this space's share of the blocks wholly
    /// inside. Fails [NoMem], with nothing visible changed, when a copy cannot be had.
    pub(super) fn prepare_removal(&mut self, start: usize, end: usize) -> Result<(), Errno> {
        let Some(range) = VaRange::new(start, end.min(MAXVA)).filter(|r| !r.is_empty()) else {
            return Ok(());
        };
        if !self.stubs {
            return Ok(());
        }
        self.resolve_reclaiming(range, true)?;
        self.pt.drop_stubs(range);
        Ok(())
    }

    /// `resolve_stubs`, retrying after reclaim (as `fault_in` does) while a copy cannot be
    /// allocated and reclaim frees something.
    pub(super) fn resolve_reclaiming(&mut self, range: VaRange, keep_whole: bool) -> Result<(), Errno> {
        let mut tries = 0;
        loop {
            match self.resolve_stubs(range, keep_whole) {
                Err(Errno::NoMem)
                    if tries < RECLAIM_TRIES && super::reclaim::reclaim(self, range.start()) =>
                {
                    tries += 1
                }
                r => return r,
            }
        }
    }

    /// Drops every share of a table this space holds (exit, exec, a half-built child): the
    /// tables the others still hold keep their pages, the ones this space held last are
    /// linked again for the tear-down's walks to unmap. Copies and allocates nothing.
    pub(super) fn drop_all_stubs(&mut self) {
        if !self.stubs {
            return;
        }
        let AddressSpace { pt, vmas, brk, .. } = self;
        // Every stub lies in a block that meets a user range: fork makes them only there, and
        // whatever removes a user range first resolves or drops the stubs in it.
        for range in user_ranges(*brk, vmas) {
            pt.drop_stubs(blocks_around(range));
        }
        self.stubs = false;
    }
}
