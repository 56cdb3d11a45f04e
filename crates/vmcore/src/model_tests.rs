//! Property tests of the whole memory system on the mocks: random sequences of loads, stores
//! and instruction fetches in two processes with one mapping of each kind, interleaved with
//! fork, munmap, mprotect, truncation (in the kernel's three steps), reclaim, write-back
//! (also racing a store that re-dirties the page), `MS_INVALIDATE` eviction and memory
//! limits, all checked against a byte-level model of what every page must contain.
//!
//! The model is obviously right: private anonymous pages are zero until this process stores;
//! shared anonymous pages and shared file pages are one array each that every store changes;
//! a private file page is the file's bytes until this process's first store, then its own
//! copy. A simulated CPU performs each access through the page table, calling `resolve` when
//! the PTE does not allow it, and sets A and D as the hardware does. After every step the
//! frame references are recounted from the page tables and the caches, and after teardown
//! the file must hold every shared store and no frame may be left.

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;
use vmspace::{page_round_down, Advice, Prot, VirtRange};

use crate::cache::{pages_of, PageState};
use crate::decide::{KillReason, VmaKind};
use crate::fault::{resolve, FaultError, FaultVma, Object};
use crate::flags::{Access, PteFlags};
use crate::mock::{MockCache, MockFrame, MockFrames, MockPageTable, VecFile};
use crate::reclaim::{ClockPass, Verdict, CLOCK_PASSES};
use crate::release::{fork_flags, protect_flags, unmap_page, write_back};
use crate::traits::{CacheLock, FileBackend, Frames, PageTable};
use crate::PAGE_SIZE;

const P: usize = PAGE_SIZE;
/// Largest file, in pages.
const FILE_PAGES: usize = 44;

/// The four mappings every process has: kind, start address (deliberately not aligned to
/// the fault-around window), pages, first object page.
const LAYOUT: [(VmaKind, usize, usize, u64); 4] = [
    (VmaKind::PrivateAnon, 0x1000_0000 + 3 * P, 20, 0),
    (VmaKind::SharedAnon, 0x2000_0000 + 5 * P, 20, 4),
    (VmaKind::PrivateFile, 0x3000_0000 + 7 * P, 40, 0),
    (VmaKind::SharedFile, 0x4000_0000 + 2 * P, 40, 3),
];

fn prot_of(n: u8) -> Prot {
    let rw = Prot::READ | Prot::WRITE;
    [Prot::READ, rw, Prot::ALL, Prot::READ | Prot::EXEC, rw, Prot::NONE, Prot::EXEC][n as usize % 7]
}

fn advice_of(n: u8) -> Advice {
    [Advice::Normal, Advice::Random, Advice::Sequential][n as usize % 3]
}

#[derive(Clone, Copy, Debug)]
enum Op {
    /// Process, mapping, page in the mapping (modulo its size), access, byte offset, value.
    Access(usize, usize, usize, Access, usize, u8),
    Fork,
    /// Process, mapping, first page, pages.
    Unmap(usize, usize, usize, usize),
    /// Process, mapping, new protection.
    Protect(usize, usize, u8),
    /// Process, mapping, new advice.
    Advise(usize, usize, u8),
    /// New size in bytes, as a fraction (per mille) of the current one.
    Truncate(u32),
    /// Process, faulting page, batch.
    Reclaim(usize, usize, usize),
    WriteBack,
    /// A write-back of the first dirty page that fails or not, during which process `p`
    /// stores (offset, value) to it through its shared mapping and unmaps it (the D bit
    /// reaches the cache after the write copied the page).
    WriteBackRace(usize, usize, u8, bool),
    /// `msync(MS_INVALIDATE)`'s eviction: first page, pages.
    Invalidate(u64, u64),
    /// Live-frame limit (`None`: no limit).
    Limit(Option<usize>),
}

