//! exec_tiny: exits with 0 at once. The small program of the `exec` benchmark.
#![no_std]
#![no_main]

use ulib::Args;

ulib::entry!(main);

fn main(_args: Args) -> i32 {
    0
}
