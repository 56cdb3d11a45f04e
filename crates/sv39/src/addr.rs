//! Address newtypes: physical and virtual addresses, physical and virtual page numbers, and
//! the page arithmetic between them.
//!
//! Every type here has a private field and a checked constructor, so a value that exists is
//! in range: a [`VirtAddr`] is below [`MAXVA`], a [`PhysAddr`] fits the 56 bits Sv39 can name.
//! Conversions to `usize` are explicit (`as_usize`). Nothing here reads memory or knows what
//! is mapped.

use core::fmt;

/// Size of a base page in bytes.
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// log2 of [`PAGE_SIZE`].
pub const PAGE_SHIFT: usize = 12;
/// Entries in one page-table page (each table is one page of 8-byte entries).
pub const ENTRIES: usize = 512;
/// Levels of tables in Sv39: level 2 is the root, level 0 holds the base-page leaves.
pub const LEVELS: usize = 3;
/// One past the highest virtual address a [`VirtAddr`] may hold: 1 << 38, the top of the
/// lower half of Sv39 with the sign bit clear (xv6's MAXVA). Everything vmos maps, user and
/// kernel, lies below it.
pub const MAXVA: usize = 1 << 38;
/// One past the highest physical address Sv39 can map (56-bit physical addresses).
pub const PA_END: usize = 1 << 56;

/// True when `addr` is a multiple of [`PAGE_SIZE`].
#[inline]
pub const fn is_page_aligned(addr: usize) -> bool {
    addr & (PAGE_SIZE - 1) == 0
}

/// `addr` rounded down to a page boundary.
#[inline]
pub const fn page_round_down(addr: usize) -> usize {
    addr & !(PAGE_SIZE - 1)
}

/// `addr` rounded up to a page boundary, or `None` when that does not fit in a `usize`.
#[inline]
pub const fn page_round_up(addr: usize) -> Option<usize> {
    match addr.checked_add(PAGE_SIZE - 1) {
        Some(a) => Some(page_round_down(a)),
        None => None,
    }
}

/// Bytes of virtual memory one entry at `level` covers: 4 KiB at level 0, 2 MiB at level 1,
/// 1 GiB at level 2.
///
/// # Panics
/// If `level >= LEVELS` (a bug in the caller: levels are 0, 1 and 2).
#[inline]
pub const fn level_span(level: usize) -> usize {
    assert!(level < LEVELS, "sv39: no such level");
    PAGE_SIZE << (9 * level)
}

/// A physical address, below [`PA_END`]. In vmos RAM is identity-mapped in the kernel, but
/// that is the kernel's business: this type never becomes a pointer here.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysAddr(usize);

impl PhysAddr {
    /// `addr` as a physical address, or `None` if it is at or above [`PA_END`].
    #[inline]
    pub const fn new(addr: usize) -> Option<PhysAddr> {
        if addr < PA_END {
            Some(PhysAddr(addr))
        } else {
            None
        }
    }

    /// The address as a plain number.
    #[inline]
    pub const fn as_usize(self) -> usize {
        self.0
    }

    /// Offset of the address within its page.
    #[inline]
    pub const fn page_offset(self) -> usize {
        self.0 & (PAGE_SIZE - 1)
    }

    /// True when the address starts a page.
    #[inline]
    pub const fn is_page_aligned(self) -> bool {
        is_page_aligned(self.0)
    }

    /// The start of the page this address lies in.
    #[inline]
    pub const fn page_down(self) -> PhysAddr {
        PhysAddr(page_round_down(self.0))
    }

    /// The number of the page this address lies in.
    #[inline]
    pub const fn ppn(self) -> Ppn {
        Ppn(self.0 >> PAGE_SHIFT)
    }

    /// `self + bytes`, or `None` if that reaches [`PA_END`].
    #[inline]
    pub const fn checked_add(self, bytes: usize) -> Option<PhysAddr> {
        match self.0.checked_add(bytes) {
            Some(a) => PhysAddr::new(a),
            None => None,
        }
    }
}

/// A physical page number: a [`PhysAddr`] divided by [`PAGE_SIZE`] (44 bits in Sv39).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ppn(usize);

impl Ppn {
    /// One past the largest physical page number.
    pub const END: usize = PA_END >> PAGE_SHIFT;

    /// Page number `n`, or `None` if it is at or above [`Ppn::END`].
    #[inline]
    pub const fn new(n: usize) -> Option<Ppn> {
        if n < Ppn::END {
            Some(Ppn(n))
        } else {
            None
        }
    }

    /// The number as a plain integer.
    #[inline]
    pub const fn as_usize(self) -> usize {
        self.0
    }

    /// The address of the first byte of the page.
    #[inline]
    pub const fn addr(self) -> PhysAddr {
        PhysAddr(self.0 << PAGE_SHIFT)
    }
}

/// A virtual address in `[0, MAXVA)`: any address vmos maps, in a user or the kernel table.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VirtAddr(usize);

impl VirtAddr {
    /// `addr` as a virtual address, or `None` if it is at or above [`MAXVA`] (an address the
    /// page tables of vmos can never map, so a user pointer there is simply bad).
    #[inline]
    pub const fn new(addr: usize) -> Option<VirtAddr> {
        if addr < MAXVA {
            Some(VirtAddr(addr))
        } else {
            None
        }
    }

    /// The address as a plain number.
    #[inline]
    pub const fn as_usize(self) -> usize {
        self.0
    }

    /// Offset of the address within its page.
    #[inline]
    pub const fn page_offset(self) -> usize {
        self.0 & (PAGE_SIZE - 1)
    }

