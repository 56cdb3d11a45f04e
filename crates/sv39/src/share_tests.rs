//! Tests of level-0 tables shared between trees (`share.rs`): unit tests of each operation,
//! and a property test that runs random forks, stores, unmaps, protection changes and exits
//! over several trees sharing tables, with page frames reference-counted in a fake, against
//! a model holding what each tree should read at each page.
//!
//! The checks after every step: each live tree reads (through its stubs) exactly its
//! model's values; a writable leaf that a hart could use (a linked table's) maps a page no
//! one else holds; every page's reference count is the number of distinct tables mapping it;
//! every table's count is the number of trees pointing at it; and at the end, with every
//! tree gone, no table and no page is left.

use crate::testing::FakeMemory;
use crate::*;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ops::ControlFlow;
use proptest::prelude::*;

const MIB2: usize = 1 << 21;
const GIB: usize = 1 << 30;
const RW: PteFlags = PteFlags::R.union(PteFlags::W).union(PteFlags::U);

fn va(a: usize) -> VirtAddr {
    VirtAddr::new(a).unwrap()
}

fn range(start: usize, end: usize) -> VaRange {
    VaRange::new(start, end).unwrap()
}

/// Page frames with reference counts and one value each (what a "load" of the page reads).
#[derive(Default)]
struct Frames {
    pages: BTreeMap<usize, (usize, u32)>,
    next: usize,
}

impl Frames {
    fn alloc(&mut self, value: u32) -> PhysAddr {
        let pa = 0x9000_0000 + self.next * PAGE_SIZE;
        self.next += 1;
        self.pages.insert(pa, (1, value));
        PhysAddr::new(pa).unwrap()
    }

    fn share(&mut self, pa: PhysAddr) {
        self.pages.get_mut(&pa.as_usize()).expect("share of a free page").0 += 1;
    }

    fn free(&mut self, pa: PhysAddr) {
        let e = self.pages.get_mut(&pa.as_usize()).expect("free of a free page");
        e.0 -= 1;
        if e.0 == 0 {
            self.pages.remove(&pa.as_usize());
        }
    }

    fn refs(&self, pa: PhysAddr) -> usize {
        self.pages[&pa.as_usize()].0
    }

    fn value(&self, pa: PhysAddr) -> u32 {
        self.pages[&pa.as_usize()].1
    }
}

/// Fork's transformation of a private leaf: one more page reference, W cleared on both sides.
fn cow(frames: &mut Frames) -> impl FnMut(VirtAddr, &mut Pte) -> Pte + '_ {
    |_, pte| {
        frames.share(pte.pa());
        *pte = pte.with_flags(pte.flags() - PteFlags::W);
        *pte
    }
}