fn op() -> impl Strategy<Value = Op> {
    let access = prop_oneof![4 => Just(Access::Read), 4 => Just(Access::Write), 1 => Just(Access::Exec)];
    prop_oneof![
        30 => (0..2usize, 0..4usize, 0..40usize, access, 0..P, any::<u8>())
            .prop_map(|(p, v, page, a, off, val)| Op::Access(p, v, page, a, off, val)),
        2 => Just(Op::Fork),
        3 => (0..2usize, 0..4usize, 0..40usize, 1..12usize).prop_map(|(p, v, a, n)| Op::Unmap(p, v, a, n)),
        2 => (0..2usize, 0..4usize, any::<u8>()).prop_map(|(p, v, n)| Op::Protect(p, v, n)),
        1 => (0..2usize, 0..4usize, any::<u8>()).prop_map(|(p, v, n)| Op::Advise(p, v, n)),
        1 => (0..1000u32).prop_map(Op::Truncate),
        3 => (0..2usize, 0..40usize, 1..40usize).prop_map(|(p, f, b)| Op::Reclaim(p, f, b)),
        2 => Just(Op::WriteBack),
        2 => (0..2usize, 0..P, any::<u8>(), any::<bool>()).prop_map(|(p, o, v, f)| Op::WriteBackRace(p, o, v, f)),
        1 => (0..48u64, 1..48u64).prop_map(|(f, n)| Op::Invalidate(f, n)),
        2 => proptest::option::of(30..160usize).prop_map(Op::Limit),
    ]
}

/// What one process's private pages hold (by mapping slot and page in the mapping); a page
/// missing from the map has never been stored to by this process.
#[derive(Clone, Default)]
struct ProcModel {
    prot: [Prot; 4],
    advice: [Advice; 4],
    private: [BTreeMap<usize, Vec<u8>>; 4],
}

struct Model {
    /// The file as every shared mapping sees it, whole pages, zero past `size`.
    file: Vec<u8>,
    size: usize,
    shared_anon: BTreeMap<u64, Vec<u8>>,
    procs: [ProcModel; 2],
}

impl Model {
    fn file_pages(&self) -> u64 {
        pages_of(self.size as u64)
    }

    /// The bytes process `p` must see at page `page` of mapping `v`.
    fn page(&self, p: usize, v: usize, page: usize) -> Vec<u8> {
        let (kind, _, _, first) = LAYOUT[v];
        let index = first as usize + page;
        match kind {
            VmaKind::PrivateAnon => {
                self.procs[p].private[v].get(&page).cloned().unwrap_or_else(|| vec![0; P])
            }
            VmaKind::SharedAnon => {
                self.shared_anon.get(&(index as u64)).cloned().unwrap_or_else(|| vec![0; P])
            }
            VmaKind::PrivateFile => {
                self.procs[p].private[v].get(&page).cloned().unwrap_or_else(|| self.file_page(index))
            }
            VmaKind::SharedFile => self.file_page(index),
        }
    }

    fn file_page(&self, index: usize) -> Vec<u8> {
        self.file[index * P..(index + 1) * P].to_vec()
    }

    fn store(&mut self, p: usize, v: usize, page: usize, off: usize, val: u8) {
        let (kind, _, _, first) = LAYOUT[v];
        let index = first as usize + page;
        match kind {
            VmaKind::SharedAnon => {
                self.shared_anon.entry(index as u64).or_insert_with(|| vec![0; P])[off] = val
            }
            VmaKind::SharedFile => self.file[index * P + off] = val,
            _ => {
                let init = self.page(p, v, page);
                self.procs[p].private[v].entry(page).or_insert(init)[off] = val;
            }
        }
    }

    /// The kill a fault must end in, if any.
    fn kill(&self, p: usize, v: usize, page: usize, access: Access) -> Option<KillReason> {
        let (kind, _, _, first) = LAYOUT[v];
        if !PteFlags::from(self.procs[p].prot[v]).contains(access.needs()) {
            Some(KillReason::Protection)
        } else if kind.is_file() && first + page as u64 >= self.file_pages() {
            Some(KillReason::PastEof)
        } else {
            None
        }
    }
}

/// The system under test: two page tables, one file with its cache, one shared anonymous
/// object.
struct System {
    frames: Rc<MockFrames>,
    pts: [MockPageTable; 2],
    /// Each process's clock hand: where its next reclaim turn starts.
    hands: [usize; 2],
    file: VecFile,
    cache: MockCache,
    anon: MockCache,
}

fn fault_vma(proc: &ProcModel, v: usize) -> FaultVma {
    let (kind, start, pages, first_index) = LAYOUT[v];
    let range = VirtRange::from_start_len(start, pages * P).unwrap();
    FaultVma { range, kind, prot: proc.prot[v], advice: proc.advice[v], first_index }
}

