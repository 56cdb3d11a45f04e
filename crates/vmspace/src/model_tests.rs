//! Property tests: random sequences of placements, fixed mappings, unmaps and attribute
//! changes (`mprotect`, `madvise`: `update_range`, which splits and merges) run against both a
//! [`VmaSet`] and a page-by-page model, and every step is checked against the model.
//!
//! The model is a small window of pages, each either free or holding the mapping it belongs to
//! (a unique id per `mmap`), its protection, sharing and file page. It is obviously right, so
//! any disagreement is a bug in the set.

use alloc::vec::Vec;
use proptest::prelude::*;

use crate::range::{VirtRange, PAGE_SIZE};
use crate::set::{Overlap, VmaSet};
use crate::vma::{Advice, Backing, Prot, Share, Vma};

/// Pages in the model window.
const WINDOW: usize = 40;
/// Address of the window's first page.
const BASE: usize = 0x100 * PAGE_SIZE;

fn addr(page: usize) -> usize {
    BASE + page * PAGE_SIZE
}

fn range(page: usize, pages: usize) -> VirtRange {
    VirtRange::from_start_len(addr(page), pages * PAGE_SIZE).unwrap()
}

/// What a new mapping looks like, apart from where it goes.
#[derive(Clone, Copy, Debug)]
struct Kind {
    prot: Prot,
    share: Share,
    /// File id and file page of the mapping's first page, or `None` for anonymous.
    file: Option<(u32, u64)>,
}

/// One model page: the mapping it belongs to and what the set must say about it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Cell {
    id: u32,
    prot: Prot,
    share: Share,
    /// File id and byte offset of this page.
    file: Option<(u32, u64)>,
    advice: Advice,
}

impl Cell {
    /// Whether this page and `next`, the page after it, may belong to one VMA: equal
    /// attributes and the backing continued (the rule of `Vma::can_join`, page by page).
    fn joins(&self, next: &Cell) -> bool {
        let backing = match (self.file, next.file) {
            (None, None) => true,
            (Some((f, o)), Some((g, p))) => f == g && p == o + PAGE_SIZE as u64,
            _ => false,
        };
        backing && (self.prot, self.share, self.advice) == (next.prot, next.share, next.advice)
    }
}

#[derive(Default)]
struct Model {
    pages: Vec<Option<Cell>>,
    next_id: u32,
}

impl Model {
    fn new() -> Model {
        Model { pages: alloc::vec![None; WINDOW], next_id: 0 }
    }

    fn is_free(&self, page: usize, pages: usize) -> bool {
        self.pages[page..page + pages].iter().all(Option::is_none)
    }

    /// The placement rule, by brute force over pages.
    fn find_gap(&self, pages: usize, hint: Option<usize>, lo: usize, hi: usize) -> Option<usize> {
        let fits = |p: usize| lo <= p && p + pages <= hi && self.is_free(p, pages);
        if let Some(h) = hint.filter(|&h| fits(h)) {
            return Some(h);
        }
        (lo..hi).find(|&p| fits(p))
    }

    fn map(&mut self, page: usize, pages: usize, kind: Kind) {
        let id = self.next_id;
        self.next_id += 1;
        for i in 0..pages {
            self.pages[page + i] = Some(Cell {
                id,
                prot: kind.prot,
                share: kind.share,
                file: kind.file.map(|(f, off)| (f, (off + i as u64) * PAGE_SIZE as u64)),
                advice: Advice::Normal,
            });
        }
    }

    /// Whether every page of the span is mapped.
    fn is_mapped(&self, page: usize, pages: usize) -> bool {
        self.pages[page..page + pages].iter().all(Option::is_some)
    }

