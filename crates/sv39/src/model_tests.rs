//! Property tests: random sequences of map, unmap and update run against both a
//! [`PageTable`] over [`FakeMemory`] and a `BTreeMap` from page address to (frame, flags),
//! and every step is checked against the model.
//!
//! Pages are drawn from small windows that straddle the interesting places (address 0, a
//! 2 MiB boundary, a 1 GiB boundary, a lone page deep in an otherwise empty GiB, and the top
//! of the address space at MAXVA), so tables are created, shared and skipped at every level.
//! The checks: `lookup`/`walk`/`translate` agree with the model for every page of every
//! window; the leaf iterator yields exactly the model's entries in a random range, in order,
//! also when stopped every few leaves and resumed, so skipping missing tables never skips a
//! present leaf, and never reads more than one entry per GiB plus one per entry of each live
//! table; the mutable visitor changes exactly what it says; `free_tables` frees every table.

use crate::testing::FakeMemory;
use crate::*;
use alloc::collections::btree_map::{BTreeMap, Entry};
use alloc::vec::Vec;
use core::ops::ControlFlow;
use proptest::prelude::*;

/// Pages in each window.
const WINDOW: usize = 8;
/// First address of each window.
const WINDOWS: [usize; 5] = [
    0,
    (1 << 21) - 4 * PAGE_SIZE,
    (1 << 30) - 4 * PAGE_SIZE,
    (77 << 30) + (300 << 21),
    MAXVA - WINDOW * PAGE_SIZE,
];

fn page(window: usize, i: usize) -> usize {
    WINDOWS[window] + i * PAGE_SIZE
}

fn all_pages() -> impl Iterator<Item = usize> {
    (0..WINDOWS.len()).flat_map(|w| (0..WINDOW).map(move |i| page(w, i)))
}

/// The model: page address -> (frame address, flags as stored, V included).
type Model = BTreeMap<usize, (usize, PteFlags)>;

#[derive(Clone, Debug)]
enum Op {
    Map {
        va: usize,
        frame: usize,
        flags: PteFlags,
    },
    Unmap {
        va: usize,
    },
    /// Replace the flags of the entry for `va` (V may go, which unmaps it); alloc or not.
    Update {
        va: usize,
        alloc: bool,
        flags: PteFlags,
    },
    /// Clear D on every leaf of a range through the mutable visitor.
    Clean {
        start: usize,
        end: usize,
    },
}

fn va_strategy() -> impl Strategy<Value = usize> {
    (0..WINDOWS.len(), 0..WINDOW).prop_map(|(w, i)| page(w, i))
}

/// Leaf flags without V: always R, so every choice is a leaf the hardware accepts.
fn leaf_flags() -> impl Strategy<Value = PteFlags> {
    (0u64..32).prop_map(|bits| {
        let mut f = PteFlags::R;
        for (bit, flag) in
            [PteFlags::W, PteFlags::X, PteFlags::U, PteFlags::A, PteFlags::D].into_iter().enumerate()
        {
            if bits & (1 << bit) != 0 {
                f |= flag;
            }
        }
        f
    })
}

fn range_strategy() -> impl Strategy<Value = (usize, usize)> {
    (va_strategy(), va_strategy(), any::<bool>()).prop_map(|(a, b, to_top)| {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        (lo, if to_top { MAXVA } else { hi })
    })
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (va_strategy(), 0usize..1024, leaf_flags())
            .prop_map(|(va, f, flags)| Op::Map { va, frame: 0x9000_0000 + f * PAGE_SIZE, flags }),
        2 => va_strategy().prop_map(|va| Op::Unmap { va }),
        2 => (va_strategy(), any::<bool>(), leaf_flags(), any::<bool>()).prop_map(|(va, alloc, flags, valid)| {
            Op::Update { va, alloc, flags: if valid { flags | PteFlags::V } else { flags } }
        }),
        1 => range_strategy().prop_map(|(start, end)| Op::Clean { start, end }),
    ]
}

fn va(a: usize) -> VirtAddr {
    VirtAddr::new(a).unwrap()
}