/// The mapping slot holding `va`.
fn slot_of(va: usize) -> usize {
    LAYOUT.iter().position(|&(_, s, n, _)| s <= va && va < s + n * P).expect("va in a mapping")
}

type Cache = MockCache;

/// The cache behind mapping slot `v`, if it has an object.
fn cache_of<'a>(cache: &'a Cache, anon: &'a Cache, v: usize) -> Option<&'a Cache> {
    match LAYOUT[v].0 {
        VmaKind::PrivateAnon => None,
        VmaKind::SharedAnon => Some(anon),
        _ => Some(cache),
    }
}

impl System {
    fn fault(
        &mut self,
        model: &Model,
        p: usize,
        v: usize,
        va: usize,
        access: Access,
    ) -> Result<(), FaultError> {
        let vma = fault_vma(&model.procs[p], v);
        let System { frames, pts, file, cache, anon, .. } = self;
        let obj = cache_of(cache, anon, v)
            .map(|cache| Object { cache, file: vma.kind.is_file().then_some(&*file) });
        resolve(&**frames, &mut pts[p], Some(&vma), obj.as_ref(), va, access).map(|_| ())
    }

    fn unmap(&mut self, model: &Model, p: usize, va: usize) {
        let v = slot_of(va);
        let vma = fault_vma(&model.procs[p], v);
        let c = cache_of(&self.cache, &self.anon, v);
        unmap_page(&*self.frames, &mut self.pts[p], &vma, c, va);
    }

    /// Reclaim as the kernel does it (`kernel/src/vm/reclaim.rs`): the turns of the clock
    /// until one takes a page, then the dirty pages nobody maps are written back and the
    /// file's cache drops what no one maps.
    fn reclaim(&mut self, model: &Model, p: usize, fault_va: usize, batch: usize) -> usize {
        let fault = page_round_down(fault_va);
        let mut taken = 0;
        for pass in CLOCK_PASSES {
            taken = self.turn(model, p, fault, pass, batch);
            if taken > 0 {
                break;
            }
        }
        let mut next = 0;
        while let Some((index, f)) = self.cache.with(|c| c.take_dirty_unused(&*self.frames, next, u64::MAX)) {
            assert_eq!(self.frames.refcount(f), 2, "the cache's and the writer's");
            self.file.write_page(index, f).expect("writes fail only when asked");
            self.frames.free(f);
            next = index + 1;
        }
        taken + self.cache.with(|c| c.evict_unused(&*self.frames))
    }

    /// One turn of process `p`'s clock hand, from the hand round to it again: unmaps the
    /// pages the verdict takes (at most `batch`; the hand then stops just past the last) and
    /// clears A on those it gives a second chance.
    fn turn(&mut self, model: &Model, p: usize, fault: usize, pass: ClockPass, batch: usize) -> usize {
        let start = self.hands[p];
        let ptes = &self.pts[p].ptes;
        let vas: Vec<usize> = ptes.range(start..).chain(ptes.range(..start)).map(|(&va, _)| va).collect();
        let mut n = 0;
        for va in vas {
            let m = self.pts[p].lookup(va).expect("listed as present");
            let v = slot_of(va);
            let vma = fault_vma(&model.procs[p], v);
            let cache = cache_of(&self.cache, &self.anon, v);
            let cache_page = || cache.is_some_and(|c| c.with(|c| c.holds(vma.index_of(va), m.frame)));
            match pass.verdict(va.abs_diff(fault), vma.kind, m.flags, cache_page) {
                Verdict::Skip => {}
                Verdict::SecondChance => self.pts[p].set_flags(va, m.flags - PteFlags::A),
                Verdict::Take => {
                    self.unmap(model, p, va);
                    n += 1;
                    if n == batch {
                        self.hands[p] = va + P;
                        return n;
                    }
                }
            }
        }
        n
    }

