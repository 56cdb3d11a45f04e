//! Page-aligned virtual address ranges: the unit every other part of this crate speaks in.
//!
//! A [`VirtRange`] can only be built through checked constructors, so code that holds one never
//! re-checks alignment or emptiness. Nothing here allocates or knows what is mapped where.

use core::fmt;

/// Size of a page in bytes (Sv39 base pages).
pub const PAGE_SIZE: usize = abi::PGSIZE;

/// One past the highest page-aligned address a range may end at: the largest multiple of
/// [`PAGE_SIZE`] a `usize` can hold. Every [`VirtRange`] lies inside `[0, ADDR_END)`.
pub const ADDR_END: usize = usize::MAX - (PAGE_SIZE - 1);

/// True when `addr` is a multiple of [`PAGE_SIZE`].
pub const fn is_page_aligned(addr: usize) -> bool {
    addr.is_multiple_of(PAGE_SIZE)
}

/// `addr` rounded down to a page boundary.
pub const fn page_round_down(addr: usize) -> usize {
    addr & !(PAGE_SIZE - 1)
}

/// `addr` rounded up to a page boundary, or `None` when that does not fit in a `usize`.
pub const fn page_round_up(addr: usize) -> Option<usize> {
    match addr.checked_add(PAGE_SIZE - 1) {
        Some(a) => Some(page_round_down(a)),
        None => None,
    }
}

/// A non-empty, page-aligned half-open range of virtual addresses `[start, end)`.
///
/// Invariant (enforced by the constructors): `start < end`, both multiples of [`PAGE_SIZE`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VirtRange {
    start: usize,
    end: usize,
}

impl VirtRange {
    /// The range `[start, end)`, or `None` unless both ends are page-aligned and `start < end`.
    pub const fn new(start: usize, end: usize) -> Option<VirtRange> {
        if is_page_aligned(start) && is_page_aligned(end) && start < end {
            Some(VirtRange { start, end })
        } else {
            None
        }
    }

    /// The range `[start, start + len)`, or `None` unless `start` and `len` are page-aligned,
    /// `len > 0` and the end does not overflow.
    pub const fn from_start_len(start: usize, len: usize) -> Option<VirtRange> {
        match start.checked_add(len) {
            Some(end) => VirtRange::new(start, end),
            None => None,
        }
    }

    /// First address in the range.
    pub const fn start(&self) -> usize {
        self.start
    }

    /// One past the last address in the range.
    pub const fn end(&self) -> usize {
        self.end
    }

    /// Length in bytes (never zero).
    #[expect(clippy::len_without_is_empty, reason = "a VirtRange is never empty by construction")]
    pub const fn len(&self) -> usize {
        self.end - self.start
    }

    /// Length in pages (never zero).
    pub const fn pages(&self) -> usize {
        self.len() / PAGE_SIZE
    }

    /// True when `addr` lies in `[start, end)`.
    pub const fn contains(&self, addr: usize) -> bool {
        self.start <= addr && addr < self.end
    }

    /// True when the two ranges share at least one byte.
    pub const fn overlaps(&self, other: &VirtRange) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// True when every byte of `other` is in `self`.
    pub const fn covers(&self, other: &VirtRange) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The common part of both ranges, if any.
    pub fn intersection(&self, other: &VirtRange) -> Option<VirtRange> {
        VirtRange::new(self.start.max(other.start), self.end.min(other.end))
    }

    /// Start addresses of each page in the range, lowest first.
    pub fn page_starts(&self) -> impl Iterator<Item = usize> {
        (self.start..self.end).step_by(PAGE_SIZE)
    }
}

impl fmt::Debug for VirtRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:#x}, {:#x})", self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_reject_bad_ranges() {
        assert!(VirtRange::new(0, 0).is_none());
        assert!(VirtRange::new(0x2000, 0x1000).is_none());
        assert!(VirtRange::new(0x1001, 0x2000).is_none());
        assert!(VirtRange::new(0x1000, 0x2001).is_none());
        assert!(VirtRange::from_start_len(ADDR_END - PAGE_SIZE, 2 * PAGE_SIZE).is_none());
        let r = VirtRange::from_start_len(ADDR_END - PAGE_SIZE, PAGE_SIZE).unwrap();
        assert_eq!(r.end(), ADDR_END);
        assert_eq!(r.pages(), 1);
    }

    #[test]
    fn range_relations() {
        let a = VirtRange::new(0x1000, 0x4000).unwrap();
        let b = VirtRange::new(0x3000, 0x5000).unwrap();
        let c = VirtRange::new(0x4000, 0x5000).unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c) && !c.overlaps(&a));
        assert_eq!(a.intersection(&b), VirtRange::new(0x3000, 0x4000));
        assert_eq!(a.intersection(&c), None);
        assert!(b.covers(&c) && !c.covers(&b));
        assert!(a.contains(0x3fff) && !a.contains(0x4000));
        assert_eq!(a.page_starts().collect::<alloc::vec::Vec<_>>(), [0x1000, 0x2000, 0x3000]);
    }

    #[test]
    fn rounding() {
        assert_eq!(page_round_down(0x1fff), 0x1000);
        assert_eq!(page_round_up(0x1001), Some(0x2000));
        assert_eq!(page_round_up(0x1000), Some(0x1000));
        assert_eq!(page_round_up(usize::MAX), None);
        assert_eq!(page_round_up(ADDR_END), Some(ADDR_END));
    }
}
