//! What happens to mapped pages outside a fault: unmapping one (munmap, exit, exec, reclaim),
//! writing an object's dirty pages back to its file, and the PTE bits fork and mprotect give
//! pages that are already mapped.
//!
//! This module owns the hand-over of the PTE's D bit to the page cache (the only way stores
//! through a shared mapping become a dirty page) and the rule that neither fork nor mprotect
//! ever leaves a private page writable while another mapping or the cache can see it.

use vmspace::Prot;

use crate::decide::VmaKind;
use crate::fault::FaultVma;
use crate::flags::PteFlags;
use crate::reclaim::needs_writeback;
use crate::traits::{CacheLock, FileBackend, Frames, PageTable};

/// Unmaps the page at `va` of `vma` (whose object's cache is `cache`, `None` for private
/// anonymous memory) and drops the PTE's frame reference. A shared file page with D set is
/// marked dirty in the cache first, if it is still the cache's page. Returns whether a page
/// was mapped there. The caller writes the dirty pages back when it likes ([`write_back`]).
pub fn unmap_page<F, P, C>(frames: &F, pt: &mut P, vma: &FaultVma, cache: Option<&C>, va: usize) -> bool
where
    F: Frames,
    P: PageTable<F::Frame>,
    C: CacheLock<F::Frame>,
{
    let Some(m) = pt.unmap(va) else { return false };
    if needs_writeback(vma.kind, m.flags) {
        if let Some(c) = cache {
            let index = vma.index_of(va);
            // A page truncated away meanwhile is no longer the file's: its stores are not.
            c.with(|c| c.holds(index, m.frame) && c.mark_dirty(index));
        }
    }
    frames.free(m.frame);
    true
}

/// Pages [`write_back`] handled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteBack {
    /// Pages written (now clean, unless a store was reported meanwhile).
    pub written: usize,
    /// Pages whose write failed; they stay dirty.
    pub failed: usize,
}

/// Writes every dirty page of `cache` with index in `[first, end)` to `file`, one at a time,
/// without holding the cache's lock during a write (so memory use is constant and the writer
/// may sleep). A page whose write fails is marked dirty again and not retried by this call.
pub fn write_back<F, C, B>(frames: &F, cache: &C, file: &B, first: u64, end: u64) -> WriteBack
where
    F: Frames,
    C: CacheLock<F::Frame>,
    B: FileBackend<F::Frame>,
{
    let mut done = WriteBack::default();
    let mut next = first;
    while let Some((index, f)) = cache.with(|c| c.take_dirty(frames, next, end)) {
        let ok = file.write_page(index, f).is_ok();
        if !ok {
            cache.with(|c| c.mark_dirty(index));
        }
        frames.free(f);
        if ok {
            done.written += 1;
        } else {
            done.failed += 1;
        }
        next = index + 1;
    }
    done
}

/// The bits of the parent's and the child's PTE, in that order, when fork shares a present
/// page of a `kind` mapping (the child's PTE takes a new frame reference):
///
/// ```text
///   private (anon, file, heap, stack):  parent − W,  child − W   (the first store on either
///                                                                 side copies, or sets W
///                                                                 again once alone)
///   shared:                             parent as is, child − D  (the child's own stores set
///                                                                 its D; the parent's D still
///                                                                 owes a write-back)
/// ```
///
/// A `PROT_NONE` page (R without U) is shared like any other.
pub fn fork_flags(kind: VmaKind, flags: PteFlags) -> (PteFlags, PteFlags) {
    if kind.is_shared() {
        (flags, flags - PteFlags::D)
    } else {
        (flags - PteFlags::W, flags - PteFlags::W)
    }
}

