//! Checking the raw arguments of `mmap` and turning them into a typed [`MmapRequest`].
//!
//! Only what can be decided from the numbers is checked here: flag and protection bits, length,
//! offset alignment, and fixed addresses against the top of user space. Anything that needs
//! the file (is the descriptor open, readable, writable?) or the address space (is the range
//! free?) stays with the kernel. Every bad input yields an `Err`, never a panic.

use abi::Errno;

use crate::range::{is_page_aligned, page_round_up};
use crate::vma::{Prot, Share};

/// Every `mmap` flag this kernel understands.
const KNOWN_FLAGS: usize = abi::MAP_SHARED
    | abi::MAP_PRIVATE
    | abi::MAP_FIXED
    | abi::MAP_ANONYMOUS
    | abi::MAP_POPULATE
    | abi::MAP_FIXED_NOREPLACE;

/// Where the new mapping must or may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Exactly at this page-aligned address (`MAP_FIXED` or `MAP_FIXED_NOREPLACE`).
    /// With `replace`, whatever is mapped there is unmapped first (`MAP_FIXED`); without it
    /// the call fails if anything is (`MAP_FIXED_NOREPLACE`, which wins if both are given).
    Fixed {
        /// The address.
        addr: usize,
        /// True for `MAP_FIXED`, false for `MAP_FIXED_NOREPLACE`.
        replace: bool,
    },
    /// Here if free (a page-aligned hint, rounded up from the caller's), else anywhere.
    Hint(usize),
    /// Anywhere (the caller passed address 0, or a hint that cannot fit).
    Any,
}

/// A checked `mmap` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmapRequest {
    /// Length in bytes, rounded up to whole pages (never zero).
    pub len: usize,
    /// Access asked for.
    pub prot: Prot,
    /// `MAP_SHARED` or `MAP_PRIVATE`.
    pub share: Share,
    /// `MAP_ANONYMOUS`: no file; the descriptor and offset are ignored.
    pub anonymous: bool,
    /// File offset of the first byte (page-aligned; `offset + len` fits in a `u64`).
    pub offset: u64,
    /// Where the mapping goes.
    pub placement: Placement,
    /// `MAP_POPULATE`: fault every page in before returning.
    pub populate: bool,
}

impl MmapRequest {
    /// Checks the raw `mmap` arguments. `user_top` is the first address user mappings may not
    /// reach (`abi::USER_TOP`).
    ///
    /// Fails with `Inval` for: unknown flag or protection bits, not exactly one of
    /// `MAP_SHARED`/`MAP_PRIVATE`, `len == 0`, an offset that is not page-aligned or whose end
    /// overflows, or a fixed address that is not page-aligned. Fails with `NoMem` when the
    /// rounded length overflows or exceeds `user_top`, or a fixed range would touch `user_top`
    /// or anything above it (both as on Linux).
    pub fn parse(
        addr: usize,
        len: usize,
        prot: usize,
        flags: usize,
        offset: usize,
        user_top: usize,
    ) -> Result<MmapRequest, Errno> {
        if flags & !KNOWN_FLAGS != 0 {
            return Err(Errno::Inval);
        }
        let share = match (flags & abi::MAP_SHARED != 0, flags & abi::MAP_PRIVATE != 0) {
            (true, false) => Share::Shared,
            (false, true) => Share::Private,
            _ => return Err(Errno::Inval),
        };
        let prot = Prot::from_bits(prot).ok_or(Errno::Inval)?;
        if len == 0 {
            return Err(Errno::Inval);
        }
        let len = page_round_up(len).ok_or(Errno::NoMem)?;
        if len > user_top {
            return Err(Errno::NoMem);
        }
        if !is_page_aligned(offset) {
            return Err(Errno::Inval);
        }
        let offset = u64::try_from(offset).map_err(|_| Errno::Inval)?;
        let len_u64 = u64::try_from(len).map_err(|_| Errno::Inval)?;
        if offset.checked_add(len_u64).is_none() {
            return Err(Errno::Inval);
        }
        let placement = placement(addr, len, flags, user_top)?;
        Ok(MmapRequest {
            len,
            prot,
            share,
            anonymous: flags & abi::MAP_ANONYMOUS != 0,
            offset,
            placement,
            populate: flags & abi::MAP_POPULATE != 0,
        })
    }
}