    /// Changes the pages of a wholly mapped span with `f`, as `update_range` does: the part
    /// of each mapping inside the span becomes a mapping of its own (a new id), then each
    /// boundary at or inside the span whose two sides may be joined is merged (the right
    /// side's id becomes the left side's).
    fn update(&mut self, page: usize, pages: usize, f: impl Fn(&mut Cell)) {
        let mut renamed: Vec<(u32, u32)> = Vec::new();
        for cell in self.pages[page..page + pages].iter_mut().flatten() {
            let new = match renamed.iter().find(|(old, _)| *old == cell.id) {
                Some(&(_, new)) => new,
                None => {
                    renamed.push((cell.id, self.next_id));
                    self.next_id += 1;
                    self.next_id - 1
                }
            };
            cell.id = new;
            f(cell);
        }
        for b in page.max(1)..=(page + pages).min(WINDOW - 1) {
            let (Some(left), Some(right)) = (self.pages[b - 1], self.pages[b]) else { continue };
            if left.id != right.id && left.joins(&right) {
                for c in self.pages.iter_mut().flatten().filter(|c| c.id == right.id) {
                    c.id = left.id;
                }
            }
        }
    }

    /// Clears the pages and returns what they held.
    fn unmap(&mut self, page: usize, pages: usize) -> Vec<Option<Cell>> {
        self.pages[page..page + pages].iter_mut().map(Option::take).collect()
    }
}

fn vma(page: usize, pages: usize, kind: Kind) -> Vma<u32> {
    let backing = match kind.file {
        None => Backing::Anonymous,
        Some((file, off)) => Backing::File { file, offset: off * PAGE_SIZE as u64 },
    };
    Vma::new(range(page, pages), kind.prot, kind.share, backing)
}

/// What the set says about the page at `addr`, in the model's terms (without the id).
fn describe(v: &Vma<u32>, addr: usize) -> (Prot, Share, Option<(u32, u64)>, Advice) {
    let file = v.file_offset_at(addr).map(|(&f, off)| (f, off));
    (v.prot, v.share, file, v.advice)
}

fn same_as_cell(v: &Vma<u32>, addr: usize, cell: &Cell) -> bool {
    describe(v, addr) == (cell.prot, cell.share, cell.file, cell.advice)
}

/// Checks the set against the model: invariants, every page, and VMA boundaries.
fn check(set: &VmaSet<u32>, model: &Model) -> Result<(), TestCaseError> {
    set.check_invariants();
    for (p, cell) in model.pages.iter().enumerate() {
        let found = set.find(addr(p) + 17);
        match (found, cell) {
            (None, None) => {}
            (Some(v), Some(c)) => {
                prop_assert!(same_as_cell(v, addr(p), c), "page {p}: {v:?} vs {c:?}")
            }
            _ => prop_assert!(false, "page {p}: set {found:?}, model {cell:?}"),
        }
    }
    // Each VMA is one run of one mapping, and each maximal run is one VMA (mmap never merges,
    // a split only happens at the edge of a hole or an attribute change, and the model's ids
    // follow update_range's splits and merges).
    for v in set.iter() {
        let first = (v.range().start() - BASE) / PAGE_SIZE;
        prop_assert!(first + v.range().pages() <= WINDOW);
        let id = model.pages[first].map(|c| c.id);
        for p in first..first + v.range().pages() {
            prop_assert_eq!(model.pages[p].map(|c| c.id), id, "{:?} spans two mappings", v);
        }
    }
    let runs = (0..WINDOW)
        .filter(|&p| {
            let id = model.pages[p].map(|c| c.id);
            id.is_some() && (p == 0 || model.pages[p - 1].map(|c| c.id) != id)
        })
        .count();
    prop_assert_eq!(set.len(), runs);
    Ok(())
}

