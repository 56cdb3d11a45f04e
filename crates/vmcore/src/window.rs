//! The fault-around window: which neighbours of a read fault get mapped along with it, if
//! their pages are already cached.
//!
//! This module owns only the arithmetic (alignment and clamps); the executor (`crate::fault`)
//! decides when to use it and maps the pages.

use vmspace::VirtRange;

use crate::PAGE_SIZE;

/// Pages in a fault-around window: a power of two, at most 512, so a window (aligned in the
/// address space) never crosses a page-table page.
pub const FAULT_AROUND: usize = 16;

/// The fault-around window of the fault at `va` in the mapping `vma`, whose first page is
/// page `first_index` of its object: the `FAULT_AROUND`-page block of the address space
/// holding `va`, clamped to the mapping and, for a file of `file_pages` pages, to
/// end-of-file. `None` when `va` itself is past end-of-file.
///
/// ```text
///   address space:  |.......16-page block.......|.......16-page block.......|
///   mapping:                 [=========================================)
///   fault:                                              ^
///   window:                                     [=======)  clamped to the file's end
///   file:           (first_index)....................EOF┘
/// ```
pub fn fault_around(
    va: usize,
    vma: VirtRange,
    first_index: u64,
    file_pages: Option<u64>,
) -> Option<VirtRange> {
    let span = FAULT_AROUND * PAGE_SIZE;
    let block = va & !(span - 1);
    let lo = block.max(vma.start());
    let mut hi = block.saturating_add(span).min(vma.end());
    if let Some(pages) = file_pages {
        let in_file = pages.saturating_sub(first_index).min(vma.pages() as u64) as usize;
        hi = hi.min(vma.start() + in_file * PAGE_SIZE);
    }
    VirtRange::new(lo, hi).filter(|w| w.contains(va))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: usize = PAGE_SIZE;

    fn r(lo: usize, hi: usize) -> VirtRange {
        VirtRange::new(lo * P, hi * P).unwrap()
    }

    #[test]
    fn whole_block_inside_a_large_mapping() {
        assert_eq!(fault_around(37 * P, r(0, 100), 0, None), Some(r(32, 48)));
        assert_eq!(fault_around(32 * P + 5, r(0, 100), 0, Some(100)), Some(r(32, 48)));
    }

    #[test]
    fn clamped_to_the_mapping() {
        assert_eq!(fault_around(37 * P, r(35, 40), 0, None), Some(r(35, 40)));
        assert_eq!(fault_around(47 * P, r(40, 60), 0, None), Some(r(40, 48)));
    }

    #[test]
    fn clamped_to_end_of_file() {
        // Mapping at page 32 shows file pages 10..; the file has 14 pages: 4 pages in the file.
        assert_eq!(fault_around(33 * P, r(32, 64), 10, Some(14)), Some(r(32, 36)));
        assert_eq!(fault_around(40 * P, r(32, 64), 10, Some(14)), None, "past end-of-file");
        assert_eq!(fault_around(40 * P, r(32, 64), 20, Some(14)), None, "mapping starts past it");
    }

    proptest! {
        #[test]
        fn window_contains_the_fault_and_stays_in_bounds(
            start in 0usize..200, len in 1usize..100, at in 0usize..100,
            first in 0u64..50, file in proptest::option::of(0u64..200),
        ) {
            let vma = r(start, start + len);
            let page = start + at % len;
            let w = fault_around(page * P, vma, first, file);
            let in_file = file.is_none_or(|f| first + ((page - start) as u64) < f);
            prop_assert_eq!(w.is_some(), in_file);
            if let Some(w) = w {
                prop_assert!(w.contains(page * P));
                prop_assert!(w.start() >= vma.start() && w.end() <= vma.end());
                prop_assert!(w.pages() <= FAULT_AROUND);
                prop_assert_eq!(w.start() / (FAULT_AROUND * P), (w.end() - 1) / (FAULT_AROUND * P));
                if let Some(f) = file {
                    prop_assert!(first + ((w.end() - vma.start()) / P) as u64 <= f);
                }
            }
        }
    }
}
