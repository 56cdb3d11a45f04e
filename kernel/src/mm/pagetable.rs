//! Sv39 page tables: three levels of 512 entries, each table one physical page. This module
//! walks, maps and unmaps; it knows nothing of processes or policy. Interior tables are freed
//! only by `free_tables`, when the whole address space goes away.

use super::addr::{page_round_down, PhysAddr, VirtAddr, PGSIZE};
use super::frame;
use abi::Errno;
use bitflags::bitflags;

bitflags! {
    /// Sv39 page-table entry flag bits.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PteFlags: usize {
        const V = 1 << 0;
        const R = 1 << 1;
        const W = 1 << 2;
        const X = 1 << 3;
        const U = 1 << 4;
        const G = 1 << 5;
        const A = 1 << 6;
        const D = 1 << 7;
    }
}

/// Highest virtual address + 1 that Sv39 can map with the sign bit clear.
pub const MAXVA: usize = abi::MAXVA;

/// One page-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub struct Pte(pub usize);

impl Pte {
    pub fn flags(self) -> PteFlags {
        PteFlags::from_bits_truncate(self.0 & 0x3ff)
    }
    pub fn is_valid(self) -> bool {
        self.0 & 1 != 0
    }
    pub fn is_leaf(self) -> bool {
        self.flags().intersects(PteFlags::R | PteFlags::W | PteFlags::X)
    }
    pub fn pa(self) -> PhysAddr {
        PhysAddr((self.0 >> 10) << 12)
    }
    pub fn new(pa: PhysAddr, flags: PteFlags) -> Pte {
        Pte(((pa.0 >> 12) << 10) | flags.bits())
    }
}

fn vpn(va: usize, level: usize) -> usize {
    (va >> (12 + 9 * level)) & 0x1ff
}

/// A page table, identified by the physical page of its root. It owns that page and every
/// interior table reachable from it; leaf pages are owned by whoever mapped them.
pub struct PageTable {
    root: PhysAddr,
}

impl PageTable {
    /// An empty table, or `None` when out of memory.
    pub fn new() -> Option<PageTable> {
        Some(PageTable { root: frame::alloc()? })
    }

    /// A handle on an existing table (the caller must not free it twice).
    pub fn from_root(root: PhysAddr) -> PageTable {
        PageTable { root }
    }

    /// The root table page.
    pub fn root(&self) -> PhysAddr {
        self.root
    }

    /// The value to load into `satp` for this table (Sv39 mode).
    pub fn satp(&self) -> usize {
        (8 << 60) | (self.root.0 >> 12)
    }

    fn entries(pa: PhysAddr) -> *mut Pte {
        pa.as_ptr()
    }

    /// The leaf entry for `va`, creating interior tables when `alloc` is set. `None` when an
    /// interior table is missing (and `alloc` is false) or cannot be allocated.
    pub fn walk(&mut self, va: VirtAddr, alloc: bool) -> Option<&mut Pte> {
        if va.0 >= MAXVA {
            return None;
        }
        let mut table = self.root;
        for level in [2, 1] {
            // SAFETY: `table` is a page-table page owned by this PageTable; the index is < 512.
            let pte = unsafe { &mut *Self::entries(table).add(vpn(va.0, level)) };
            if pte.is_valid() {
                table = pte.pa();
            } else {
                if !alloc {
                    return None;
                }
                let page = frame::alloc()?;
                *pte = Pte::new(page, PteFlags::V);
                table = page;
            }
        }
        // SAFETY: as above, for the level-0 table.
        Some(unsafe { &mut *Self::entries(table).add(vpn(va.0, 0)) })
    }

    /// The valid leaf entry for `va`, if any.
    pub fn lookup(&mut self, va: VirtAddr) -> Option<Pte> {
        self.walk(va, false).map(|p| *p).filter(|p| p.is_valid())
    }

    /// Maps [va, va + size) to [pa, pa + size) with `flags` (V, A and D are added). `va` and
    /// `pa` must be page-aligned.
    ///
    /// # Panics
    /// If a page of the range is already mapped (a kernel bug: callers check first).
    pub fn map(&mut self, va: VirtAddr, pa: PhysAddr, size: usize, flags: PteFlags) -> Result<(), Errno> {
        assert!(va.0.is_multiple_of(PGSIZE) && pa.0.is_multiple_of(PGSIZE) && size > 0, "map: unaligned");
        let mut off = 0;
        while off < size {
            let pte = self.walk(VirtAddr(va.0 + off), true).ok_or(Errno::NoMem)?;
            assert!(!pte.is_valid(), "map: remap of {:#x}", va.0 + off);
            *pte = Pte::new(PhysAddr(pa.0 + off), flags | PteFlags::V | PteFlags::A | PteFlags::D);
            off += PGSIZE;
        }
        Ok(())
    }

    /// Maps the page `va` to `pa` with exactly `flags` plus V (A and D are left to the
    /// hardware, so the D bit later tells whether the page was written).
    pub fn map_exact(&mut self, va: VirtAddr, pa: PhysAddr, flags: PteFlags) -> Result<(), Errno> {
        let pte = self.walk(va, true).ok_or(Errno::NoMem)?;
        assert!(!pte.is_valid(), "map_exact: remap of {:#x}", va.0);
        *pte = Pte::new(pa, flags | PteFlags::V);
        Ok(())
    }

    /// Removes the mapping of the page at `va`, returning the entry it had, if any.
    pub fn unmap(&mut self, va: VirtAddr) -> Option<Pte> {
        let pte = self.walk(VirtAddr(page_round_down(va.0)), false)?;
        if !pte.is_valid() {
            return None;
        }
        let old = *pte;
        *pte = Pte(0);
        Some(old)
    }

    /// Frees every interior table page and the root. Leaf mappings must already be gone;
    /// the table must not be used afterwards (its owner is being dropped).
    pub fn free_tables(&mut self) {
        fn free_level(table: PhysAddr) {
            for i in 0..512 {
                // SAFETY: `table` is an interior table page owned by the page table being freed.
                let pte = unsafe { *PageTable::entries(table).add(i) };
                if pte.is_valid() && !pte.is_leaf() {
                    free_level(pte.pa());
                }
            }
            frame::free(table);
        }
        free_level(self.root);
    }
}
