//! User address spaces and what happens on a user page fault. Grows into the mmap system:
//! one file per operation (space, fault, mmap, munmap, fork, writeback).

pub mod fault;
pub mod space;

pub use space::{Access, AddressSpace};
