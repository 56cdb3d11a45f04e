//! RISC-V specifics: machine-mode start, CSRs, per-hart state, the context switch, traps and
//! the trampoline. All inline assembly of the kernel lives below this module.

pub mod cpu;
pub mod csr;
pub mod start;
pub mod switch;
pub mod tlb;
pub mod trampoline;
pub mod trap;
