//! One virtual memory area: a range plus what the user asked for (protection, sharing) and what
//! backs it (anonymous zero pages, or a file at an offset).
//!
//! This module owns the arithmetic of cutting one VMA in two, in particular the shift of the
//! file offset of the right-hand piece. It must not know about other VMAs, page tables or
//! frames: the set of VMAs lives in [`crate::set`].

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign};

use crate::range::{is_page_aligned, VirtRange};

/// Access a mapping allows, as the user passed it to `mmap` (Linux and ABI bit values).
///
/// This is the user's request, not a page-table entry: the kernel converts it to PTE bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Prot(u8);

impl Prot {
    /// No access (`PROT_NONE`).
    pub const NONE: Prot = Prot(0);
    /// Readable (`PROT_READ` = 1).
    pub const READ: Prot = Prot(abi::PROT_READ as u8);
    /// Writable (`PROT_WRITE` = 2).
    pub const WRITE: Prot = Prot(abi::PROT_WRITE as u8);
    /// Executable (`PROT_EXEC` = 4).
    pub const EXEC: Prot = Prot(abi::PROT_EXEC as u8);
    /// Every defined bit.
    pub const ALL: Prot = Prot(Self::READ.0 | Self::WRITE.0 | Self::EXEC.0);

    /// The set with exactly these bits, or `None` if `bits` has any undefined bit.
    pub const fn from_bits(bits: usize) -> Option<Prot> {
        if bits & !(Self::ALL.0 as usize) == 0 {
            Some(Prot(bits as u8))
        } else {
            None
        }
    }

    /// The raw bits, as the ABI numbers them.
    pub const fn bits(self) -> usize {
        self.0 as usize
    }

    /// True when every bit of `other` is set in `self`.
    pub const fn contains(self, other: Prot) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when no bit is set (`PROT_NONE`).
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Prot {
    type Output = Prot;
    fn bitor(self, rhs: Prot) -> Prot {
        Prot(self.0 | rhs.0)
    }
}

impl BitOrAssign for Prot {
    fn bitor_assign(&mut self, rhs: Prot) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Prot {
    type Output = Prot;
    fn bitand(self, rhs: Prot) -> Prot {
        Prot(self.0 & rhs.0)
    }
}

impl fmt::Debug for Prot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flag = |p: Prot, c: char| if self.contains(p) { c } else { '-' };
        write!(f, "Prot({}{}{})", flag(Prot::READ, 'r'), flag(Prot::WRITE, 'w'), flag(Prot::EXEC, 'x'))
    }
}

/// Whether writes are seen by other mappings of the same object (`MAP_SHARED`) or stay in
/// this process, copied on first write (`MAP_PRIVATE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Share {
    /// `MAP_SHARED`: writes reach the file and every other mapping of it.
    Shared,
    /// `MAP_PRIVATE`: writes go to a private copy.
    Private,
}

/// How the user said a VMA's pages will be accessed (`madvise`): the kernel's readahead and
/// fault-around follow it. `MADV_WILLNEED` and `MADV_DONTNEED` are actions, not attributes,
/// so they have no variant here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Advice {
    /// `MADV_NORMAL`: read ahead when faults move forward sequentially; fault-around on.
    #[default]
    Normal,
    /// `MADV_RANDOM`: read exactly the page faulted on; no fault-around.
    Random,
    /// `MADV_SEQUENTIAL`: always read ahead the largest window.
    Sequential,
}

impl Advice {
    /// The attribute an `madvise` advice value sets, or `None` for an action
    /// (`MADV_WILLNEED`, `MADV_DONTNEED`) or an unknown value.
    pub const fn from_madv(advice: usize) -> Option<Advice> {
        match advice {
            abi::MADV_NORMAL => Some(Advice::Normal),
            abi::MADV_RANDOM => Some(Advice::Random),
            abi::MADV_SEQUENTIAL => Some(Advice::Sequential),
            _ => None,
        }
    }

    /// The `MADV_*` value of this advice.
    pub const fn madv(self) -> usize {
        match self {
            Advice::Normal => abi::MADV_NORMAL,
            Advice::Random => abi::MADV_RANDOM,
            Advice::Sequential => abi::MADV_SEQUENTIAL,
        }
    }
}

/// What supplies the contents of a VMA's pages.
///
/// `F` is the kernel's counted file reference; it is cloned whenever a VMA is split or the set
/// is cloned for fork, so its `Clone` is where the kernel takes a new reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backing<F> {
    /// Zero-filled pages, not backed by any file.
    Anonymous,
    /// The file `file`, whose byte `offset` is mapped at the VMA's start address.
    File {
        /// The kernel's reference to the open file or inode.
        file: F,
        /// File offset (page-aligned) of the VMA's first byte.
        offset: u64,
    },
}

