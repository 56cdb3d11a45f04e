//! kill: asks the kernel to kill each process named by pid.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use ulib::io::Bstr;
use ulib::{eprintln, process, Args};

ulib::entry!(main);

fn main(args: Args) -> i32 {
    if args.len() < 2 {
        eprintln!("usage: kill pid...");
        return 1;
    }
    let mut status = 0;
    for a in args.iter().skip(1) {
        let pid = core::str::from_utf8(a).ok().and_then(|s| s.parse::<i32>().ok());
        match pid {
            Some(pid) if process::kill(pid).is_ok() => {}
            _ => {
                eprintln!("kill: {} failed", Bstr(a));
                status = 1;
            }
        }
    }
    status
}
