//! Address newtypes. `PhysAddr` is a physical (= kernel direct-mapped) address, `VirtAddr` an
//! address in some Sv39 address space.

pub const PGSIZE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysAddr(pub usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VirtAddr(pub usize);

/// Rounds `a` down to a page boundary.
pub const fn page_round_down(a: usize) -> usize {
    a & !(PGSIZE - 1)
}

/// Rounds `a` up to a page boundary (saturating at the last page).
pub const fn page_round_up(a: usize) -> usize {
    match a.checked_add(PGSIZE - 1) {
        Some(v) => v & !(PGSIZE - 1),
        None => usize::MAX & !(PGSIZE - 1),
    }
}

impl PhysAddr {
    /// The kernel pointer to this physical address (identity map).
    pub fn as_ptr<T>(self) -> *mut T {
        self.0 as *mut T
    }

    /// The page this address lies in, viewed as bytes.
    ///
    /// # Safety
    /// The page must be owned by the caller (allocated and not aliased mutably elsewhere).
    pub unsafe fn page_bytes<'a>(self) -> &'a mut [u8; PGSIZE] {
        // SAFETY: physical memory is identity-mapped; ownership is the caller's promise.
        unsafe { &mut *(page_round_down(self.0) as *mut [u8; PGSIZE]) }
    }
}
