//! The fault executor: looks at the PTE, asks [`decide`] what to do, and does it on the
//! traits — fills the page cache on a miss (with the readahead window), maps the cached
//! neighbours of a read fault (fault-around), zero-fills and copies pages.
//!
//! This module owns the order of operations that keeps frame references balanced whatever
//! fails: every reference it takes ends up in a PTE, in the cache, or freed before it
//! returns. It never holds the cache's lock across I/O (`FileBackend::read_pages` runs between
//! two `CacheLock::with` calls), and it does not retry: on `NoMem` the kernel reclaims and
//! calls again.

use alloc::vec::Vec;

use vmspace::{page_round_down, Advice, Prot, VirtRange};

use crate::cache::pages_of;
use crate::decide::{decide, Decision, FrameState, KillReason, Site, VmaKind};
use crate::flags::{Access, PteFlags};
use crate::readahead::fault_window;
use crate::traits::{CacheLock, FileBackend, Frames, PageTable};
use crate::window::fault_around;
use crate::PAGE_SIZE;

/// What the executor needs to know about the mapping that covers a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultVma {
    /// The mapping's addresses.
    pub range: VirtRange,
    /// Its kind.
    pub kind: VmaKind,
    /// The access the user asked for.
    pub prot: Prot,
    /// Its `madvise` advice.
    pub advice: Advice,
    /// Page index, in the mapping's object, of the page at `range.start()` (file offset /
    /// `PAGE_SIZE`; 0 for private anonymous memory).
    pub first_index: u64,
}

impl FaultVma {
    /// The object page index of the page holding `va` (which must lie in the mapping).
    pub fn index_of(&self, va: usize) -> u64 {
        self.first_index + ((va - self.range.start()) / PAGE_SIZE) as u64
    }

    /// The address of object page `index` in this mapping (which must show it).
    pub fn va_of(&self, index: u64) -> usize {
        self.range.start() + (index - self.first_index) as usize * PAGE_SIZE
    }
}

/// The object behind a mapping that has one: its page cache, and its file unless it is shared
/// anonymous memory.
pub struct Object<'a, C, B> {
    /// The object's page cache, behind the kernel's lock.
    pub cache: &'a C,
    /// The file, for file-backed kinds; `None` for shared anonymous memory.
    pub file: Option<&'a B>,
}

/// Why a fault was not resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultError {
    /// The access is not allowed: the kernel kills the process.
    Kill(KillReason),
    /// No frame (or page-table page) was available: the kernel may reclaim and retry.
    NoMem,
    /// Reading the file failed.
    Io,
}

impl From<FaultError> for abi::Errno {
    /// `Kill` → `Fault`, `NoMem` → `NoMem`, `Io` → `Io`.
    fn from(e: FaultError) -> abi::Errno {
        match e {
            FaultError::Kill(_) => abi::Errno::Fault,
            FaultError::NoMem => abi::Errno::NoMem,
            FaultError::Io => abi::Errno::Io,
        }
    }
}

/// What a resolved fault did, for the kernel's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The decision carried out.
    pub decision: Decision,
    /// Pages read from the file (a miss and its readahead).
    pub pages_read: u64,
    /// Neighbours mapped by fault-around.
    pub mapped_around: usize,
}

