//! Unit tests of [`PageTable`] and the leaf walks over [`FakeMemory`]: each operation, the
//! 2 MiB and 1 GiB boundaries, the top of the address space, running out of table pages,
//! superpages made by hand, and the cost of skipping missing tables.

use crate::testing::FakeMemory;
use crate::*;
use alloc::vec::Vec;
use core::ops::ControlFlow;

const RW: PteFlags = PteFlags::R.union(PteFlags::W);
const URW: PteFlags = RW.union(PteFlags::U);
const MIB2: usize = 1 << 21;
const GIB: usize = 1 << 30;

fn va(a: usize) -> VirtAddr {
    VirtAddr::new(a).unwrap()
}

fn pa(a: usize) -> PhysAddr {
    PhysAddr::new(a).unwrap()
}

fn range(start: usize, end: usize) -> VaRange {
    VaRange::new(start, end).unwrap()
}

fn setup() -> (FakeMemory, PageTable) {
    let mut mem = FakeMemory::new();
    let pt = PageTable::new(&mut mem).unwrap();
    (mem, pt)
}

fn all_leaves(mem: &FakeMemory, pt: &PageTable, r: VaRange) -> Vec<(usize, usize)> {
    pt.leaves(mem, r).map(|(v, p)| (v.as_usize(), p.pa().as_usize())).collect()
}

#[test]
fn map_walk_unmap_one_page() {
    let (mut mem, pt) = setup();
    assert_eq!(pt.walk(&mem, va(0x1000)), None, "no level-1 table yet");
    pt.map(&mut mem, va(0x1000), pa(0x9000_0000), URW).unwrap();
    assert_eq!(mem.live_tables(), 3);
    let pte = pt.lookup(&mem, va(0x1000)).unwrap();
    assert_eq!(pte.pa(), pa(0x9000_0000));
    assert_eq!(pte.flags(), URW | PteFlags::V, "map adds V and nothing else");
    assert_eq!(pt.translate(&mem, va(0x1abc)), Some(pa(0x9000_0abc)));
    // The neighbour shares the level-0 table: walk sees its empty entry, lookup nothing.
    assert_eq!(pt.walk(&mem, va(0x2000)), Some(Pte::EMPTY));
    assert_eq!(pt.lookup(&mem, va(0x2000)), None);
    assert_eq!(pt.unmap(&mut mem, va(0x1fff)), Some(pte), "any address in the page");
    assert_eq!(pt.unmap(&mut mem, va(0x1000)), None);
    assert_eq!(pt.lookup(&mem, va(0x1000)), None);
    assert_eq!(mem.live_tables(), 3, "unmap frees no table");
    assert_eq!(pt.free_tables(&mut mem), 0);
    assert_eq!(mem.live_tables(), 0);
}

#[test]
fn map_refuses_remap_unaligned_and_bad_flags() {
    let (mut mem, pt) = setup();
    pt.map(&mut mem, va(0x5000), pa(0x8000_0000), RW).unwrap();
    assert_eq!(pt.map(&mut mem, va(0x5000), pa(0x8000_1000), RW), Err(MapError::AlreadyMapped));
    assert_eq!(pt.lookup(&mem, va(0x5000)).unwrap().pa(), pa(0x8000_0000), "unchanged");
    assert_eq!(pt.map(&mut mem, va(0x6001), pa(0x8000_0000), RW), Err(MapError::Unaligned));
    assert_eq!(pt.map(&mut mem, va(0x6000), pa(0x8000_0010), RW), Err(MapError::Unaligned));
    assert_eq!(pt.map(&mut mem, va(0x6000), pa(0x8000_0000), PteFlags::U), Err(MapError::BadFlags));
    assert_eq!(pt.map(&mut mem, va(0x6000), pa(0x8000_0000), PteFlags::W), Err(MapError::BadFlags));
    assert_eq!(pt.lookup(&mem, va(0x6000)), None);
    pt.unmap(&mut mem, va(0x5000)).unwrap();
    assert_eq!(pt.free_tables(&mut mem), 0);
}

