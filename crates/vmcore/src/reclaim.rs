//! Reclaim choice: which mapped pages a process may give up under memory pressure, the clock
//! hand that picks a batch of them, and which mapped pages hold stores that write-back needs.
//!
//! This module owns only the choice. It never unmaps or frees anything: the kernel unmaps the
//! victims (through [`crate::unmap_page`]), flushes the TLB, then evicts the cache pages no
//! one maps any more ([`crate::PageCache::evict_unused`]).

use alloc::vec::Vec;

use vmspace::page_round_down;

use crate::decide::VmaKind;
use crate::flags::PteFlags;
use crate::PAGE_SIZE;

/// Most pages a faulting process unmaps of its own per reclaim.
pub const UNMAP_BATCH: usize = 256;
/// A global eviction that frees fewer pages than this also takes pages from the process.
pub const ENOUGH: usize = 32;
/// The first pass of a sweep spares pages closer than this many pages to the fault.
pub const NEAR_PAGES: usize = 64;
/// Free frames below which a fault reads no ahead ([`crate::Frames::is_low`]).
pub const LOW_FREE: usize = 64;

/// Whether a present page of a `kind` mapping, with PTE bits `flags`, whose frame is the
/// object's cached page when `cache_page`, may be unmapped by reclaim: a page whose contents
/// are safe in the page cache and on the disk, so a later fault simply maps it again.
///
/// ```text
///   kind          W   D   cache_page   eligible
///   SharedFile    *   0       *          yes     (clean: the file has the bytes)
///   SharedFile    *   1       *          no      (stores not yet handed to the cache)
///   PrivateFile   0   0      yes         yes     (still the cache's page, read-only)
///   PrivateFile   *   *      no          no      (a private copy: exists nowhere else)
///   PrivateAnon / SharedAnon             no      (no backing store)
/// ```
pub fn eligible(kind: VmaKind, flags: PteFlags, cache_page: bool) -> bool {
    if !flags.contains(PteFlags::U) || flags.contains(PteFlags::D) {
        return false;
    }
    match kind {
        VmaKind::SharedFile => true,
        VmaKind::PrivateFile => cache_page && !flags.contains(PteFlags::W),
        VmaKind::PrivateAnon | VmaKind::SharedAnon => false,
    }
}

/// Whether a present page of a `kind` mapping with bits `flags` holds stores the file does not
/// have yet, so it must be marked dirty in its cache (at unmap, or by a write-back sweep that
/// then clears D).
pub fn needs_writeback(kind: VmaKind, flags: PteFlags) -> bool {
    kind == VmaKind::SharedFile && flags.contains(PteFlags::D)
}

/// The addresses among `pages` (present pages with their mapping's kind and PTE bits) that
/// hold stores write-back needs, in the order given.
pub fn writeback_candidates(
    pages: impl IntoIterator<Item = (usize, Resident)>,
) -> impl Iterator<Item = usize> {
    pages.into_iter().filter(|(_, r)| needs_writeback(r.kind, r.flags)).map(|(va, _)| va)
}

/// A present page, as reclaim sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resident {
    /// The kind of the mapping it belongs to.
    pub kind: VmaKind,
    /// Its PTE bits.
    pub flags: PteFlags,
    /// Its frame is the object's cached page at its index.
    pub cache_page: bool,
}

/// The clock hand of one address space: where the last reclaim that filled its batch stopped,
/// so successive reclaims take different pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClockHand {
    cursor: usize,
}

impl ClockHand {
    /// A hand at address 0.
    pub const fn new() -> ClockHand {
        ClockHand { cursor: 0 }
    }

    /// Where the next sweep starts.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Picks up to `batch` eligible pages to unmap after an allocation failed for a fault at
    /// `fault_va`. `resident(lo, hi)` lists the present pages with addresses in `[lo, hi)`,
    /// in increasing order.
    ///
    /// ```text
    ///   address space:  0 ─────────── cursor ──────────────────── end
    ///   pass order:                   [1 ─────────────────────────)[2 ── wrap to 0 ── cursor)
    ///   first pass:     skips pages within NEAR_PAGES of the fault  (a scan gives up what it
    ///                                                                read longest ago)
    ///   second pass:    only if the first found nothing; skips the faulting page alone
    /// ```
    ///
    /// When the batch fills, the hand stops at the next eligible-or-not page it would have
    /// looked at; otherwise it stays where it was.
    pub fn sweep<I>(
        &mut self,
        mut resident: impl FnMut(usize, usize) -> I,
        fault_va: usize,
        batch: usize,
    ) -> Vec<usize>
    where
        I: Iterator<Item = (usize, Resident)>,
    {
        let fault = page_round_down(fault_va);
        for near in [NEAR_PAGES * PAGE_SIZE, PAGE_SIZE] {
            let victims = self.pass(&mut resident, fault, near, batch);
            if !victims.is_empty() {
                return victims;
            }
        }
        Vec::new()
    }

    /// One turn of the hand from the cursor round to it again, taking eligible pages at least
    /// `near` bytes from `fault`.
    fn pass<I>(
        &mut self,
        resident: &mut impl FnMut(usize, usize) -> I,
        fault: usize,
        near: usize,
        batch: usize,
    ) -> Vec<usize>
    where
        I: Iterator<Item = (usize, Resident)>,
    {
        let start = self.cursor;
        let mut victims = Vec::new();
        for (lo, hi) in [(start, usize::MAX), (0, start)] {
            for (va, r) in resident(lo, hi) {
                if victims.len() == batch {
                    self.cursor = va;
                    return victims;
                }
                if va.abs_diff(fault) >= near && eligible(r.kind, r.flags, r.cache_page) {
                    victims.push(va);
                }
            }
        }
        victims
    }
}

#[cfg(test)]
#[path = "reclaim/tests.rs"]
mod tests;