/// A virtual memory area: a contiguous range with one protection, one sharing mode, one
/// access advice and one backing object.
///
/// The range is read-only from outside (see [`Vma::range`]) because the set that holds the VMA
/// keys it by its start; protection, sharing, advice and backing may be changed in place
/// (for a part of a VMA, [`crate::VmaSet::update_range`] splits it first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vma<F> {
    range: VirtRange,
    /// Access the user asked for.
    pub prot: Prot,
    /// Shared or private.
    pub share: Share,
    /// What supplies the pages.
    pub backing: Backing<F>,
    /// The access pattern the user announced (`madvise`); [`Advice::Normal`] at first.
    pub advice: Advice,
}

impl<F> Vma<F> {
    /// A VMA covering `range`.
    ///
    /// For a file backing, `offset + range.len()` must fit in a `u64` (what
    /// [`crate::MmapRequest::parse`] guarantees); splitting relies on it.
    pub fn new(range: VirtRange, prot: Prot, share: Share, backing: Backing<F>) -> Vma<F> {
        Vma { range, prot, share, backing, advice: Advice::Normal }
    }

    /// The addresses this VMA covers.
    pub fn range(&self) -> VirtRange {
        self.range
    }

    /// The file and the file offset that back the byte at `addr`, or `None` if the VMA is
    /// anonymous or does not contain `addr`. For a page address this is the file page to map.
    pub fn file_offset_at(&self, addr: usize) -> Option<(&F, u64)> {
        match &self.backing {
            Backing::File { file, offset } if self.range.contains(addr) => {
                Some((file, offset + (addr - self.range.start()) as u64))
            }
            _ => None,
        }
    }
}

impl<F: Clone> Vma<F> {
    /// Cuts this VMA at `addr`: `self` keeps `[start, addr)` and its file offset, the returned
    /// VMA is `[addr, end)` with the file offset moved on by `addr - start`.
    ///
    /// The caller guarantees `start < addr < end` and that `addr` is page-aligned.
    ///
    /// # Panics
    /// If that precondition is broken, or if the shifted file offset overflows a `u64` (a VMA
    /// built against the rule in [`Vma::new`]): both are kernel bugs, not user errors.
    pub(crate) fn split_off(&mut self, addr: usize) -> Vma<F> {
        assert!(
            is_page_aligned(addr) && self.range.start() < addr && addr < self.range.end(),
            "split_off({addr:#x}) outside {:?}",
            self.range
        );
        let (left, right) =
            match (VirtRange::new(self.range.start(), addr), VirtRange::new(addr, self.range.end())) {
                (Some(l), Some(r)) => (l, r),
                _ => unreachable!("checked above"),
            };
        let backing = match &self.backing {
            Backing::Anonymous => Backing::Anonymous,
            Backing::File { file, offset } => Backing::File {
                file: file.clone(),
                offset: offset.checked_add(left.len() as u64).expect("file offset of a split VMA overflows"),
            },
        };
        self.range = left;
        Vma { range: right, prot: self.prot, share: self.share, backing, advice: self.advice }
    }
}

impl<F: PartialEq> Vma<F> {
    /// Whether `right`, which must start where `self` ends, can become part of `self`: same
    /// protection, sharing and advice, and the same backing continued (both anonymous, or the
    /// same file object with `right`'s offset just after `self`'s last byte).
    ///
    /// ```text
    ///  [== self ==)[== right ==)   ->   [======= self =======)
    ///  file f @ o   file f @ o + len(self)
    /// ```
    pub(crate) fn can_join(&self, right: &Vma<F>) -> bool {
        if self.range.end() != right.range.start()
            || (self.prot, self.share, self.advice) != (right.prot, right.share, right.advice)
        {
            return false;
        }
        match (&self.backing, &right.backing) {
            (Backing::Anonymous, Backing::Anonymous) => true,
            (Backing::File { file: a, offset: o }, Backing::File { file: b, offset: p }) => {
                a == b && o.checked_add(self.range.len() as u64) == Some(*p)
            }
            _ => false,
        }
    }