/// The bits a present page with bits `old` gets when mprotect sets its `kind` mapping's
/// protection to `prot`; A and D stay (write-back needs D).
///
/// ```text
///   PROT_NONE               R without U: a leaf (a valid PTE without R, W or X would point
///                           to a table) that no user access passes, keeping the page
///   shared                  the bits of prot
///   private                 the bits of prot, with W only if the page had W (its own
///                           frame); gaining W is the write fault's decision
///                           ([`crate::store_to_present`]: copy while someone else sees it)
/// ```
pub fn protect_flags(kind: VmaKind, prot: Prot, old: PteFlags) -> PteFlags {
    let kept = old & (PteFlags::A | PteFlags::D);
    if prot.is_empty() {
        return kept | PteFlags::R;
    }
    let new = PteFlags::from(prot);
    if !kind.is_shared() && !old.contains(PteFlags::W | PteFlags::U) {
        return kept | (new - PteFlags::W);
    }
    kept | new
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::PageState;
    use crate::mock::{MockCache, MockFrames, MockPageTable, VecFile};
    use crate::PAGE_SIZE;
    use alloc::vec;
    use vmspace::VirtRange;

    const URW: PteFlags = PteFlags::from_bits_truncate(0x16);

    fn vma(kind: VmaKind) -> FaultVma {
        let range = VirtRange::new(0x10_0000, 0x10_0000 + 8 * PAGE_SIZE).unwrap();
        FaultVma {
            range,
            kind,
            prot: Prot::READ | Prot::WRITE,
            advice: vmspace::Advice::Normal,
            first_index: 2,
        }
    }

    #[test]
    fn unmap_hands_the_dirty_bit_to_the_cache() {
        let frames = MockFrames::new();
        let cache = MockCache::file(16 * PAGE_SIZE as u64);
        let f = [frames.alloc().unwrap(), frames.alloc().unwrap()];
        frames.free(cache.with(|c| c.insert_run(&*frames, 2, &f)));
        let mut pt = MockPageTable::new();
        for (k, kind) in [VmaKind::SharedFile, VmaKind::PrivateFile].into_iter().enumerate() {
            let v = vma(kind);
            frames.share(f[k]);
            pt.map(v.va_of(2 + k as u64), f[k], URW | PteFlags::D).unwrap();
            assert!(unmap_page(&*frames, &mut pt, &v, Some(&cache), v.va_of(2 + k as u64)));
            assert!(!unmap_page(&*frames, &mut pt, &v, Some(&cache), v.va_of(2 + k as u64)));
        }
        assert_eq!(cache.with(|c| c.state(2)), Some(PageState::Dirty), "shared + D");
        assert_eq!(cache.with(|c| c.state(3)), Some(PageState::Clean), "private: D means nothing");
        cache.with(|c| c.drop_all(&*frames));
        assert_eq!(frames.live(), 0);
    }

    #[test]
    fn unmap_reports_no_store_to_a_frame_the_cache_does_not_hold() {
        let frames = MockFrames::new();
        let cache = MockCache::file(16 * PAGE_SIZE as u64);
        let [cached, stale] = [frames.alloc().unwrap(), frames.alloc().unwrap()];
        frames.free(cache.with(|c| c.insert_run(&*frames, 2, &[cached])));
        let v = vma(VmaKind::SharedFile);
        let mut pt = MockPageTable::new();
        pt.map(v.va_of(2), stale, URW | PteFlags::D).unwrap();
        assert!(unmap_page(&*frames, &mut pt, &v, Some(&cache), v.va_of(2)));
        assert_eq!(cache.with(|c| (c.state(2), c.dirty())), (Some(PageState::Clean), 0));
        cache.with(|c| c.drop_all(&*frames));
        assert_eq!(frames.live(), 0);
    }

    #[test]
    fn write_back_writes_dirty_pages_and_keeps_failures_dirty() {
        let frames = MockFrames::new();
        let file = VecFile::new(&frames, vec![0; 3 * PAGE_SIZE + 10]);
        let cache = MockCache::file(file.size());
        let f: [_; 4] = core::array::from_fn(|_| frames.alloc().unwrap());
        for (k, &x) in f.iter().enumerate() {
            frames.fill(x, &[k as u8 + 1; PAGE_SIZE]);
        }
        frames.free(cache.with(|c| c.insert_run(&*frames, 0, &f)));
        for k in [0, 1, 3] {
            cache.with(|c| c.mark_dirty(k));
        }
        assert_eq!(write_back(&*frames, &cache, &file, 1, 4), WriteBack { written: 2, failed: 0 });
        let data = file.data.borrow().clone();
        assert_eq!(data.len(), 3 * PAGE_SIZE + 10, "write-back never grows the file");
        assert!(data[..PAGE_SIZE].iter().all(|&b| b == 0), "page 0 was outside the range");
        assert!(data[PAGE_SIZE..2 * PAGE_SIZE].iter().all(|&b| b == 2));
        assert!(data[2 * PAGE_SIZE..3 * PAGE_SIZE].iter().all(|&b| b == 0), "page 2 was clean");
        assert!(data[3 * PAGE_SIZE..].iter().all(|&b| b == 4));
        file.fail_writes.set(true);
        assert_eq!(write_back(&*frames, &cache, &file, 0, 4), WriteBack { written: 0, failed: 1 });
        assert_eq!(cache.with(|c| c.dirty()), 1);
        cache.with(|c| c.drop_all(&*frames));
        assert_eq!(frames.live(), 0);
    }

    #[test]
    fn fork_takes_w_from_private_pages_and_d_from_the_childs_shared_ones() {
        let f = URW | PteFlags::A | PteFlags::D;
        assert_eq!(fork_flags(VmaKind::PrivateAnon, f), (f - PteFlags::W, f - PteFlags::W));
        assert_eq!(fork_flags(VmaKind::PrivateFile, f), (f - PteFlags::W, f - PteFlags::W));
        assert_eq!(fork_flags(VmaKind::SharedAnon, f), (f, f - PteFlags::D));
        assert_eq!(fork_flags(VmaKind::SharedFile, f), (f, f - PteFlags::D));
    }

    #[test]
    fn mprotect_never_makes_a_private_page_writable() {
        let old = PteFlags::U | PteFlags::R | PteFlags::A | PteFlags::D;
        let rw = Prot::READ | Prot::WRITE;
        assert_eq!(protect_flags(VmaKind::PrivateAnon, rw, old), old);
        assert_eq!(protect_flags(VmaKind::PrivateFile, rw, old), old);
        assert_eq!(protect_flags(VmaKind::SharedFile, rw, old), old | PteFlags::W);
        assert_eq!(protect_flags(VmaKind::PrivateAnon, Prot::READ, URW), URW - PteFlags::W);
        // A private page that had W (its own frame) keeps it.
        assert_eq!(protect_flags(VmaKind::PrivateAnon, Prot::ALL, URW), URW | PteFlags::X);
    }

    #[test]
    fn prot_none_keeps_a_leaf_no_user_access_passes() {
        let old = URW | PteFlags::A | PteFlags::D;
        for kind in [VmaKind::PrivateAnon, VmaKind::SharedAnon, VmaKind::PrivateFile, VmaKind::SharedFile] {
            let none = protect_flags(kind, Prot::NONE, old);
            assert_eq!(none, PteFlags::R | PteFlags::A | PteFlags::D);
            // Back to read-write: a private page must fault to get W again.
            let back = protect_flags(kind, Prot::READ | Prot::WRITE, none);
            assert_eq!(back.contains(PteFlags::W), kind.is_shared());
            assert!(back.contains(PteFlags::U | PteFlags::R | PteFlags::D));
        }
    }
}
