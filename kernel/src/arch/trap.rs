//! Trap handling. From user mode: system calls, device and timer interrupts, and faults (page
//! faults go to the address space; anything it cannot resolve kills the process with one
//! diagnostic line). From kernel mode: device and timer interrupts only; a kernel exception is
//! a kernel bug and panics.

use super::cpu;
use super::csr;
use super::trampoline::{trampoline_va, userret, uservec};
use crate::drivers::{plic, uart, virtio_blk};
use crate::mm::kvm;
use crate::proc;
use crate::vm::Access;
use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};

const INTERRUPT: usize = 1 << 63;
const IRQ_SUPERVISOR_TIMER: usize = 5;
const IRQ_SUPERVISOR_EXTERNAL: usize = 9;
const EXC_INSTRUCTION_ACCESS: usize = 1;
const EXC_ILLEGAL_INSTRUCTION: usize = 2;
const EXC_BREAKPOINT: usize = 3;
const EXC_LOAD_ACCESS: usize = 5;
const EXC_STORE_ACCESS: usize = 7;
const EXC_ECALL_U: usize = 8;
const EXC_INSTRUCTION_PAGE_FAULT: usize = 12;
const EXC_LOAD_PAGE_FAULT: usize = 13;
const EXC_STORE_PAGE_FAULT: usize = 15;

/// Timer ticks since boot (counted by hart 0).
static TICKS: AtomicU64 = AtomicU64::new(0);
static TICKS_LOCK: crate::sync::SpinLock<()> = crate::sync::SpinLock::new("ticks", ());

/// Ticks since boot.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// Sleeps until `n` ticks have passed; fails early if the process is killed.
pub fn sleep_ticks(n: u64) -> Result<(), abi::Errno> {
    let mut g = TICKS_LOCK.lock();
    let start = ticks();
    while ticks() - start < n {
        if proc::current().killed() {
            return Err(abi::Errno::Io);
        }
        g = proc::sleep(&TICKS as *const _ as usize, g);
    }
    Ok(())
}

global_asm!(
    ".align 4",
    ".globl kernelvec",
    "kernelvec:",
    "   addi sp, sp, -256",
    "   sd ra, 0(sp)",
    "   sd gp, 16(sp)",
    "   sd t0, 32(sp)",
    "   sd t1, 40(sp)",
    "   sd t2, 48(sp)",
    "   sd a0, 72(sp)",
    "   sd a1, 80(sp)",
    "   sd a2, 88(sp)",
    "   sd a3, 96(sp)",
    "   sd a4, 104(sp)",
    "   sd a5, 112(sp)",
    "   sd a6, 120(sp)",
    "   sd a7, 128(sp)",
    "   sd t3, 216(sp)",
    "   sd t4, 224(sp)",
    "   sd t5, 232(sp)",
    "   sd t6, 240(sp)",
    "   call {kernel_trap}",
    "   ld ra, 0(sp)",
    "   ld gp, 16(sp)",
    "   ld t0, 32(sp)",
    "   ld t1, 40(sp)",
    "   ld t2, 48(sp)",
    "   ld a0, 72(sp)",
    "   ld a1, 80(sp)",
    "   ld a2, 88(sp)",
    "   ld a3, 96(sp)",
    "   ld a4, 104(sp)",
    "   ld a5, 112(sp)",
    "   ld a6, 120(sp)",
    "   ld a7, 128(sp)",
    "   ld t3, 216(sp)",
    "   ld t4, 224(sp)",
    "   ld t5, 232(sp)",
    "   ld t6, 240(sp)",
    "   addi sp, sp, 256",
    "   sret",
    kernel_trap = sym kernel_trap,
);

extern "C" {
    fn kernelvec();
}

/// Installs the kernel trap vector on this hart.
pub fn init_hart() {
    // SAFETY: kernelvec is a valid, 4-byte-aligned trap entry.
    unsafe { csr::set_stvec(kernelvec as *const () as usize) };
}

/// Arms this hart's next timer interrupt.
fn set_next_timer() {
    // SAFETY: Sstc is enabled in `start`; writing stimecmp only schedules an interrupt.
    unsafe { csr::set_stimecmp((csr::time() + crate::param::TICK_INTERVAL) as usize) };
}

/// What kind of interrupt, if any, was handled.
#[derive(PartialEq, Eq)]
enum Device {
    None,
    Timer,
    Other,
}

/// Handles a device or timer interrupt described by `scause`.
fn device_interrupt(scause: usize) -> Device {
    if scause == INTERRUPT | IRQ_SUPERVISOR_EXTERNAL {
        let hart = cpu::hart_id();
        let irq = plic::claim(hart);
        if irq == plic::UART0_IRQ {
            uart::interrupt();
        } else if irq == plic::VIRTIO0_IRQ {
            virtio_blk::interrupt();
        }
        if irq != 0 {
            plic::complete(hart, irq);
        }
        Device::Other
    } else if scause == INTERRUPT | IRQ_SUPERVISOR_TIMER {
        if cpu::hart_id() == 0 {
            let _g = TICKS_LOCK.lock();
            TICKS.fetch_add(1, Ordering::Relaxed);
            proc::wakeup(&TICKS as *const _ as usize);
        }
        set_next_timer();
        Device::Timer
    } else {
        Device::None
    }
}