#[test]
fn fork_shares_a_block_and_resolving_copies_or_relinks() {
    let mut mem = FakeMemory::new();
    let mut frames = Frames::default();
    let parent = PageTable::new(&mut mem).unwrap();
    for i in 0..4 {
        let pa = frames.alloc(i);
        parent.map(&mut mem, va(MIB2 + i as usize * PAGE_SIZE), pa, RW).unwrap();
    }
    let child = PageTable::new(&mut mem).unwrap();
    let tables_before = mem.live_tables();
    let n = parent
        .fork_range(&mut mem, &child, range(MIB2, MIB2 + 4 * PAGE_SIZE), |_| true, |_, _| unreachable!())
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(mem.live_tables(), tables_before + 1, "the child got a level-1 table and nothing else");
    for t in [&parent, &child] {
        assert!(t.is_stubbed(&mem, va(MIB2)));
        assert_eq!(t.lookup(&mem, va(MIB2)), None, "no hart walks a stub");
        let seen: Vec<u32> = t.leaves(&mem, range(0, GIB)).map(|(_, p)| frames.value(p.pa())).collect();
        assert_eq!(seen, [0, 1, 2, 3], "read-only walks read through the stub");
        let mut visited = 0;
        let _: ControlFlow<((), VaRange)> = t.for_each_leaf_mut(&mut mem, range(0, GIB), |_, _| {
            visited += 1;
            ControlFlow::Continue(())
        });
        assert_eq!(visited, 0, "changing walks skip stubs");
        assert_eq!(t.update(&mut mem, va(MIB2), true, |p| p), None, "no table is allocated over a stub");
    }
    // The child resolves first: a copy with W cleared, and W cleared in the shared original.
    let r = child.resolve_stubs(
        &mut mem,
        range(MIB2, MIB2 + PAGE_SIZE),
        false,
        cow(&mut frames),
        |_, _| unreachable!(),
    );
    assert_eq!(r, Ok(1));
    let pte = child.lookup(&mem, va(MIB2 + PAGE_SIZE)).unwrap();
    assert!(!pte.flags().contains(PteFlags::W));
    assert_eq!(frames.refs(pte.pa()), 2);
    assert!(parent.is_stubbed(&mem, va(MIB2)));
    // The parent is now the only holder: relinked as is, nothing copied.
    let tables = mem.live_tables();
    let r =
        parent.resolve_stubs(&mut mem, range(0, GIB), false, |_, _| unreachable!(), |_, _| unreachable!());
    assert_eq!(r, Ok(1));
    assert_eq!(mem.live_tables(), tables);
    let mine = parent.lookup(&mem, va(MIB2 + PAGE_SIZE)).unwrap();
    assert_eq!(mine.pa(), pte.pa());
    assert!(!mine.flags().contains(PteFlags::W), "the original lost W when the copy was made");
    for t in [parent, child] {
        let _: ControlFlow<((), VaRange)> = t.for_each_leaf_mut(&mut mem, range(0, GIB), |_, p| {
            frames.free(p.pa());
            *p = Pte::EMPTY;
            ControlFlow::Continue(())
        });
        assert_eq!(t.free_tables(&mut mem), 0);
    }
    assert_eq!(mem.live_tables(), 0);
    assert!(frames.pages.is_empty());
}

#[test]
fn dropping_stubs_touches_no_leaf_and_the_last_relinks() {
    let mut mem = FakeMemory::new();
    let parent = PageTable::new(&mut mem).unwrap();
    let pa = PhysAddr::new(0x9000_0000).unwrap();
    parent.map(&mut mem, va(3 * MIB2 + PAGE_SIZE), pa, RW).unwrap();
    let kids: Vec<PageTable> = (0..2).map(|_| PageTable::new(&mut mem).unwrap()).collect();
    for k in &kids {
        parent.fork_range(&mut mem, k, range(0, GIB), |_| true, |_, _| None).unwrap();
    }
    let table = parent.leaves(&mem, range(0, GIB)).count();
    assert_eq!(table, 1);
    // A partial range drops nothing.
    assert_eq!(kids[0].drop_stubs(&mut mem, range(3 * MIB2, 4 * MIB2 - PAGE_SIZE)), 0);
    assert_eq!(kids[0].drop_stubs(&mut mem, range(0, GIB)), 1);
    assert_eq!(kids[0].leaves(&mem, range(0, GIB)).count(), 0);
    assert_eq!(parent.drop_stubs(&mut mem, range(2 * MIB2, 4 * MIB2)), 1);
    assert!(kids[1].is_stubbed(&mem, va(3 * MIB2)));
    // The last holder gets the table back, linked, with its leaf.
    assert_eq!(kids[1].drop_stubs(&mut mem, range(0, GIB)), 1);
    assert_eq!(kids[1].lookup(&mem, va(3 * MIB2 + PAGE_SIZE)).map(|p| p.pa()), Some(pa));
    kids[1].unmap(&mut mem, va(3 * MIB2 + PAGE_SIZE)).unwrap();
    for t in kids.into_iter().chain([parent]) {
        assert_eq!(t.free_tables(&mut mem), 0);
    }
    assert_eq!(mem.live_tables(), 0);
}

