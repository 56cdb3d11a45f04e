//! Unit tests of [`VmaSet`]: each split case of `remove_range`, placement by `find_gap`, and a
//! set of 10,000 VMAs. Addresses are written in pages to keep the cases readable.

use super::*;
use crate::range::PAGE_SIZE;
use crate::vma::{Backing, Prot, Share};
use alloc::vec;

const fn pg(n: usize) -> usize {
    n * PAGE_SIZE
}

fn r(start_page: usize, end_page: usize) -> VirtRange {
    VirtRange::new(pg(start_page), pg(end_page)).unwrap()
}

/// A shared file VMA of file `file` whose first page is file page `off_page`.
fn file_vma(start: usize, end: usize, file: u32, off_page: usize) -> Vma<u32> {
    let backing = Backing::File { file, offset: pg(off_page) as u64 };
    Vma::new(r(start, end), Prot::READ, Share::Shared, backing)
}

fn anon_vma(start: usize, end: usize) -> Vma<u32> {
    Vma::new(r(start, end), Prot::READ | Prot::WRITE, Share::Private, Backing::Anonymous)
}

fn set_of(vmas: Vec<Vma<u32>>) -> VmaSet<u32> {
    let mut set = VmaSet::new();
    for v in vmas {
        set.insert(v).unwrap();
    }
    set.check_invariants();
    set
}

fn contents(set: &VmaSet<u32>) -> Vec<Vma<u32>> {
    set.iter().cloned().collect()
}

#[test]
fn unmap_prefix_keeps_right_piece_with_shifted_offset() {
    let mut set = set_of(vec![file_vma(1, 5, 9, 10)]);
    let removed = set.remove_range(r(1, 2));
    set.check_invariants();
    assert_eq!(removed, vec![file_vma(1, 2, 9, 10)]);
    assert_eq!(contents(&set), vec![file_vma(2, 5, 9, 11)]);
}

#[test]
fn unmap_suffix_keeps_left_piece_and_its_offset() {
    let mut set = set_of(vec![file_vma(1, 5, 9, 10)]);
    let removed = set.remove_range(r(4, 6));
    set.check_invariants();
    assert_eq!(removed, vec![file_vma(4, 5, 9, 13)]);
    assert_eq!(contents(&set), vec![file_vma(1, 4, 9, 10)]);
}

#[test]
fn unmap_middle_hole_splits_in_two() {
    let mut set = set_of(vec![file_vma(1, 5, 9, 10)]);
    let removed = set.remove_range(r(2, 3));
    set.check_invariants();
    assert_eq!(removed, vec![file_vma(2, 3, 9, 11)]);
    assert_eq!(contents(&set), vec![file_vma(1, 2, 9, 10), file_vma(3, 5, 9, 12)]);
    assert_eq!(set.find(pg(2)), None);
    assert_eq!(set.find(pg(4) + 5).unwrap().file_offset_at(pg(4)), Some((&9, pg(13) as u64)));
}

#[test]
fn unmap_spanning_three_vmas() {
    //  pages:  1  2  3  4  5  6  7  8
    //  before: [A----)[B----)  [C-------)
    //  unmap:     [---------------)
    let mut set = set_of(vec![file_vma(1, 3, 1, 0), anon_vma(3, 5), file_vma(6, 9, 3, 20)]);
    let removed = set.remove_range(r(2, 7));
    set.check_invariants();
    assert_eq!(removed, vec![file_vma(2, 3, 1, 1), anon_vma(3, 5), file_vma(6, 7, 3, 20)]);
    assert_eq!(contents(&set), vec![file_vma(1, 2, 1, 0), file_vma(7, 9, 3, 21)]);
    // The freed pages and the old gap at page 5 became one gap.
    assert_eq!(set.find_gap(pg(5), None, pg(1), pg(100)), Some(pg(2)));
}

#[test]
fn unmap_exact_match_removes_whole_vma() {
    let mut set = set_of(vec![anon_vma(1, 2), file_vma(2, 4, 5, 7), anon_vma(4, 5)]);
    let removed = set.remove_range(r(2, 4));
    set.check_invariants();
    assert_eq!(removed, vec![file_vma(2, 4, 5, 7)]);
    assert_eq!(contents(&set), vec![anon_vma(1, 2), anon_vma(4, 5)]);
}

#[test]
fn unmap_nothing_mapped_changes_nothing() {
    let mut empty: VmaSet<u32> = VmaSet::new();
    assert!(empty.remove_range(r(0, 100)).is_empty());
    empty.check_invariants();

    let mut set = set_of(vec![anon_vma(1, 3), anon_vma(6, 8)]);
    assert!(set.remove_range(r(3, 6)).is_empty());
    assert!(set.remove_range(r(8, 9)).is_empty());
    set.check_invariants();
    assert_eq!(contents(&set), vec![anon_vma(1, 3), anon_vma(6, 8)]);
}

