//! The 16550 UART at `UART0`: polled output, interrupt-driven input (PLIC irq 10).

use crate::mm::kvm::UART0;
use core::ptr::{read_volatile, write_volatile};

const RHR: usize = 0; // receive holding
const THR: usize = 0; // transmit holding
const IER: usize = 1; // interrupt enable
const FCR: usize = 2; // FIFO control
const LCR: usize = 3; // line control
const LSR: usize = 5; // line status
const LSR_RX_READY: u8 = 1;
const LSR_TX_IDLE: u8 = 1 << 5;

fn reg(r: usize) -> *mut u8 {
    (UART0 + r) as *mut u8
}

fn read_reg(r: usize) -> u8 {
    // SAFETY: UART0 is the identity-mapped 16550's register block.
    unsafe { read_volatile(reg(r)) }
}

fn write_reg(r: usize, v: u8) {
    // SAFETY: as above.
    unsafe { write_volatile(reg(r), v) }
}

/// Sets 38400 baud, 8N1, FIFOs on, receive interrupts on.
pub fn init() {
    write_reg(IER, 0);
    write_reg(LCR, 0x80); // divisor latch
    write_reg(0, 3);
    write_reg(1, 0);
    write_reg(LCR, 3); // 8 bits, no parity
    write_reg(FCR, 0x7); // enable and clear FIFOs
    write_reg(IER, 1); // receive interrupts
}

/// Writes one byte, spinning until the transmitter has room.
pub fn putc(c: u8) {
    while read_reg(LSR) & LSR_TX_IDLE == 0 {
        core::hint::spin_loop();
    }
    write_reg(THR, c);
}

/// A received byte, if any.
pub fn getc() -> Option<u8> {
    if read_reg(LSR) & LSR_RX_READY != 0 {
        Some(read_reg(RHR))
    } else {
        None
    }
}

/// UART interrupt: feed every received byte to the console.
pub fn interrupt() {
    while let Some(c) = getc() {
        super::console::input(c);
    }
}
