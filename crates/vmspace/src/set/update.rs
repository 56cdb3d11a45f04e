//! Changing the attributes of a page range of a [`VmaSet`] (`mprotect`, `madvise`): whether the
//! range is wholly mapped, and the update itself, which cuts VMAs at the range's edges, lets the
//! caller change every VMA inside, and merges neighbours whose attributes have become equal.
//!
//! Only the VMA map changes here: no byte becomes mapped or free, so the gap index is left as
//! it is. Page tables are the kernel's business.

use super::VmaSet;
use crate::range::VirtRange;
use crate::vma::Vma;
use alloc::vec::Vec;

impl<F> VmaSet<F> {
    /// True when every page of `range` belongs to some VMA (no hole anywhere in it).
    /// O(log n + k) for k VMAs in the range.
    pub fn is_mapped(&self, range: VirtRange) -> bool {
        let mut cursor = range.start();
        for v in self.iter_overlapping(range) {
            if v.range().start() > cursor {
                return false;
            }
            cursor = v.range().end();
            if cursor >= range.end() {
                return true;
            }
        }
        false
    }

    /// The number of VMAs `update_range(range, ..)` would have to cut in two (0, 1 or 2): one
    /// for each end of `range` that lies strictly inside a VMA. Each cut adds a VMA, which the
    /// kernel pays for in heap before it calls `update_range`. O(log n).
    pub fn cuts_needed(&self, range: VirtRange) -> usize {
        let inside = |addr: usize| self.find(addr).is_some_and(|v| v.range().start() < addr);
        usize::from(inside(range.start())) + usize::from(inside(range.end()))
    }
}

impl<F: Clone + PartialEq> VmaSet<F> {
    /// Calls `f` on every VMA inside `range`, after cutting the VMAs that straddle its ends, then
    /// merges each VMA that touches the range with its neighbour when they have become equal
    /// (same protection, sharing and advice, same backing continued: [`Vma::can_join`]). The
    /// caller checked [`VmaSet::is_mapped`]; unmapped parts are simply skipped. `f` must not
    /// change a VMA's backing. O((k + 1) log n) for k VMAs in the range.
    ///
    /// ```text
    ///  range:               |<------ range ------>|
    ///  before:      [====A=====)[==B==)[=====C========)
    ///  cut:         [=A=)[=A'==)[==B==)[=C'=)[===C====)
    ///  f on A', B, C' (say all become like B):
    ///  merged:      [=A=)[========B========)[===C====)
    /// ```
    /// Merging only looks at the boundaries at and inside the range, so VMAs elsewhere keep
    /// whatever boundaries they had (mmap never merges).
    pub fn update_range(&mut self, range: VirtRange, mut f: impl FnMut(&mut Vma<F>)) {
        self.split_at(range.start());
        self.split_at(range.end());
        let mut boundaries: Vec<usize> = Vec::new();
        for (&start, vma) in self.vmas.range_mut(range.start()..range.end()) {
            f(vma);
            boundaries.push(start);
        }
        boundaries.push(range.end());
        for addr in boundaries {
            self.join_at(addr);
        }
    }

