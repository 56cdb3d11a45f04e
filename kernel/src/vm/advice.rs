//! `madvise`: the access-pattern advice of a mapping (a VMA attribute: `MADV_NORMAL`,
//! `MADV_RANDOM`, `MADV_SEQUENTIAL`, split and merged with the VMAs like the protection) and
//! the two actions, `MADV_WILLNEED` (read the range's file pages into the page cache now) and
//! `MADV_DONTNEED` (drop the range's present pages: private anonymous pages are freed and read
//! as zeros again, private file pages are read from the file again, shared pages keep their
//! data in their page cache, a dirty one marked dirty there so write-back still sees it).
//! `MADV_DONTNEED` first lets go of the page tables fork shared over the range
//! (`AddressSpace::prepare_removal`, `vm::stubs`), which may fail [NoMem] before anything
//! changed.
//!
//! The advice steers the fault path (`vm::fault`); what it does there is `vmcore`'s rule
//! (`vmcore::Readahead::on_miss`, `vmcore::fault_around_on`): `MADV_RANDOM` reads only the
//! page faulted on and maps no neighbours, `MADV_SEQUENTIAL` always reads ahead the largest
//! window, `MADV_NORMAL` reads ahead when faults move forward sequentially.

use super::fault::{core_bits, kind_of};
use super::pagecache::MAX_READAHEAD;
use super::protect::{check_mapped, reserve_cuts, user_range};
use super::reclaim::memory_low;
use super::space::{AddressSpace, MapObject};
use super::{fileio, Vm};
use crate::fs::file::File;
use crate::mm::pagetable::{flush_tlb, Pte, VaRange};
use crate::mm::{frame, PGSIZE};
use abi::Errno;
use vmspace::{Advice, Backing, Share, VirtRange};

impl Vm {
    /// `madvise(addr, len, advice)`: see the module docs and docs/syscalls.md.
    pub fn madvise(&self, addr: usize, len: usize, advice: usize) -> Result<usize, Errno> {
        let attribute = Advice::from_madv(advice);
        if attribute.is_none() && advice != abi::MADV_WILLNEED && advice != abi::MADV_DONTNEED {
            return Err(Errno::Inval);
        }
        let Some(range) = user_range(addr, len)? else { return Ok(0) };
        let mut guard = self.lock();
        let space = &mut *guard;
        check_mapped(space, range)?;
        match attribute {
            Some(a) => {
                reserve_cuts(space, range)?;
                space.vmas.update_range(range, |v| v.advice = a);
            }
            None if advice == abi::MADV_WILLNEED => will_need(space, range),
            None => {
                // Blocks shared since fork: whole ones let go, others copied (may fail).
                space.prepare_removal(range.start(), range.end())?;
                dont_need(space, range)
            }
        }
        Ok(0)
    }
}

/// `MADV_WILLNEED`: reads every page of the file mappings in `range` that is not cached into
/// its page cache (up to `MAX_READAHEAD` pages per disk request), without mapping any.
/// Anonymous memory has nothing to read. Stops quietly when free memory runs low (it never
/// reclaims) or a read fails.
fn will_need(space: &AddressSpace, range: VirtRange) {
    for vma in space.vmas.iter_overlapping(range) {
        let Backing::File { file: MapObject::File(f), offset } = &vma.backing else { continue };
        let Some(r) = vma.range().intersection(&range) else { continue };
        let first = (offset + (r.start() - vma.range().start()) as u64) / PGSIZE as u64;
        if !read_into_cache(f, first, first + r.pages() as u64) {
            return;
        }
    }
}

/// Reads the absent pages of `f` with index in [first, end) (clamped to the file) into its
/// cache; false when it had to stop early.
fn read_into_cache(f: &File, first: u64, end: u64) -> bool {
    let Some(cache) = f.inode().map(|ip| ip.cache()) else { return true };
    let end = end.min(cache.size().div_ceil(PGSIZE as u64));
    let mut index = first;
    while index < end {
        let run = cache.absent_run(index, end).min(MAX_READAHEAD);
        if run == 0 {
            index += 1;
            continue;
        }
        if memory_low() {
            return false;
        }
        match fileio::fill(f, index, run) {
            Ok(pa) => frame::free(pa), // only the cache keeps it
            Err(_) => return false,
        }
        index += run;
    }
    true
}

/// `MADV_DONTNEED`: unmaps every present page of `range`, dropping this space's reference to
/// its frame (a private anonymous page or private copy is freed at once; a file or shared
/// page stays in its cache). The D bit of a shared file page goes into its cache's dirty
/// mark first, so its stores are still written back.
fn dont_need(space: &mut AddressSpace, range: VirtRange) {
    let AddressSpace { pt, vmas, .. } = space;
    for vma in vmas.iter_overlapping(range) {
        let Some(r) = vma.range().intersection(&range) else { continue };
        let kind = kind_of(vma);
        let shared_file = match (&vma.backing, vma.share) {
            (Backing::File { file, offset }, Share::Shared) => file.cache().map(|c| (c, *offset)),
            _ => None,
        };
        let pages = VaRange::new(r.start(), r.end()).expect("mappings lie below MAXVA");
        pt.update_leaves(pages, |va, pte| {
            let old = core::mem::replace(pte, Pte::EMPTY);
            let dirty = vmcore::needs_writeback(kind, core_bits(old.flags()));
            if let Some((cache, offset)) = shared_file.filter(|_| dirty) {
                cache.mark_dirty((offset + (va.as_usize() - vma.range().start()) as u64) / PGSIZE as u64);
            }
            frame::free(old.pa());
        });
    }
    flush_tlb();
}