/// Checks the pieces `remove_range` returned against what the model pages held.
fn check_removed(removed: &[Vma<u32>], page: usize, old: &[Option<Cell>]) -> Result<(), TestCaseError> {
    let mut covered = alloc::vec![false; old.len()];
    let mut last_end = 0;
    for v in removed {
        prop_assert!(v.range().start() >= last_end, "pieces unsorted or overlapping");
        last_end = v.range().end();
        for a in v.range().page_starts() {
            prop_assert!(a >= addr(page) && a < addr(page + old.len()), "piece outside range");
            let i = (a - addr(page)) / PAGE_SIZE;
            covered[i] = true;
            match &old[i] {
                Some(c) => prop_assert!(same_as_cell(v, a, c), "removed {v:?} vs {c:?}"),
                None => prop_assert!(false, "removed piece {v:?} covers a free page"),
            }
        }
    }
    for (i, c) in old.iter().enumerate() {
        prop_assert_eq!(covered[i], c.is_some(), "page {} of the range", page + i);
    }
    Ok(())
}

#[derive(Clone, Debug)]
enum Op {
    /// `find_gap` in `[lo, hi)` with an optional hint, then map there if found.
    Place { pages: usize, hint: Option<usize>, lo: usize, hi: usize, kind: Kind },
    /// Map at a fixed page, unmapping first (`MAP_FIXED`) or failing on overlap (`NOREPLACE`).
    Fixed { page: usize, pages: usize, replace: bool, kind: Kind },
    /// Unmap a page range.
    Unmap { page: usize, pages: usize },
    /// Unmap a page range one piece at a time with `take_first`, as the kernel does.
    TakeAll { page: usize, pages: usize },
    /// Ask `overlaps` and `iter_overlapping` about a range.
    Probe { page: usize, pages: usize },
    /// `mprotect`: change the protection of a range if it is wholly mapped.
    Protect { page: usize, pages: usize, prot: Prot },
    /// `madvise` with an attribute advice: change the advice of a range if wholly mapped.
    Advise { page: usize, pages: usize, advice: Advice },
}

fn kind() -> impl Strategy<Value = Kind> {
    let share = prop_oneof![Just(Share::Shared), Just(Share::Private)];
    let file = proptest::option::of((0u32..3, 0u64..100));
    (0usize..8, share, file).prop_map(|(prot, share, file)| Kind {
        prot: Prot::from_bits(prot).unwrap(),
        share,
        file,
    })
}

/// A page range inside the window: a start page and a length of at least one page.
fn span(max_len: usize) -> impl Strategy<Value = (usize, usize)> {
    (0..WINDOW, 1..=max_len).prop_map(|(p, n)| (p, n.min(WINDOW - p)))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1usize..=6, proptest::option::of(0..WINDOW), 0..WINDOW, 0..=WINDOW, kind())
            .prop_map(|(pages, hint, lo, hi, kind)| Op::Place { pages, hint, lo, hi, kind }),
        2 => (span(6), any::<bool>(), kind())
            .prop_map(|((page, pages), replace, kind)| Op::Fixed { page, pages, replace, kind }),
        2 => span(12).prop_map(|(page, pages)| Op::Unmap { page, pages }),
        2 => span(12).prop_map(|(page, pages)| Op::TakeAll { page, pages }),
        1 => span(12).prop_map(|(page, pages)| Op::Probe { page, pages }),
        3 => (span(12), 0usize..8)
            .prop_map(|((page, pages), p)| Op::Protect { page, pages, prot: Prot::from_bits(p).unwrap() }),
        1 => (span(12), prop_oneof![Just(Advice::Normal), Just(Advice::Random), Just(Advice::Sequential)])
            .prop_map(|((page, pages), advice)| Op::Advise { page, pages, advice }),
    ]
}

/// Runs an attribute change on both, checking `is_mapped` and `cuts_needed` first.
fn update(
    set: &mut VmaSet<u32>,
    model: &mut Model,
    page: usize,
    pages: usize,
    f: impl Fn(&mut Cell),
    g: impl FnMut(&mut Vma<u32>),
) -> Result<(), TestCaseError> {
    let r = range(page, pages);
    let mapped = model.is_mapped(page, pages);
    prop_assert_eq!(set.is_mapped(r), mapped, "is_mapped({}, {})", page, pages);
    if !mapped {
        return Ok(());
    }
    let id = |p: usize| model.pages.get(p).copied().flatten().map(|c| c.id);
    let cuts = usize::from(page > 0 && id(page - 1) == id(page))
        + usize::from(id(page + pages).is_some() && id(page + pages) == id(page + pages - 1));
    prop_assert_eq!(set.cuts_needed(r), cuts, "cuts_needed({}, {})", page, pages);
    set.update_range(r, g);
    model.update(page, pages, f);
    Ok(())
}