    /// Merges the VMA ending at `addr` with the one starting there if they can be joined.
    fn join_at(&mut self, addr: usize) {
        let Some((_, left)) = self.vmas.range(..addr).next_back() else { return };
        let Some(right) = self.vmas.get(&addr) else { return };
        if !left.can_join(right) {
            return;
        }
        let left_start = left.range().start();
        if let (Some(right), Some(left)) = (self.vmas.remove(&addr), self.vmas.get_mut(&left_start)) {
            left.join(right);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::PAGE_SIZE;
    use crate::vma::{Advice, Backing, Prot, Share};
    use alloc::vec;

    const fn pg(n: usize) -> usize {
        n * PAGE_SIZE
    }

    fn r(a: usize, b: usize) -> VirtRange {
        VirtRange::new(pg(a), pg(b)).unwrap()
    }

    fn file_vma(a: usize, b: usize, prot: Prot, off_page: usize) -> Vma<u32> {
        Vma::new(r(a, b), prot, Share::Shared, Backing::File { file: 1, offset: pg(off_page) as u64 })
    }

    fn set_of(vmas: Vec<Vma<u32>>) -> VmaSet<u32> {
        let mut set = VmaSet::new();
        for v in vmas {
            set.insert(v).unwrap();
        }
        set
    }

    fn contents(set: &VmaSet<u32>) -> Vec<Vma<u32>> {
        set.iter().cloned().collect()
    }

    #[test]
    fn is_mapped_sees_every_hole() {
        let set = set_of(vec![
            file_vma(1, 3, Prot::READ, 0),
            file_vma(3, 5, Prot::READ, 7),
            file_vma(6, 8, Prot::READ, 0),
        ]);
        assert!(set.is_mapped(r(1, 5)));
        assert!(set.is_mapped(r(2, 4)));
        assert!(set.is_mapped(r(6, 7)));
        assert!(!set.is_mapped(r(4, 7)), "hole at page 5");
        assert!(!set.is_mapped(r(0, 2)), "hole at page 0");
        assert!(!set.is_mapped(r(7, 9)), "hole at the end");
        assert!(!set.is_mapped(r(10, 11)));
        assert!(!VmaSet::<u32>::new().is_mapped(r(1, 2)));
    }

    #[test]
    fn protect_middle_cuts_in_three_and_back() {
        let mut set = set_of(vec![file_vma(1, 6, Prot::READ, 10)]);
        assert_eq!(set.cuts_needed(r(2, 4)), 2);
        set.update_range(r(2, 4), |v| v.prot = Prot::ALL);
        set.check_invariants();
        assert_eq!(
            contents(&set),
            vec![
                file_vma(1, 2, Prot::READ, 10),
                file_vma(2, 4, Prot::ALL, 11),
                file_vma(4, 6, Prot::READ, 13)
            ]
        );
        // Protecting it back merges all three again.
        assert_eq!(set.cuts_needed(r(2, 4)), 0);
        set.update_range(r(2, 4), |v| v.prot = Prot::READ);
        set.check_invariants();
        assert_eq!(contents(&set), vec![file_vma(1, 6, Prot::READ, 10)]);
    }

    #[test]
    fn update_across_vmas_merges_equal_neighbours_only() {
        //  pages: 1  2  3  4  5  6  7
        //         [A r-)[B rw)[C r- offset gap)
        let mut set = set_of(vec![
            file_vma(1, 3, Prot::READ, 0),
            file_vma(3, 5, Prot::ALL, 2),
            file_vma(5, 7, Prot::READ, 9),
        ]);
        set.update_range(r(3, 5), |v| v.prot = Prot::READ);
        set.check_invariants();
        // A and B join (B continues A's file); C does not (its offset does not follow).
        assert_eq!(contents(&set), vec![file_vma(1, 5, Prot::READ, 0), file_vma(5, 7, Prot::READ, 9)]);
    }

    #[test]
    fn advice_splits_and_merges_like_prot() {
        let anon = |a, b| Vma::<u32>::new(r(a, b), Prot::ALL, Share::Private, Backing::Anonymous);
        let mut set = set_of(vec![anon(1, 9)]);
        assert_eq!(set.cuts_needed(r(1, 4)), 1);
        set.update_range(r(1, 4), |v| v.advice = Advice::Random);
        set.check_invariants();
        let got = contents(&set);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].range(), got[0].advice), (r(1, 4), Advice::Random));
        assert_eq!((got[1].range(), got[1].advice), (r(4, 9), Advice::Normal));
        set.update_range(r(1, 9), |v| v.advice = Advice::Normal);
        assert_eq!(contents(&set), vec![anon(1, 9)]);
    }

    #[test]
    fn update_with_no_change_leaves_one_vma() {
        let mut set = set_of(vec![file_vma(1, 6, Prot::READ, 0)]);
        set.update_range(r(2, 3), |_| {});
        set.check_invariants();
        assert_eq!(contents(&set), vec![file_vma(1, 6, Prot::READ, 0)]);
    }
}