#[test]
fn resolving_without_memory_changes_nothing() {
    let mut mem = FakeMemory::new();
    let mut frames = Frames::default();
    let parent = PageTable::new(&mut mem).unwrap();
    let pa = frames.alloc(7);
    parent.map(&mut mem, va(5 * MIB2), pa, RW).unwrap();
    let child = PageTable::new(&mut mem).unwrap();
    parent.fork_range(&mut mem, &child, range(0, GIB), |_| true, |_, _| None).unwrap();
    mem.set_limit(Some(mem.live_tables()));
    let r = child.resolve_stubs(&mut mem, range(0, GIB), false, cow(&mut frames), |_, _| unreachable!());
    assert_eq!(r, Err(MapError::OutOfMemory));
    assert!(child.is_stubbed(&mem, va(5 * MIB2)) && parent.is_stubbed(&mem, va(5 * MIB2)));
    assert_eq!(frames.refs(pa), 1);
    let shared = child.leaves(&mem, range(0, GIB)).next().unwrap().1;
    assert!(shared.flags().contains(PteFlags::W), "the shared entry is unchanged");
    // Without room for the child's level-1 table, a fork shares nothing.
    let third = PageTable::new(&mut mem);
    assert!(third.is_none());
    mem.set_limit(None);
    let third = PageTable::new(&mut mem).unwrap();
    mem.set_limit(Some(mem.live_tables()));
    let r = parent.fork_range(&mut mem, &third, range(0, GIB), |_| true, |_, _| None);
    assert_eq!(r, Err(MapError::OutOfMemory));
    mem.set_limit(None);
    assert_eq!(third.free_tables(&mut mem), 0);
    // free_tables drops the stubs left over; the last one frees the table and counts its leaf.
    assert_eq!(child.free_tables(&mut mem), 0);
    assert_eq!(parent.free_tables(&mut mem), 1);
    assert_eq!(mem.live_tables(), 0);
}

#[test]
fn fork_copies_leaf_by_leaf_where_sharing_is_not_allowed() {
    let mut mem = FakeMemory::new();
    let parent = PageTable::new(&mut mem).unwrap();
    for a in [0x1000, 0x5000, MIB2 + 0x3000] {
        parent.map(&mut mem, va(a), PhysAddr::new(0x9000_0000 + a).unwrap(), RW).unwrap();
    }
    let child = PageTable::new(&mut mem).unwrap();
    let mut seen = Vec::new();
    let shared = parent
        .fork_range(
            &mut mem,
            &child,
            range(0x2000, 2 * MIB2),
            |b| b.start() == MIB2,
            |v, p| {
                seen.push(v.as_usize());
                Some(p.with_flags(p.flags() - PteFlags::W))
            },
        )
        .unwrap();
    assert_eq!(shared, 1);
    assert_eq!(seen, [0x5000], "only leaves of the range, in the blocks not shared");
    assert_eq!(child.lookup(&mem, va(0x1000)), None);
    assert!(!child.lookup(&mem, va(0x5000)).unwrap().flags().contains(PteFlags::W));
    assert!(parent.lookup(&mem, va(0x5000)).unwrap().flags().contains(PteFlags::W), "f returned no change");
    assert!(child.is_stubbed(&mem, va(MIB2)) && parent.is_stubbed(&mem, va(MIB2)));
    child.unmap(&mut mem, va(0x5000)).unwrap();
    for t in [child, parent] {
        t.drop_stubs(&mut mem, range(0, GIB));
        let _: ControlFlow<((), VaRange)> = t.for_each_leaf_mut(&mut mem, range(0, GIB), |_, p| {
            *p = Pte::EMPTY;
            ControlFlow::Continue(())
        });
        assert_eq!(t.free_tables(&mut mem), 0);
    }
    assert_eq!(mem.live_tables(), 0);
}

