//! [`VaRange`]: the page-aligned half-open range `[start, end)` of virtual addresses that the
//! leaf iterators walk, and that they hand back to resume from when a visitor stops early.
//!
//! A range may be empty and may end exactly at [`MAXVA`] (which is not a [`VirtAddr`]), so its
//! ends are plain page-aligned numbers checked by the constructor. Nothing here reads tables.

use crate::addr::{is_page_aligned, VirtAddr, MAXVA};
use core::fmt;

/// A page-aligned range of virtual addresses `[start, end)` with `start <= end <= MAXVA`.
/// Empty ranges exist (an iterator stopped on the last page hands one back).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VaRange {
    start: usize,
    end: usize,
}

impl VaRange {
    /// `[start, end)`, or `None` unless both are page-aligned and `start <= end <= MAXVA`.
    #[inline]
    pub const fn new(start: usize, end: usize) -> Option<VaRange> {
        if is_page_aligned(start) && is_page_aligned(end) && start <= end && end <= MAXVA {
            Some(VaRange { start, end })
        } else {
            None
        }
    }

    /// Every address a page table can map: `[0, MAXVA)`.
    #[inline]
    pub const fn all() -> VaRange {
        VaRange { start: 0, end: MAXVA }
    }

    /// `[page of va, MAXVA)`: from the page holding `va` to the top.
    #[inline]
    pub const fn from_va(va: VirtAddr) -> VaRange {
        VaRange { start: va.page_down().as_usize(), end: MAXVA }
    }

    /// First address (page-aligned; equal to `end()` when empty).
    #[inline]
    pub const fn start(&self) -> usize {
        self.start
    }

    /// One past the last address (page-aligned, at most [`MAXVA`]).
    #[inline]
    pub const fn end(&self) -> usize {
        self.end
    }

    /// True when the range holds no page.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Number of pages in the range.
    #[inline]
    pub const fn pages(&self) -> usize {
        (self.end - self.start) / crate::addr::PAGE_SIZE
    }

    /// True when `va` lies in the range.
    #[inline]
    pub const fn contains(&self, va: VirtAddr) -> bool {
        self.start <= va.as_usize() && va.as_usize() < self.end
    }

    /// The common part of the two ranges (empty, at the larger start, when they do not meet).
    #[inline]
    pub fn intersection(&self, other: &VaRange) -> VaRange {
        let start = self.start.max(other.start);
        VaRange { start, end: self.end.min(other.end).max(start) }
    }
}

impl fmt::Debug for VaRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:#x}, {:#x})", self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::PAGE_SIZE;

    #[test]
    fn constructor_checks() {
        assert!(VaRange::new(0, 0).unwrap().is_empty());
        assert!(VaRange::new(0, MAXVA).is_some());
        assert!(VaRange::new(0, MAXVA + PAGE_SIZE).is_none());
        assert!(VaRange::new(PAGE_SIZE, 0).is_none());
        assert!(VaRange::new(1, PAGE_SIZE).is_none());
        assert!(VaRange::new(MAXVA, MAXVA).unwrap().is_empty());
        assert_eq!(VaRange::new(0, 3 * PAGE_SIZE).unwrap().pages(), 3);
    }

    #[test]
    fn intersection_and_contains() {
        let a = VaRange::new(0, 4 * PAGE_SIZE).unwrap();
        let b = VaRange::new(2 * PAGE_SIZE, 8 * PAGE_SIZE).unwrap();
        assert_eq!(a.intersection(&b), VaRange::new(2 * PAGE_SIZE, 4 * PAGE_SIZE).unwrap());
        let c = VaRange::new(8 * PAGE_SIZE, 9 * PAGE_SIZE).unwrap();
        assert!(a.intersection(&c).is_empty());
        assert!(a.contains(VirtAddr::new(4 * PAGE_SIZE - 1).unwrap()));
        assert!(!a.contains(VirtAddr::new(4 * PAGE_SIZE).unwrap()));
        assert_eq!(VaRange::from_va(VirtAddr::new(0x1234).unwrap()).start(), 0x1000);
    }
}
