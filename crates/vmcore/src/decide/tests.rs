//! Unit tests of the fault rule: every `Decision` variant, every kill reason, and the PTE
//! bits each kind of page is mapped with.

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

fn present(flags: PteFlags, cache_page: bool, refcount: u32) -> PteState {
    PteState::Present { flags, cache_page, refcount }
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
        let d = |prot, access| decide(kind, prot, access, PteState::Absent, 0, 10);
        assert_eq!(d(R, Access::Write), Decision::Kill(KillReason::Protection));
        assert_eq!(d(R, Access::Exec), Decision::Kill(KillReason::Protection));
        assert_eq!(d(Prot::NONE, Access::Read), Decision::Kill(KillReason::Protection));
        assert_eq!(d(Prot::EXEC, Access::Read), Decision::Kill(KillReason::Protection));
        // Protection is checked before the PTE: a stale writable PTE does not let a store in.
        let p = present(URW | A | D, false, 1);
        assert_eq!(decide(kind, R, Access::Write, p, 0, 10), Decision::Kill(KillReason::Protection));
    }
}

#[test]
fn write_only_prot_allows_loads() {
    let d = decide(VmaKind::PrivateAnon, Prot::WRITE, Access::Read, PteState::Absent, 0, 0);
    assert_eq!(d, Decision::ZeroFill { flags: URW | A | D });
}

#[test]
fn past_end_of_file_kills_file_kinds_only() {
    for kind in [VmaKind::PrivateFile, VmaKind::SharedFile] {
        assert_eq!(
            decide(kind, RW, Access::Read, PteState::Absent, 4, 4),
            Decision::Kill(KillReason::PastEof)
        );
        assert_ne!(
            decide(kind, RW, Access::Read, PteState::Absent, 3, 4),
            Decision::Kill(KillReason::PastEof)
        );
    }
    for kind in [VmaKind::PrivateAnon, VmaKind::SharedAnon] {
        assert!(!matches!(decide(kind, RW, Access::Read, PteState::Absent, 4, 0), Decision::Kill(_)));
    }
}

#[test]
fn absent_pages() {
    let d = |kind, prot, access| decide(kind, prot, access, PteState::Absent, 0, 1);
    assert_eq!(d(VmaKind::PrivateAnon, RW, Access::Read), Decision::ZeroFill { flags: URW | A | D });
    assert_eq!(d(VmaKind::PrivateAnon, RX, Access::Exec), Decision::ZeroFill { flags: URX | A | D });
    // Shared: W as prot says, D only for a store (the hardware records later stores).
    assert_eq!(d(VmaKind::SharedAnon, RW, Access::Read), Decision::MapCached { flags: URW | A });
    assert_eq!(d(VmaKind::SharedFile, RW, Access::Read), Decision::MapCached { flags: URW | A });
    assert_eq!(d(VmaKind::SharedFile, RW, Access::Write), Decision::MapCached { flags: URW | A | D });
    assert_eq!(d(VmaKind::SharedFile, R, Access::Read), Decision::MapCached { flags: UR | A });
    // Private file: the cached page read-only, a copy for a store.
    assert_eq!(d(VmaKind::PrivateFile, RW, Access::Read), Decision::MapCached { flags: UR | A });
    assert_eq!(d(VmaKind::PrivateFile, RX, Access::Exec), Decision::MapCached { flags: URX | A });
    assert_eq!(d(VmaKind::PrivateFile, RW, Access::Write), Decision::CopyCached { flags: URW | A | D });
}

#[test]
fn present_with_the_needed_bit_is_done() {
    for kind in ALL_KINDS {
        assert_eq!(decide(kind, RW, Access::Read, present(UR | A, true, 2), 0, 1), Decision::AlreadyDone);
        assert_eq!(decide(kind, RW, Access::Write, present(URW | A, false, 3), 0, 1), Decision::AlreadyDone);
    }
}

#[test]
fn copy_on_write_of_private_pages() {
    let store = |kind, pte| decide(kind, RW, Access::Write, pte, 0, 1);
    // Shared with a parent or child since fork: copy.
    let forked = present(UR | A | D, false, 2);
    assert_eq!(store(VmaKind::PrivateAnon, forked), Decision::CopyPresent { flags: URW | A | D });
    assert_eq!(store(VmaKind::PrivateFile, forked), Decision::CopyPresent { flags: URW | A | D });
    // The other side has gone: just set W.
    let alone = present(UR | A | D, false, 1);
    assert_eq!(store(VmaKind::PrivateAnon, alone), Decision::MakeWritable { flags: URW | A | D });
    assert_eq!(store(VmaKind::PrivateFile, alone), Decision::MakeWritable { flags: URW | A | D });
    // The cache's page: always copied, whatever the count says.
    for refcount in [1, 2, 5] {
        let cached = present(UR | A, true, refcount);
        assert_eq!(store(VmaKind::PrivateFile, cached), Decision::CopyPresent { flags: URW | A | D });
    }
}

#[test]
fn shared_pages_become_writable_in_place() {
    // Read-only PTE in a writable shared mapping (mprotect widened it, or fork): set W.
    for kind in [VmaKind::SharedAnon, VmaKind::SharedFile] {
        let d = decide(kind, RW, Access::Write, present(UR | A, true, 3), 0, 1);
        assert_eq!(d, Decision::MakeWritable { flags: URW | A | D });
    }
}

#[test]
fn widened_protection_sets_flags_without_granting_w() {
    // mprotect(PROT_NONE → RW) left the PTE with U only; a load maps R (and A), no W:
    // a store will still go through copy-on-write.
    let d = decide(VmaKind::PrivateFile, RW, Access::Read, present(PteFlags::U, true, 2), 0, 1);
    assert_eq!(d, Decision::SetFlags { flags: UR | A });
    // R → RX: an exec fault on a page that kept W and D keeps them.
    let all = Prot::ALL;
    let d = decide(VmaKind::PrivateAnon, all, Access::Exec, present(URW | A | D, false, 1), 0, 0);
    assert_eq!(d, Decision::SetFlags { flags: URW | PteFlags::X | A | D });
}
