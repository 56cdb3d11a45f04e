//! exec_big: a program with 1 MiB of initialized data in its file, which exits with 0 at once
//! without touching it. The large program of the `exec` benchmark: exec of it costs what exec
//! of `exec_tiny` costs when the kernel maps programs lazily, and 1 MiB of copying more when
//! it loads them eagerly.
#![no_std]
#![no_main]

use ulib::Args;

ulib::entry!(main);

/// Non-zero, so it lives in the program file (not in bss).
static DATA: [u8; 1 << 20] = [0x5a; 1 << 20];

fn main(_args: Args) -> i32 {
    // The address only: the data is part of the program without being read.
    core::hint::black_box(DATA.as_ptr());
    0
}