    /// Every frame's count must equal the references the page tables and caches hold, and
    /// no PTE may let a process write a frame someone else can see.
    fn check_references(&self) -> Result<(), TestCaseError> {
        let mut held: BTreeMap<MockFrame, u32> = BTreeMap::new();
        for pt in &self.pts {
            for (&va, m) in &pt.ptes {
                *held.entry(m.frame).or_default() += 1;
                let (kind, ..) = LAYOUT[slot_of(va)];
                if m.flags.contains(PteFlags::W) && !kind.is_shared() {
                    prop_assert_eq!(
                        self.frames.refcount(m.frame),
                        1,
                        "writable private page shared at {:#x}",
                        va
                    );
                }
            }
        }
        for cache in [&self.cache, &self.anon] {
            let c = cache.pages.borrow();
            c.check_invariants();
            for (_, f) in c.cached(0, u64::MAX) {
                *held.entry(f).or_default() += 1;
            }
        }
        for (&f, &n) in &held {
            prop_assert_eq!(self.frames.refcount(f), n, "references to {:?}", f);
        }
        prop_assert_eq!(self.frames.live(), held.len(), "frames leaked");
        Ok(())
    }
}

/// Runs one access through the simulated CPU, faulting (and reclaiming once on NoMem) as
/// needed, and checks it against the model.
fn access(
    sys: &mut System,
    model: &mut Model,
    (p, v, page, acc, off, val): (usize, usize, usize, Access, usize, u8),
) -> Result<(), TestCaseError> {
    let (kind, start, pages, first) = LAYOUT[v];
    let page = page % pages;
    let index = first as usize + page;
    // Shared file stores stay below end-of-file: bytes past it are not the file's.
    let off = if kind == VmaKind::SharedFile && acc == Access::Write && index < model.file_pages() as usize {
        off % (model.size - index * P).min(P)
    } else {
        off
    };
    let va = start + page * P;
    let mut reclaimed = false;
    for _ in 0..3 {
        // The hardware: a user access needs U and the access's bit.
        if let Some(m) = sys.pts[p].lookup(va).filter(|m| m.flags.contains(acc.needs() | PteFlags::U)) {
            if acc == Access::Write {
                sys.pts[p].set_flags(va, m.flags | PteFlags::A | PteFlags::D);
                sys.frames.write(m.frame, off, val);
                model.store(p, v, page, off, val);
            } else {
                sys.pts[p].set_flags(va, m.flags | PteFlags::A);
                prop_assert_eq!(
                    sys.frames.read(m.frame, off),
                    model.page(p, v, page)[off],
                    "load {:#x}+{}",
                    va,
                    off
                );
            }
            return Ok(());
        }
        match sys.fault(model, p, v, va + off, acc) {
            Ok(()) => {}
            Err(FaultError::Kill(reason)) => {
                prop_assert_eq!(Some(reason), model.kill(p, v, page, acc));
                return Ok(());
            }
            Err(FaultError::NoMem) if !reclaimed => {
                reclaimed = true;
                sys.reclaim(model, p, va, crate::UNMAP_BATCH);
            }
            Err(FaultError::NoMem) => return Ok(()), // the process would be killed; no change
            Err(e) => prop_assert!(false, "unexpected {:?}", e),
        }
    }
    prop_assert!(false, "access at {:#x} still faults after a resolved fault", va);
    Ok(())
}

/// Truncation to `new` bytes in the kernel's three steps (`kernel/src/vm/truncate.rs`): the
/// file and its cache's size, then every mapping loses its pages wholly past the end (D bits
/// ignored: nothing there is the file's any more), then the cache drops them.
fn truncate(sys: &mut System, model: &mut Model, new: usize) -> Result<(), TestCaseError> {
    let keep = pages_of(new as u64);
    sys.file.data.borrow_mut().truncate(new);
    sys.cache.truncate(&sys.frames, new as u64);
    {
        let c = sys.cache.pages.borrow();
        for (index, f) in c.cached(keep, u64::MAX) {
            prop_assert!(sys.frames.refcount(f) > 1, "an unused page {} past the end stayed", index);
            prop_assert_eq!(c.state(index), Some(PageState::Clean));
            prop_assert!(
                sys.frames.bytes(f).iter().all(|&b| b == 0),
                "page {} past the end not zeroed",
                index
            );
        }
        if !new.is_multiple_of(P) {
            if let Some((_, f)) = c.cached(keep - 1, keep).next() {
                prop_assert!(sys.frames.bytes(f)[new % P..].iter().all(|&b| b == 0), "tail not zeroed");
            }
        }
    }
    for p in 0..2 {
        for v in [2, 3] {
            let (_, start, pages, first) = LAYOUT[v];
            for page in (keep as usize).saturating_sub(first as usize).min(pages)..pages {
                if let Some(m) = sys.pts[p].unmap(start + page * P) {
                    sys.frames.free(m.frame);
                }
                model.procs[p].private[v].remove(&page);
            }
        }
    }
    sys.cache.drop_past_end(&sys.frames);
    prop_assert!(sys.cache.with(|c| c.cached(keep, u64::MAX).next().is_none()), "pages past the end");
    Ok(())
}