    /// Makes `right` part of `self` (the caller checked [`Vma::can_join`]); `right`'s
    /// reference to its file is dropped.
    pub(crate) fn join(&mut self, right: Vma<F>) {
        debug_assert!(self.can_join(&right));
        if let Some(r) = VirtRange::new(self.range.start(), right.range.end()) {
            self.range = r;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::PAGE_SIZE;

    fn range(start_page: usize, end_page: usize) -> VirtRange {
        VirtRange::new(start_page * PAGE_SIZE, end_page * PAGE_SIZE).unwrap()
    }

    #[test]
    fn prot_bits_match_abi() {
        assert_eq!(Prot::READ.bits(), abi::PROT_READ);
        assert_eq!(Prot::WRITE.bits(), abi::PROT_WRITE);
        assert_eq!(Prot::EXEC.bits(), abi::PROT_EXEC);
        assert_eq!(Prot::from_bits(abi::PROT_NONE), Some(Prot::NONE));
        assert_eq!(Prot::from_bits(7), Some(Prot::ALL));
        assert_eq!(Prot::from_bits(8), None);
        let rw = Prot::READ | Prot::WRITE;
        assert!(rw.contains(Prot::READ) && !rw.contains(Prot::EXEC));
        assert_eq!(rw & Prot::WRITE, Prot::WRITE);
        assert!(Prot::NONE.is_empty());
        assert_eq!(alloc::format!("{rw:?}"), "Prot(rw-)");
    }

    #[test]
    fn split_file_vma_shifts_right_offset() {
        let backing = Backing::File { file: 7u32, offset: 0x10_000 };
        let mut left = Vma::new(range(1, 5), Prot::READ, Share::Shared, backing);
        let right = left.split_off(3 * PAGE_SIZE);
        assert_eq!(left.range(), range(1, 3));
        assert_eq!(right.range(), range(3, 5));
        assert_eq!(left.backing, Backing::File { file: 7, offset: 0x10_000 });
        assert_eq!(right.backing, Backing::File { file: 7, offset: 0x10_000 + 2 * PAGE_SIZE as u64 });
        assert_eq!(right.prot, Prot::READ);
        assert_eq!(right.share, Share::Shared);
        assert_eq!(right.file_offset_at(4 * PAGE_SIZE), Some((&7, 0x10_000 + 3 * PAGE_SIZE as u64)));
        assert_eq!(right.file_offset_at(2 * PAGE_SIZE), None);
    }

    #[test]
    fn split_anonymous_vma() {
        let mut left: Vma<u32> = Vma::new(range(1, 3), Prot::ALL, Share::Private, Backing::Anonymous);
        let right = left.split_off(2 * PAGE_SIZE);
        assert_eq!((left.range(), right.range()), (range(1, 2), range(2, 3)));
        assert_eq!(right.backing, Backing::Anonymous);
        assert_eq!(right.file_offset_at(2 * PAGE_SIZE), None);
    }

    #[test]
    fn split_keeps_advice_and_join_undoes_split() {
        let backing = Backing::File { file: 3u32, offset: 0x4000 };
        let mut left = Vma::new(range(1, 5), Prot::READ, Share::Private, backing);
        left.advice = Advice::Random;
        let whole = left.clone();
        let right = left.split_off(2 * PAGE_SIZE);
        assert_eq!(right.advice, Advice::Random);
        assert!(left.can_join(&right));
        left.join(right);
        assert_eq!(left, whole);
    }

    #[test]
    fn join_needs_equal_attributes_and_contiguous_backing() {
        let file = |f: u32, off_pages: u64| Backing::File { file: f, offset: off_pages * PAGE_SIZE as u64 };
        let a = Vma::new(range(1, 3), Prot::READ, Share::Shared, file(1, 10));
        assert!(a.can_join(&Vma::new(range(3, 4), Prot::READ, Share::Shared, file(1, 12))));
        assert!(!a.can_join(&Vma::new(range(3, 4), Prot::READ, Share::Shared, file(1, 13))), "offset gap");
        assert!(!a.can_join(&Vma::new(range(3, 4), Prot::READ, Share::Shared, file(2, 12))), "other file");
        assert!(!a.can_join(&Vma::new(range(4, 5), Prot::READ, Share::Shared, file(1, 13))), "not adjacent");
        assert!(!a.can_join(&Vma::new(range(3, 4), Prot::ALL, Share::Shared, file(1, 12))), "prot");
        assert!(!a.can_join(&Vma::new(range(3, 4), Prot::READ, Share::Private, file(1, 12))), "share");
        assert!(!a.can_join(&Vma::new(range(3, 4), Prot::READ, Share::Shared, Backing::Anonymous)));
        let mut b = Vma::new(range(3, 4), Prot::READ, Share::Shared, file(1, 12));
        b.advice = Advice::Sequential;
        assert!(!a.can_join(&b), "advice");
        let anon: Vma<u32> = Vma::new(range(1, 2), Prot::NONE, Share::Private, Backing::Anonymous);
        assert!(anon.can_join(&Vma::new(range(2, 9), Prot::NONE, Share::Private, Backing::Anonymous)));
    }

    #[test]
    fn advice_values_match_abi() {
        for a in [Advice::Normal, Advice::Random, Advice::Sequential] {
            assert_eq!(Advice::from_madv(a.madv()), Some(a));
        }
        assert_eq!(Advice::from_madv(abi::MADV_WILLNEED), None);
        assert_eq!(Advice::from_madv(abi::MADV_DONTNEED), None);
        assert_eq!(Advice::from_madv(99), None);
        assert_eq!(Advice::default(), Advice::Normal);
    }

    #[test]
    #[should_panic]
    fn split_at_start_is_a_kernel_bug() {
        let mut v: Vma<u32> = Vma::new(range(1, 3), Prot::READ, Share::Private, Backing::Anonymous);
        v.split_off(PAGE_SIZE);
    }
}
