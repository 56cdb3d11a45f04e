//! The platform-level interrupt controller: routes the UART and virtio disk interrupts to the
//! supervisor context of every hart (whichever hart claims one serves it).

use crate::mm::kvm::PLIC;
use core::ptr::{read_volatile, write_volatile};

pub const UART0_IRQ: u32 = 10;
pub use super::virtio_blk::VIRTIO0_IRQ;

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
    w(VIRTIO0_IRQ as usize * 4, 1);
}

/// Enables the device interrupts for this hart's supervisor context.
pub fn init_hart(hart: usize) {
    w(0x2080 + hart * 0x100, (1 << UART0_IRQ) | (1 << VIRTIO0_IRQ));
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
