//! Sv39 page-table entries: the flag bits, the entry itself, and the `satp` value that
//! installs a root table.
//!
//! A [`Pte`] is a plain 64-bit value; this module encodes and decodes it and never reads or
//! writes table memory (that is [`crate::TableMemory`]'s job).

use crate::addr::{PhysAddr, Ppn, PAGE_SHIFT};
use bitflags::bitflags;
use core::fmt;

bitflags! {
    /// The low eight bits of a Sv39 entry. R, W and X all clear in a valid entry means it
    /// points at the next-level table; any of them set makes it a leaf.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct PteFlags: u64 {
        /// Valid.
        const V = 1 << 0;
        /// Readable.
        const R = 1 << 1;
        /// Writable (reserved without R).
        const W = 1 << 2;
        /// Executable.
        const X = 1 << 3;
        /// Accessible in user mode.
        const U = 1 << 4;
        /// Global (in every address space).
        const G = 1 << 5;
        /// Accessed (set by hardware, or up front when the hardware does not).
        const A = 1 << 6;
        /// Dirty: written since the bit was last cleared.
        const D = 1 << 7;
    }
}

impl PteFlags {
    /// The permission bits that make an entry a leaf.
    pub const RWX: PteFlags = PteFlags::R.union(PteFlags::W).union(PteFlags::X);
}

/// The bits below the PPN field: the eight flags plus the two software (RSW) bits.
const FLAG_BITS: u32 = 10;
/// The 44-bit PPN field, bits 10..54.
const PPN_MASK: u64 = ((1 << 44) - 1) << FLAG_BITS;
/// The first software (RSW) bit: set, with V clear, in a level-1 entry that is a *stub*
/// naming a level-0 table shared with other trees (`share.rs`). The hardware ignores every
/// bit of an entry whose V is clear, so it never walks a stub.
const STUB: u64 = 1 << 8;

/// One Sv39 page-table entry: a physical page number and [`PteFlags`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Pte(u64);

impl Pte {
    /// The all-zero (invalid) entry.
    pub const EMPTY: Pte = Pte(0);

    /// An entry pointing at the page holding `pa` (its offset within the page is dropped) with
    /// exactly `flags`: V is not added.
    #[inline]
    pub const fn new(pa: PhysAddr, flags: PteFlags) -> Pte {
        Pte::from_ppn(pa.ppn(), flags)
    }

    /// An entry pointing at page `ppn` with exactly `flags`.
    #[inline]
    pub const fn from_ppn(ppn: Ppn, flags: PteFlags) -> Pte {
        Pte(((ppn.as_usize() as u64) << FLAG_BITS) | flags.bits())
    }

    /// The entry whose raw encoding is `bits`, as read from a table page.
    #[inline]
    pub const fn from_bits(bits: u64) -> Pte {
        Pte(bits)
    }

    /// The raw encoding, as stored in a table page.
    #[inline]
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The flag bits.
    #[inline]
    pub const fn flags(self) -> PteFlags {
        PteFlags::from_bits_truncate(self.0)
    }

    /// The page number the entry points at.
    #[inline]
    pub const fn ppn(self) -> Ppn {
        match Ppn::new(((self.0 & PPN_MASK) >> FLAG_BITS) as usize) {
            Some(p) => p,
            None => unreachable!(), // the mask keeps 44 bits
        }
    }

    /// The physical address of the page (or next table) the entry points at.
    #[inline]
    pub const fn pa(self) -> PhysAddr {
        self.ppn().addr()
    }

    /// The same page with `flags` in place of the old flags (V included: pass it to keep it).
    #[inline]
    pub const fn with_flags(self, flags: PteFlags) -> Pte {
        Pte((self.0 & !PteFlags::all().bits()) | flags.bits())
    }

    /// True when V is set.
    #[inline]
    pub const fn is_valid(self) -> bool {
        self.flags().contains(PteFlags::V)
    }

