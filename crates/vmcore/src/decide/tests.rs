//! Unit tests of the fault rule: every `Decision` variant, every kill reason, the PTE bits
//! each kind of page is mapped with, and when the frame is looked at at all.

use super::*;

const R: Prot = Prot::READ;
const RW: Prot = Prot::from_bits(3).unwrap();
const RX: Prot = Prot::from_bits(5).unwrap();

const UR: PteFlags = PteFlags::from_bits_truncate(0x12);
const URW: PteFlags = PteFlags::from_bits_truncate(0x16);
const URX: PteFlags = PteFlags::from_bits_truncate(0x1a);
const A: PteFlags = PteFlags::A;
const D: PteFlags = PteFlags::D;

const ALL_KINDS: [VmaKind; 4] =
    [VmaKind::PrivateAnon, VmaKind::SharedAnon, VmaKind::PrivateFile, VmaKind::SharedFile];

fn site(kind: VmaKind, prot: Prot) -> Site {
    Site { kind, prot, advice: Advice::Normal }
}

/// `decide` for a frame that must not be asked about.
fn d(kind: VmaKind, prot: Prot, access: Access, pte: Option<PteFlags>, index: u64, pages: u64) -> Decision {
    decide(site(kind, prot), access, pte, index, pages, || panic!("frame asked for"))
}

fn frame(cache_page: bool, refcount: u32) -> impl FnOnce() -> FrameState {
    move || FrameState { cache_page, refcount }
}

#[test]
fn kinds() {
    assert_eq!(VmaKind::new(Share::Private, false), VmaKind::PrivateAnon);
    assert_eq!(VmaKind::new(Share::Shared, false), VmaKind::SharedAnon);
    assert_eq!(VmaKind::new(Share::Private, true), VmaKind::PrivateFile);
    assert_eq!(VmaKind::new(Share::Shared, true), VmaKind::SharedFile);
    assert!(!VmaKind::PrivateAnon.has_object() && VmaKind::SharedAnon.has_object());
    assert!(VmaKind::SharedAnon.is_shared() && !VmaKind::SharedAnon.is_file());
}

#[test]
fn protection_kills_for_every_kind() {
    for kind in ALL_KINDS {
        let k = |prot, access| d(kind, prot, access, None, 0, 10);
        assert_eq!(k(R, Access::Write), Decision::Kill(KillReason::Protection));
        assert_eq!(k(R, Access::Exec), Decision::Kill(KillReason::Protection));
        assert_eq!(k(Prot::NONE, Access::Read), Decision::Kill(KillReason::Protection));
        assert_eq!(k(Prot::EXEC, Access::Read), Decision::Kill(KillReason::Protection));
        // Protection is checked before the PTE: a stale writable PTE does not let a store in.
        let p = Some(URW | A | D);
        assert_eq!(d(kind, R, Access::Write, p, 0, 10), Decision::Kill(KillReason::Protection));
    }
}

#[test]
fn a_present_prot_none_page_refuses_every_access() {
    // mprotect(PROT_NONE) keeps a present page as R without U.
    let none = Some(PteFlags::R | A | D);
    for kind in ALL_KINDS {
        for access in [Access::Read, Access::Write, Access::Exec] {
            assert_eq!(d(kind, Prot::NONE, access, none, 0, 10), Decision::Kill(KillReason::Protection));
        }
    }
}

#[test]
fn write_only_prot_allows_loads() {
    assert_eq!(
        d(VmaKind::PrivateAnon, Prot::WRITE, Access::Read, None, 0, 0),
        Decision::ZeroFill { flags: URW | A | D }
    );
}

#[test]
fn past_end_of_file_kills_file_kinds_only() {
    for kind in [VmaKind::PrivateFile, VmaKind::SharedFile] {
        assert_eq!(d(kind, RW, Access::Read, None, 4, 4), Decision::Kill(KillReason::PastEof));
        assert_ne!(d(kind, RW, Access::Read, None, 3, 4), Decision::Kill(KillReason::PastEof));
    }
    for kind in [VmaKind::PrivateAnon, VmaKind::SharedAnon] {
        assert!(!matches!(d(kind, RW, Access::Read, None, 4, 0), Decision::Kill(_)));
    }
}

