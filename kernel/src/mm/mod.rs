//! Physical memory: address newtypes, the page-frame allocator, the kernel heap, Sv39 page
//! tables, the kernel's own page table, and the only code that copies to and from user memory.
//!
//! Physical memory is identity-mapped in the kernel page table, so a physical address is also a
//! kernel virtual address; `addr::PhysMem::as_ptr` is the one place that conversion happens.

pub mod addr;
pub mod frame;
pub mod heap;
pub mod kvm;
pub mod page;
pub mod pagetable;
pub mod uaccess;

pub use addr::{PhysAddr, VirtAddr, PGSIZE};
