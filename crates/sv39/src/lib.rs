//! Sv39 page tables for vmos: address newtypes, page-table entries, and the walks over a
//! tree of tables, written once for every caller.
//!
//! This crate owns the encoding of entries and the shape of the three-level tree. It must not
//! know about processes, VMAs, frames, locks or harts: table pages are reached only through
//! the [`TableMemory`] trait, which the kernel implements over its identity-mapped RAM (the
//! only unsafe code involved lives there) and tests implement over a map. It is `no_std`,
//! forbids unsafe code, and is tested on the host against a model (`model_tests.rs`).
//!
//! - [`PhysAddr`], [`VirtAddr`], [`Ppn`], [`Vpn`], [`PAGE_SIZE`], [`MAXVA`] and the rounding
//!   helpers: addresses with checked constructors.
//! - [`PteFlags`], [`Pte`], [`satp`]: one entry, and the register value naming a root.
//! - [`TableMemory`]: the memory that holds table pages.
//! - [`PageTable`]: `walk`, `lookup`, `translate`, `update`, `map`, `unmap`, `free_tables`.
//! - [`VaRange`], [`Leaves`], [`PageTable::for_each_leaf`], [`PageTable::for_each_leaf_mut`]:
//!   the one iterator over the mapped pages of a range, which skips missing tables whole and
//!   can stop and resume.
//! - [`PageTable::fork_range`], [`PageTable::resolve_stubs`], [`PageTable::drop_stubs`]:
//!   level-0 tables shared between trees after fork, behind stubs (`share.rs`).
//!
//! # Cost
//! | operation | table reads |
//! |---|---|
//! | `walk`, `lookup`, `translate`, `update`, `map`, `unmap` | at most 3 |
//! | leaf walk over a range | 1 per GiB + 1 per populated 2 MiB + 1 per page in populated 2 MiB |
//! | `free_tables` | 512 per table |
//! | `fork_range`, `drop_stubs`, resolving a stub whose table is no longer shared | 2 per populated 2 MiB (+ 1 per GiB) |
//! | resolving a stub whose table is shared | 512 more, and one table allocated |
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(any(test, feature = "testing"))]
extern crate alloc;

mod addr;
mod leaves;
mod memory;
mod pte;
mod range;
mod share;
mod table;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod share_tests;
#[cfg(test)]
mod table_tests;

pub use addr::{
    is_page_aligned, level_span, page_round_down, page_round_up, PhysAddr, Ppn, VirtAddr, Vpn, ENTRIES,
    LEVELS, MAXVA, PAGE_SHIFT, PAGE_SIZE, PA_END,
};
pub use leaves::Leaves;
pub use memory::TableMemory;
pub use pte::{satp, Pte, PteFlags};
pub use range::VaRange;
pub use table::{MapError, PageTable};