/// Pages the property test uses: in block 0 (never shared, like the kernel's first block),
/// blocks 1 and 2 (each end), and a block in another GiB.
fn page(i: usize) -> usize {
    const BASES: [usize; 4] = [0, MIB2, 3 * MIB2 - 4 * PAGE_SIZE, 5 * GIB + 7 * MIB2];
    BASES[i / 8] + (i % 8) * PAGE_SIZE
}
const PAGES: usize = 32;
/// The range every tree's pages lie in, rounded out to whole blocks.
const SPACE: (usize, usize) = (0, 6 * GIB);

#[derive(Clone, Debug)]
enum Op {
    Fork { t: usize, split: usize, oom: bool },
    Store { t: usize, page: usize, value: u32, oom: bool },
    Unmap { t: usize, lo: usize, hi: usize, oom: bool },
    Protect { t: usize, lo: usize, hi: usize },
    Exit { t: usize },
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let page_range = (0..PAGES, 0..PAGES).prop_map(|(a, b)| (a.min(b), a.max(b)));
    prop_oneof![
        2 => (0..6usize, 0..PAGES, any::<bool>()).prop_map(|(t, split, oom)| Op::Fork { t, split, oom }),
        6 => (0..6usize, 0..PAGES, any::<u32>(), prop::bool::weighted(0.1))
            .prop_map(|(t, page, value, oom)| Op::Store { t, page, value, oom }),
        2 => (0..6usize, page_range.clone(), prop::bool::weighted(0.2))
            .prop_map(|(t, (lo, hi), oom)| Op::Unmap { t, lo, hi, oom }),
        1 => (0..6usize, page_range).prop_map(|(t, (lo, hi))| Op::Protect { t, lo, hi }),
        1 => (0..6usize).prop_map(|t| Op::Exit { t }),
    ]
}

/// Trees and what each should read.
struct World {
    mem: FakeMemory,
    frames: Frames,
    trees: Vec<Option<(PageTable, BTreeMap<usize, u32>)>>,
    shareable: [bool; 8],
}

impl World {
    /// The range of pages `lo..=hi` (by index), as an address range.
    fn pages(lo: usize, hi: usize) -> VaRange {
        range(page(lo), page(hi) + PAGE_SIZE)
    }

    fn live(&self, t: usize) -> Option<usize> {
        let live: Vec<usize> = (0..self.trees.len()).filter(|&i| self.trees[i].is_some()).collect();
        (!live.is_empty()).then(|| live[t % live.len()])
    }

    /// Resolves the stubs meeting `r` in tree `t` (only the partial ones when `keep_whole`).
    fn resolve(&mut self, t: usize, r: VaRange, keep_whole: bool) -> Result<usize, MapError> {
        let World { mem, frames, trees, .. } = self;
        let pt = &trees[t].as_ref().unwrap().0;
        let frames = core::cell::RefCell::new(frames);
        pt.resolve_stubs(
            mem,
            r,
            keep_whole,
            |_, pte| {
                frames.borrow_mut().share(pte.pa());
                *pte = pte.with_flags(pte.flags() - PteFlags::W);
                *pte
            },
            |_, pte| frames.borrow_mut().free(pte.pa()),
        )
    }

