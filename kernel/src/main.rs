//! The kernel: an xv6-compatible operating system for RISC-V (QEMU `virt`), in Rust.
//!
//! Boot path: `arch::start` (machine mode, every hart) → `kmain` (supervisor mode). Hart 0
//! reads the device tree, sets up memory, devices and the first process; the other harts wait
//! for it, then every hart enters the scheduler. See the README's map for the module layout.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

mod arch;
mod boot;
mod drivers;
mod fs;
mod mm;
mod param;
mod proc;
mod sync;
mod syscall;
mod vm;

use arch::csr;
use core::sync::atomic::{AtomicBool, Ordering};

static STARTED: AtomicBool = AtomicBool::new(false);

extern "C" {
    static end: u8;
}

/// Supervisor-mode entry of every hart (from `arch::start` via mret).
#[no_mangle]
pub extern "C" fn kmain() -> ! {
    let hart = arch::cpu::hart_id();
    if hart == 0 {
        let dtb = arch::start::DTB_ADDR.load(Ordering::Relaxed);
        boot::parse(dtb);
        drivers::uart::init();
        let (ram_start, ram_end, harts) = boot::memory();
        // SAFETY: `end` is a linker symbol; only its address is used.
        let kernel_end = unsafe { &end as *const u8 as usize };
        // Keep the device tree out of the allocators if it sits above the kernel.
        let dtb_len = boot::dtb_size(dtb);
        let usable_end = if dtb >= kernel_end && dtb < ram_end { dtb & !0xfff } else { ram_end };
        let _ = dtb_len;
        let ram = usable_end - kernel_end;
        let heap_size = (ram / 8).clamp(4 << 20, 64 << 20) & !0xfff;
        let heap_start = (kernel_end + 0xfff) & !0xfff;
        // SAFETY: [heap_start, heap_start + heap_size) is RAM above the kernel image, unused.
        unsafe { mm::heap::init(heap_start, heap_size) };
        mm::frame::init(heap_start + heap_size, usable_end);
        println!();
        println!(
            "vmos: booting on {} hart(s), {} MiB RAM at {:#x}, {} free pages",
            harts,
            (ram_end - ram_start) >> 20,
            ram_start,
            mm::frame::free_count()
        );
        mm::kvm::init(ram_end);
        mm::kvm::init_hart();
        proc::init();
        arch::trap::init_hart();
        drivers::plic::init();
        drivers::plic::init_hart(hart);
        drivers::virtio_blk::init();
        proc::user_init();
        STARTED.store(true, Ordering::Release);
    } else {
        while !STARTED.load(Ordering::Acquire) {
            core::hint::spin_loop();
        }
        mm::kvm::init_hart();
        arch::trap::init_hart();
        drivers::plic::init_hart(hart);
    }
    // SAFETY: scounteren only grants user mode read access to time, cycle and instret.
    unsafe { csr::set_scounteren(0b111) };
    proc::scheduler();
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    csr::intr_off();
    drivers::console::print_panic(format_args!("\nkernel panic (hart {}): {}\n", arch::cpu::hart_id(), info));
    drivers::power::poweroff(101)
}
