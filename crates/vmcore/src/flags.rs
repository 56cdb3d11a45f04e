//! The permission and bookkeeping bits of a user leaf PTE, and the one conversion from what the
//! user asked for (`vmspace::Prot`) to those bits.
//!
//! This module owns the rule "PROT_WRITE implies R on RISC-V, U always": nothing else in the
//! crate (or, once wired, in the kernel) may turn a `Prot` into PTE bits by hand. It knows
//! nothing about frames, valid bits or page-table levels; `V` is the page table's business.

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign, Sub};

use vmspace::Prot;

/// The R W X U A D bits of an Sv39 leaf PTE, at their hardware positions (so `bits()` can be
/// or-ed straight into a PTE together with `V` and the PPN).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PteFlags(u8);

impl PteFlags {
    /// No bit.
    pub const EMPTY: PteFlags = PteFlags(0);
    /// Readable (bit 1).
    pub const R: PteFlags = PteFlags(1 << 1);
    /// Writable (bit 2).
    pub const W: PteFlags = PteFlags(1 << 2);
    /// Executable (bit 3).
    pub const X: PteFlags = PteFlags(1 << 3);
    /// Accessible from user mode (bit 4).
    pub const U: PteFlags = PteFlags(1 << 4);
    /// Accessed (bit 6): set by the hardware (or by us when we map for an access).
    pub const A: PteFlags = PteFlags(1 << 6);
    /// Dirty (bit 7): a store went through this PTE since it was made.
    pub const D: PteFlags = PteFlags(1 << 7);
    /// Every bit this type knows.
    pub const ALL: PteFlags = PteFlags(0b1101_1110);

    /// The set with exactly the known bits of `bits` (V, G and the RSW bits are dropped).
    pub const fn from_bits_truncate(bits: u64) -> PteFlags {
        PteFlags(bits as u8 & Self::ALL.0)
    }

    /// The raw bits, at their PTE positions.
    pub const fn bits(self) -> u64 {
        self.0 as u64
    }

    /// True when every bit of `other` is set in `self`.
    pub const fn contains(self, other: PteFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `self` with the bits of `other` added when `on`, else unchanged.
    pub const fn with_if(self, other: PteFlags, on: bool) -> PteFlags {
        if on {
            PteFlags(self.0 | other.0)
        } else {
            self
        }
    }
}

impl From<Prot> for PteFlags {
    /// The permission bits a mapping with protection `prot` allows: U always; R for READ or
    /// WRITE (RISC-V has no write-only pages: W without R is a reserved encoding); W for
    /// WRITE; X for EXEC. `PROT_NONE` gives U alone, which allows no access.
    fn from(prot: Prot) -> PteFlags {
        PteFlags::U
            .with_if(PteFlags::R, prot.contains(Prot::READ) || prot.contains(Prot::WRITE))
            .with_if(PteFlags::W, prot.contains(Prot::WRITE))
            .with_if(PteFlags::X, prot.contains(Prot::EXEC))
    }
}

impl BitOr for PteFlags {
    type Output = PteFlags;
    fn bitor(self, rhs: PteFlags) -> PteFlags {
        PteFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for PteFlags {
    fn bitor_assign(&mut self, rhs: PteFlags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for PteFlags {
    type Output = PteFlags;
    fn bitand(self, rhs: PteFlags) -> PteFlags {
        PteFlags(self.0 & rhs.0)
    }
}

impl Sub for PteFlags {
    type Output = PteFlags;
    /// The bits of `self` that are not in `rhs`.
    fn sub(self, rhs: PteFlags) -> PteFlags {
        PteFlags(self.0 & !rhs.0)
    }
}

impl fmt::Debug for PteFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bit = |b: PteFlags, c: char| if self.contains(b) { c } else { '-' };
        write!(
            f,
            "PteFlags({}{}{}{}{}{})",
            bit(PteFlags::R, 'r'),
            bit(PteFlags::W, 'w'),
            bit(PteFlags::X, 'x'),
            bit(PteFlags::U, 'u'),
            bit(PteFlags::A, 'a'),
            bit(PteFlags::D, 'd')
        )
    }
}

/// The kind of access that faulted (from `scause`: load, store/AMO, instruction fetch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// A load.
    Read,
    /// A store or AMO.
    Write,
    /// An instruction fetch.
    Exec,
}

impl Access {
    /// The PTE bit this access needs.
    pub const fn needs(self) -> PteFlags {
        match self {
            Access::Read => PteFlags::R,
            Access::Write => PteFlags::W,
            Access::Exec => PteFlags::X,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prot_to_pte_bits() {
        let f = |p: Prot| PteFlags::from(p);
        assert_eq!(f(Prot::NONE), PteFlags::U);
        assert_eq!(f(Prot::READ), PteFlags::U | PteFlags::R);
        assert_eq!(f(Prot::WRITE), PteFlags::U | PteFlags::R | PteFlags::W, "W implies R");
        assert_eq!(f(Prot::EXEC), PteFlags::U | PteFlags::X);
        assert_eq!(f(Prot::ALL), PteFlags::U | PteFlags::R | PteFlags::W | PteFlags::X);
        assert!(!f(Prot::ALL).contains(PteFlags::A) && !f(Prot::ALL).contains(PteFlags::D));
    }

    #[test]
    fn bits_are_hardware_positions() {
        assert_eq!(PteFlags::R.bits(), 0x2);
        assert_eq!(PteFlags::W.bits(), 0x4);
        assert_eq!(PteFlags::X.bits(), 0x8);
        assert_eq!(PteFlags::U.bits(), 0x10);
        assert_eq!(PteFlags::A.bits(), 0x40);
        assert_eq!(PteFlags::D.bits(), 0x80);
        assert_eq!(PteFlags::from_bits_truncate(0xff), PteFlags::ALL, "V and G dropped");
        let rw = PteFlags::R | PteFlags::W;
        assert_eq!(rw - PteFlags::W, PteFlags::R);
        assert_eq!(rw & PteFlags::W, PteFlags::W);
        assert_eq!(alloc::format!("{:?}", rw | PteFlags::U), "PteFlags(rw-u--)");
    }

    #[test]
    fn access_needs() {
        assert_eq!(Access::Read.needs(), PteFlags::R);
        assert_eq!(Access::Write.needs(), PteFlags::W);
        assert_eq!(Access::Exec.needs(), PteFlags::X);
    }
}