fn fault_name(scause: usize) -> &'static str {
    match scause {
        EXC_INSTRUCTION_ACCESS => "instruction access fault",
        EXC_ILLEGAL_INSTRUCTION => "illegal instruction",
        EXC_BREAKPOINT => "breakpoint",
        EXC_LOAD_ACCESS => "load access fault",
        EXC_STORE_ACCESS => "store access fault",
        EXC_INSTRUCTION_PAGE_FAULT => "instruction page fault",
        EXC_LOAD_PAGE_FAULT => "load page fault",
        EXC_STORE_PAGE_FAULT => "store page fault",
        _ => "unexpected trap",
    }
}

/// The cause a process is killed for when its page fault found no memory.
fn oom_name(scause: usize) -> &'static str {
    match scause {
        EXC_INSTRUCTION_PAGE_FAULT => "out of memory at an instruction page fault",
        EXC_LOAD_PAGE_FAULT => "out of memory at a load page fault",
        _ => "out of memory at a store page fault",
    }
}

/// Entered from `uservec` (on the process's kernel stack, kernel page table).
extern "C" fn user_trap() -> ! {
    assert!(csr::sstatus() & csr::SSTATUS_SPP == 0, "user_trap: not from user mode");
    super::tlb::left_user();
    init_hart(); // later traps come from kernel mode
    let p = proc::current();
    let epc = csr::sepc();
    proc::with_trapframe(|tf| tf.epc = epc);
    let scause = csr::scause();
    let mut dev = Device::None;
    if scause == EXC_ECALL_U {
        if p.killed() {
            proc::exit(-1);
        }
        proc::with_trapframe(|tf| tf.epc += 4);
        csr::intr_on();
        crate::syscall::dispatch();
    } else {
        dev = device_interrupt(scause);
        if dev == Device::None {
            let stval = csr::stval();
            let access = match scause {
                EXC_LOAD_PAGE_FAULT => Some(Access::Read),
                EXC_STORE_PAGE_FAULT => Some(Access::Write),
                EXC_INSTRUCTION_PAGE_FAULT => Some(Access::Exec),
                _ => None,
            };
            // A fault may read the disk and reclaim memory: like a system call, it runs with
            // interrupts on (sepc, scause and stval are saved above, before a nested kernel
            // trap could change them).
            let result = access.map(|a| {
                csr::intr_on();
                crate::vm::fault::handle(stval, a)
            });
            match result {
                Some(Ok(())) => {}
                // The access was allowed, but no page could be had for it (a zero-fill, a
                // file page or a copy-on-write copy) even after reclaim.
                Some(Err(abi::Errno::NoMem)) => proc::kill_current(oom_name(scause), epc, stval),
                _ => proc::kill_current(fault_name(scause), epc, stval),
            }
        }
    }
    if p.killed() {
        proc::exit(-1);
    }
    if dev == Device::Timer {
        proc::yield_now();
    }
    user_trap_return();
}

/// Returns to user space in the current process.
pub fn user_trap_return() -> ! {
    csr::intr_off();
    // SAFETY: uservec's trampoline address is mapped in every user page table.
    unsafe { csr::set_stvec(trampoline_va(uservec)) };
    let (kstack, satp) = proc::user_return_info();
    let epc = proc::with_trapframe(|tf| {
        tf.kernel_satp = kvm::kernel_satp();
        tf.kernel_sp = kstack;
        tf.kernel_trap = user_trap as *const () as usize;
        tf.kernel_hartid = cpu::hart_id();
        tf.epc
    });
    let mut s = csr::sstatus();
    s &= !csr::SSTATUS_SPP; // to user mode
    s |= csr::SSTATUS_SPIE; // interrupts on in user mode
                            // SAFETY: sstatus/sepc set up the return to user mode at the saved pc.
    unsafe {
        csr::set_sstatus(s);
        csr::set_sepc(epc);
    }
    let f: extern "C" fn(usize) -> ! =
        // SAFETY: userret is mapped at this trampoline address and takes the satp in a0.
        unsafe { core::mem::transmute(trampoline_va(userret)) };
    super::tlb::entering_user();
    f(satp)
}

/// Traps taken in supervisor mode (via `kernelvec`, on the current kernel stack).
extern "C" fn kernel_trap() {
    let sepc = csr::sepc();
    let sstatus = csr::sstatus();
    let scause = csr::scause();
    assert!(sstatus & csr::SSTATUS_SPP != 0, "kernel_trap: not from supervisor mode");
    assert!(!csr::intr_get(), "kernel_trap: interrupts enabled");
    let dev = device_interrupt(scause);
    if dev == Device::None {
        panic!(
            "kernel trap: {} (scause {:#x}) at pc {:#x}, stval {:#x}",
            fault_name(scause),
            scause,
            sepc,
            csr::stval()
        );
    }
    if dev == Device::Timer && proc::try_current().is_some() {
        proc::yield_now();
    }
    // yield may have clobbered sepc and sstatus.
    // SAFETY: restoring the values this trap arrived with.
    unsafe {
        csr::set_sepc(sepc);
        csr::set_sstatus(sstatus);
    }
}
