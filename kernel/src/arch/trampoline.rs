//! The trampoline page, mapped at `TRAMPOLINE` in every address space (kernel and user), so the
//! switch of page tables on trap entry and exit happens in code that stays mapped.
//!
//! `uservec` saves all user registers into the process's trap frame (mapped at `TRAPFRAME`),
//! loads the kernel stack, hart id and page table stored there, and jumps to `user_trap`.
//! `userret(satp)` switches to the user page table, restores the registers and `sret`s.

use core::arch::global_asm;

/// The per-process page that holds user registers across a trap, mapped at `TRAPFRAME`.
/// Register `xN` is at offset `8 * N`; the offsets below are used by the assembly.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TrapFrame {
    /// x0..x31 of the user program (x0 unused).
    pub regs: [usize; 32],
    /// Kernel page table (satp value).
    pub kernel_satp: usize,
    /// Top of this process's kernel stack.
    pub kernel_sp: usize,
    /// Address of `user_trap`.
    pub kernel_trap: usize,
    /// User program counter.
    pub epc: usize,
    /// Hart id for `tp`.
    pub kernel_hartid: usize,
}

impl TrapFrame {
    pub const SP: usize = 2;
    pub const A0: usize = 10;
    pub const A1: usize = 11;

    pub fn arg(&self, n: usize) -> usize {
        self.regs[Self::A0 + n]
    }
}

global_asm!(
    ".section .trampoline, \"ax\"",
    ".globl trampoline_start",
    "trampoline_start:",
    ".align 4",
    ".globl uservec",
    "uservec:",
    "   csrw sscratch, a0",
    "   li a0, {trapframe}",
    "   sd x1, 8(a0)",
    "   sd x2, 16(a0)",
    "   sd x3, 24(a0)",
    "   sd x4, 32(a0)",
    "   sd x5, 40(a0)",
    "   sd x6, 48(a0)",
    "   sd x7, 56(a0)",
    "   sd x8, 64(a0)",
    "   sd x9, 72(a0)",
    "   sd x11, 88(a0)",
    "   sd x12, 96(a0)",
    "   sd x13, 104(a0)",
    "   sd x14, 112(a0)",
    "   sd x15, 120(a0)",
    "   sd x16, 128(a0)",
    "   sd x17, 136(a0)",
    "   sd x18, 144(a0)",
    "   sd x19, 152(a0)",
    "   sd x20, 160(a0)",
    "   sd x21, 168(a0)",
    "   sd x22, 176(a0)",
    "   sd x23, 184(a0)",
    "   sd x24, 192(a0)",
    "   sd x25, 200(a0)",
    "   sd x26, 208(a0)",
    "   sd x27, 216(a0)",
    "   sd x28, 224(a0)",
    "   sd x29, 232(a0)",
    "   sd x30, 240(a0)",
    "   sd x31, 248(a0)",
    "   csrr t0, sscratch",
    "   sd t0, 80(a0)",
    "   ld sp, 264(a0)",
    "   ld tp, 288(a0)",
    "   ld t0, 272(a0)",
    "   ld t1, 256(a0)",
    "   sfence.vma zero, zero",
    "   csrw satp, t1",
    "   sfence.vma zero, zero",
    "   jr t0",
    "",
    ".globl userret",
    "userret:",
    "   sfence.vma zero, zero",
    "   csrw satp, a0",
    "   sfence.vma zero, zero",
    "   li a0, {trapframe}",
    "   ld x1, 8(a0)",
    "   ld x2, 16(a0)",
    "   ld x3, 24(a0)",
    "   ld x4, 32(a0)",
    "   ld x5, 40(a0)",
    "   ld x6, 48(a0)",
    "   ld x7, 56(a0)",
    "   ld x8, 64(a0)",
    "   ld x9, 72(a0)",
    "   ld x11, 88(a0)",
    "   ld x12, 96(a0)",
    "   ld x13, 104(a0)",
    "   ld x14, 112(a0)",
    "   ld x15, 120(a0)",
    "   ld x16, 128(a0)",
    "   ld x17, 136(a0)",
    "   ld x18, 144(a0)",
    "   ld x19, 152(a0)",
    "   ld x20, 160(a0)",
    "   ld x21, 168(a0)",
    "   ld x22, 176(a0)",
    "   ld x23, 184(a0)",
    "   ld x24, 192(a0)",
    "   ld x25, 200(a0)",
    "   ld x26, 208(a0)",
    "   ld x27, 216(a0)",
    "   ld x28, 224(a0)",
    "   ld x29, 232(a0)",
    "   ld x30, 240(a0)",
    "   ld x31, 248(a0)",
    "   ld a0, 80(a0)",
    "   sret",
    trapframe = const abi::TRAPFRAME,
);

extern "C" {
    pub fn trampoline_start();
    pub fn uservec();
    pub fn userret();
}

/// Virtual address (in the trampoline page at `TRAMPOLINE`) of a trampoline symbol.
pub fn trampoline_va(sym: unsafe extern "C" fn()) -> usize {
    abi::TRAMPOLINE + (sym as *const () as usize - trampoline_start as *const () as usize)
}
