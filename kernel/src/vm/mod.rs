//! User address spaces and the memory-mapping system: `space` (page table + layout + VMAs),
//! `fault` (what a page fault maps), `mmap` (mmap, munmap and the shared unmap path),
//! `pagecache` (shared pages per file or shared anonymous region), `fileio` (what mappings
//! need from the file system), `reclaim` (freeing file pages when memory runs out), `stats`
//! (counters and read-only views for `kstat`, `vmmaps` and Ctrl-P).

pub mod anon;
pub mod fault;
pub mod fileio;
pub mod mmap;
pub mod pagecache;
pub mod reclaim;
pub mod space;
pub mod stats;

pub use space::{Access, AddressSpace};
