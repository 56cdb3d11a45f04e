//! Unit and property tests of the reclaim choice: the eligibility table, and the clock hand
//! over an abstract list of resident pages.

use alloc::vec::Vec;
use proptest::prelude::*;

use super::*;

const P: usize = PAGE_SIZE;
const U: PteFlags = PteFlags::U;
const R: PteFlags = PteFlags::R;
const W: PteFlags = PteFlags::W;
const A: PteFlags = PteFlags::A;
const D: PteFlags = PteFlags::D;

#[test]
fn eligibility_table() {
    use VmaKind::*;
    assert!(eligible(SharedFile, U | R | W | A, true));
    assert!(eligible(SharedFile, U | R | A, false), "shared: the frame is the cache's anyway");
    assert!(!eligible(SharedFile, U | R | W | A | D, true), "dirty");
    assert!(eligible(PrivateFile, U | R | A, true));
    assert!(!eligible(PrivateFile, U | R | A, false), "a private copy shared since fork");
    assert!(!eligible(PrivateFile, U | R | W | A | D, false), "a private copy");
    assert!(!eligible(PrivateFile, U | R | W | A, true), "never a writable cache page");
    for kind in [PrivateAnon, SharedAnon] {
        assert!(!eligible(kind, U | R | A, true) && !eligible(kind, U | R | A, false));
    }
    assert!(!eligible(SharedFile, R | A, true), "not a user page");
}

#[test]
fn writeback_candidates_are_dirty_shared_file_pages() {
    let page = |kind, flags| Resident { kind, flags, cache_page: true };
    let pages = [
        (0, page(VmaKind::SharedFile, U | R | W | D)),
        (P, page(VmaKind::SharedFile, U | R | W)),
        (2 * P, page(VmaKind::PrivateFile, U | R | W | D)),
        (3 * P, page(VmaKind::SharedAnon, U | R | W | D)),
        (4 * P, page(VmaKind::SharedFile, U | R | W | A | D)),
    ];
    assert_eq!(writeback_candidates(pages).collect::<Vec<_>>(), [0, 4 * P]);
}

/// `n` clean shared file pages at pages 0..n, with `dirty` pages dirty.
fn pages(n: usize, dirty: &[usize]) -> Vec<(usize, Resident)> {
    (0..n)
        .map(|p| {
            let flags = (U | R | W | A).with_if(D, dirty.contains(&p));
            (p * P, Resident { kind: VmaKind::SharedFile, flags, cache_page: true })
        })
        .collect()
}

fn lister(
    list: &[(usize, Resident)],
) -> impl FnMut(usize, usize) -> alloc::vec::IntoIter<(usize, Resident)> + '_ {
    move |lo, hi| list.iter().copied().filter(|&(va, _)| lo <= va && va < hi).collect::<Vec<_>>().into_iter()
}

#[test]
fn sweep_spares_pages_near_the_fault_and_moves_the_hand() {
    let list = pages(200, &[3]);
    let mut hand = ClockHand::new();
    let v = hand.sweep(lister(&list), 100 * P + 5, 10);
    assert_eq!(v, [0, P, 2 * P, 4 * P, 5 * P, 6 * P, 7 * P, 8 * P, 9 * P, 10 * P], "page 3 is dirty");
    assert_eq!(hand.cursor(), 11 * P);
    let v = hand.sweep(lister(&list), 100 * P, 3);
    assert_eq!(v, [11 * P, 12 * P, 13 * P]);
    // From page 30 on everything is within 64 pages of the fault until page 164.
    let mut hand = ClockHand { cursor: 30 * P };
    let v = hand.sweep(lister(&list), 100 * P, 4);
    assert_eq!(v, [30 * P, 31 * P, 32 * P, 33 * P], "30 is 70 pages away");
    let mut hand = ClockHand { cursor: 40 * P };
    assert_eq!(hand.sweep(lister(&list), 100 * P, 2), [164 * P, 165 * P], "skips the near pages");
}

#[test]
fn second_pass_takes_near_pages_but_never_the_faulting_one() {
    let list = pages(10, &[]);
    let mut hand = ClockHand::new();
    let v = hand.sweep(lister(&list), 4 * P, 100);
    assert_eq!(v, [0, P, 2 * P, 3 * P, 5 * P, 6 * P, 7 * P, 8 * P, 9 * P]);
    assert_eq!(hand.cursor(), 0, "the batch did not fill");
    assert!(ClockHand::new().sweep(lister(&pages(1, &[])), 0, 10).is_empty());
}

fn resident() -> impl Strategy<Value = Resident> {
    let kind = prop_oneof![
        Just(VmaKind::PrivateAnon),
        Just(VmaKind::SharedAnon),
        Just(VmaKind::PrivateFile),
        Just(VmaKind::SharedFile)
    ];
    (kind, 0u64..256, any::<bool>()).prop_map(|(kind, bits, cache_page)| Resident {
        kind,
        flags: PteFlags::from_bits_truncate(bits),
        cache_page,
    })
}

proptest! {
    #[test]
    fn sweeps_take_only_eligible_pages_far_enough_in_bounded_batches(
        raw in proptest::collection::btree_map(0usize..400, resident(), 0..120),
        faults in proptest::collection::vec((0usize..400, 1usize..40), 1..6),
    ) {
        let list: Vec<(usize, Resident)> = raw.into_iter().map(|(p, r)| (p * P, r)).collect();
        let mut hand = ClockHand::new();
        for (fault, batch) in faults {
            let v = hand.sweep(lister(&list), fault * P, batch);
            prop_assert!(v.len() <= batch);
            let any_far = list.iter().any(|(va, r)| {
                eligible(r.kind, r.flags, r.cache_page) && va.abs_diff(fault * P) >= NEAR_PAGES * P
            });
            let any = list.iter().any(|(va, r)| eligible(r.kind, r.flags, r.cache_page) && *va != fault * P);
            prop_assert_eq!(v.is_empty(), !any, "found nothing only when nothing is eligible");
            for va in &v {
                let r = list.iter().find(|(x, _)| x == va).unwrap().1;
                prop_assert!(eligible(r.kind, r.flags, r.cache_page));
                prop_assert!(*va != fault * P);
                if any_far {
                    prop_assert!(va.abs_diff(fault * P) >= NEAR_PAGES * P);
                }
            }
            let mut sorted = v.clone();
            sorted.dedup();
            prop_assert_eq!(sorted.len(), v.len(), "no page twice");
        }
    }
}
