//! Address types. The newtypes themselves (`PhysAddr`, `VirtAddr`) are the sv39 crate's, with
//! private fields and checked constructors; this module adds what only the kernel may do with
//! them: build addresses it knows to be good ([`pa`], [`va`]) and turn a physical address into a
//! pointer (RAM is identity-mapped), through [`PhysMem`].

pub use sv39::{page_round_down, PhysAddr, VirtAddr, PAGE_SIZE as PGSIZE};

/// Rounds `a` up to a page boundary (saturating at the last page).
pub const fn page_round_up(a: usize) -> usize {
    match sv39::page_round_up(a) {
        Some(v) => v,
        None => usize::MAX & !(PGSIZE - 1),
    }
}

/// `a` as a physical address, for numbers the kernel knows to be RAM or a device (frames,
/// linker symbols, heap blocks).
///
/// # Panics
/// If `a` is beyond the 56 bits Sv39 can name: no such RAM exists, so it is a kernel bug.
pub fn pa(a: usize) -> PhysAddr {
    PhysAddr::new(a).unwrap_or_else(|| panic!("not a physical address: {a:#x}"))
}

/// `a` as a virtual address, for addresses the kernel has already checked (or chosen) to lie
/// below `MAXVA`. User-supplied numbers go through `VirtAddr::new` and fail instead.
///
/// # Panics
/// If `a >= MAXVA` (a kernel bug: the caller's check is missing).
pub fn va(a: usize) -> VirtAddr {
    VirtAddr::new(a).unwrap_or_else(|| panic!("not a virtual address: {a:#x}"))
}

/// What the kernel can do with a physical address because all RAM is identity-mapped.
pub trait PhysMem {
    /// The kernel pointer to this physical address.
    #[expect(clippy::wrong_self_convention, reason = "addresses are Copy, like the raw pointers they become")]
    fn as_ptr<T>(self) -> *mut T;
}

impl PhysMem for PhysAddr {
    fn as_ptr<T>(self) -> *mut T {
        self.as_usize() as *mut T
    }
}