#[test]
fn update_reads_and_replaces_one_entry() {
    let (mut mem, pt) = setup();
    assert_eq!(pt.update(&mut mem, va(0x3000), false, |_| unreachable!()), None, "no table, no alloc");
    let new = Pte::new(pa(0x8800_0000), URW | PteFlags::V);
    assert_eq!(
        pt.update(&mut mem, va(0x3000), true, |old| new.with_flags(new.flags() | old.flags())),
        Some(Pte::EMPTY)
    );
    assert_eq!(pt.lookup(&mem, va(0x3000)), Some(new));
    // Clearing D in place, as write-back does.
    let dirty = new.with_flags(new.flags() | PteFlags::D);
    pt.update(&mut mem, va(0x3000), false, |_| dirty).unwrap();
    let old = pt.update(&mut mem, va(0x3000), false, |p| p.with_flags(p.flags() - PteFlags::D)).unwrap();
    assert_eq!(old, dirty);
    assert_eq!(pt.lookup(&mem, va(0x3000)), Some(new));
    pt.update(&mut mem, va(0x3000), false, |_| Pte::EMPTY).unwrap();
    assert_eq!(pt.free_tables(&mut mem), 0);
}

#[test]
fn level_boundaries_use_separate_tables() {
    let (mut mem, pt) = setup();
    for a in [MIB2 - 0x1000, MIB2, GIB - 0x1000, GIB] {
        pt.map(&mut mem, va(a), pa(0x8000_0000 + a % (1 << 24)), RW).unwrap();
    }
    // root + (1 level-1 for GiB 0: two level-0 tables) + (1 level-1 for GiB 1: one level-0),
    // plus the level-0 table for the page just below 1 GiB.
    assert_eq!(mem.live_tables(), 1 + 1 + 3 + 1 + 1);
    let got: Vec<usize> = pt.leaves(&mem, VaRange::all()).map(|(v, _)| v.as_usize()).collect();
    assert_eq!(got, [MIB2 - 0x1000, MIB2, GIB - 0x1000, GIB]);
    // A range ending exactly at a boundary excludes the page above it.
    let below: Vec<usize> = pt.leaves(&mem, range(0, MIB2)).map(|(v, _)| v.as_usize()).collect();
    assert_eq!(below, [MIB2 - 0x1000]);
    let across = all_leaves(&mem, &pt, range(GIB - 0x1000, GIB + 0x1000));
    assert_eq!(across.len(), 2);
    assert_eq!(pt.free_tables(&mut mem), 4, "leaves left mapped are counted");
    assert_eq!(mem.live_tables(), 0);
}

#[test]
fn top_of_the_address_space() {
    let (mut mem, pt) = setup();
    let last = MAXVA - PAGE_SIZE;
    pt.map(&mut mem, va(last), pa(0x8000_0000), PteFlags::R | PteFlags::X).unwrap();
    assert_eq!(pt.translate(&mem, va(MAXVA - 1)), Some(pa(0x8000_0fff)));
    assert_eq!(all_leaves(&mem, &pt, VaRange::all()), [(last, 0x8000_0000)]);
    assert_eq!(all_leaves(&mem, &pt, range(last, MAXVA)), [(last, 0x8000_0000)]);
    // Stopping on the last page hands back an empty range at MAXVA.
    let flow = pt.for_each_leaf(&mem, VaRange::all(), |_, _| ControlFlow::Break(7));
    assert_eq!(flow, ControlFlow::Break((7, range(MAXVA, MAXVA))));
    pt.unmap(&mut mem, va(last)).unwrap();
    assert_eq!(pt.free_tables(&mut mem), 0);
}

#[test]
fn out_of_table_memory() {
    let mut mem = FakeMemory::with_limit(2);
    let pt = PageTable::new(&mut mem).unwrap();
    assert_eq!(pt.map(&mut mem, va(0x1000), pa(0x8000_0000), RW), Err(MapError::OutOfMemory));
    assert_eq!(pt.update(&mut mem, va(0x1000), true, |p| p), None);
    assert_eq!(pt.walk(&mem, va(0x1000)), None);
    mem.set_limit(None);
    pt.map(&mut mem, va(0x1000), pa(0x8000_0000), RW).unwrap();
    pt.unmap(&mut mem, va(0x1000)).unwrap();
    assert_eq!(pt.free_tables(&mut mem), 0);
    assert_eq!(mem.live_tables(), 0, "the half-built path is freed too");
    assert!(PageTable::new(&mut FakeMemory::with_limit(0)).is_none());
}

#[test]
fn skipping_missing_tables_costs_one_read_per_block() {
    let (mut mem, pt) = setup();
    mem.reset_reads();
    assert_eq!(pt.leaves(&mem, VaRange::all()).count(), 0);
    assert_eq!(mem.reads(), MAXVA / GIB, "one read per level-2 entry");
    pt.map(&mut mem, va(5 * GIB + 3 * MIB2), pa(0x8000_0000), RW).unwrap();
    mem.reset_reads();
    assert_eq!(pt.leaves(&mem, VaRange::all()).count(), 1);
    // 256 level-2 entries, 512 level-1 entries under GiB 5, 512 entries of the one level-0
    // table: the populated 2 MiB is read once per page, nothing else page by page.
    assert_eq!(mem.reads(), 256 + 512 + 512);
    assert_eq!(pt.free_tables(&mut mem), 1);
}

