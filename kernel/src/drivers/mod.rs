//! Device drivers: the 16550 UART and the console line discipline on top of it, the PLIC
//! (interrupt routing), the SiFive test device (power off) and the virtio block disk.

pub mod console;
pub mod plic;
pub mod power;
pub mod uart;
pub mod virtio_blk;
