//! Unit tests of the executor: each decision carried out on the mocks, with the contents of
//! the pages, the PTE bits and the frame references checked, and every failure path (no
//! memory at each allocation, a failed read, a failed map) shown to leave nothing behind.

use alloc::rc::Rc;
use alloc::vec::Vec;

use super::*;
use crate::mock::{MockCache, MockFrame, MockFrames, MockPageTable, VecFile};
use crate::readahead::Advice;
use crate::traits::Mapping;

const P: usize = PAGE_SIZE;
const BASE: usize = 0x4000_0000;
const U: PteFlags = PteFlags::U;
const R: PteFlags = PteFlags::R;
const W: PteFlags = PteFlags::W;
const A: PteFlags = PteFlags::A;
const D: PteFlags = PteFlags::D;

/// One file of `pages` pages (byte k of page i is `i + 1`, the last page half full), its
/// cache, a shared anonymous object, and a page table.
struct World {
    frames: Rc<MockFrames>,
    pt: MockPageTable,
    file: VecFile,
    cache: MockCache,
    anon: MockCache,
}

impl World {
    fn new(pages: usize) -> World {
        let frames = MockFrames::new();
        let mut data: Vec<u8> = (0..pages * P).map(|b| (b / P) as u8 + 1).collect();
        data.truncate(data.len().saturating_sub(P / 2));
        let file = VecFile::new(&frames, data);
        let cache = MockCache::file(file.size());
        World { frames, pt: MockPageTable::new(), file, cache, anon: MockCache::anonymous() }
    }

    fn vma(kind: VmaKind, prot: Prot, pages: usize, first_index: u64) -> FaultVma {
        let range = VirtRange::from_start_len(BASE, pages * P).unwrap();
        FaultVma { range, kind, prot, advice: Advice::Normal, first_index }
    }

    fn fault(&mut self, vma: &FaultVma, page: usize, access: Access) -> Result<Outcome, FaultError> {
        let obj = match vma.kind {
            VmaKind::PrivateAnon => None,
            VmaKind::SharedAnon => Some(Object { cache: &self.anon, file: None }),
            _ => Some(Object { cache: &self.cache, file: Some(&self.file) }),
        };
        resolve(
            &*self.frames,
            &mut self.pt,
            Some(vma),
            obj.as_ref(),
            vma.range.start() + page * P + 8,
            access,
        )
    }

    fn pte(&self, page: usize) -> Option<Mapping<MockFrame>> {
        self.pt.lookup(BASE + page * P)
    }

    /// Unmaps everything, drops the caches and checks that no frame is left.
    fn teardown(mut self) {
        for (_, m) in core::mem::take(&mut self.pt.ptes) {
            self.frames.free(m.frame);
        }
        self.cache.pages.borrow_mut().drop_all(&*self.frames);
        self.anon.pages.borrow_mut().drop_all(&*self.frames);
        assert_eq!(self.frames.live(), 0, "frames leaked");
    }
}

fn rw() -> Prot {
    Prot::READ | Prot::WRITE
}

#[test]
fn no_mapping_kills() {
    let mut w = World::new(1);
    let r = resolve::<_, _, MockCache, VecFile>(&*w.frames, &mut w.pt, None, None, BASE, Access::Read);
    assert_eq!(r, Err(FaultError::Kill(KillReason::NoMapping)));
    assert_eq!(abi::Errno::from(FaultError::Kill(KillReason::NoMapping)), abi::Errno::Fault);
    w.teardown();
}

#[test]
fn zero_fill_private_anonymous() {
    let mut w = World::new(1);
    let vma = World::vma(VmaKind::PrivateAnon, rw(), 4, 0);
    let out = w.fault(&vma, 2, Access::Read).unwrap();
    assert_eq!(out.decision, Decision::ZeroFill { flags: U | R | W | A | D });
    let m = w.pte(2).unwrap();
    assert!(w.frames.bytes(m.frame).iter().all(|&b| b == 0));
    assert_eq!(w.frames.refcount(m.frame), 1);
    assert_eq!(w.fault(&vma, 2, Access::Write).unwrap().decision, Decision::AlreadyDone);
    assert_eq!(w.pte(1), None, "no fault-around for anonymous memory");
    w.teardown();
}

