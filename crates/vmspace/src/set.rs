//! The per-process set of VMAs: an ordered map keyed by start address, plus an index of the
//! free gaps between them, kept in step by every operation.
//!
//! This module owns lookup, overlap tests, insertion, placement (`find_gap`), splitting and
//! unmapping ranges; changing the attributes of a range (splitting, then merging equal
//! neighbours) is in `set/update.rs`. It must not touch page tables or frames: [`VmaSet::remove_range`] hands
//! back the removed pieces and the kernel frees or writes back their pages.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use crate::gaps::GapIndex;
use crate::range::{is_page_aligned, page_round_down, page_round_up, VirtRange, ADDR_END};
use crate::vma::Vma;

/// Error from [`VmaSet::insert`]: some part of the new range is already mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overlap;

impl From<Overlap> for abi::Errno {
    /// `MAP_FIXED_NOREPLACE` over an existing mapping fails with `EEXIST`, as on Linux.
    fn from(_: Overlap) -> abi::Errno {
        abi::Errno::Exist
    }
}

/// The VMAs of one address space.
///
/// Invariants, kept by every method:
/// - VMAs are non-empty, page-aligned and pairwise disjoint; each is keyed by its start.
/// - The gap index holds exactly the maximal free ranges of `[0, ADDR_END)`.
///
/// Cloning (for fork) clones every VMA and so every backing file reference.
#[derive(Clone)]
pub struct VmaSet<F> {
    vmas: BTreeMap<usize, Vma<F>>,
    gaps: GapIndex,
}

impl<F> Default for VmaSet<F> {
    fn default() -> Self {
        VmaSet::new()
    }
}

impl<F: fmt::Debug> fmt::Debug for VmaSet<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.vmas.values()).finish()
    }
}

impl<F> VmaSet<F> {
    /// An empty set: the whole address range is one free gap.
    pub fn new() -> VmaSet<F> {
        VmaSet { vmas: BTreeMap::new(), gaps: GapIndex::with_gap(0, ADDR_END) }
    }

    /// Number of VMAs.
    pub fn len(&self) -> usize {
        self.vmas.len()
    }