#[test]
fn visitor_stops_and_resumes() {
    let (mut mem, pt) = setup();
    let pages: Vec<usize> = (0..10).map(|i| i * 3 * MIB2 / 2).map(|a| a & !(PAGE_SIZE - 1)).collect();
    for (i, &a) in pages.iter().enumerate() {
        pt.map(&mut mem, va(a), pa(0x8000_0000 + i * PAGE_SIZE), URW).unwrap();
    }
    let mut seen = Vec::new();
    let mut rest = VaRange::all();
    let mut batches = 0;
    loop {
        let mut n = 0;
        let flow = pt.for_each_leaf(&mem, rest, |v, _| {
            seen.push(v.as_usize());
            n += 1;
            if n == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        batches += 1;
        match flow {
            ControlFlow::Break(((), r)) => rest = r,
            ControlFlow::Continue(()) => break,
        }
    }
    assert_eq!(seen, pages);
    assert_eq!(batches, 4);
    // The external iterator resumes the same way.
    let mut it = pt.leaves(&mem, VaRange::all());
    it.next();
    let r = it.rest();
    assert_eq!(r.start(), pages[0] + PAGE_SIZE);
    assert_eq!(pt.leaves(&mem, r).count(), 9);
    // Unmap everything through the mutable visitor, then nothing is left.
    let flow: ControlFlow<((), VaRange)> = pt.for_each_leaf_mut(&mut mem, VaRange::all(), |_, pte| {
        *pte = Pte::EMPTY;
        ControlFlow::Continue(())
    });
    assert_eq!(flow, ControlFlow::Continue(()));
    assert_eq!(pt.leaves(&mem, VaRange::all()).count(), 0);
    assert_eq!(pt.free_tables(&mut mem), 0);
}

#[test]
fn mutable_visitor_writes_only_changed_entries() {
    let (mut mem, pt) = setup();
    for i in 0..4 {
        pt.map(&mut mem, va(0x10000 + i * PAGE_SIZE), pa(0x8000_0000), URW | PteFlags::D).unwrap();
    }
    // Clear D on the two middle pages only, stopping after the third.
    let flow = pt.for_each_leaf_mut(&mut mem, range(0x10000, 0x20000), |v, pte| {
        if v.as_usize() >= 0x11000 {
            *pte = pte.with_flags(pte.flags() - PteFlags::D);
        }
        if v.as_usize() == 0x12000 {
            ControlFlow::Break(v)
        } else {
            ControlFlow::Continue(())
        }
    });
    assert_eq!(flow, ControlFlow::Break((va(0x12000), range(0x13000, 0x20000))));
    let dirty: Vec<bool> =
        pt.leaves(&mem, VaRange::all()).map(|(_, p)| p.flags().contains(PteFlags::D)).collect();
    assert_eq!(dirty, [true, false, false, true]);
    assert_eq!(pt.free_tables(&mut mem), 4);
}

#[test]
fn superpages_made_by_hand_are_leaves() {
    let (mut mem, pt) = setup();
    // A 2 MiB leaf at level 1 for [4 MiB, 6 MiB), written through `update`'s slot.
    pt.map(&mut mem, va(0x1000), pa(0x8000_0000), RW).unwrap();
    let l1 = TableMemory::read(&mem, pt.root(), 0).pa();
    let big = Pte::new(pa(0x9000_0000), RW | PteFlags::V);
    TableMemory::write(&mut mem, l1, 2, big);
    assert_eq!(pt.lookup(&mem, va(2 * MIB2 + 0x5000)), Some(big));
    assert_eq!(pt.translate(&mem, va(2 * MIB2 + 0x5123)), Some(pa(0x9000_5123)));
    assert_eq!(pt.map(&mut mem, va(2 * MIB2 + 0x5000), pa(0x8000_0000), RW), Err(MapError::AlreadyMapped));
    // Visited once, at its first address, even when the range starts inside it.
    let got = all_leaves(&mem, &pt, range(2 * MIB2 + 0x5000, 8 * MIB2));
    assert_eq!(got, [(2 * MIB2, 0x9000_0000)]);
    assert_eq!(all_leaves(&mem, &pt, VaRange::all()).len(), 2);
    assert_eq!(pt.unmap(&mut mem, va(2 * MIB2 + 0x7000)), Some(big));
    assert_eq!(pt.lookup(&mem, va(2 * MIB2)), None);
    pt.unmap(&mut mem, va(0x1000)).unwrap();
    assert_eq!(pt.free_tables(&mut mem), 0);
    assert_eq!(mem.live_tables(), 0);
}

#[test]
fn satp_names_the_root() {
    let (mut mem, pt) = setup();
    assert_eq!(pt.satp(), satp(pt.root()));
    assert_eq!(pt.satp() >> 60, 8);
    assert_eq!((pt.satp() & ((1 << 44) - 1)) << 12, pt.root().as_usize());
    assert_eq!(PageTable::from_root(pt.root()), pt);
    assert_eq!(pt.free_tables(&mut mem), 0);
}

/// `copy_leaves` copies exactly the valid leaves of the range, as `f` transforms them, into
/// the same addresses of the child, across 2 MiB and 1 GiB boundaries, writes back the
/// parent's entries `f` changed, skips the leaves `f` declines, and allocates the child's
/// level-0 tables only for populated blocks.
#[test]
fn copy_leaves_copies_and_transforms() {
    let (mut mem, parent) = setup();
    let pages = [0x1000, 0x2000, MIB2 - 0x1000, MIB2, MIB2 + 0x5000, GIB + 0x3000, 3 * GIB - 0x1000];
    for (k, &v) in pages.iter().enumerate() {
        parent.map(&mut mem, va(v), pa(0x9000_0000 + k * 0x1000), URW).unwrap();
    }
    let child = PageTable::new(&mut mem).unwrap();
    let before = mem.live_tables();
    let mut seen = Vec::new();
    parent
        .copy_leaves(&mut mem, &child, range(0x2000, 3 * GIB - 0x1000), |v, pte| {
            seen.push(v.as_usize());
            *pte = pte.with_flags(pte.flags() - PteFlags::W);
            (v.as_usize() != MIB2).then_some(*pte)
        })
        .unwrap();
    assert_eq!(seen, [0x2000, MIB2 - 0x1000, MIB2, MIB2 + 0x5000, GIB + 0x3000], "leaves visited in order");
    // Parent: W cleared inside the range only.
    for &v in &pages {
        let f = parent.lookup(&mem, va(v)).unwrap().flags();
        let inside = (0x2000..3 * GIB - 0x1000).contains(&v);
        assert_eq!(f.contains(PteFlags::W), !inside, "parent's W at {v:#x}");
    }
    let copied: Vec<(usize, usize)> = all_leaves(&mem, &child, range(0, 4 * GIB));
    let expect: Vec<(usize, usize)> = pages
        .iter()
        .enumerate()
        .filter(|&(_, &v)| (0x2000..3 * GIB - 0x1000).contains(&v) && v != MIB2)
        .map(|(k, &v)| (v, 0x9000_0000 + k * 0x1000))
        .collect();
    assert_eq!(copied, expect, "the child holds the accepted leaves at the same addresses");
    assert!(child.leaves(&mem, range(0, 4 * GIB)).all(|(_, p)| !p.flags().contains(PteFlags::W)));
    // Child tables: level 1 for GiB 0 and GiB 1, level 0 for blocks 0, 1 and GiB 1's first.
    assert_eq!(mem.live_tables() - before, 5, "tables allocated for the child");
}

/// `copy_leaves` out of table pages fails with OutOfMemory, having copied the blocks before.
#[test]
fn copy_leaves_out_of_memory() {
    let (mut mem, parent) = setup();
    for v in [0x1000, GIB + 0x1000] {
        parent.map(&mut mem, va(v), pa(0x9000_0000), URW).unwrap();
    }
    let child = PageTable::new(&mut mem).unwrap();
    // Room for the child's two tables under GiB 0, not for GiB 1's.
    mem.set_limit(Some(mem.live_tables() + 2));
    let mut calls = 0;
    let r = parent.copy_leaves(&mut mem, &child, range(0, 2 * GIB), |_, pte| {
        calls += 1;
        Some(*pte)
    });
    assert_eq!(r, Err(MapError::OutOfMemory));
    assert_eq!(calls, 1, "f is not called for the leaf whose block could not be copied");
    assert_eq!(all_leaves(&mem, &child, range(0, 2 * GIB)), [(0x1000, 0x9000_0000)]);
}
