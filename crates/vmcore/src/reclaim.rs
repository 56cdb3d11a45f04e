//! Reclaim choice: which mapped pages a process may give up under memory pressure, the
//! clock with a second chance that picks them, and which mapped pages hold stores that
//! write-back needs, with the sizes of a reclaim.
//!
//! This module owns only the choice. It never walks a page table, unmaps or frees anything:
//! the kernel's sweep (`kernel/src/vm/reclaim.rs`) moves the hand over its leaves, asks
//! [`ClockPass::verdict`] for each, unmaps the victims, writes the dirty ones back, flushes
//! the TLB, then evicts the cache pages no one maps any more.

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

/// Whether a present page of a `kind` mapping, with PTE bits `flags`, may be unmapped by
/// reclaim: a page whose contents are safe in the page cache (and, once a dirty one is
/// written back, on the disk), so a later fault simply maps it again. `cache_page` tells
/// whether the frame is the object's cached page; it is asked only for a private file page.
///
/// ```text
///   kind          U   W   D   cache_page   eligible
///   any           0   *   *       *          no      (PROT_NONE: R without U, kept)
///   SharedFile    1   *   *       *          yes     (a D bit goes to the cache, which
///                                                     writes the page back before freeing it)
///   PrivateFile   1   0   0      yes         yes     (still the cache's page, read-only)
///   PrivateFile   1   *   *      no          no      (a private copy: exists nowhere else)
///   PrivateAnon / SharedAnon                 no      (no backing store: no swap)
/// ```
pub fn eligible(kind: VmaKind, flags: PteFlags, cache_page: impl FnOnce() -> bool) -> bool {
    if !flags.contains(PteFlags::U) {
        return false;
    }
    match kind {
        VmaKind::SharedFile => true,
        VmaKind::PrivateFile => !flags.contains(PteFlags::W) && !flags.contains(PteFlags::D) && cache_page(),
        VmaKind::PrivateAnon | VmaKind::SharedAnon => false,
    }
}

/// Whether a present page of a `kind` mapping with bits `flags` holds stores the file does not
/// have yet, so it must be marked dirty in its cache when it is unmapped (munmap, reclaim) or
/// its D bit is cleared by a write-back sweep.
pub fn needs_writeback(kind: VmaKind, flags: PteFlags) -> bool {
    kind == VmaKind::SharedFile && flags.contains(PteFlags::D)
}

/// What one turn of the clock hand does with a present page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Leave it (not eligible, or too close to the fault).
    Skip,
    /// Clear its PTE's A bit and pass over it this time: it was used since the hand last
    /// came by.
    SecondChance,
    /// Unmap it (marking it dirty in its cache first when [`needs_writeback`]).
    Take,
}

/// One turn of the clock hand over an address space, from its cursor round to the cursor
/// again. A reclaim runs the turns of [`CLOCK_PASSES`] in order until one takes a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockPass {
    /// Pages closer than this many bytes to the faulting page are spared.
    pub spare: usize,
    /// Pages with A set get a second chance instead of going.
    pub second_chance: bool,
}

/// The turns of one reclaim:
///
/// ```text
///   1. spare NEAR_PAGES around the fault, second chance   (a scan gives up what it touched
///                                                          longest ago; clears A bits)
///   2. the same again                                     (takes what turn 1 found in use
///                                                          and did not see used since)
///   3. spare the faulting page only, take every eligible page
/// ```
pub const CLOCK_PASSES: [ClockPass; 3] = [
    ClockPass { spare: NEAR_PAGES * PAGE_SIZE, second_chance: true },
    ClockPass { spare: NEAR_PAGES * PAGE_SIZE, second_chance: true },
    ClockPass { spare: PAGE_SIZE, second_chance: false },
];

impl ClockPass {
    /// The verdict on a present page `distance` bytes from the faulting page, of a `kind`
    /// mapping, with PTE bits `flags` (`cache_page` as for [`eligible`]).
    pub fn verdict(
        self,
        distance: usize,
        kind: VmaKind,
        flags: PteFlags,
        cache_page: impl FnOnce() -> bool,
    ) -> Verdict {
        if distance < self.spare || !eligible(kind, flags, cache_page) {
            Verdict::Skip
        } else if self.second_chance && flags.contains(PteFlags::A) {
            Verdict::SecondChance
        } else {
            Verdict::Take
        }
    }
}

#[cfg(test)]
#[path = "reclaim/tests.rs"]
mod tests;