/// Decides the placement for a request already known to have a page-rounded `len <= user_top`.
fn placement(addr: usize, len: usize, flags: usize, user_top: usize) -> Result<Placement, Errno> {
    let fits = |a: usize| a.checked_add(len).is_some_and(|end| end <= user_top);
    if flags & (abi::MAP_FIXED | abi::MAP_FIXED_NOREPLACE) != 0 {
        if !is_page_aligned(addr) {
            return Err(Errno::Inval);
        }
        if !fits(addr) {
            return Err(Errno::NoMem);
        }
        let replace = flags & abi::MAP_FIXED_NOREPLACE == 0;
        return Ok(Placement::Fixed { addr, replace });
    }
    Ok(match page_round_up(addr) {
        Some(hint) if hint != 0 && fits(hint) => Placement::Hint(hint),
        _ => Placement::Any,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::{
        MAP_ANONYMOUS as ANON, MAP_FIXED as FIXED, MAP_FIXED_NOREPLACE as NOREPLACE,
        MAP_POPULATE as POPULATE, MAP_PRIVATE as PRIVATE, MAP_SHARED as SHARED, USER_TOP,
    };
    use proptest::prelude::*;

    const PG: usize = crate::range::PAGE_SIZE;
    const RW: usize = abi::PROT_READ | abi::PROT_WRITE;

    fn parse(
        addr: usize,
        len: usize,
        prot: usize,
        flags: usize,
        offset: usize,
    ) -> Result<MmapRequest, Errno> {
        MmapRequest::parse(addr, len, prot, flags, offset, USER_TOP)
    }

    #[test]
    fn plain_shared_file_mapping() {
        let r = parse(0, 5000, abi::PROT_READ, SHARED, 2 * PG).unwrap();
        assert_eq!(
            r,
            MmapRequest {
                len: 2 * PG,
                prot: Prot::READ,
                share: Share::Shared,
                anonymous: false,
                offset: 2 * PG as u64,
                placement: Placement::Any,
                populate: false,
            }
        );
    }

    #[test]
    fn anonymous_private_populate() {
        let r = parse(0, PG, RW, PRIVATE | ANON | POPULATE, 0).unwrap();
        assert!(r.anonymous && r.populate);
        assert_eq!(r.share, Share::Private);
        assert_eq!(r.prot, Prot::READ | Prot::WRITE);
        assert_eq!(parse(0, PG, abi::PROT_NONE, PRIVATE, 0).unwrap().prot, Prot::NONE);
    }

    #[test]
    fn sharing_must_be_exactly_one() {
        assert_eq!(parse(0, PG, RW, 0, 0), Err(Errno::Inval));
        assert_eq!(parse(0, PG, RW, SHARED | PRIVATE, 0), Err(Errno::Inval));
        assert_eq!(parse(0, PG, RW, ANON, 0), Err(Errno::Inval));
    }

    #[test]
    fn unknown_bits_rejected() {
        assert_eq!(parse(0, PG, RW, SHARED | 0x4, 0), Err(Errno::Inval));
        assert_eq!(parse(0, PG, RW, SHARED | (1 << 40), 0), Err(Errno::Inval));
        assert_eq!(parse(0, PG, 8 | 1, SHARED, 0), Err(Errno::Inval));
        assert_eq!(parse(0, PG, usize::MAX, SHARED, 0), Err(Errno::Inval));
    }

    #[test]
    fn length_checks() {
        assert_eq!(parse(0, 0, RW, SHARED, 0), Err(Errno::Inval));
        assert_eq!(parse(0, usize::MAX, RW, SHARED, 0), Err(Errno::NoMem));
        assert_eq!(parse(0, usize::MAX - PG, RW, SHARED, 0), Err(Errno::NoMem));
        assert_eq!(parse(0, USER_TOP + 1, RW, SHARED, 0), Err(Errno::NoMem));
        assert_eq!(parse(0, USER_TOP, RW, SHARED, 0).unwrap().len, USER_TOP);
        assert_eq!(parse(0, 1, RW, SHARED, 0).unwrap().len, PG);
    }

    #[test]
    fn offset_checks() {
        assert_eq!(parse(0, PG, RW, SHARED, 100), Err(Errno::Inval));
        assert_eq!(parse(0, PG, RW, PRIVATE | ANON, 100), Err(Errno::Inval));
        let last = (u64::MAX as usize) & !(PG - 1);
        assert_eq!(parse(0, PG, RW, SHARED, last), Err(Errno::Inval));
        assert!(parse(0, PG, RW, SHARED, last - PG).is_ok());
    }

    #[test]
    fn fixed_placement() {
        let a = 0x4000_0000;
        let r = parse(a, PG, RW, SHARED | FIXED, 0).unwrap();
        assert_eq!(r.placement, Placement::Fixed { addr: a, replace: true });
        let r = parse(a, PG, RW, SHARED | NOREPLACE, 0).unwrap();
        assert_eq!(r.placement, Placement::Fixed { addr: a, replace: false });
        let r = parse(a, PG, RW, SHARED | FIXED | NOREPLACE, 0).unwrap();
        assert_eq!(r.placement, Placement::Fixed { addr: a, replace: false });
        assert_eq!(parse(a + 1, PG, RW, SHARED | FIXED, 0), Err(Errno::Inval));
        assert_eq!(parse(a + 1, PG, RW, SHARED | NOREPLACE, 0), Err(Errno::Inval));
    }

    #[test]
    fn fixed_range_must_stay_below_user_top() {
        let last = USER_TOP - PG;
        assert!(parse(last, PG, RW, SHARED | FIXED, 0).is_ok());
        assert_eq!(parse(last, PG + 1, RW, SHARED | FIXED, 0), Err(Errno::NoMem));
        assert_eq!(parse(USER_TOP, PG, RW, SHARED | FIXED, 0), Err(Errno::NoMem));
        assert_eq!(parse(abi::TRAPFRAME, PG, RW, SHARED | NOREPLACE, 0), Err(Errno::NoMem));
        let top_page = usize::MAX & !(PG - 1);
        assert_eq!(parse(top_page, PG, RW, SHARED | FIXED, 0), Err(Errno::NoMem));
    }

    #[test]
    fn hints() {
        assert_eq!(parse(0x5000, PG, RW, SHARED, 0).unwrap().placement, Placement::Hint(0x5000));
        assert_eq!(parse(0x5001, PG, RW, SHARED, 0).unwrap().placement, Placement::Hint(0x6000));
        assert_eq!(parse(USER_TOP, PG, RW, SHARED, 0).unwrap().placement, Placement::Any);
        assert_eq!(parse(usize::MAX, PG, RW, SHARED, 0).unwrap().placement, Placement::Any);
        let last = USER_TOP - PG;
        assert_eq!(parse(last, PG, RW, SHARED, 0).unwrap().placement, Placement::Hint(last));
    }

    proptest! {
        /// Whatever the arguments, parsing returns; a success is page-rounded and in range.
        #[test]
        fn parse_is_total_and_sound(
            addr in prop_oneof![any::<usize>(), (0usize..1 << 26).prop_map(|p| p * PG)],
            len in prop_oneof![any::<usize>(), 0usize..1 << 20],
            prot in prop_oneof![any::<usize>(), 0usize..8],
            flags in prop_oneof![any::<usize>(), 0usize..0x40, Just(SHARED | NOREPLACE)],
            offset in prop_oneof![any::<usize>(), (0usize..1 << 20).prop_map(|p| p * PG)],
        ) {
            if let Ok(r) = parse(addr, len, prot, flags, offset) {
                prop_assert!(r.len >= len && is_page_aligned(r.len) && r.len <= USER_TOP);
                prop_assert!(r.offset.checked_add(r.len as u64).is_some());
                match r.placement {
                    Placement::Fixed { addr: a, .. } => {
                        prop_assert_eq!(a, addr);
                        prop_assert!(is_page_aligned(a) && a + r.len <= USER_TOP);
                    }
                    Placement::Hint(h) => {
                        prop_assert!(is_page_aligned(h) && h >= addr && h + r.len <= USER_TOP);
                    }
                    Placement::Any => {}
                }
            }
        }
    }
}