#[test]
fn unmap_everything() {
    let mut set = set_of(vec![anon_vma(0, 1), anon_vma(3, 4), file_vma(10, 20, 1, 0)]);
    let all = VirtRange::new(0, ADDR_END).unwrap();
    assert_eq!(set.remove_range(all).len(), 3);
    set.check_invariants();
    assert!(set.is_empty());
}

#[test]
fn split_at_cases() {
    let mut set = set_of(vec![file_vma(2, 6, 4, 0)]);
    assert!(!set.split_at(pg(1)), "in a gap");
    assert!(!set.split_at(pg(2)), "at a start");
    assert!(!set.split_at(pg(6)), "at an end");
    assert!(!set.split_at(pg(3) + 8), "unaligned");
    assert!(set.split_at(pg(3)));
    assert!(!set.split_at(pg(3)), "now a boundary");
    set.check_invariants();
    assert_eq!(contents(&set), vec![file_vma(2, 3, 4, 0), file_vma(3, 6, 4, 1)]);
}

#[test]
fn insert_rejects_every_kind_of_overlap() {
    let mut set = set_of(vec![anon_vma(4, 8)]);
    for (s, e) in [(4, 8), (3, 5), (7, 9), (5, 6), (2, 10)] {
        assert_eq!(set.insert(anon_vma(s, e)), Err(Overlap), "[{s}, {e})");
    }
    set.check_invariants();
    assert_eq!(set.len(), 1);
    set.insert(anon_vma(3, 4)).unwrap();
    set.insert(anon_vma(8, 9)).unwrap();
    set.check_invariants();
    assert_eq!(set.len(), 3);
    assert_eq!(abi::Errno::from(Overlap), abi::Errno::Exist);
}

#[test]
fn find_overlaps_and_iter_overlapping() {
    let set = set_of(vec![anon_vma(1, 3), file_vma(5, 8, 2, 0)]);
    assert_eq!(set.find(pg(1)).unwrap().range(), r(1, 3));
    assert_eq!(set.find(pg(3) - 1).unwrap().range(), r(1, 3));
    assert!(set.find(pg(3)).is_none());
    assert!(set.find(0).is_none());
    assert!(set.find(usize::MAX).is_none());
    assert!(set.overlaps(r(2, 4)));
    assert!(set.overlaps(r(0, 100)));
    assert!(!set.overlaps(r(3, 5)));
    assert!(!set.overlaps(r(8, 9)));
    let hit: Vec<_> = set.iter_overlapping(r(2, 6)).map(|v| v.range()).collect();
    assert_eq!(hit, vec![r(1, 3), r(5, 8)]);
    let hit: Vec<_> = set.iter_overlapping(r(6, 7)).map(|v| v.range()).collect();
    assert_eq!(hit, vec![r(5, 8)]);
    assert_eq!(set.iter_overlapping(r(3, 5)).count(), 0);
}

#[test]
fn find_mut_changes_prot_in_place() {
    let mut set = set_of(vec![anon_vma(1, 3)]);
    set.find_mut(pg(2)).unwrap().prot = Prot::READ;
    assert_eq!(set.find(pg(1)).unwrap().prot, Prot::READ);
    assert!(set.find_mut(pg(3)).is_none());
}

#[test]
fn find_gap_reuses_freed_range() {
    let (lo, hi) = (pg(16), pg(64));
    let mut set: VmaSet<u32> = VmaSet::new();
    for expect in [16, 18, 20] {
        let at = set.find_gap(pg(2), None, lo, hi).unwrap();
        assert_eq!(at, pg(expect));
        set.insert(anon_vma(expect, expect + 2)).unwrap();
    }
    set.remove_range(r(18, 20));
    set.check_invariants();
    assert_eq!(set.find_gap(pg(2), None, lo, hi), Some(pg(18)));
    assert_eq!(set.find_gap(pg(1), None, lo, hi), Some(pg(18)));
    // Too small for three pages: the next fit is above the last VMA.
    assert_eq!(set.find_gap(pg(3), None, lo, hi), Some(pg(22)));
}

#[test]
fn find_gap_honours_free_hint() {
    let set = set_of(vec![anon_vma(16, 18)]);
    assert_eq!(set.find_gap(pg(2), Some(pg(40)), pg(16), pg(64)), Some(pg(40)));
    assert_eq!(set.find_gap(pg(2), Some(pg(18)), pg(16), pg(64)), Some(pg(18)));
    assert_eq!(set.find_gap(pg(2), Some(pg(62)), pg(16), pg(64)), Some(pg(62)));
}