/// A write-back of the first dirty page of the file, during which process `p` stores `val` at
/// `off` in that page through its shared mapping and unmaps it, after the write copied the
/// page (which a failed write then reports dirty again too). The store must survive: the
/// page is dirty again, and the teardown's write-back puts it in the file.
fn write_back_race(
    sys: &mut System,
    model: &mut Model,
    p: usize,
    off: usize,
    val: u8,
    fail: bool,
) -> Result<(), TestCaseError> {
    let Some((index, f)) = sys.cache.with(|c| c.take_dirty(&*sys.frames, 0, u64::MAX)) else { return Ok(()) };
    prop_assert_eq!(sys.cache.with(|c| c.state(index)), Some(PageState::Clean));
    sys.file.fail_writes.set(fail);
    let ok = sys.file.write_page(index, f).is_ok();
    sys.file.fail_writes.set(false);
    let (_, start, pages, first) = LAYOUT[3];
    let mut reported = false;
    if let Some(page) = index.checked_sub(first).map(|k| k as usize).filter(|&k| k < pages) {
        access(sys, model, (p, 3, page, Access::Write, off, val))?;
        let dirty = sys.pts[p].lookup(start + page * P).is_some_and(|m| m.flags.contains(PteFlags::D));
        sys.unmap(model, p, start + page * P);
        model.procs[p].private[3].remove(&page);
        reported = dirty && sys.cache.with(|c| c.holds(index, f));
    }
    if !ok {
        sys.cache.with(|c| c.mark_dirty(index));
    }
    sys.frames.free(f);
    if reported || !ok {
        prop_assert_eq!(sys.cache.with(|c| c.state(index)), Some(PageState::Dirty), "the store is not lost");
    }
    Ok(())
}

