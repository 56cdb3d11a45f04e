//! The platform-level interrupt controller: routes the UART and virtio interrupts to the
//! supervisor context of every hart.

use crate::mm::kvm::PLIC;
use core::ptr::{read_volatile, write_volatile};

pub const UART0_IRQ: u32 = 10;

fn w(off: usize, v: u32) {
    // SAFETY: PLIC registers are identity-mapped MMIO.
    unsafe { write_volatile((PLIC + off) as *mut u32, v) }
}

fn r(off: usize) -> u32 {
    // SAFETY: as above.
    unsafe { read_volatile((PLIC + off) as *const u32) }
}

/// Gives the device interrupts a non-zero priority. Once, on hart 0.
pub fn init() {
    w(UART0_IRQ as usize * 4, 1);
}

/// Enables the device interrupts for this hart's supervisor context.
pub fn init_hart(hart: usize) {
    // The disk is polled (see virtio_blk.rs), so only the UART interrupts.
    w(0x2080 + hart * 0x100, 1 << UART0_IRQ);
    w(0x20_1000 + hart * 0x2000, 0);
}

/// The pending interrupt this hart should serve (0 if none).
pub fn claim(hart: usize) -> u32 {
    r(0x20_1004 + hart * 0x2000)
}

/// Tells the PLIC this hart finished with `irq`.
pub fn complete(hart: usize, irq: u32) {
    w(0x20_1004 + hart * 0x2000, irq);
}