/// Resolves a fault of an `access` at user address `va`, covered by `vma` (`None`: no
/// mapping), whose object is `object` (`None` exactly for private anonymous mappings).
///
/// On `Ok` the page is mapped so the access succeeds; on `Err` nothing is left half done
/// (the page is as it was, though pages read ahead may have entered the cache). Frame
/// references balance in every case.
///
/// # Panics
/// If `vma` does not contain `va`, or `object` does not match `vma.kind` (kernel bugs).
pub fn resolve<F, P, C, B>(
    frames: &F,
    pt: &mut P,
    vma: Option<&FaultVma>,
    object: Option<&Object<'_, C, B>>,
    va: usize,
    access: Access,
) -> Result<Outcome, FaultError>
where
    F: Frames,
    P: PageTable<F::Frame>,
    C: CacheLock<F::Frame>,
    B: FileBackend<F::Frame>,
{
    let vma = vma.ok_or(FaultError::Kill(KillReason::NoMapping))?;
    assert!(vma.range.contains(va), "fault at {va:#x} outside {:?}", vma.range);
    assert_eq!(object.is_some(), vma.kind.has_object(), "object for {:?}", vma.kind);
    assert!(object.is_none_or(|o| o.file.is_some() == vma.kind.is_file()), "file for {:?}", vma.kind);
    let page = page_round_down(va);
    let index = vma.index_of(page);
    let file_pages = object.and_then(|o| o.cache.size()).map(pages_of);
    let present = pt.lookup(page);
    let frame = || {
        let m = present.expect("asked about a present page");
        FrameState {
            cache_page: object.is_some_and(|o| o.cache.with(|c| c.holds(index, m.frame))),
            refcount: frames.refcount(m.frame),
        }
    };
    let site = Site { kind: vma.kind, prot: vma.prot, advice: vma.advice };
    let pte = present.map(|m| m.flags);
    let decision = decide(site, access, pte, index, file_pages.unwrap_or(u64::MAX), frame);
    let mut outcome = Outcome { decision, pages_read: 0, mapped_around: 0 };
    match decision {
        Decision::Kill(reason) => return Err(FaultError::Kill(reason)),
        Decision::AlreadyDone => {}
        Decision::MakeWritable { flags } => pt.set_flags(page, flags),
        Decision::ZeroFill { flags } => {
            let f = frames.alloc().ok_or(FaultError::NoMem)?;
            frames.zero(f);
            map_or_free(frames, pt, page, f, flags)?;
        }
        Decision::MapCached { flags, fault_around } => {
            let obj = object.expect("checked above");
            let (f, read) = cached_page(frames, vma, obj, index)?;
            outcome.pages_read = read;
            map_or_free(frames, pt, page, f, flags)?;
            if fault_around {
                outcome.mapped_around = map_around(frames, pt, vma, obj, page, flags - PteFlags::D);
            }
        }
        Decision::CopyCached { flags } => {
            let obj = object.expect("checked above");
            let (src, read) = cached_page(frames, vma, obj, index)?;
            outcome.pages_read = read;
            let Some(dst) = frames.alloc() else {
                frames.free(src);
                return Err(FaultError::NoMem);
            };
            frames.copy(dst, src);
            frames.free(src);
            map_or_free(frames, pt, page, dst, flags)?;
        }
        Decision::CopyPresent { flags, .. } => copy_present(frames, pt, page, flags)?,
    }
    Ok(outcome)
}

/// Maps the absent `page` to `f` (the caller's reference), freeing it if that fails.
fn map_or_free<F: Frames, P: PageTable<F::Frame>>(
    frames: &F,
    pt: &mut P,
    page: usize,
    f: F::Frame,
    flags: PteFlags,
) -> Result<(), FaultError> {
    pt.map(page, f, flags).map_err(|_| {
        frames.free(f);
        FaultError::NoMem
    })
}

/// Replaces the frame at the present `page` by a copy of it, mapped with `flags`; the PTE's
/// reference to the old frame is dropped.
///
/// # Panics
/// If the page table cannot map again the page it just unmapped (its leaf table exists, so
/// this needs no memory).
fn copy_present<F: Frames, P: PageTable<F::Frame>>(
    frames: &F,
    pt: &mut P,
    page: usize,
    flags: PteFlags,
) -> Result<(), FaultError> {
    let old = pt.lookup(page).expect("decided on a present page");
    let dst = frames.alloc().ok_or(FaultError::NoMem)?;
    frames.copy(dst, old.frame);
    let old = pt.unmap(page).expect("present");
    if pt.map(page, dst, flags).is_err() {
        frames.free(dst);
        pt.map(page, old.frame, old.flags).expect("re-mapping a page just unmapped");
        return Err(FaultError::NoMem);
    }
    frames.free(old.frame);
    Ok(())
}