    /// True when nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.vmas.is_empty()
    }

    /// Every VMA, lowest address first.
    pub fn iter(&self) -> impl Iterator<Item = &Vma<F>> {
        self.vmas.values()
    }

    /// The VMA containing `addr`, if any. O(log n).
    pub fn find(&self, addr: usize) -> Option<&Vma<F>> {
        self.vmas.range(..=addr).next_back().map(|(_, v)| v).filter(|v| v.range().contains(addr))
    }

    /// The VMA containing `addr`, for changing its protection, sharing or backing. O(log n).
    pub fn find_mut(&mut self, addr: usize) -> Option<&mut Vma<F>> {
        self.vmas.range_mut(..=addr).next_back().map(|(_, v)| v).filter(|v| v.range().contains(addr))
    }

    /// True when any byte of `range` is mapped. O(log n).
    pub fn overlaps(&self, range: VirtRange) -> bool {
        // The VMA with the greatest start below `range.end` has the greatest end among all
        // VMAs that start below it, since VMAs are disjoint.
        self.vmas.range(..range.end()).next_back().is_some_and(|(_, v)| v.range().end() > range.start())
    }

    /// The VMAs that share at least one byte with `range`, lowest first. O(log n + k).
    pub fn iter_overlapping(&self, range: VirtRange) -> impl Iterator<Item = &Vma<F>> {
        let straddling = self
            .vmas
            .range(..range.start())
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| v.range().end() > range.start());
        straddling.into_iter().chain(self.vmas.range(range.start()..range.end()).map(|(_, v)| v))
    }

    /// Adds `vma`, failing without change if any part of its range is mapped. O(log n).
    pub fn insert(&mut self, vma: Vma<F>) -> Result<(), Overlap> {
        let r = vma.range();
        let (gap_start, gap_end) = match self.gaps.at_or_before(r.start()) {
            Some((s, e)) if e >= r.end() => (s, e),
            _ => return Err(Overlap),
        };
        // The gap shrinks in place where it can: only a VMA strictly inside it adds a gap.
        match (gap_start < r.start(), r.end() < gap_end) {
            (false, false) => {
                self.gaps.remove(gap_start);
            }
            (false, true) => {
                self.gaps.resize(gap_start, r.end(), gap_end);
            }
            (true, false) => {
                self.gaps.resize(gap_start, gap_start, r.start());
            }
            (true, true) => {
                self.gaps.resize(gap_start, gap_start, r.start());
                self.gaps.insert(r.end(), gap_end);
            }
        }
        self.vmas.insert(r.start(), vma);
        Ok(())
    }

    /// Chooses where to place `len` bytes inside `[lo, hi)`.
    ///
    /// If `hint` is page-aligned and `[hint, hint + len)` lies inside `[lo, hi)` and is free,
    /// returns `hint`. Otherwise returns the lowest address `a >= lo` with `[a, a + len)` free
    /// and `a + len <= hi` (first fit, so ranges freed by unmap are reused), or `None` if there
    /// is no such address. `lo` is rounded up and `hi` down to pages; a `len` that is zero or
    /// not page-aligned finds nothing.
    ///
    /// O(log n) for n VMAs, whatever their layout: see the crate's `# Complexity`.
    pub fn find_gap(&self, len: usize, hint: Option<usize>, lo: usize, hi: usize) -> Option<usize> {
        if len == 0 || !is_page_aligned(len) {
            return None;
        }
        let lo = page_round_up(lo)?;
        let hi = page_round_down(hi).min(ADDR_END);
        if lo >= hi || hi - lo < len {
            return None;
        }
        let last_start = hi - len;
        if let Some(h) = hint {
            if is_page_aligned(h) && lo <= h && h <= last_start && self.is_free(h, len) {
                return Some(h);
            }
        }
        // The gap containing `lo` may start below it; only its part at or above `lo` counts.
        if let Some((_, end)) = self.gaps.at_or_before(lo) {
            if end > lo && end.min(hi) - lo >= len {
                return Some(lo);
            }
        }
        // Every other candidate gap starts at or above `lo`; the lowest one long enough wins
        // if it also ends in time. A later gap would start later still, so none would.
        let (start, _) = self.gaps.first_fit(lo, len)?;
        (start <= last_start).then_some(start)
    }

    /// True when `[addr, addr + len)` is wholly inside one free gap. The caller checked that
    /// `addr + len` does not overflow.
    fn is_free(&self, addr: usize, len: usize) -> bool {
        self.gaps.at_or_before(addr).is_some_and(|(_, end)| end >= addr + len)
    }
}

impl<F: Clone> VmaSet<F> {
    /// Cuts the VMA that strictly contains `addr` into two VMAs meeting at `addr`, so that
    /// `addr` becomes a VMA boundary. Returns true if a VMA was cut. O(log n).
    ///
    /// ```text
    ///  addr in a gap or unaligned:      nothing changes, returns false
    ///        |   [=======)
    ///        ^addr
    ///  addr at a VMA's start:           already a boundary, returns false
    ///            [=======)
    ///            ^addr
    ///  addr strictly inside:            returns true
    ///            [===|===)   ->   [===)[===)
    ///                ^addr        left  right: file offset += addr - start
    /// ```
    /// The gap index does not change: no byte becomes mapped or free.
    pub fn split_at(&mut self, addr: usize) -> bool {
        if !is_page_aligned(addr) {
            return false;
        }
        let Some((_, vma)) = self.vmas.range_mut(..addr).next_back() else {
            return false;
        };
        if vma.range().end() <= addr {
            return false;
        }
        let right = vma.split_off(addr);
        self.vmas.insert(addr, right);
        true
    }

