//! Truncation of a mapped file (open with O_TRUNC): the pages past the new end leave the page
//! cache and every mapping of the file in every process, so touching them afterwards kills
//! the process as any access past end-of-file does; shared stores made before the truncation
//! are never written back past the new end; and a file that grows again shows through an
//! existing mapping (up to the mapping's length), since its pages fault in afresh.
//!
//! It happens in three steps (`truncate_mappings` runs the last two):
//!
//! 1. Under the inode lock, inside the transaction that cuts the file, the cache learns the
//!    new size (`PageCache::truncate`): from then on no fault maps a page past the end, and
//!    no fork copies one (`AddressSpace::duplicate`). Pages no one maps go at once; pages
//!    still mapped are zeroed and marked clean, and stay until step 3.
//! 2. With no lock held, every process's address space is visited (`proc::for_each_vm`),
//!    one `Vm` lock at a time, and the present pages of its mappings of the file that lie
//!    past the end are unmapped, their dirty bits ignored; private copies of those pages go
//!    too. A process running in user mode on another hart may still hold the old
//!    translation in its TLB, so the frames are freed only after `arch::tlb` has seen every
//!    hart that was in user mode enter the kernel. The walk runs twice: a fork that was
//!    copying a space during step 1 (its copy may include pages past the end) installs the
//!    child before it unlocks the parent, so if the first pass found the parent's space
//!    already copied, the second finds the child.
//! 3. Under the inode lock again, the cached pages past the (current) end that step 2 freed
//!    of their mappings leave the cache (`PageCache::drop_past_end`).
//!
//! Why a walk of every process rather than a list of mappings per inode: a mapping is a VMA
//! of one process; a per-inode list would have to follow every split, trim, fork and exit of
//! VMAs (and be locked against all of them), while truncating a mapped file is rare. The walk
//! costs a lock and a look at each mapping of each process, and runs only when the file had
//! bytes to lose. Lock order: `Vm` locks (one at a time) before the inode lock, as everywhere.
//!
//! Page tables fork shares (`vm::stubs`) never hold a file page, so the walk, which skips
//! their stubs, misses nothing and never has to copy a table (it cannot fail).

use super::pagecache::PageCache;
use super::space::{AddressSpace, MapObject};
use super::Vm;
use crate::arch::tlb;
use crate::fs::Inode;
use crate::mm::pagetable::{Pte, VaRange};
use crate::mm::{frame, PhysAddr, PGSIZE};
use vmspace::Backing;

/// Frames unmapped before the wait for other harts' TLBs and their freeing.
const BATCH: usize = 64;

/// Steps 2 and 3 above, after the file `ip` was truncated (step 1 done). Called with no lock
/// held, from a process.
pub fn truncate_mappings(ip: &Inode) {
    let cache = ip.cache();
    for _pass in 0..2 {
        crate::proc::for_each_vm(|vm| vm.unmap_past_eof(cache));
    }
    // Fills and writes of the file hold its lock: the size cannot change meanwhile.
    let _locked = ip.lock();
    cache.drop_past_end();
}

impl Vm {
    /// Unmaps every present page of this space's mappings of the file cached in `cache` that
    /// lies wholly past the file's end (step 2 above).
    fn unmap_past_eof(&self, cache: &PageCache) {
        let mut s = self.lock();
        let AddressSpace { pt, vmas, torn_down, .. } = &mut *s;
        if *torn_down {
            return;
        }
        let mut batch = Frames::new();
        for vma in vmas.iter() {
            let Backing::File { file: obj @ MapObject::File(_), offset } = &vma.backing else { continue };
            if !obj.cache().is_some_and(|c| core::ptr::eq(c, cache)) {
                continue;
            }
            let range = vma.range();
            // Pages of the mapping that still lie inside the file.
            let inside = cache.size().div_ceil(PGSIZE as u64).saturating_sub(offset / PGSIZE as u64);
            let kept = (inside.min(range.pages() as u64) as usize) * PGSIZE;
            let Some(gone) = VaRange::new(range.start() + kept, range.end()).filter(|r| !r.is_empty()) else {
                continue;
            };
            // Every leaf of a mapping is a user page, with or without U (`PROT_NONE`).
            pt.update_leaves(gone, |_, pte| batch.push(core::mem::replace(pte, Pte::EMPTY).pa()));
        }
        batch.release();
    }
}

/// Frames whose PTEs were cleared, freed in batches once no hart can still reach them
/// through a stale TLB entry.
struct Frames {
    pages: [Option<PhysAddr>; BATCH],
    len: usize,
}

impl Frames {
    fn new() -> Frames {
        Frames { pages: [None; BATCH], len: 0 }
    }

    fn push(&mut self, pa: PhysAddr) {
        if self.len == BATCH {
            self.release();
        }
        self.pages[self.len] = Some(pa);
        self.len += 1;
    }

    /// Waits for every hart that was in user mode to enter the kernel, then drops the
    /// references.
    fn release(&mut self) {
        if self.len == 0 {
            return;
        }
        tlb::wait_for_user_harts();
        for pa in self.pages[..self.len].iter_mut().filter_map(Option::take) {
            frame::free(pa);
        }
        self.len = 0;
    }
}