fn run(initial_size: usize, prots: [[u8; 4]; 2], ops: Vec<Op>) -> Result<(), TestCaseError> {
    let frames = MockFrames::new();
    let data: Vec<u8> = (0..initial_size).map(|i| (i * 7 + i / P) as u8 | 1).collect();
    let file = VecFile::new(&frames, data.clone());
    let mut model_file = data;
    model_file.resize(pages_of(initial_size as u64) as usize * P, 0);
    let procs = prots.map(|p| ProcModel {
        prot: p.map(prot_of),
        advice: [Advice::Normal; 4],
        private: Default::default(),
    });
    let mut model = Model { file: model_file, size: initial_size, shared_anon: BTreeMap::new(), procs };
    let mut sys = System {
        cache: MockCache::file(initial_size as u64),
        anon: MockCache::anonymous(),
        frames,
        pts: [MockPageTable::new(), MockPageTable::new()],
        hands: [0; 2],
        file,
    };
    for op in ops {
        match op {
            Op::Access(p, v, page, acc, off, val) => {
                access(&mut sys, &mut model, (p, v, page, acc, off, val))?
            }
            Op::Fork => {
                let vas: Vec<usize> = sys.pts[1].ptes.keys().copied().collect();
                vas.into_iter().for_each(|va| sys.unmap(&model, 1, va));
                for (va, m) in sys.pts[0].ptes.clone() {
                    let (parent, child) = fork_flags(LAYOUT[slot_of(va)].0, m.flags);
                    sys.frames.share(m.frame);
                    sys.pts[1].map(va, m.frame, child).unwrap();
                    sys.pts[0].set_flags(va, parent);
                }
                model.procs[1] = model.procs[0].clone();
                sys.hands[1] = sys.hands[0];
            }
            Op::Unmap(p, v, first, n) => {
                let (_, start, pages, _) = LAYOUT[v];
                for page in first.min(pages)..(first + n).min(pages) {
                    sys.unmap(&model, p, start + page * P);
                    model.procs[p].private[v].remove(&page);
                }
            }
            Op::Protect(p, v, n) => {
                let prot = prot_of(n);
                model.procs[p].prot[v] = prot;
                let (kind, start, pages, _) = LAYOUT[v];
                for page in 0..pages {
                    if let Some(m) = sys.pts[p].lookup(start + page * P) {
                        sys.pts[p].set_flags(start + page * P, protect_flags(kind, prot, m.flags));
                    }
                }
            }
            Op::Advise(p, v, n) => model.procs[p].advice[v] = advice_of(n),
            Op::Truncate(per_mille) => {
                let new = model.size * per_mille as usize / 1000;
                let keep = pages_of(new as u64) as usize;
                truncate(&mut sys, &mut model, new)?;
                model.size = new;
                model.file.truncate(keep * P);
                model.file[new..].fill(0);
            }
            Op::Reclaim(p, fault, batch) => {
                sys.reclaim(&model, p, 0x3000_0000 + fault * P, batch);
            }
            Op::WriteBack => {
                let done = write_back(&*sys.frames, &sys.cache, &sys.file, 0, u64::MAX);
                prop_assert_eq!(done.failed, 0);
            }
            Op::WriteBackRace(p, off, val, fail) => write_back_race(&mut sys, &mut model, p, off, val, fail)?,
            Op::Invalidate(first, n) => {
                let mut next = first;
                while let Some(index) =
                    sys.cache.with(|c| c.evict_first_unused(&*sys.frames, next, first + n))
                {
                    prop_assert!(index >= next && index < first + n);
                    next = index + 1;
                }
            }
            Op::Limit(limit) => sys.frames.set_limit(limit),
        }
        sys.check_references()?;
    }

    // Every mapped page, whole, against the model.
    for p in 0..2 {
        for (&va, m) in &sys.pts[p].ptes {
            let v = slot_of(va);
            let page = (va - LAYOUT[v].1) / P;
            prop_assert!(
                sys.frames.bytes(m.frame) == model.page(p, v, page),
                "page {:#x} of process {}",
                va,
                p
            );
        }
    }
    // Teardown: unmap everything, write back, and the file must hold every shared store.
    for p in 0..2 {
        let vas: Vec<usize> = sys.pts[p].ptes.keys().copied().collect();
        vas.into_iter().for_each(|va| sys.unmap(&model, p, va));
    }
    write_back(&*sys.frames, &sys.cache, &sys.file, 0, u64::MAX);
    prop_assert_eq!(sys.cache.with(|c| c.dirty()), 0);
    prop_assert!(*sys.file.data.borrow() == model.file[..model.size], "file contents after write-back");
    sys.cache.with(|c| c.drop_all(&*sys.frames));
    sys.anon.with(|c| c.drop_all(&*sys.frames));
    prop_assert_eq!(sys.frames.live(), 0, "frames leaked after teardown");
    Ok(())
}

/// Operations around truncation: stores through the shared file mapping, unmaps that hand
/// their D bits to the cache, write-backs (racing or not), and truncations that mostly cut
/// a little, so the new end often falls inside a page holding stores not yet written.
fn truncating_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..2usize, 0..40usize, 0..P, any::<u8>())
            .prop_map(|(p, page, off, val)| Op::Access(p, 3, page, Access::Write, off, val)),
        3 => (0..2usize, 0..40usize, 1..12usize).prop_map(|(p, a, n)| Op::Unmap(p, 3, a, n)),
        3 => (900..1000u32).prop_map(Op::Truncate),
        1 => Just(Op::WriteBack),
        1 => (0..2usize, 0..P, any::<u8>(), any::<bool>()).prop_map(|(p, o, v, f)| Op::WriteBackRace(p, o, v, f)),
        1 => Just(Op::Fork),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_faults_match_the_model(
        size in 0..FILE_PAGES * P,
        prots in any::<[[u8; 4]; 2]>(),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        run(size, prots, ops)?;
    }

    #[test]
    fn store_heavy_runs_under_tight_memory_match_the_model(
        size in (FILE_PAGES - 4) * P..FILE_PAGES * P,
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        // Everything writable, a low limit from the start: reclaim and NoMem paths all the time.
        let mut all = vec![Op::Limit(Some(40))];
        all.extend(ops);
        run(size, [[1; 4]; 2], all)?;
    }

    #[test]
    fn truncations_keep_the_stores_before_the_new_end(
        size in (FILE_PAGES - 4) * P..FILE_PAGES * P,
        ops in proptest::collection::vec(truncating_op(), 1..100),
    ) {
        run(size, [[1; 4]; 2], ops)?;
    }
}