#[test]
fn shared_file_read_miss_then_hits_and_fault_around() {
    let mut w = World::new(20);
    let vma = World::vma(VmaKind::SharedFile, rw(), 20, 0);
    let out = w.fault(&vma, 5, Access::Read).unwrap();
    assert_eq!(out.decision, Decision::MapCached { flags: U | R | W | A, fault_around: true });
    assert_eq!((out.pages_read, out.mapped_around), (1, 0), "first miss: one page, nothing cached");
    let m = w.pte(5).unwrap();
    assert_eq!(w.frames.read(m.frame, 100), 6);
    assert_eq!(w.frames.refcount(m.frame), 2, "cache + PTE");
    assert!(w.cache.pages.borrow().holds(5, m.frame));

    // Sequential: the window doubles (2 pages from 6), then page 7 is a hit.
    assert_eq!(w.fault(&vma, 6, Access::Read).unwrap().pages_read, 2);
    let out = w.fault(&vma, 8, Access::Read).unwrap();
    assert_eq!(out.pages_read, 4, "pages 8..12");
    assert_eq!(out.mapped_around, 3, "cached and absent in 0..16: 9, 10, 11 (7 came with 6)");
    for page in [7, 9, 10, 11] {
        assert_eq!(w.pte(page).unwrap().flags, U | R | W | A, "neighbours have D clear");
    }
    assert_eq!(w.pte(12), None);
    let before = w.file.pages_read.get();
    let m = w.pt.unmap(BASE + 9 * P).unwrap();
    w.frames.free(m.frame);
    assert_eq!(w.fault(&vma, 9, Access::Read).unwrap().pages_read, 0, "hit");
    assert_eq!(w.file.pages_read.get(), before);
    w.teardown();
}

#[test]
fn fault_around_stops_at_the_mapping_and_end_of_file() {
    let mut w = World::new(20); // 19.5 pages: 20 file pages
    let vma = World::vma(VmaKind::SharedFile, Prot::READ, 40, 0);
    let vma = FaultVma { advice: Advice::Sequential, ..vma };
    let out = w.fault(&vma, 17, Access::Read).unwrap();
    assert_eq!(out.pages_read, 3, "clamped to end-of-file: pages 17..20");
    assert_eq!(out.mapped_around, 2);
    assert_eq!(w.fault(&vma, 20, Access::Read), Err(FaultError::Kill(KillReason::PastEof)));
    let m = w.pte(19).unwrap();
    let tail = w.frames.bytes(m.frame);
    assert!(tail[..P / 2].iter().all(|&b| b == 20) && tail[P / 2..].iter().all(|&b| b == 0));

    // A mapping of 3 pages at file page 4: readahead and fault-around stay inside it.
    let mut w = World::new(20);
    let vma = World::vma(VmaKind::SharedFile, Prot::READ, 3, 4);
    let vma = FaultVma { advice: Advice::Sequential, ..vma };
    let out = w.fault(&vma, 0, Access::Read).unwrap();
    assert_eq!((out.pages_read, out.mapped_around), (3, 2));
    assert_eq!(w.frames.read(w.pte(2).unwrap().frame, 0), 7);
    w.teardown();
}

#[test]
fn low_memory_reads_one_page() {
    let mut w = World::new(40);
    let vma = World::vma(VmaKind::SharedFile, Prot::READ, 40, 0);
    let vma = FaultVma { advice: Advice::Sequential, ..vma };
    w.frames.set_low(true);
    assert_eq!(w.fault(&vma, 0, Access::Read).unwrap().pages_read, 1);
    w.frames.set_low(false);
    assert_eq!(w.fault(&vma, 1, Access::Read).unwrap().pages_read, 32);
    w.teardown();
}

