//! Process start-up and the panic handler.
//!
//! The kernel enters `_start` (placed first in `.text` by `user.ld`) with a0 = argc,
//! a1 = sp = argv, on a one-page stack that has a guard page below it and the (empty) heap
//! right above it. Rust code wants more than 4 KiB of stack, so `_start` first grows the heap
//! eagerly by [`STACK_EXTRA`] bytes and moves sp to the top of that region: the stack then
//! grows down through the new region, into the kernel's stack page and finally into the guard
//! page, so an overflow still faults (after clobbering the argument strings at the top of
//! the original page, which only an overflowing program can reach). If the layout is not the
//! expected one, or the sbrk fails, the program simply runs on the kernel's page.
//!
//! Then `__ulib_start` calls the program's `main` (declared with [`crate::entry!`]) and exits
//! with its result. A panic prints its message to fd 2 and exits with status -1.

use crate::sys;
use core::arch::global_asm;
use core::panic::PanicInfo;

/// Bytes of extra stack that `_start` takes from the heap.
pub const STACK_EXTRA: usize = 16 * 1024;

global_asm!(
    ".pushsection .text.start, \"ax\"",
    ".globl _start",
    "_start:",
    "    mv s0, a0",
    "    mv s1, a1",
    // s2 = end of the page holding argv = the stack top = the expected initial break.
    "    li t0, 4095",
    "    or s2, s1, t0",
    "    addi s2, s2, 1",
    "    li a0, 0",
    "    li a1, {eager}",
    "    li a7, {sbrk}",
    "    ecall",
    "    bne a0, s2, 1f",
    "    li a0, {extra}",
    "    li a1, {eager}",
    "    li a7, {sbrk}",
    "    ecall",
    "    bne a0, s2, 1f",
    "    li t0, {extra}",
    "    add sp, s2, t0",
    "1:",
    "    mv a0, s0",
    "    mv a1, s1",
    "    li fp, 0",
    "    call __ulib_start",
    "2:",
    "    j 2b",
    ".popsection",
    eager = const abi::SBRK_EAGER,
    sbrk = const abi::sys::SBRK,
    extra = const STACK_EXTRA,
);

extern "C" {
    /// The program's main, defined by `ulib::entry!`.
    fn __ulib_main(argc: usize, argv: *const *const u8) -> i32;
}

/// Called by `_start`: runs the program and exits with its status.
#[no_mangle]
extern "C" fn __ulib_start(argc: usize, argv: *const *const u8) -> ! {
    // SAFETY: `__ulib_main` is the safe Rust function `entry!` generates; argc/argv are the
    // kernel's.
    let status = unsafe { __ulib_main(argc, argv) };
    sys::exit(status)
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    crate::eprintln!("{}", info);
    sys::exit(-1)
}
