//! The address space as an object: [`Vm`], one per process, behind `Arc` so that a reader of
//! another process's mappings (`vmmaps`, Ctrl-P) keeps it alive while it looks.
//!
//! A `Vm` owns its state (`AddressSpace`: page table, VMAs, heap bounds, reclaim cursor)
//! behind one sleeping lock, and every operation is a method that takes the lock itself:
//! page faults, copies between the kernel and user memory, sbrk, mmap and munmap (`mmap.rs`),
//! fork's copy, exec's building of a new image, exit's and exec's tear-down, and the readers.
//! The lock sleeps because a fault may read the disk and munmap may write it back. Nothing
//! outside this module reaches the state without the lock, and no function hands out a
//! reference to it.
//!
//! A torn-down `Vm` (its process exited, or exec'd a new image) has no mappings left and is
//! marked so; readers that still hold it see nothing. Its page-table pages and any remaining
//! frames are freed when the last `Arc` goes.
//!
//! Lock order: a `Vm`'s lock comes before everything its holder then does (inode locks for
//! faults that fill pages, the log for write-back, page-cache and frame spinlocks). A holder
//! never takes another `Vm`'s lock, except exec, which builds a new `Vm` nobody else can see.

use super::space::{AddressSpace, MapObject};
use super::{stats, Access};
use crate::fs::file::File;
use crate::mm::addr::{page_round_down, VirtAddr};
use crate::mm::pagetable::PteFlags;
use crate::mm::{frame, heap, page, PhysAddr, PGSIZE};
use crate::sync::{SleepLock, SleepLockGuard};
use abi::{Errno, VmMap};
use alloc::sync::Arc;
use alloc::vec::Vec;
use vmspace::{Backing, Prot, Share, VirtRange, Vma};

pub struct Vm {
    space: SleepLock<AddressSpace>,
    /// The `satp` value of the page table (its root never changes).
    satp: usize,
}

impl Vm {
    /// A new address space with nothing but the trampoline and the trap frame page
    /// `trapframe` mapped.
    pub fn new(trapframe: PhysAddr) -> Result<Arc<Vm>, Errno> {
        Vm::wrap(AddressSpace::new(trapframe)?)
    }

    fn wrap(space: AddressSpace) -> Result<Arc<Vm>, Errno> {
        // The Arc's allocation is user-driven (fork, exec): it must not exhaust the heap.
        if !heap::has_room_for_user(core::mem::size_of::<Vm>() + 64) {
            return Err(Errno::NoMem);
        }
        let satp = space.pt.satp();
        Ok(Arc::new(Vm { space: SleepLock::new("vm", space), satp }))
    }

