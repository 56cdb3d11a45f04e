//! The first instructions each hart runs, in machine mode: pick a boot stack, remember the
//! device tree address, configure delegation, the timer (Sstc) and counters, and drop into
//! supervisor mode at `kmain`. Nothing here touches memory beyond the boot stacks and two
//! statics; all policy lives in `kmain`.

use super::csr;
use crate::param::{BOOT_STACK_SIZE, NCPU};
use core::arch::global_asm;
use core::sync::atomic::{AtomicUsize, Ordering};

const _: () = assert!(BOOT_STACK_SIZE.is_power_of_two());

/// Boot stacks, one per hart; `_entry` points `sp` at the top of this hart's slice.
#[repr(C, align(16))]
pub struct BootStacks(pub [u8; BOOT_STACK_SIZE * NCPU]);

#[no_mangle]
pub static mut BOOT_STACKS: BootStacks = BootStacks([0; BOOT_STACK_SIZE * NCPU]);

/// Physical address of the flattened device tree QEMU passed in a1.
pub static DTB_ADDR: AtomicUsize = AtomicUsize::new(0);

global_asm!(
    ".section .text.entry",
    ".globl _entry",
    "_entry:",
    // Harts beyond NCPU park forever.
    "   li t0, {ncpu}",
    "   bgeu a0, t0, 2f",
    "   la sp, BOOT_STACKS",
    "   addi t1, a0, 1",
    "   slli t0, t1, {stack_shift}",
    "   add sp, sp, t0",
    "   call {start}",
    "2: wfi",
    "   j 2b",
    ncpu = const NCPU,
    stack_shift = const BOOT_STACK_SIZE.trailing_zeros(),
    start = sym start,
);

/// Machine-mode setup; `hartid` and `dtb` are QEMU's a0 and a1.
extern "C" fn start(hartid: usize, dtb: usize) -> ! {
    if hartid == 0 {
        DTB_ADDR.store(dtb, Ordering::Relaxed);
    }
    // SAFETY: this runs once per hart in M-mode before anything else; each write puts the hart
    // in the state `kmain` expects (S-mode, paging off, traps delegated, Sstc timer armed).
    unsafe {
        // mret goes to supervisor mode at kmain.
        let mut ms = csr::mstatus();
        ms &= !(3 << 11);
        ms |= 1 << 11; // MPP = S
        csr::set_mstatus(ms);
        csr::set_mepc(crate::kmain as *const () as usize);
        csr::set_satp(0);
        // Delegate all exceptions and interrupts to S-mode.
        csr::set_medeleg(0xffff);
        csr::set_mideleg(0xffff);
        csr::set_sie(csr::sie() | csr::SIE_SEIE | csr::SIE_STIE | csr::SIE_SSIE);
        // Let S-mode see all of physical memory.
        csr::set_pmpaddr0(0x3f_ffff_ffff_ffff);
        csr::set_pmpcfg0(0xf);
        // Sstc: S-mode owns stimecmp; S and U may read time, cycle, instret.
        csr::set_menvcfg(csr::menvcfg() | (1 << 63));
        csr::set_mcounteren(0b111);
        csr::set_stimecmp(csr::time() as usize + crate::param::TICK_INTERVAL as usize);
        core::arch::asm!("mv tp, {}", in(reg) hartid);
        core::arch::asm!("mret", options(noreturn));
    }
}