    /// Unmaps every leaf of `r` in tree `t` (after its stubs are resolved or dropped).
    fn clear(&mut self, t: usize, r: VaRange) {
        let World { mem, frames, trees, .. } = self;
        let pt = &trees[t].as_ref().unwrap().0;
        let _: ControlFlow<((), VaRange)> = pt.for_each_leaf_mut(mem, r, |_, p| {
            frames.free(p.pa());
            *p = Pte::EMPTY;
            ControlFlow::Continue(())
        });
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Fork { t, split, oom } => {
                let Some(t) = self.live(t) else { return };
                let Some(child) = PageTable::new(&mut self.mem) else { return };
                if oom {
                    self.mem.set_limit(Some(self.mem.live_tables() + 1));
                }
                let cut = page(split);
                let mut result = Ok(0);
                for part in [range(SPACE.0, cut), range(cut, SPACE.1)] {
                    let shareable = self.shareable;
                    let World { mem, frames, trees, .. } = &mut *self;
                    let pt = &trees[t].as_ref().unwrap().0;
                    let ok = |b: VaRange| b.start() / MIB2 != 0 && shareable[(b.start() / MIB2) % 8];
                    result = pt.fork_range(mem, &child, part, ok, |_, pte| {
                        frames.share(pte.pa());
                        *pte = pte.with_flags(pte.flags() - PteFlags::W);
                        Some(*pte)
                    });
                    if result.is_err() {
                        break;
                    }
                }
                self.mem.set_limit(None);
                let model = self.trees[t].as_ref().unwrap().1.clone();
                self.trees.push(Some((child, model)));
                if let Err(e) = result {
                    assert_eq!(e, MapError::OutOfMemory);
                    let n = self.trees.len() - 1;
                    self.exit(n); // the half-built child goes; the parent is unchanged
                }
            }
            Op::Store { t, page: p, value, oom } => {
                let Some(t) = self.live(t) else { return };
                let a = page(p);
                if oom {
                    self.mem.set_limit(Some(self.mem.live_tables()));
                }
                let r = self.resolve(t, range(a, a + PAGE_SIZE), false);
                self.mem.set_limit(None);
                if r.is_err() {
                    return; // out of memory: the process would be killed; nothing changed
                }
                let World { mem, frames, trees, .. } = self;
                let (pt, model) = trees[t].as_mut().unwrap();
                match pt.lookup(mem, va(a)) {
                    Some(pte) if pte.flags().contains(PteFlags::W) => {
                        assert_eq!(frames.refs(pte.pa()), 1, "a writable page someone else holds");
                        frames.pages.get_mut(&pte.pa().as_usize()).unwrap().1 = value;
                    }
                    Some(pte) if frames.refs(pte.pa()) == 1 => {
                        frames.pages.get_mut(&pte.pa().as_usize()).unwrap().1 = value;
                        pt.update(mem, va(a), false, |p| p.with_flags(p.flags() | PteFlags::W));
                    }
                    Some(pte) => {
                        let new = frames.alloc(value);
                        frames.free(pte.pa());
                        pt.update(mem, va(a), false, |p| Pte::new(new, p.flags() | PteFlags::W));
                    }
                    None => {
                        let new = frames.alloc(value);
                        pt.map(mem, va(a), new, RW).unwrap();
                    }
                }
                model.insert(a, value);
            }
            Op::Unmap { t, lo, hi, oom } => {
                let Some(t) = self.live(t) else { return };
                let r = Self::pages(lo, hi);
                if oom {
                    self.mem.set_limit(Some(self.mem.live_tables()));
                }
                let resolved = self.resolve(t, r, true);
                self.mem.set_limit(None);
                if resolved.is_err() {
                    return; // munmap fails; nothing anyone can see changed
                }
                let World { mem, trees, .. } = &mut *self;
                trees[t].as_ref().unwrap().0.drop_stubs(mem, r);
                self.clear(t, r);
                let model = &mut self.trees[t].as_mut().unwrap().1;
                model.retain(|&a, _| !r.contains(va(a)));
            }
            Op::Protect { t, lo, hi } => {
                let Some(t) = self.live(t) else { return };
                let r = Self::pages(lo, hi);
                self.resolve(t, r, false).unwrap();
                let World { mem, trees, .. } = &mut *self;
                let pt = &trees[t].as_ref().unwrap().0;
                let _: ControlFlow<((), VaRange)> = pt.for_each_leaf_mut(mem, r, |_, p| {
                    *p = p.with_flags(p.flags() - PteFlags::W);
                    ControlFlow::Continue(())
                });
            }
            Op::Exit { t } => {
                if let Some(t) = self.live(t) {
                    self.exit(t);
                }
            }
        }
    }

    /// Tree `t` goes: its stubs dropped, its leaves unmapped, its tables freed.
    fn exit(&mut self, t: usize) {
        let all = range(SPACE.0, SPACE.1);
        let World { mem, trees, .. } = &mut *self;
        trees[t].as_ref().unwrap().0.drop_stubs(mem, all);
        self.clear(t, all);
        let (pt, _) = self.trees[t].take().unwrap();
        assert_eq!(pt.free_tables(&mut self.mem), 0);
    }

    /// The level-0 table (linked or behind a stub) of each block of tree `pt`.
    fn leaf_tables(&self, pt: &PageTable) -> Vec<PhysAddr> {
        let mut out = Vec::new();
        for i2 in 0..ENTRIES {
            let top = self.mem.read(pt.root(), i2);
            if !top.is_table() {
                continue;
            }
            for i1 in 0..ENTRIES {
                let e = self.mem.read(top.pa(), i1);
                if e.is_table() || e.is_stub() {
                    out.push(e.pa());
                }
            }
        }
        out
    }

    fn check(&self) {
        let mut table_holders: BTreeMap<PhysAddr, usize> = BTreeMap::new();
        for (pt, model) in self.trees.iter().flatten() {
            let seen: BTreeMap<usize, u32> = pt
                .leaves(&self.mem, range(SPACE.0, SPACE.1))
                .map(|(v, p)| (v.as_usize(), self.frames.value(p.pa())))
                .collect();
            assert_eq!(&seen, model, "what a tree reads");
            for &a in model.keys() {
                if let Some(p) = pt.lookup(&self.mem, va(a)).filter(|p| p.flags().contains(PteFlags::W)) {
                    assert_eq!(self.frames.refs(p.pa()), 1, "a writable page at {a:#x} someone else holds");
                }
            }
            for t in self.leaf_tables(pt) {
                *table_holders.entry(t).or_default() += 1;
            }
        }
        let mut page_refs: BTreeMap<usize, usize> = BTreeMap::new();
        for (&t, &holders) in &table_holders {
            assert_eq!(self.mem.table_refs(t), holders, "references to table {t:?}");
            for i in 0..ENTRIES {
                let e = self.mem.read(t, i);
                if e.is_leaf() {
                    *page_refs.entry(e.pa().as_usize()).or_default() += 1;
                }
            }
        }
        let counted: BTreeMap<usize, usize> =
            self.frames.pages.iter().map(|(&pa, &(n, _))| (pa, n)).collect();
        assert_eq!(page_refs, counted, "page references = tables mapping the page");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn shared_tables_match_the_model(
        initial in proptest::collection::btree_map(0..PAGES, any::<u32>(), 0..PAGES),
        shareable in any::<[bool; 8]>(),
        ops in proptest::collection::vec(op_strategy(), 1..40),
    ) {
        let mut mem = FakeMemory::new();
        let mut frames = Frames::default();
        let pt = PageTable::new(&mut mem).unwrap();
        let mut model = BTreeMap::new();
        for (&p, &v) in &initial {
            pt.map(&mut mem, va(page(p)), frames.alloc(v), RW).unwrap();
            model.insert(page(p), v);
        }
        let mut world = World { mem, frames, trees: alloc::vec![Some((pt, model))], shareable };
        for op in &ops {
            world.apply(op);
            world.check();
        }
        for t in 0..world.trees.len() {
            if world.trees[t].is_some() {
                world.exit(t);
            }
        }
        prop_assert_eq!(world.mem.live_tables(), 0, "every table freed");
        prop_assert!(world.frames.pages.is_empty(), "every page freed");
    }
}