    /// Takes the lock (for the operations of this module's siblings).
    pub(super) fn lock(&self) -> SleepLockGuard<'_, AddressSpace> {
        self.space.lock()
    }

    /// Takes the lock if it is free right now (reclaim from another process never waits).
    pub(super) fn try_lock(&self) -> Option<SleepLockGuard<'_, AddressSpace>> {
        self.space.try_lock()
    }

    /// The value to load into `satp` to run in this address space.
    pub fn satp(&self) -> usize {
        self.satp
    }

    /// Resolves a fault at user address `va` for an access of kind `access` (the trap
    /// handler's entry): the heap's lazy pages, mappings' pages, private copies. Fails when
    /// the access is not allowed (the caller kills the process).
    pub fn fault(&self, va: usize, access: Access) -> Result<(), Errno> {
        if va >= abi::USER_TOP {
            return Err(Errno::Fault);
        }
        self.lock().fault_in(va, access)
    }

    /// Copies `src` to user address `dst`, faulting pages in as the space allows; fails
    /// [Fault] on an address the user may not write.
    pub fn copy_out(&self, dst: usize, src: &[u8]) -> Result<(), Errno> {
        let mut s = self.lock();
        for_each_user_piece(&mut s, dst, src.len(), Access::Write, |pa, off, done, n| {
            page::write(pa, off, &src[done..done + n]);
            true
        })
        .map(|_| ())
    }

    /// Copies from user address `src` into `dst`; fails [Fault] on an address the user may
    /// not read.
    pub fn copy_in(&self, dst: &mut [u8], src: usize) -> Result<(), Errno> {
        let mut s = self.lock();
        let len = dst.len();
        for_each_user_piece(&mut s, src, len, Access::Read, |pa, off, done, n| {
            page::read(pa, off, &mut dst[done..done + n]);
            true
        })
        .map(|_| ())
    }

    /// Takes a frame reference for each page of the user range [va, va + len) the user may
    /// read, faulting pages in as `copy_in` does, and hands each frame to `keep`, in address
    /// order (the caller drops the references). Fails [Fault] where `copy_in` would; the
    /// frames handed over before the failure keep their references.
    pub fn pin_for_read(&self, va: usize, len: usize, mut keep: impl FnMut(PhysAddr)) -> Result<(), Errno> {
        let mut s = self.lock();
        for_each_user_piece(&mut s, va, len, Access::Read, |pa, _, _, _| {
            frame::share(pa);
            keep(pa);
            true
        })
    }

    /// Copies a NUL-terminated string from user address `src` into `buf` and returns its
    /// length (without the NUL). Fails [NameTooLong] if there is no NUL within `buf.len()`
    /// bytes, [Fault] on an address the user may not read.
    pub fn copy_in_str(&self, buf: &mut [u8], src: usize) -> Result<usize, Errno> {
        let mut s = self.lock();
        let len = buf.len();
        let mut found = None;
        for_each_user_piece(&mut s, src, len, Access::Read, |pa, off, done, n| {
            let piece = &mut buf[done..done + n];
            page::read(pa, off, piece);
            found = piece.iter().position(|&c| c == 0).map(|i| done + i);
            found.is_none()
        })?;
        found.ok_or(Errno::NameTooLong)
    }

    /// Copies `len` bytes of frame `pa` from byte `off` (inside the page) to user address
    /// `dst`. The caller holds a reference to the frame (a page-cache page being read).
    pub fn copy_out_frame(&self, dst: usize, pa: PhysAddr, off: usize, len: usize) -> Result<(), Errno> {
        let mut s = self.lock();
        for_each_user_piece(&mut s, dst, len, Access::Write, |user, at, done, n| {
            page::copy(user, at, pa, off + done, n);
            true
        })
        .map(|_| ())
    }

    /// Changes the program break by `delta` bytes (lazily when `lazy`); returns the old
    /// break. See `AddressSpace::sbrk`.
    pub fn sbrk(&self, delta: isize, lazy: bool) -> Result<usize, Errno> {
        self.lock().sbrk(delta, lazy)
    }

    /// A copy of this space for a forked child whose trap frame page is `trapframe` (every
    /// private page shared copy-on-write, see `AddressSpace::duplicate`), handed to
    /// `install` while this space is still locked.
    pub fn duplicate(&self, trapframe: PhysAddr, install: impl FnOnce(Arc<Vm>)) -> Result<(), Errno> {
        let mut s = self.lock();
        let child = Vm::wrap(s.duplicate(trapframe)?)?;
        install(child);
        Ok(())
    }

    /// Removes every mapping (writing dirty shared pages back) and marks the space torn down:
    /// exit, and exec for the image it replaces. Readers find nothing from now on.
    pub fn tear_down(&self) {
        let mut s = self.lock();
        // Tables shared since fork: this space's share goes, with no page copied or freed
        // (the last holder's are unmapped below).
        s.drop_all_stubs();
        super::mmap::unmap_all(&mut s);
        s.torn_down = true;
    }

    /// The number of regions `records` lists: the mappings (the image's parts, the guard
    /// page and the stack among them) and the heap when it is not empty.
    pub fn mapping_count(&self) -> usize {
        self.lock().region_count()
    }

    /// Appends to `out` the records of at most `max` mappings starting at or above `from`,
    /// in address order, and returns how many mappings the space has; `None` when it is torn
    /// down.
    pub fn records(&self, from: usize, max: usize, out: &mut Vec<VmMap>) -> Option<usize> {
        let s = self.lock();
        records_of(&s, from, max, out)
    }

    /// `records` if the lock is free right now (for the console's interrupt handler, which
    /// must not sleep); `None` when it is not, or the space is torn down.
    pub fn try_records(&self, from: usize, max: usize, out: &mut Vec<VmMap>) -> Option<usize> {
        let s = self.space.try_lock()?;
        records_of(&s, from, max, out)
    }

    /// Records a private mapping of [start, end) with protection `prot`, backed by `file` from
    /// byte `offset` (exec: a program segment, read lazily through the file's page cache), or
    /// anonymous when `file` is `None` (exec: bss, stack, and the guard page with `Prot::NONE`).
    /// No page is mapped. Fails [NoExec] when the range overlaps a mapping already there.
    pub fn map_private(
        &self,
        start: usize,
        end: usize,
        prot: Prot,
        file: Option<Arc<File>>,
        offset: u64,
    ) -> Result<(), Errno> {
        let range = VirtRange::new(start, end).ok_or(Errno::NoExec)?;
        if !heap::has_room_for_user(super::mmap::MAPPING_HEAP_COST) {
            return Err(Errno::NoMem);
        }
        let backing = match file {
            Some(f) => Backing::File { file: MapObject::File(f), offset },
            None => Backing::Anonymous,
        };
        self.lock().vmas.insert(Vma::new(range, prot, Share::Private, backing)).map_err(|_| Errno::NoExec)
    }

    /// Maps fresh zeroed pages over [start, end) with `flags` (exec building its image).
    pub fn map_zeroed(&self, start: usize, end: usize, flags: PteFlags) -> Result<(), Errno> {
        self.lock().alloc_range(start, end, flags)
    }

    /// Copies `src` to `va` in pages already present, whatever their permissions (exec
    /// writing its image and arguments).
    pub fn write_image(&self, va: usize, src: &[u8]) -> Result<(), Errno> {
        let s = self.lock();
        let mut done = 0;
        while done < src.len() {
            let at = va.checked_add(done).ok_or(Errno::Fault)?;
            let page = VirtAddr::new(page_round_down(at)).ok_or(Errno::Fault)?;
            let pa = s.present_page(page).ok_or(Errno::Fault)?;
            let n = (PGSIZE - at % PGSIZE).min(src.len() - done);
            page::write(pa, at % PGSIZE, &src[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Sets where the heap begins (and the break, for an empty heap): exec, once the stack is
    /// in place.
    pub fn set_heap_start(&self, start: usize) {
        let mut s = self.lock();
        s.heap_start = start;
        s.brk = start;
    }
}

/// The records of [`Vm::records`] from a locked space.
fn records_of(s: &AddressSpace, from: usize, max: usize, out: &mut Vec<VmMap>) -> Option<usize> {
    if s.torn_down {
        return None;
    }
    stats::mapping_records(s, from, max, out);
    Some(s.region_count())
}

/// Walks the user range [va, va + len) page by page for an access of kind `access`, faulting
/// pages in as the space allows, and calls `f(page, offset, done, n)` for each piece: `n`
/// bytes at `offset` of the physical page `page`, the piece starting `done` bytes into the
/// range. `f` returns whether to go on. Fails [Fault] where the access is not allowed.
fn for_each_user_piece(
    s: &mut AddressSpace,
    va: usize,
    len: usize,
    access: Access,
    mut f: impl FnMut(PhysAddr, usize, usize, usize) -> bool,
) -> Result<(), Errno> {
    let mut done = 0;
    while done < len {
        let at = va.checked_add(done).ok_or(Errno::Fault)?;
        let pa = s.translate(at, access)?;
        let n = (PGSIZE - at % PGSIZE).min(len - done);
        if !f(pa.page_down(), at % PGSIZE, done, n) {
            break;
        }
        done += n;
    }
    Ok(())
}