/// The page at `index` of `obj` with a reference for the caller, and how many pages were read
/// to get it: from the cache on a hit; on a miss a zeroed page for anonymous memory, or the
/// readahead window read from the file (clamped to the mapping, end-of-file and the pages
/// already cached; one page when memory is low).
fn cached_page<F, C, B>(
    frames: &F,
    vma: &FaultVma,
    obj: &Object<'_, C, B>,
    index: u64,
) -> Result<(F::Frame, u64), FaultError>
where
    F: Frames,
    C: CacheLock<F::Frame>,
    B: FileBackend<F::Frame>,
{
    let left_in_vma = vma.index_of(vma.range.end() - PAGE_SIZE) + 1 - index;
    let low = frames.is_low();
    let probe = obj.cache.with(|c| {
        if let Some(f) = c.lookup_access(frames, index) {
            return Ok(Probe::Hit(f));
        }
        let Some(end) = obj.cache.size().map(pages_of) else { return Ok(Probe::Miss(1)) };
        if index >= end {
            return Err(FaultError::Kill(KillReason::PastEof)); // truncated since `decide`
        }
        let window = fault_window(c.readahead().on_miss(index, vma.advice), left_in_vma, low);
        Ok(Probe::Miss(c.absent_run(index, index + window.min(end - index))))
    })?;
    let window = match probe {
        Probe::Hit(f) => return Ok((f, 0)),
        Probe::Miss(w) => w,
    };
    let Some(file) = obj.file else {
        let f = frames.alloc().ok_or(FaultError::NoMem)?;
        frames.zero(f);
        return Ok((obj.cache.with(|c| c.insert_run(frames, index, &[f])), 0));
    };
    let new: Vec<F::Frame> = (0..window).map_while(|_| frames.alloc()).collect();
    if new.is_empty() {
        return Err(FaultError::NoMem);
    }
    if file.read_pages(index, &new).is_err() {
        new.iter().for_each(|&f| frames.free(f));
        return Err(FaultError::Io);
    }
    // No truncation ran since the size was checked: the kernel fills and truncates a file
    // under its inode lock, and this executor runs alone.
    Ok((obj.cache.with(|c| c.insert_run(frames, index, &new)), new.len() as u64))
}

/// What a look into the cache found: the page (with a reference), or how many pages to read.
enum Probe<Fr> {
    Hit(Fr),
    Miss(u64),
}

/// Fault-around: maps, with `flags`, the cached pages of `obj` that are absent from the page
/// table in the window around `page` (which is already mapped). Returns how many it mapped.
fn map_around<F, P, C, B>(
    frames: &F,
    pt: &mut P,
    vma: &FaultVma,
    obj: &Object<'_, C, B>,
    page: usize,
    flags: PteFlags,
) -> usize
where
    F: Frames,
    P: PageTable<F::Frame>,
    C: CacheLock<F::Frame>,
{
    let file_pages = obj.cache.size().map(pages_of);
    let Some(w) = fault_around(page, vma.range, vma.first_index, file_pages) else { return 0 };
    let (first, end) = (vma.index_of(w.start()), vma.index_of(w.end() - PAGE_SIZE) + 1);
    let mut n = 0;
    obj.cache.with(|c| {
        // A page the page table cannot take (no memory for a table) is simply not mapped.
        c.share_cached(frames, first, end, |index, f| {
            let va = vma.va_of(index);
            let mapped = pt.lookup(va).is_none() && pt.map(va, f, flags).is_ok();
            n += usize::from(mapped);
            mapped
        })
    });
    n
}

#[cfg(test)]
#[path = "fault/tests.rs"]
mod tests;
