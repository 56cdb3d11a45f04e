//! Address-space bookkeeping for the kernel's `mmap`/`munmap`: the per-process set of virtual
//! memory areas (VMAs), placement of new mappings in free gaps, and the splitting and trimming
//! that unmapping a page range causes, plus the checks on raw `mmap` arguments.
//!
//! This crate is pure: it owns the arithmetic and must not know about locks, page tables, frames
//! or harts. It is generic over the backing file reference `F` (cloned on split and fork), is
//! `no_std` + `alloc` so the kernel links it, and is tested on the host against simple models.
//!
//! - [`VirtRange`], [`PAGE_SIZE`]: page-aligned, non-empty address ranges.
//! - [`Vma`], [`Prot`], [`Share`], [`Advice`], [`Backing`]: one mapping.
//! - [`VmaSet`]: all mappings of one address space, with `find`, `insert`, `find_gap`,
//!   `split_at`, `take_first` (unmap one piece, allocating nothing), `remove_range`, and
//!   `is_mapped` + `update_range` (mprotect and madvise: change the attributes of a page
//!   range, splitting VMAs at its edges and merging equal neighbours again).
//! - [`MmapRequest`], [`Placement`]: `mmap` arguments, checked.
//!
//! # Complexity
//! With n VMAs in the set and k the number of VMAs an operation touches:
//!
//! | operation | cost |
//! |---|---|
//! | `find`, `find_mut`, `overlaps` | O(log n) |
//! | `iter_overlapping` | O(log n + k) |
//! | `insert` | O(log n) |
//! | `find_gap` | O(log n), worst case, for any layout of VMAs and gaps |
//! | `split_at` | O(log n) |
//! | `take_first` | O(log n) |
//! | `remove_range` | O((k + 1) log n) |
//! | `is_mapped` | O(log n + k) |
//! | `update_range` | O((k + 1) log n) |
//! | `clone` (fork) | O(n) |
//!
//! `find_gap` is first-fit from the bottom of `[lo, hi)`, so gaps left by `munmap` are reused.
//! A scan over the VMAs from `lo` would cost O(n) when thousands of mappings are packed there;
//! instead the set keeps, next to the `BTreeMap` of VMAs, an index of the free gaps (the
//! complement of the VMAs) as an AVL tree keyed by gap start in which each node also stores the
//! largest gap in its subtree. The lowest gap at or above `lo` that is long enough is then found
//! by one descent that skips every subtree whose largest gap is too small: O(height) =
//! O(log n). The gap containing `lo` itself, which may start below `lo`, is looked up
//! separately in O(log n). The index costs one node per gap (at most n + 1) and is updated in
//! O(log n) per VMA inserted and O((k + 1) log n) per range unmapped; a gap that only shrinks
//! or grows at an edge is changed in place (`GapIndex::resize`: no node allocated, freed or
//! rotated), which is what most mmap and munmap calls need. An AVL tree rather than a
//! treap or skip list keeps the bound deterministic, so a process cannot pick addresses that make
//! its own placement slow, and keeps the recursion depth to about 1.44 log2 n on a kernel stack.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod gaps;
mod range;
mod request;
mod set;
mod vma;

#[cfg(test)]
mod model_tests;

pub use range::{is_page_aligned, page_round_down, page_round_up, VirtRange, ADDR_END, PAGE_SIZE};
pub use request::{MmapRequest, Placement};
pub use set::{Overlap, VmaSet};
pub use vma::{Advice, Backing, Prot, Share, Vma};