#[test]
fn absent_pages() {
    let a = |kind, prot, access| d(kind, prot, access, None, 0, 1);
    let cached = |flags, fault_around| Decision::MapCached { flags, fault_around };
    assert_eq!(a(VmaKind::PrivateAnon, RW, Access::Read), Decision::ZeroFill { flags: URW | A | D });
    assert_eq!(a(VmaKind::PrivateAnon, RX, Access::Exec), Decision::ZeroFill { flags: URX | A | D });
    // Shared: W as prot says, never D (the hardware records the stores), fault-around for
    // loads only.
    assert_eq!(a(VmaKind::SharedAnon, RW, Access::Read), cached(URW | A, true));
    assert_eq!(a(VmaKind::SharedFile, RW, Access::Read), cached(URW | A, true));
    assert_eq!(a(VmaKind::SharedFile, RW, Access::Write), cached(URW | A, false));
    assert_eq!(a(VmaKind::SharedAnon, RW, Access::Write), cached(URW | A, false));
    assert_eq!(a(VmaKind::SharedFile, R, Access::Read), cached(UR | A, true));
    // Private file: the cached page read-only, a copy for a store.
    assert_eq!(a(VmaKind::PrivateFile, RW, Access::Read), cached(UR | A, true));
    assert_eq!(a(VmaKind::PrivateFile, RX, Access::Exec), cached(URX | A, true));
    assert_eq!(a(VmaKind::PrivateFile, RW, Access::Write), Decision::CopyCached { flags: URW | A | D });
}

#[test]
fn random_advice_turns_fault_around_off() {
    for kind in [VmaKind::SharedAnon, VmaKind::PrivateFile, VmaKind::SharedFile] {
        for (advice, on) in [(Advice::Normal, true), (Advice::Sequential, true), (Advice::Random, false)] {
            let s = Site { kind, prot: RW, advice };
            let got = decide(s, Access::Read, None, 0, 1, || panic!("frame asked for"));
            assert!(matches!(got, Decision::MapCached { fault_around, .. } if fault_around == on));
        }
    }
    assert!(fault_around_on(Advice::Normal) && !fault_around_on(Advice::Random));
}

#[test]
fn present_with_the_needed_bit_is_done() {
    for kind in ALL_KINDS {
        assert_eq!(d(kind, RW, Access::Read, Some(UR | A), 0, 1), Decision::AlreadyDone);
        assert_eq!(d(kind, RW, Access::Write, Some(URW | A), 0, 1), Decision::AlreadyDone);
    }
}

#[test]
fn copy_on_write_of_private_pages() {
    let store = |kind, f| decide(site(kind, RW), Access::Write, Some(UR | A), 0, 1, f);
    // Shared with a parent or child since fork: copy.
    for kind in [VmaKind::PrivateAnon, VmaKind::PrivateFile] {
        let copy = Decision::CopyPresent { flags: URW | A | D, cache_page: false };
        assert_eq!(store(kind, frame(false, 2)), copy);
        // The other side has gone: just set W (and D: a store is coming).
        assert_eq!(store(kind, frame(false, 1)), Decision::MakeWritable { flags: URW | A | D });
    }
    // The cache's page: always copied, whatever the count says.
    for refcount in [1, 2, 5] {
        let copy = Decision::CopyPresent { flags: URW | A | D, cache_page: true };
        assert_eq!(store(VmaKind::PrivateFile, frame(true, refcount)), copy);
    }
    // The heap asks the same rule directly.
    assert_eq!(
        store_to_present(false, URW, UR, frame(false, 1)),
        Decision::MakeWritable { flags: URW | A | D }
    );
}

#[test]
fn shared_pages_become_writable_in_place_keeping_d() {
    // Read-only PTE in a writable shared mapping (mprotect widened it): set W without looking
    // at the frame; D stays as the PTE had it.
    for kind in [VmaKind::SharedAnon, VmaKind::SharedFile] {
        assert_eq!(d(kind, RW, Access::Write, Some(UR | A), 0, 1), Decision::MakeWritable { flags: URW | A });
        assert_eq!(
            d(kind, RW, Access::Write, Some(UR | D), 0, 1),
            Decision::MakeWritable { flags: URW | A | D }
        );
    }
}

#[test]
fn a_present_page_missing_r_or_x_is_refused() {
    // mprotect rewrites present PTEs at once, so this never happens; if it did, the access
    // is refused rather than granted on a PTE the kernel did not expect.
    let p = Some(PteFlags::U | A);
    assert_eq!(d(VmaKind::PrivateFile, RW, Access::Read, p, 0, 1), Decision::Kill(KillReason::Protection));
    let p = Some(URW | A | D);
    assert_eq!(
        d(VmaKind::PrivateAnon, Prot::ALL, Access::Exec, p, 0, 0),
        Decision::Kill(KillReason::Protection)
    );
}
