//! User address spaces and the memory-mapping system: `vm` (the address space as an object,
//! [`Vm`], whose methods take its lock), `space` (its state: page table, layout, VMAs),
//! `fault` (what a page fault maps), `mmap` (mmap, munmap and the shared unmap path),
//! `pagecache` (the pages of one file, owned by its inode), `anon` (shared anonymous memory),
//! `fileio` (what mappings need from the file system), `reclaim` (freeing file pages when
//! memory runs out), `truncate` (a mapped file cut by O_TRUNC), `stats` (counters and
//! read-only views for `kstat`, `vmmaps` and Ctrl-P), `protect` (mprotect, and the range
//! checks it shares with msync and madvise), `msync` (write-back and invalidation of a
//! range), `advice` (madvise, and the advice's effect on readahead and fault-around), `stubs`
//! (page tables fork shares whole, and getting them back before changing their pages).
//!
//! The policy is not here: what a fault does, copy-on-write, the PTE bits of a protection,
//! the readahead and fault-around windows and which pages reclaim takes are the rules of the
//! host-tested `vmcore` crate (docs/architecture.md lists which file asks for which); these
//! files carry its decisions out on the page tables, frames and page caches.
//!
//! No unsafe code lives here: raw memory is reached through `mm` (page copies in `mm::page`,
//! page-table entries in `mm::pagetable`).
#![forbid(unsafe_code)]

mod advice;
pub mod anon;
pub mod fault;
pub mod fileio;
pub mod mmap;
mod msync;
pub mod pagecache;
mod protect;
pub mod reclaim;
pub mod space;
pub mod stats;
mod stubs;
pub mod truncate;
#[allow(clippy::module_inception)]
mod vm;

pub use space::Access;
pub use vm::Vm;
