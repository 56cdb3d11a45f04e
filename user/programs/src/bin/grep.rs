//! grep: prints the lines of each named file (or standard input) that match a pattern.
//! Patterns are xv6's small regular expressions: `c` matches itself, `.` any character,
//! `x*` zero or more of x, `^` anchors at the start and `$` at the end of the line.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use alloc::vec::Vec;
use ulib::io::{Bstr, STDIN, STDOUT};
use ulib::{abi, eprintln, fs, Args};

ulib::entry!(main);

fn main(args: Args) -> i32 {
    let Some(pattern) = args.get(1) else {
        eprintln!("usage: grep pattern [file ...]");
        return 1;
    };
    if args.len() == 2 {
        return grep(pattern, STDIN);
    }
    for path in args.iter().skip(2) {
        let Ok(fd) = fs::open(path, abi::O_RDONLY) else {
            eprintln!("grep: cannot open {}", Bstr(path));
            return 1;
        };
        let status = grep(pattern, fd);
        let _ = fs::close(fd);
        if status != 0 {
            return status;
        }
    }
    0
}

/// Prints each line of `fd` that matches `pattern`; a last line without newline counts too.
fn grep(pattern: &[u8], fd: i32) -> i32 {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = match fs::read(fd, &mut buf) {
            Ok(n) => n,
            Err(_) => {
                eprintln!("grep: read error");
                return 1;
            }
        };
        if n == 0 {
            if !pending.is_empty() && matches(pattern, &pending) {
                pending.push(b'\n');
                let _ = fs::write_all(STDOUT, &pending);
            }
            return 0;
        }
        pending.extend_from_slice(&buf[..n]);
        let mut start = 0;
        while let Some(len) = pending[start..].iter().position(|&c| c == b'\n') {
            let line = &pending[start..start + len];
            if matches(pattern, line) {
                let _ = fs::write_all(STDOUT, &pending[start..start + len + 1]);
            }
            start += len + 1;
        }
        pending.drain(..start);
    }
}

/// Does `re` match anywhere in `text`?
fn matches(re: &[u8], text: &[u8]) -> bool {
    if let Some(rest) = re.strip_prefix(b"^") {
        return match_here(rest, text);
    }
    (0..=text.len()).any(|i| match_here(re, &text[i..]))
}

/// Does `re` match at the start of `text`?
fn match_here(re: &[u8], text: &[u8]) -> bool {
    match re {
        [] => true,
        [c, b'*', rest @ ..] => match_star(*c, rest, text),
        [b'$'] => text.is_empty(),
        [c, rest @ ..] => match text.split_first() {
            Some((t, more)) if *c == b'.' || c == t => match_here(rest, more),
            _ => false,
        },
    }
}

/// Does `c* re` match at the start of `text`? (Shortest first, as the classic matcher.)
fn match_star(c: u8, re: &[u8], text: &[u8]) -> bool {
    let mut i = 0;
    loop {
        if match_here(re, &text[i..]) {
            return true;
        }
        if i < text.len() && (c == b'.' || text[i] == c) {
            i += 1;
        } else {
            return false;
        }
    }
}