    /// True when the address starts a page.
    #[inline]
    pub const fn is_page_aligned(self) -> bool {
        is_page_aligned(self.0)
    }

    /// The start of the page this address lies in.
    #[inline]
    pub const fn page_down(self) -> VirtAddr {
        VirtAddr(page_round_down(self.0))
    }

    /// The start of the first page at or above this address, or `None` when that is
    /// [`MAXVA`] (the address lies in the last page and is not its start).
    #[inline]
    pub const fn page_up(self) -> Option<VirtAddr> {
        // Cannot overflow: self.0 < MAXVA, far below usize::MAX.
        VirtAddr::new(page_round_down(self.0 + PAGE_SIZE - 1))
    }

    /// The number of the page this address lies in.
    #[inline]
    pub const fn vpn(self) -> Vpn {
        Vpn(self.0 >> PAGE_SHIFT)
    }

    /// The 9-bit index into the table at `level` that translating this address uses
    /// (`VPN[level]` in the RISC-V manual).
    ///
    /// # Panics
    /// If `level >= LEVELS`.
    #[inline]
    pub const fn table_index(self, level: usize) -> usize {
        assert!(level < LEVELS, "sv39: no such level");
        (self.0 >> (PAGE_SHIFT + 9 * level)) & (ENTRIES - 1)
    }

    /// `self + bytes`, or `None` if that reaches [`MAXVA`].
    #[inline]
    pub const fn checked_add(self, bytes: usize) -> Option<VirtAddr> {
        match self.0.checked_add(bytes) {
            Some(a) => VirtAddr::new(a),
            None => None,
        }
    }
}

/// A virtual page number: a [`VirtAddr`] divided by [`PAGE_SIZE`] (below `MAXVA >> 12`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vpn(usize);

impl Vpn {
    /// One past the largest virtual page number.
    pub const END: usize = MAXVA >> PAGE_SHIFT;

    /// Page number `n`, or `None` if it is at or above [`Vpn::END`].
    #[inline]
    pub const fn new(n: usize) -> Option<Vpn> {
        if n < Vpn::END {
            Some(Vpn(n))
        } else {
            None
        }
    }

    /// The number as a plain integer.
    #[inline]
    pub const fn as_usize(self) -> usize {
        self.0
    }

    /// The address of the first byte of the page.
    #[inline]
    pub const fn addr(self) -> VirtAddr {
        VirtAddr(self.0 << PAGE_SHIFT)
    }

    /// The table index at `level` for this page; see [`VirtAddr::table_index`].
    ///
    /// # Panics
    /// If `level >= LEVELS`.
    #[inline]
    pub const fn table_index(self, level: usize) -> usize {
        self.addr().table_index(level)
    }
}

impl fmt::Debug for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhysAddr({:#x})", self.0)
    }
}

impl fmt::Debug for VirtAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VirtAddr({:#x})", self.0)
    }
}

impl fmt::Debug for Ppn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ppn({:#x})", self.0)
    }
}

impl fmt::Debug for Vpn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Vpn({:#x})", self.0)
    }
}

impl From<Ppn> for PhysAddr {
    fn from(p: Ppn) -> PhysAddr {
        p.addr()
    }
}

impl From<Vpn> for VirtAddr {
    fn from(v: Vpn) -> VirtAddr {
        v.addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virt_addr_rejects_maxva_and_above() {
        assert!(VirtAddr::new(MAXVA - 1).is_some());
        assert!(VirtAddr::new(MAXVA).is_none());
        assert!(VirtAddr::new(usize::MAX).is_none());
        assert_eq!(VirtAddr::new(MAXVA - PAGE_SIZE).unwrap().checked_add(PAGE_SIZE), None);
    }

    #[test]
    fn phys_addr_and_page_numbers_are_bounded() {
        assert!(PhysAddr::new(PA_END - 1).is_some());
        assert!(PhysAddr::new(PA_END).is_none());
        assert!(Ppn::new(Ppn::END).is_none());
        assert!(Vpn::new(Vpn::END).is_none());
        assert_eq!(Vpn::new(Vpn::END - 1).unwrap().addr().as_usize(), MAXVA - PAGE_SIZE);
    }

    #[test]
    fn rounding() {
        assert_eq!(page_round_down(0x1fff), 0x1000);
        assert_eq!(page_round_up(0x1001), Some(0x2000));
        assert_eq!(page_round_up(0x2000), Some(0x2000));
        assert_eq!(page_round_up(usize::MAX), None);
        let va = VirtAddr::new(0x12345).unwrap();
        assert_eq!(va.page_down().as_usize(), 0x12000);
        assert_eq!(va.page_up().unwrap().as_usize(), 0x13000);
        assert_eq!(va.page_offset(), 0x345);
        assert_eq!(VirtAddr::new(MAXVA - 1).unwrap().page_up(), None);
        assert_eq!(PhysAddr::new(0x8000_0123).unwrap().ppn().addr().as_usize(), 0x8000_0000);
    }

    #[test]
    fn table_indices_at_level_boundaries() {
        let two_mib = VirtAddr::new(level_span(1)).unwrap();
        assert_eq!([two_mib.table_index(0), two_mib.table_index(1), two_mib.table_index(2)], [0, 1, 0]);
        let one_gib = VirtAddr::new(level_span(2)).unwrap();
        assert_eq!([one_gib.table_index(0), one_gib.table_index(1), one_gib.table_index(2)], [0, 0, 1]);
        let top = VirtAddr::new(MAXVA - 1).unwrap();
        assert_eq!([top.table_index(0), top.table_index(1), top.table_index(2)], [511, 511, 255]);
        assert_eq!(top.vpn().table_index(2), 255);
    }
}