fn step(set: &mut VmaSet<u32>, model: &mut Model, op: Op) -> Result<(), TestCaseError> {
    match op {
        Op::Place { pages, hint, lo, hi, kind } => {
            let want = model.find_gap(pages, hint, lo, hi);
            let got = set.find_gap(pages * PAGE_SIZE, hint.map(addr), addr(lo), addr(hi));
            prop_assert_eq!(got, want.map(addr), "find_gap({}, {:?}, {}, {})", pages, hint, lo, hi);
            if let Some(p) = want {
                prop_assert_eq!(set.insert(vma(p, pages, kind)), Ok(()));
                model.map(p, pages, kind);
            }
        }
        Op::Fixed { page, pages, replace, kind } => {
            if replace {
                let removed = set.remove_range(range(page, pages));
                check_removed(&removed, page, &model.unmap(page, pages))?;
                prop_assert_eq!(set.insert(vma(page, pages, kind)), Ok(()));
                model.map(page, pages, kind);
            } else if model.is_free(page, pages) {
                prop_assert_eq!(set.insert(vma(page, pages, kind)), Ok(()));
                model.map(page, pages, kind);
            } else {
                prop_assert_eq!(set.insert(vma(page, pages, kind)), Err(Overlap));
            }
        }
        Op::Unmap { page, pages } => {
            let removed = set.remove_range(range(page, pages));
            check_removed(&removed, page, &model.unmap(page, pages))?;
        }
        Op::TakeAll { page, pages } => {
            let mut removed = Vec::new();
            while let Some(v) = set.take_first(range(page, pages)) {
                removed.push(v);
            }
            check_removed(&removed, page, &model.unmap(page, pages))?;
        }
        Op::Probe { page, pages } => {
            let r = range(page, pages);
            prop_assert_eq!(set.overlaps(r), !model.is_free(page, pages));
            let hit: Vec<usize> = set.iter_overlapping(r).map(|v| v.range().start()).collect();
            let want: Vec<usize> =
                set.iter().filter(|v| v.range().overlaps(&r)).map(|v| v.range().start()).collect();
            prop_assert_eq!(hit, want);
        }
        Op::Protect { page, pages, prot } => {
            update(set, model, page, pages, |c| c.prot = prot, |v| v.prot = prot)?;
        }
        Op::Advise { page, pages, advice } => {
            update(set, model, page, pages, |c| c.advice = advice, |v| v.advice = advice)?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// After every operation the set maps exactly the model's pages with the model's offsets,
    /// and `find_gap` agreed with the model's lowest fitting gap.
    #[test]
    fn vma_set_matches_page_model(ops in proptest::collection::vec(op(), 1..80)) {
        let mut set = VmaSet::new();
        let mut model = Model::new();
        for op in ops {
            step(&mut set, &mut model, op)?;
            check(&set, &model)?;
        }
    }

    /// A clone taken mid-sequence (fork) is unaffected by later operations on the original.
    #[test]
    fn clone_is_a_snapshot(
        before in proptest::collection::vec(op(), 1..30),
        after in proptest::collection::vec(op(), 1..30),
    ) {
        let mut set = VmaSet::new();
        let mut model = Model::new();
        for op in before {
            step(&mut set, &mut model, op)?;
        }
        let snapshot: Vec<Vma<u32>> = set.iter().cloned().collect();
        let child = set.clone();
        for op in after {
            step(&mut set, &mut model, op)?;
        }
        child.check_invariants();
        prop_assert_eq!(child.iter().cloned().collect::<Vec<_>>(), snapshot);
    }
}