#[test]
fn private_file_maps_the_cache_page_read_only_then_copies() {
    let mut w = World::new(4);
    let vma = World::vma(VmaKind::PrivateFile, rw(), 4, 0);
    let out = w.fault(&vma, 1, Access::Read).unwrap();
    assert_eq!(out.decision, Decision::MapCached { flags: U | R | A, fault_around: true });
    let cached = w.pte(1).unwrap().frame;
    let out = w.fault(&vma, 1, Access::Write).unwrap();
    assert_eq!(out.decision, Decision::CopyPresent { flags: U | R | W | A | D, cache_page: true });
    let copy = w.pte(1).unwrap().frame;
    assert_ne!(copy, cached);
    assert_eq!(w.frames.refcount(cached), 1, "only the cache now");
    assert_eq!((w.frames.refcount(copy), w.frames.read(copy, 7)), (1, 2));
    w.frames.write(copy, 7, 99);
    assert_eq!(w.frames.read(cached, 7), 2, "the store stays private");
    w.teardown();
}

#[test]
fn private_file_store_to_an_absent_page_copies_the_cached_page() {
    let mut w = World::new(4);
    let vma = World::vma(VmaKind::PrivateFile, rw(), 4, 0);
    let out = w.fault(&vma, 3, Access::Write).unwrap();
    assert_eq!(out.decision, Decision::CopyCached { flags: U | R | W | A | D });
    assert_eq!(out.mapped_around, 0, "no fault-around for a store");
    let copy = w.pte(3).unwrap().frame;
    assert!(!w.cache.pages.borrow().holds(3, copy));
    assert_eq!(w.frames.read(copy, 0), 4);
    let cached = w.cache.pages.borrow().lookup(&*w.frames, 3).unwrap();
    assert_eq!(w.frames.refcount(cached), 2, "the cache and our lookup: no leak");
    w.frames.free(cached);
    w.teardown();
}

#[test]
fn copy_on_write_after_fork() {
    let mut w = World::new(1);
    let vma = World::vma(VmaKind::PrivateAnon, rw(), 2, 0);
    w.fault(&vma, 0, Access::Write).unwrap();
    let m = w.pte(0).unwrap();
    w.frames.write(m.frame, 0, 42);
    // Fork: the child's PTE takes a reference; both lose W.
    let mut child = MockPageTable::new();
    w.frames.share(m.frame);
    let (parent, ro) = crate::fork_flags(vma.kind, m.flags);
    assert_eq!(parent, ro);
    child.map(BASE, m.frame, ro).unwrap();
    w.pt.set_flags(BASE, parent);

    let out = w.fault(&vma, 0, Access::Write).unwrap();
    assert_eq!(out.decision, Decision::CopyPresent { flags: U | R | W | A | D, cache_page: false });
    let mine = w.pte(0).unwrap().frame;
    assert_eq!(w.frames.read(mine, 0), 42);
    assert_eq!(w.frames.refcount(m.frame), 1, "the child's alone");

    // The child's store now finds the frame its own: W, no copy.
    let out =
        resolve::<_, _, MockCache, VecFile>(&*w.frames, &mut child, Some(&vma), None, BASE, Access::Write)
            .unwrap();
    assert_eq!(out.decision, Decision::MakeWritable { flags: U | R | W | A | D });
    assert_eq!(child.lookup(BASE).unwrap().frame, m.frame);
    w.frames.free(child.unmap(BASE).unwrap().frame);
    w.teardown();
}

#[test]
fn mprotect_to_writable_does_not_write_a_shared_frame() {
    let mut w = World::new(1);
    let ro = World::vma(VmaKind::PrivateAnon, Prot::READ, 1, 0);
    w.fault(&ro, 0, Access::Read).unwrap();
    let m = w.pte(0).unwrap();
    w.frames.share(m.frame); // a forked child maps it too
    let vma = FaultVma { prot: rw(), ..ro };
    let flags = crate::protect_flags(vma.kind, vma.prot, m.flags);
    assert!(!flags.contains(W));
    w.pt.set_flags(BASE, flags);
    let out = w.fault(&vma, 0, Access::Write).unwrap();
    assert!(matches!(out.decision, Decision::CopyPresent { .. }));
    assert_ne!(w.pte(0).unwrap().frame, m.frame);
    w.frames.free(m.frame);
    w.teardown();
}

