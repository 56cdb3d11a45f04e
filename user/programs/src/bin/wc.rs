//! wc: counts lines, words and bytes of each named file (or standard input) and prints
//! "lines words bytes name", as xv6's wc does (the name is empty for standard input).
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use ulib::io::{Bstr, STDIN};
use ulib::{abi, eprintln, fs, println, Args};

ulib::entry!(main);

fn main(args: Args) -> i32 {
    if args.len() <= 1 {
        return count(STDIN, b"");
    }
    for path in args.iter().skip(1) {
        let Ok(fd) = fs::open(path, abi::O_RDONLY) else {
            eprintln!("wc: cannot open {}", Bstr(path));
            return 1;
        };
        let status = count(fd, path);
        let _ = fs::close(fd);
        if status != 0 {
            return status;
        }
    }
    0
}

fn count(fd: i32, name: &[u8]) -> i32 {
    let (mut lines, mut words, mut bytes) = (0usize, 0usize, 0usize);
    let mut in_word = false;
    let mut buf = [0u8; 512];
    loop {
        let n = match fs::read(fd, &mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) => {
                eprintln!("wc: read error");
                return 1;
            }
        };
        for &c in &buf[..n] {
            bytes += 1;
            if c == b'\n' {
                lines += 1;
            }
            if matches!(c, b' ' | b'\r' | b'\t' | b'\n' | 0x0b) {
                in_word = false;
            } else if !in_word {
                words += 1;
                in_word = true;
            }
        }
    }
    println!("{} {} {} {}", lines, words, bytes, Bstr(name));
    0
}
