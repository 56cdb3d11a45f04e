//! cat: copies each named file (or standard input when none is named) to standard output.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use ulib::io::{Bstr, STDIN, STDOUT};
use ulib::{abi, eprintln, fs, Args};

ulib::entry!(main);

fn main(args: Args) -> i32 {
    if args.len() <= 1 {
        return copy(STDIN);
    }
    for path in args.iter().skip(1) {
        let Ok(fd) = fs::open(path, abi::O_RDONLY) else {
            eprintln!("cat: cannot open {}", Bstr(path));
            return 1;
        };
        let status = copy(fd);
        let _ = fs::close(fd);
        if status != 0 {
            return status;
        }
    }
    0
}

/// Copies `fd` to standard output until end of file.
fn copy(fd: i32) -> i32 {
    let mut buf = [0u8; 1024];
    loop {
        match fs::read(fd, &mut buf) {
            Ok(0) => return 0,
            Ok(n) => {
                if fs::write_all(STDOUT, &buf[..n]).is_err() {
                    eprintln!("cat: write error");
                    return 1;
                }
            }
            Err(_) => {
                eprintln!("cat: read error");
                return 1;
            }
        }
    }
}
