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
}