    /// True when the entry is valid and maps a page (any of R, W, X set).
    #[inline]
    pub const fn is_leaf(self) -> bool {
        self.is_valid() && self.flags().intersects(PteFlags::RWX)
    }

    /// True when the entry is valid and points at a next-level table (R, W, X clear).
    #[inline]
    pub const fn is_table(self) -> bool {
        self.is_valid() && !self.flags().intersects(PteFlags::RWX)
    }

    /// A stub naming the level-0 table at `table`: an invalid entry (the hardware faults on
    /// it) that software reads as "this 2 MiB block's leaves are in a table shared with other
    /// trees". Only level-1 entries are ever stubs.
    #[inline]
    pub const fn stub(table: PhysAddr) -> Pte {
        Pte(((table.ppn().as_usize() as u64) << FLAG_BITS) | STUB)
    }

    /// True when the entry is a stub (V clear, the stub bit set): see [`Pte::stub`].
    #[inline]
    pub const fn is_stub(self) -> bool {
        self.0 & (PteFlags::V.bits() | STUB) == STUB
    }
}

impl fmt::Debug for Pte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pte({:#x}, {:?})", self.pa().as_usize(), self.flags())
    }
}

/// The `satp` value selecting Sv39 translation (MODE = 8) with the root table at `root`,
/// ASID 0.
#[inline]
pub const fn satp(root: PhysAddr) -> usize {
    (8 << 60) | (root.as_usize() >> PAGE_SHIFT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode() {
        let pa = PhysAddr::new(0x8765_4000).unwrap();
        let f = PteFlags::V | PteFlags::R | PteFlags::U;
        let pte = Pte::new(pa, f);
        assert_eq!(pte.pa(), pa);
        assert_eq!(pte.flags(), f);
        assert_eq!(pte.bits(), (0x87654 << 10) | f.bits());
        assert!(pte.is_valid() && pte.is_leaf() && !pte.is_table());
        assert_eq!(Pte::from_bits(pte.bits()), pte);
    }

    #[test]
    fn with_flags_keeps_the_page() {
        let pte = Pte::new(PhysAddr::new(0x1000).unwrap(), PteFlags::V | PteFlags::R | PteFlags::D);
        let clean = pte.with_flags(pte.flags() - PteFlags::D);
        assert_eq!(clean.pa(), pte.pa());
        assert_eq!(clean.flags(), PteFlags::V | PteFlags::R);
    }

    #[test]
    fn kinds_of_entry() {
        assert!(!Pte::EMPTY.is_valid() && !Pte::EMPTY.is_leaf() && !Pte::EMPTY.is_table());
        let table = Pte::new(PhysAddr::new(0x2000).unwrap(), PteFlags::V);
        assert!(table.is_table() && !table.is_leaf());
        // An invalid entry with permission bits is not a leaf: the hardware ignores it.
        assert!(!Pte::new(PhysAddr::new(0x2000).unwrap(), PteFlags::R).is_leaf());
        // The top physical page survives the round trip.
        let top = PhysAddr::new(crate::addr::PA_END - crate::addr::PAGE_SIZE).unwrap();
        assert_eq!(Pte::new(top, PteFlags::V | PteFlags::R).pa(), top);
    }

    #[test]
    fn stubs_are_invalid_and_name_their_table() {
        let t = PhysAddr::new(0x8123_4000).unwrap();
        let stub = Pte::stub(t);
        assert!(stub.is_stub() && !stub.is_valid() && !stub.is_table() && !stub.is_leaf());
        assert_eq!(stub.pa(), t);
        assert!(!Pte::EMPTY.is_stub());
        assert!(!Pte::new(t, PteFlags::V).is_stub(), "a table pointer is not a stub");
        assert!(!Pte::from_bits(stub.bits() | PteFlags::V.bits()).is_stub());
    }

    #[test]
    fn satp_value() {
        assert_eq!(satp(PhysAddr::new(0x8020_0000).unwrap()), (8 << 60) | 0x80200);
    }
}