/// Applies `op` to both, checking the result each returns.
fn apply(mem: &mut FakeMemory, pt: &PageTable, model: &mut Model, op: &Op) {
    match *op {
        Op::Map { va: a, frame, flags } => {
            let got = pt.map(mem, va(a), PhysAddr::new(frame).unwrap(), flags);
            match model.entry(a) {
                Entry::Occupied(_) => assert_eq!(got, Err(MapError::AlreadyMapped)),
                Entry::Vacant(e) => {
                    assert_eq!(got, Ok(()));
                    e.insert((frame, flags | PteFlags::V));
                }
            }
        }
        Op::Unmap { va: a } => {
            let got = pt.unmap(mem, va(a + 0x123)).map(|p| (p.pa().as_usize(), p.flags()));
            assert_eq!(got, model.remove(&a));
        }
        Op::Update { va: a, alloc, flags } => {
            let before = pt.walk(mem, va(a));
            let got =
                pt.update(mem, va(a), alloc, |old| if old.is_valid() { old.with_flags(flags) } else { old });
            assert_eq!(got, before.or(if alloc { Some(Pte::EMPTY) } else { None }));
            if let Some(entry) = model.get_mut(&a) {
                if flags.contains(PteFlags::V) {
                    entry.1 = flags;
                } else {
                    model.remove(&a);
                }
            }
        }
        Op::Clean { start, end } => {
            let r = VaRange::new(start, end).unwrap();
            let flow: ControlFlow<((), VaRange)> = pt.for_each_leaf_mut(mem, r, |_, pte| {
                *pte = pte.with_flags(pte.flags() - PteFlags::D);
                ControlFlow::Continue(())
            });
            assert_eq!(flow, ControlFlow::Continue(()));
            for (_, (_, f)) in model.range_mut(start..end) {
                f.remove(PteFlags::D);
            }
        }
    }
}

/// Single-address queries agree with the model on every page of every window.
fn check_lookups(mem: &FakeMemory, pt: &PageTable, model: &Model) {
    for a in all_pages() {
        let want = model.get(&a).copied();
        let got = pt.lookup(mem, va(a)).map(|p| (p.pa().as_usize(), p.flags()));
        assert_eq!(got, want, "lookup {a:#x}");
        if want.is_some() {
            assert!(pt.walk(mem, va(a)).is_some_and(|p| p.is_leaf()));
        }
        let t = pt.translate(mem, va(a + 0xabc)).map(|p| p.as_usize());
        assert_eq!(t, want.map(|(f, _)| f + 0xabc), "translate {a:#x}");
    }
}

/// The iterator over `[start, end)` yields exactly the model's entries there, in order; so
/// does a walk stopped every `batch` leaves and resumed; and the walk reads no entry it could
/// have skipped.
fn check_leaves(mem: &FakeMemory, pt: &PageTable, model: &Model, (start, end): (usize, usize), batch: usize) {
    let r = VaRange::new(start, end).unwrap();
    let want: Vec<(usize, (usize, PteFlags))> = model.range(start..end).map(|(&a, &e)| (a, e)).collect();
    mem.reset_reads();
    let got: Vec<_> =
        pt.leaves(mem, r).map(|(v, p)| (v.as_usize(), (p.pa().as_usize(), p.flags()))).collect();
    assert_eq!(got, want, "leaves of {r:?}");
    assert!(mem.reads() <= MAXVA / (1 << 30) + ENTRIES * (mem.live_tables() - 1), "walk read too much");

    let mut resumed = Vec::new();
    let mut rest = r;
    loop {
        let mut n = 0;
        let flow = pt.for_each_leaf(mem, rest, |v, p| {
            resumed.push((v.as_usize(), (p.pa().as_usize(), p.flags())));
            n += 1;
            if n == batch {
                ControlFlow::Break(n)
            } else {
                ControlFlow::Continue(())
            }
        });
        match flow {
            ControlFlow::Break((b, next)) => {
                assert_eq!(b, batch);
                assert!(next.start() > resumed.last().unwrap().0 && next.end() == end);
                rest = next;
            }
            ControlFlow::Continue(()) => break,
        }
    }
    assert_eq!(resumed, want, "stopped and resumed every {batch}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn page_table_matches_model(
        ops in proptest::collection::vec(op_strategy(), 1..60),
        ranges in proptest::collection::vec(range_strategy(), 3),
        batch in 1usize..5,
        clear_first in any::<bool>(),
    ) {
        let mut mem = FakeMemory::new();
        let pt = PageTable::new(&mut mem).unwrap();
        let mut model = Model::new();
        for op in &ops {
            apply(&mut mem, &pt, &mut model, op);
            check_lookups(&mem, &pt, &model);
        }
        for r in ranges.iter().copied().chain([(0, MAXVA)]) {
            check_leaves(&mem, &pt, &model, r, batch);
        }
        let leaves = if clear_first {
            let mut cleared = 0;
            let flow: ControlFlow<((), VaRange)> = pt.for_each_leaf_mut(&mut mem, VaRange::all(), |_, pte| {
                *pte = Pte::EMPTY;
                cleared += 1;
                ControlFlow::Continue(())
            });
            prop_assert_eq!(flow, ControlFlow::Continue(()));
            prop_assert_eq!(cleared, model.len());
            prop_assert_eq!(pt.leaves(&mem, VaRange::all()).count(), 0);
            0
        } else {
            model.len()
        };
        prop_assert_eq!(pt.free_tables(&mut mem), leaves);
        prop_assert_eq!(mem.live_tables(), 0, "every table freed");
    }
}
