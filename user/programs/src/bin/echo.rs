//! echo: writes its arguments separated by spaces and ended by a newline, in one write.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use alloc::vec::Vec;
use ulib::{eprintln, fs, io, Args};

ulib::entry!(main);

fn main(args: Args) -> i32 {
    let mut line = Vec::new();
    for (i, a) in args.iter().skip(1).enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        line.extend_from_slice(a);
    }
    line.push(b'\n');
    if fs::write_all(io::STDOUT, &line).is_err() {
        eprintln!("echo: write error");
        return 1;
    }
    0
}
