//! ln: gives a file a second name (`ln old new`).
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use ulib::io::Bstr;
use ulib::{eprintln, fs, Args};

ulib::entry!(main);

fn main(args: Args) -> i32 {
    let (Some(old), Some(new), 3) = (args.get(1), args.get(2), args.len()) else {
        eprintln!("Usage: ln old new");
        return 1;
    };
    if fs::link(old, new).is_err() {
        eprintln!("link {} {}: failed", Bstr(old), Bstr(new));
        return 1;
    }
    0
}
