//! The kernel's page table: devices, the kernel image and all RAM identity-mapped, the
//! trampoline at the top, and each process's kernel stack below it with an unmapped guard
//! page beneath every stack. Built once by hart 0, installed on every hart.

use super::addr::{pa, va, PhysAddr, VirtAddr, PGSIZE};
use super::pagetable::{PageTable, PteFlags};
use crate::arch::{csr, trampoline};
use crate::param::{KSTACK_PAGES, NPROC};
use alloc::boxed::Box;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

pub const UART0: usize = 0x1000_0000;
pub const VIRTIO0: usize = 0x1000_1000;
pub const PLIC: usize = 0x0c00_0000;
pub const TEST_DEVICE: usize = 0x10_0000;
pub const KERNBASE: usize = 0x8000_0000;

static KERNEL_SATP: AtomicUsize = AtomicUsize::new(0);
/// The kernel page table: set once by `init` (a leaked box, never freed or changed again).
static KERNEL_PT: AtomicPtr<PageTable> = AtomicPtr::new(core::ptr::null_mut());

extern "C" {
    static etext: u8;
}

/// Top of the kernel stack of process slot `i` (the stack grows down from here).
pub fn kstack_top(i: usize) -> usize {
    abi::TRAMPOLINE - i * (KSTACK_PAGES + 1) * PGSIZE
}

/// The process slot whose kernel stack holds the stack pointer `sp`, if any (the scheduler
/// and boot run on other stacks).
pub fn kstack_slot(sp: usize) -> Option<usize> {
    let below_top = abi::TRAMPOLINE.checked_sub(sp)?;
    let stride = (KSTACK_PAGES + 1) * PGSIZE;
    let slot = below_top / stride;
    (slot < NPROC && below_top % stride <= KSTACK_PAGES * PGSIZE).then_some(slot)
}

/// Builds the kernel page table for RAM [KERNBASE, phys_top).
///
/// # Panics
/// If memory runs out while building it (the machine is unusably small).
pub fn init(phys_top: usize) {
    let mut pt = PageTable::new().expect("kvm: no memory");
    let rw = PteFlags::R | PteFlags::W;
    let mut map = |va: usize, size: usize, flags: PteFlags| {
        pt.map(self::va(va), pa(va), size, flags).expect("kvm: no memory");
    };
    map(TEST_DEVICE, PGSIZE, rw);
    map(UART0, PGSIZE, rw);
    map(VIRTIO0, PGSIZE, rw);
    map(PLIC, 0x40_0000, rw);
    // SAFETY: `etext` is a linker symbol; only its address is used.
    let text_end = unsafe { &etext as *const u8 as usize };
    map(KERNBASE, text_end - KERNBASE, PteFlags::R | PteFlags::X);
    map(text_end, phys_top - text_end, rw);
    let tramp = trampoline::trampoline_start as *const () as usize;
    pt.map(va(abi::TRAMPOLINE), pa(tramp), PGSIZE, PteFlags::R | PteFlags::X).expect("kvm: no memory");
    // Each stack is physically contiguous (one heap block), so a buffer on a kernel stack is
    // contiguous for devices too (see `translate`).
    for i in 0..NPROC {
        let size = KSTACK_PAGES * PGSIZE;
        let layout = core::alloc::Layout::from_size_align(size, PGSIZE).expect("kstack layout");
        // SAFETY: non-zero size; the block is never freed (stacks live forever).
        let block = unsafe { alloc::alloc::alloc_zeroed(layout) } as usize;
        assert!(block != 0, "kvm: no memory for kernel stacks");
        pt.map(va(kstack_top(i) - size), pa(block), size, rw).expect("kvm: no memory");
    }
    KERNEL_SATP.store(pt.satp(), Ordering::Relaxed);
    // The table lives forever: leaked, so its Drop (which frees tables) never runs.
    KERNEL_PT.store(Box::leak(Box::new(pt)), Ordering::Release);
}

/// Switches this hart to the kernel page table.
pub fn init_hart() {
    // SAFETY: the kernel page table identity-maps the kernel image and RAM, so the code and
    // stack in use stay mapped.
    unsafe { csr::set_satp(KERNEL_SATP.load(Ordering::Relaxed)) };
}

/// The physical address behind kernel virtual address `va` (identity-mapped RAM, or a kernel
/// stack mapped high), or `None` if unmapped.
pub fn translate(va: usize) -> Option<PhysAddr> {
    let pt = KERNEL_PT.load(Ordering::Acquire);
    assert!(!pt.is_null(), "kvm::translate before kvm::init");
    // SAFETY: a non-null pointer is the leaked box `init` stored: valid forever, and never
    // changed after `init` (only shared references to it exist).
    let pt = unsafe { &*pt };
    pt.translate(VirtAddr::new(va)?)
}

/// `satp` value of the kernel page table.
pub fn kernel_satp() -> usize {
    KERNEL_SATP.load(Ordering::Relaxed)
}
