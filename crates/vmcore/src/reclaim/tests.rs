//! Unit and property tests of the reclaim choice: the eligibility table, and the verdicts of
//! the clock's turns.

use proptest::prelude::*;

use super::*;

const P: usize = PAGE_SIZE;
const U: PteFlags = PteFlags::U;
const R: PteFlags = PteFlags::R;
const W: PteFlags = PteFlags::W;
const A: PteFlags = PteFlags::A;
const D: PteFlags = PteFlags::D;

fn yes() -> bool {
    true
}

fn no() -> bool {
    false
}

#[test]
fn eligibility_table() {
    use VmaKind::*;
    assert!(eligible(SharedFile, U | R | W | A, yes));
    assert!(eligible(SharedFile, U | R | A, no), "shared: the frame is the cache's anyway");
    assert!(eligible(SharedFile, U | R | W | A | D, yes), "dirty: written back first");
    assert!(eligible(PrivateFile, U | R | A, yes));
    assert!(!eligible(PrivateFile, U | R | A, no), "a private copy shared since fork");
    assert!(!eligible(PrivateFile, U | R | W | A | D, no), "a private copy");
    assert!(!eligible(PrivateFile, U | R | W | A, yes), "never a writable cache page");
    assert!(!eligible(PrivateFile, U | R | A | D, yes), "never a dirty one");
    for kind in [PrivateAnon, SharedAnon] {
        assert!(!eligible(kind, U | R | A, yes) && !eligible(kind, U | R | A, no));
    }
    assert!(!eligible(SharedFile, R | A, yes), "PROT_NONE: not a user page");
    assert!(!eligible(PrivateFile, R | A, yes), "PROT_NONE: not a user page");
}

#[test]
fn the_cache_is_asked_only_about_private_file_pages() {
    let ask = || panic!("cache asked");
    assert!(eligible(VmaKind::SharedFile, U | R, ask));
    assert!(!eligible(VmaKind::PrivateFile, U | R | W, ask));
    assert!(!eligible(VmaKind::PrivateAnon, U | R, ask));
}

#[test]
fn writeback_is_needed_for_dirty_shared_file_pages_only() {
    assert!(needs_writeback(VmaKind::SharedFile, U | R | W | D));
    assert!(!needs_writeback(VmaKind::SharedFile, U | R | W | A));
    assert!(!needs_writeback(VmaKind::PrivateFile, U | R | W | D));
    assert!(!needs_writeback(VmaKind::SharedAnon, U | R | W | D));
}

#[test]
fn turns_of_the_clock() {
    let [first, second, last] = CLOCK_PASSES;
    assert_eq!(first, second);
    let far = NEAR_PAGES * P;
    let shared = VmaKind::SharedFile;
    assert_eq!(first.verdict(far, shared, U | R | A, yes), Verdict::SecondChance);
    assert_eq!(first.verdict(far, shared, U | R, yes), Verdict::Take);
    assert_eq!(first.verdict(far - P, shared, U | R, yes), Verdict::Skip, "near the fault");
    assert_eq!(last.verdict(P, shared, U | R | A, yes), Verdict::Take, "no second chance");
    assert_eq!(last.verdict(0, shared, U | R, yes), Verdict::Skip, "the faulting page");
    assert_eq!(last.verdict(far, VmaKind::PrivateAnon, U | R, yes), Verdict::Skip);
}

fn kind() -> impl Strategy<Value = VmaKind> {
    prop_oneof![
        Just(VmaKind::PrivateAnon),
        Just(VmaKind::SharedAnon),
        Just(VmaKind::PrivateFile),
        Just(VmaKind::SharedFile)
    ]
}

proptest! {
    #[test]
    fn verdicts_take_only_eligible_pages_far_enough(
        pass in 0..3usize, distance in 0..(2 * NEAR_PAGES * P), kind in kind(),
        bits in any::<u8>(), cache_page in any::<bool>(),
    ) {
        let flags = PteFlags::from_bits_truncate(u64::from(bits));
        let pass = CLOCK_PASSES[pass];
        let v = pass.verdict(distance, kind, flags, || cache_page);
        let ok = eligible(kind, flags, || cache_page);
        if v != Verdict::Skip {
            prop_assert!(ok && distance >= pass.spare);
            prop_assert!(distance > 0, "never the faulting page");
            prop_assert!(kind.is_file() && flags.contains(U), "only file pages a user can see");
            if kind == VmaKind::PrivateFile {
                prop_assert!(cache_page && !flags.contains(W));
            }
        }
        prop_assert_eq!(v == Verdict::SecondChance, ok && distance >= pass.spare
            && pass.second_chance && flags.contains(A));
    }
}