#[test]
fn find_gap_ignores_occupied_or_bad_hint() {
    let set = set_of(vec![anon_vma(16, 18), anon_vma(30, 32)]);
    let (lo, hi) = (pg(16), pg(64));
    assert_eq!(set.find_gap(pg(2), Some(pg(17)), lo, hi), Some(pg(18)), "occupied");
    assert_eq!(set.find_gap(pg(2), Some(pg(29)), lo, hi), Some(pg(18)), "runs into a VMA");
    assert_eq!(set.find_gap(pg(2), Some(pg(40) + 1), lo, hi), Some(pg(18)), "unaligned");
    assert_eq!(set.find_gap(pg(2), Some(pg(4)), lo, hi), Some(pg(18)), "below lo");
    assert_eq!(set.find_gap(pg(2), Some(pg(63)), lo, hi), Some(pg(18)), "past hi");
    assert_eq!(set.find_gap(pg(2), Some(usize::MAX & !(PAGE_SIZE - 1)), lo, hi), Some(pg(18)));
}

#[test]
fn find_gap_respects_bounds() {
    let set = set_of(vec![anon_vma(10, 20), anon_vma(22, 30)]);
    // The gap containing lo starts below it.
    assert_eq!(set.find_gap(pg(2), None, pg(5), pg(40)), Some(pg(5)));
    assert_eq!(set.find_gap(pg(6), None, pg(5), pg(40)), Some(pg(30)));
    // lo inside a VMA.
    assert_eq!(set.find_gap(pg(2), None, pg(12), pg(40)), Some(pg(20)));
    // The only fit would cross hi.
    assert_eq!(set.find_gap(pg(3), None, pg(12), pg(32)), None);
    assert_eq!(set.find_gap(pg(2), None, pg(12), pg(32)), Some(pg(20)));
    // Unaligned bounds are rounded inwards.
    assert_eq!(set.find_gap(pg(2), None, pg(19) + 1, pg(22) + 1), Some(pg(20)));
    // Degenerate requests.
    assert_eq!(set.find_gap(0, None, 0, pg(40)), None);
    assert_eq!(set.find_gap(100, None, 0, pg(40)), None);
    assert_eq!(set.find_gap(pg(1), None, pg(40), pg(40)), None);
    assert_eq!(set.find_gap(pg(1), None, usize::MAX, usize::MAX), None);
    assert_eq!(set.find_gap(pg(1), None, ADDR_END - pg(1), usize::MAX), Some(ADDR_END - pg(1)));
}

#[test]
fn clone_for_fork_is_independent() {
    let parent = set_of(vec![anon_vma(1, 3), file_vma(4, 8, 6, 0)]);
    let mut child = parent.clone();
    child.remove_range(r(5, 6));
    child.check_invariants();
    parent.check_invariants();
    assert_eq!(parent.len(), 2);
    assert_eq!(child.len(), 3);
    assert_eq!(parent.find(pg(5)).unwrap().range(), r(4, 8));
}

#[test]
fn ten_thousand_vmas_packed_from_lo() {
    const N: usize = 10_000;
    let (lo, hi) = (pg(1 << 20), pg(1 << 24));
    let mut set: VmaSet<u32> = VmaSet::new();
    for i in 0..N {
        let at = set.find_gap(pg(1), None, lo, hi).unwrap();
        assert_eq!(at, lo + pg(i));
        let v = Vma::new(
            VirtRange::from_start_len(at, pg(1)).unwrap(),
            Prot::READ,
            Share::Shared,
            Backing::File { file: i as u32, offset: 0 },
        );
        set.insert(v).unwrap();
    }
    set.check_invariants();
    assert_eq!(set.len(), N);
    // Everything below the top is packed: the next single page goes right after it, a hint
    // into the packed area is ignored, and `find` hits every VMA.
    assert_eq!(set.find_gap(pg(1), Some(lo + pg(7)), lo, hi), Some(lo + pg(N)));
    for i in 0..N {
        let v = set.find(lo + pg(i) + 123).unwrap();
        assert_eq!(v.range().start(), lo + pg(i));
        assert_eq!(v.backing, Backing::File { file: i as u32, offset: 0 });
    }
    // Free every third page; the lowest hole is reused first.
    for i in (0..N).step_by(3) {
        assert_eq!(set.remove_range(r((1 << 20) + i, (1 << 20) + i + 1)).len(), 1);
    }
    set.check_invariants();
    assert_eq!(set.find_gap(pg(1), None, lo, hi), Some(lo));
    assert_eq!(set.find_gap(pg(1), None, lo + pg(1), hi), Some(lo + pg(3)));
    // Page N - 1 was freed too (N - 1 is a multiple of 3) and merged with the gap above.
    assert_eq!((N - 1) % 3, 0);
    assert_eq!(set.find_gap(pg(2), None, lo, hi), Some(lo + pg(N - 1)));
    // One unmap across all of them.
    let all = VirtRange::new(lo, lo + pg(N)).unwrap();
    assert_eq!(set.remove_range(all).len(), N - N.div_ceil(3));
    set.check_invariants();
    assert!(set.is_empty());
    assert_eq!(set.find_gap(pg(N), None, lo, hi), Some(lo));
}
