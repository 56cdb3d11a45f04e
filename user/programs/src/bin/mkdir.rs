//! mkdir: creates each named directory.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use ulib::io::Bstr;
use ulib::{eprintln, fs, Args};

ulib::entry!(main);

fn main(args: Args) -> i32 {
    if args.len() < 2 {
        eprintln!("Usage: mkdir files...");
        return 1;
    }
    for path in args.iter().skip(1) {
        if fs::mkdir(path).is_err() {
            eprintln!("mkdir: {} failed to create", Bstr(path));
            return 1;
        }
    }
    0
}
