//! User page faults. A fault inside a mapping is resolved here by the mapping's kind:
//! private anonymous pages are allocated zeroed; shared pages (file or anonymous) come from the
//! object's page cache and are mapped as is, so every sharer sees every store; private file
//! pages are copied from the cached file page. A fault the mapping does not allow (wrong
//! permission, PROT_NONE, a whole page past end-of-file) is an error, and the trap handler
//! kills the process.

use super::space::AddressSpace;
use super::{fileio, Access};
use crate::mm::pagetable::PteFlags;
use crate::mm::{frame, VirtAddr, PGSIZE};
use crate::proc;
use abi::Errno;
use core::sync::atomic::{AtomicU64, Ordering};
use vmspace::{Backing, Prot, Share};

/// Faults resolved, by kind (for statistics and tests).
pub static ANON_FAULTS: AtomicU64 = AtomicU64::new(0);
pub static FILE_FAULTS: AtomicU64 = AtomicU64::new(0);

/// Resolves a fault at `va` for an access of kind `access` in the current process.
pub fn handle(va: usize, access: Access) -> Result<(), Errno> {
    // A present page with the right permission would not have faulted; translate() checks the
    // permission bits after faulting the page in.
    proc::current_space().translate(va, access).map(|_| ())
}

/// PTE permission bits for a mapping's protection (RISC-V has no write-only pages, so
/// PROT_WRITE implies read).
pub fn pte_flags(prot: Prot) -> PteFlags {
    let mut f = PteFlags::U;
    if prot.contains(Prot::READ) || prot.contains(Prot::WRITE) {
        f |= PteFlags::R;
    }
    if prot.contains(Prot::WRITE) {
        f |= PteFlags::W;
    }
    if prot.contains(Prot::EXEC) {
        f |= PteFlags::X;
    }
    f
}

/// Supplies the page at `page_va`, which lies in a mapping of `space`.
pub fn fault_vma(space: &mut AddressSpace, page_va: usize, access: Access) -> Result<(), Errno> {
    let vma = space.vmas.find(page_va).ok_or(Errno::Fault)?;
    let flags = pte_flags(vma.prot);
    let allowed = match access {
        Access::Read => flags.contains(PteFlags::R),
        Access::Write => flags.contains(PteFlags::W),
        Access::Exec => flags.contains(PteFlags::X),
    };
    if !allowed || space.pt.lookup(VirtAddr(page_va)).is_some() {
        return Err(Errno::Fault);
    }
    match &vma.backing {
        Backing::Anonymous => {
            let pa = frame::alloc().ok_or(Errno::NoMem)?;
            ANON_FAULTS.fetch_add(1, Ordering::Relaxed);
            space.pt.map_exact(VirtAddr(page_va), pa, flags | PteFlags::A | PteFlags::D).inspect_err(|_| {
                frame::free(pa);
            })
        }
        Backing::File { file: obj, offset } => {
            let file_off = offset + (page_va - vma.range().start()) as u64;
            let index = file_off / PGSIZE as u64;
            let pa = match &obj.file {
                Some(f) => {
                    if file_off >= fileio::size(f) {
                        return Err(Errno::Fault); // a whole page past end-of-file
                    }
                    obj.cache.get(index, |page| fileio::read_page(f, file_off, page))?
                }
                None => obj.cache.get(index, |_| Ok(()))?,
            };
            FILE_FAULTS.fetch_add(1, Ordering::Relaxed);
            if vma.share == Share::Shared {
                return space.pt.map_exact(VirtAddr(page_va), pa, flags | PteFlags::A).inspect_err(|_| {
                    frame::free(pa);
                });
            }
            // Private: the process gets its own copy of the cached page.
            let copy = frame::alloc();
            if let Some(c) = copy {
                // SAFETY: `c` is fresh; `pa` is a live cached page we hold a reference to.
                unsafe { c.page_bytes().copy_from_slice(pa.page_bytes()) };
            }
            frame::free(pa);
            let copy = copy.ok_or(Errno::NoMem)?;
            space.pt.map_exact(VirtAddr(page_va), copy, flags | PteFlags::A | PteFlags::D).inspect_err(|_| {
                frame::free(copy);
            })
        }
    }
}