#[test]
fn shared_anonymous_is_zero_on_first_touch_and_shared() {
    let mut w = World::new(1);
    let vma = World::vma(VmaKind::SharedAnon, rw(), 4, 0);
    let out = w.fault(&vma, 1, Access::Write).unwrap();
    assert_eq!(out.decision, Decision::MapCached { flags: U | R | W | A, fault_around: false });
    let f = w.pte(1).unwrap().frame;
    assert!(w.frames.bytes(f).iter().all(|&b| b == 0));
    w.frames.write(f, 3, 9);
    let mut other = MockPageTable::new();
    let obj = Object::<_, VecFile> { cache: &w.anon, file: None };
    let out = resolve(&*w.frames, &mut other, Some(&vma), Some(&obj), BASE + P, Access::Read).unwrap();
    assert_eq!(out.decision, Decision::MapCached { flags: U | R | W | A, fault_around: true });
    assert_eq!(other.lookup(BASE + P).unwrap().frame, f);
    assert_eq!(w.frames.refcount(f), 3);
    w.frames.free(other.unmap(BASE + P).unwrap().frame);
    w.teardown();
}

#[test]
fn shared_read_only_pte_becomes_writable_in_place() {
    let mut w = World::new(2);
    let vma = World::vma(VmaKind::SharedFile, rw(), 2, 0);
    w.fault(&vma, 0, Access::Read).unwrap();
    let f = w.pte(0).unwrap().frame;
    w.pt.set_flags(BASE, U | R | A);
    assert_eq!(
        w.fault(&vma, 0, Access::Write).unwrap().decision,
        Decision::MakeWritable { flags: U | R | W | A }
    );
    assert_eq!(w.pte(0).unwrap().frame, f);
    // A present PROT_NONE page (R without U) refuses every access until mprotect widens it.
    let none = FaultVma { prot: Prot::NONE, ..vma };
    w.pt.set_flags(BASE, crate::protect_flags(vma.kind, Prot::NONE, U | R | W | A));
    assert_eq!(w.fault(&none, 0, Access::Read), Err(FaultError::Kill(KillReason::Protection)));
    w.pt.set_flags(BASE, crate::protect_flags(vma.kind, vma.prot, w.pte(0).unwrap().flags));
    assert_eq!(w.fault(&vma, 0, Access::Read).unwrap().decision, Decision::AlreadyDone);
    w.teardown();
}

#[test]
fn protection_and_end_of_file_kill_without_side_effects() {
    let mut w = World::new(2);
    let vma = World::vma(VmaKind::SharedFile, Prot::READ, 4, 0);
    assert_eq!(w.fault(&vma, 0, Access::Write), Err(FaultError::Kill(KillReason::Protection)));
    assert_eq!(w.fault(&vma, 0, Access::Exec), Err(FaultError::Kill(KillReason::Protection)));
    assert_eq!(w.fault(&vma, 2, Access::Read), Err(FaultError::Kill(KillReason::PastEof)));
    assert_eq!((w.frames.allocs(), w.file.pages_read.get()), (0, 0));
    w.teardown();
}

#[test]
fn read_error_frees_the_window() {
    let mut w = World::new(8);
    let vma = World::vma(VmaKind::SharedFile, Prot::READ, 8, 0);
    let vma = FaultVma { advice: Advice::Sequential, ..vma };
    w.file.fail_reads.set(true);
    assert_eq!(w.fault(&vma, 0, Access::Read), Err(FaultError::Io));
    assert_eq!(abi::Errno::from(FaultError::Io), abi::Errno::Io);
    assert_eq!((w.frames.live(), w.cache.pages.borrow().pages()), (0, 0));
    w.teardown();
}

