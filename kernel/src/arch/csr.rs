//! Control and status registers of RV64 (machine and supervisor level) and the few special
//! instructions the kernel needs. Every access is one instruction wrapped in a tiny function;
//! reading a CSR is always safe, writing one is `unsafe` when it can break memory safety
//! (page tables, trap vectors, privilege changes).

use core::arch::asm;

macro_rules! csr_read {
    ($name:ident, $csr:literal) => {
        #[inline(always)]
        pub fn $name() -> usize {
            let v: usize;
            // SAFETY: reading this CSR has no side effects.
            unsafe { asm!(concat!("csrr {}, ", $csr), out(reg) v) };
            v
        }
    };
}

macro_rules! csr_write {
    ($name:ident, $csr:literal) => {
        /// # Safety
        /// The caller guarantees the new value keeps the machine in a state the kernel expects.
        #[inline(always)]
        pub unsafe fn $name(v: usize) {
            // SAFETY: the caller upholds the contract documented above.
            unsafe { asm!(concat!("csrw ", $csr, ", {}"), in(reg) v) };
        }
    };
}

csr_read!(mstatus, "mstatus");
csr_write!(set_mstatus, "mstatus");
csr_write!(set_mepc, "mepc");
csr_write!(set_medeleg, "medeleg");
csr_write!(set_mideleg, "mideleg");
csr_write!(set_menvcfg, "menvcfg");
csr_read!(menvcfg, "menvcfg");
csr_write!(set_mcounteren, "mcounteren");
csr_write!(set_pmpaddr0, "pmpaddr0");
csr_write!(set_pmpcfg0, "pmpcfg0");
csr_read!(sstatus, "sstatus");
csr_write!(set_sstatus, "sstatus");
csr_read!(sie, "sie");
csr_write!(set_sie, "sie");
csr_read!(sepc, "sepc");
csr_write!(set_sepc, "sepc");
csr_read!(scause, "scause");
csr_read!(stval, "stval");
csr_write!(set_stvec, "stvec");
csr_write!(set_scounteren, "scounteren");
csr_write!(set_stimecmp, "stimecmp");

/// The `time` counter (10 MHz on QEMU virt).
#[inline(always)]
pub fn time() -> u64 {
    let v: u64;
    // SAFETY: reading `time` has no side effects; S-mode may read it (mcounteren.TM is set).
    unsafe { asm!("csrr {}, time", out(reg) v) };
    v
}

/// Writes `satp` and flushes the TLB.
///
/// # Safety
/// `v` must select a page table that maps the currently executing code and stack.
pub unsafe fn set_satp(v: usize) {
    // SAFETY: the caller guarantees the new table maps the code running now.
    unsafe { asm!("sfence.vma zero, zero", "csrw satp, {}", "sfence.vma zero, zero", in(reg) v) };
}

pub const SSTATUS_SPP: usize = 1 << 8;
pub const SSTATUS_SPIE: usize = 1 << 5;
pub const SSTATUS_SIE: usize = 1 << 1;
pub const SIE_SEIE: usize = 1 << 9;
pub const SIE_STIE: usize = 1 << 5;
pub const SIE_SSIE: usize = 1 << 1;

/// Enables supervisor interrupts on this hart.
#[inline(always)]
pub fn intr_on() {
    // SAFETY: setting SIE only allows interrupts, whose handlers are installed before this.
    unsafe { asm!("csrs sstatus, {}", in(reg) SSTATUS_SIE) };
}

/// Disables supervisor interrupts on this hart.
#[inline(always)]
pub fn intr_off() {
    // SAFETY: clearing SIE cannot break memory safety.
    unsafe { asm!("csrc sstatus, {}", in(reg) SSTATUS_SIE) };
}

/// Whether supervisor interrupts are enabled on this hart.
#[inline(always)]
pub fn intr_get() -> bool {
    sstatus() & SSTATUS_SIE != 0
}

/// The `tp` register, which holds this hart's id in kernel mode.
#[inline(always)]
pub fn tp() -> usize {
    let v: usize;
    // SAFETY: reading a register has no side effects.
    unsafe { asm!("mv {}, tp", out(reg) v) };
    v
}

/// The stack pointer.
#[inline(always)]
pub fn sp() -> usize {
    let v: usize;
    // SAFETY: reading a register has no side effects.
    unsafe { asm!("mv {}, sp", out(reg) v) };
    v
}

/// Waits for an interrupt (or returns at once if one is pending).
#[inline(always)]
pub fn wfi() {
    // SAFETY: wfi only pauses the hart.
    unsafe { asm!("wfi") };
}