    /// Unmaps `range`, whatever VMAs it touches, and returns the removed pieces lowest first,
    /// each with its own range and file offset, so the caller can write back and free exactly
    /// their pages. O(log n + k log n) for k VMAs touched.
    ///
    /// ```text
    ///  range:                  |<--------- range --------->|
    ///  before:        [==A==========)  [==B==)  [=======C========)
    ///  after:         [=A=)                                |==C==)
    ///  returned:          [=A'=)       [==B==)  [==C'==)
    /// ```
    /// - A VMA wholly inside the range (B) is removed whole.
    /// - A VMA that starts before the range (A) keeps its left piece and its file offset.
    /// - A VMA that ends after it (C) keeps its right piece, whose file offset moves on by the
    ///   distance from C's old start to the range's end.
    /// - A range strictly inside one VMA leaves a left and a right piece (both rules apply).
    /// - Unmapped parts of the range are ignored; if nothing is mapped the set is unchanged.
    pub fn remove_range(&mut self, range: VirtRange) -> Vec<Vma<F>> {
        let mut removed = Vec::new();
        while let Some(piece) = self.take_first(range) {
            removed.push(piece);
        }
        removed
    }

    /// Removes and returns the lowest mapped piece of `range`: the part of the lowest VMA
    /// overlapping it that lies inside it (a VMA straddling a bound of the range is split
    /// there first, keeping the part outside). `None` when nothing in `range` is mapped.
    /// Calling it until `None` unmaps the range one piece at a time with no allocation, which
    /// is what `munmap` wants: constant memory however many VMAs the range covers.
    /// O(log n).
    pub fn take_first(&mut self, range: VirtRange) -> Option<Vma<F>> {
        let first = match self.find(range.start()) {
            Some(v) => v.range(),
            None => self.vmas.range(range.start()..range.end()).next()?.1.range(),
        };
        let piece = first.intersection(&range)?;
        if first.start() < piece.start() {
            self.split_at(piece.start());
        }
        if piece.end() < first.end() {
            self.split_at(piece.end());
        }
        let vma = self.vmas.remove(&piece.start())?;
        self.free_range(piece);
        Some(vma)
    }

    /// Records in the gap index that all of `range` is now free: the gaps inside, touching or
    /// around it merge into one maximal gap, which grows in place from the gap below when
    /// there is one. O((k + 1) log n) for k gaps merged.
    fn free_range(&mut self, range: VirtRange) {
        // The gap reaching `range.start()` from below (or starting there) absorbs the rest.
        let below = self.gaps.at_or_before(range.start()).filter(|&(_, e)| e >= range.start());
        let start = below.map_or(range.start(), |(s, _)| s);
        let mut end = range.end().max(below.map_or(0, |(_, e)| e));
        // Every other gap starting inside the range or just at its end merges into it.
        while let Some((s, e)) = self.gaps.at_or_after(start + 1) {
            if s > end {
                break;
            }
            self.gaps.remove(s);
            end = end.max(e);
        }
        match below {
            Some((s, e)) if e != end => {
                self.gaps.resize(s, s, end);
            }
            Some(_) => {}
            None => self.gaps.insert(start, end),
        }
    }
}

mod update;

#[cfg(test)]
mod tests;

#[cfg(test)]
impl<F> VmaSet<F> {
    /// Panics unless the set's invariants hold: VMAs keyed by start and disjoint, and the gap
    /// index exactly the complement of the VMAs in `[0, ADDR_END)`.
    pub(crate) fn check_invariants(&self) {
        self.gaps.check();
        let mut want_gaps = Vec::new();
        let mut cursor = 0;
        for (&start, vma) in &self.vmas {
            assert_eq!(start, vma.range().start(), "VMA keyed by the wrong start");
            assert!(cursor <= start, "VMAs overlap at {start:#x}");
            if cursor < start {
                want_gaps.push((cursor, start));
            }
            cursor = vma.range().end();
        }
        if cursor < ADDR_END {
            want_gaps.push((cursor, ADDR_END));
        }
        assert_eq!(self.gaps.to_vec(), want_gaps, "gap index out of step");
    }
}