#[test]
fn failed_map_leaves_nothing_behind() {
    for kind in [VmaKind::PrivateAnon, VmaKind::SharedAnon, VmaKind::PrivateFile, VmaKind::SharedFile] {
        let mut w = World::new(4);
        let vma = World::vma(kind, rw(), 4, 0);
        w.pt.fail_map = true;
        for access in [Access::Read, Access::Write] {
            assert_eq!(w.fault(&vma, 1, access), Err(FaultError::NoMem));
            assert_eq!(w.pte(1), None);
        }
        let cached = w.cache.pages.borrow().pages() + w.anon.pages.borrow().pages();
        assert_eq!(w.frames.live(), cached, "only cache pages remain ({kind:?})");
        w.teardown();
    }
}

#[test]
fn failed_copy_keeps_the_old_page() {
    let mut w = World::new(2);
    let vma = World::vma(VmaKind::PrivateFile, rw(), 2, 0);
    w.fault(&vma, 0, Access::Read).unwrap();
    let before = w.pte(0).unwrap();
    w.frames.set_limit(Some(w.frames.live()));
    assert_eq!(w.fault(&vma, 0, Access::Write), Err(FaultError::NoMem));
    assert_eq!(w.fault(&vma, 1, Access::Write), Err(FaultError::NoMem));
    assert_eq!(w.pte(0), Some(before));
    w.frames.set_limit(None);
    w.teardown();
}

#[test]
fn no_memory_at_any_allocation_balances_references() {
    // For every kind and access, allow 0, 1, 2, ... frames: each fault either succeeds or
    // fails with NoMem, and what stays allocated is exactly what the cache and the PTE hold.
    for kind in [VmaKind::PrivateAnon, VmaKind::SharedAnon, VmaKind::PrivateFile, VmaKind::SharedFile] {
        for access in [Access::Read, Access::Write] {
            for limit in 0..6 {
                let mut w = World::new(8);
                let vma = World::vma(kind, rw(), 8, 0);
                let vma = FaultVma { advice: Advice::Sequential, ..vma };
                w.frames.set_limit(Some(limit));
                let r = w.fault(&vma, 2, access);
                assert!(matches!(r, Ok(_) | Err(FaultError::NoMem)), "{kind:?} {access:?} {limit}: {r:?}");
                assert_eq!(r.is_ok(), w.pte(2).is_some());
                let held = w.cache.pages.borrow().pages() + w.anon.pages.borrow().pages();
                let private = usize::from(
                    r.is_ok()
                        && !kind.is_shared()
                        && (kind == VmaKind::PrivateAnon || access == Access::Write),
                );
                assert_eq!(w.frames.live(), held + private, "{kind:?} {access:?} {limit}");
                w.teardown();
            }
        }
    }
}

#[test]
fn random_advice_reads_one_page_and_maps_no_neighbours() {
    let mut w = World::new(20);
    let plain = World::vma(VmaKind::SharedFile, Prot::READ, 20, 0);
    let random = FaultVma { advice: Advice::Random, ..plain };
    assert_eq!(w.fault(&random, 0, Access::Read).unwrap().pages_read, 1);
    assert_eq!(w.fault(&random, 1, Access::Read).unwrap().pages_read, 1, "sequential, still one");
    let sequential = FaultVma { advice: Advice::Sequential, ..plain };
    let out = w.fault(&sequential, 2, Access::Read).unwrap();
    assert_eq!((out.pages_read, out.mapped_around), (18, 13), "pages 2..20; 3..16 mapped around");
    for page in 0..16 {
        let m = w.pt.unmap(BASE + page * P).unwrap();
        w.frames.free(m.frame);
    }
    assert_eq!(w.fault(&random, 4, Access::Read).unwrap().mapped_around, 0);
    assert_eq!(w.fault(&plain, 8, Access::Read).unwrap().mapped_around, 14, "0..16 but 4 and 8");
    w.teardown();
}
