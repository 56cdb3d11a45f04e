//! ls: lists files and directories as xv6's ls does: one line per entry with the name padded
//! to 14 columns, then type, inode number and size.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use alloc::vec::Vec;
use ulib::io::Bstr;
use ulib::{abi, eprintln, fs, println, Args, Stat};

ulib::entry!(main);

fn main(args: Args) -> i32 {
    if args.len() < 2 {
        return ls(b".");
    }
    let mut status = 0;
    for path in args.iter().skip(1) {
        status |= ls(path);
    }
    status
}

fn ls(path: &[u8]) -> i32 {
    let Ok(fd) = fs::open(path, abi::O_RDONLY) else {
        eprintln!("ls: cannot open {}", Bstr(path));
        return 1;
    };
    let status = match fs::fstat(fd) {
        Err(_) => {
            eprintln!("ls: cannot stat {}", Bstr(path));
            1
        }
        Ok(st) if st.typ == abi::T_DIR => list_dir(fd, path),
        Ok(st) => {
            print_entry(path, &st);
            0
        }
    };
    let _ = fs::close(fd);
    status
}

/// Lists every used entry of the directory open as `fd`, whose path is `dir`.
fn list_dir(fd: i32, dir: &[u8]) -> i32 {
    if dir.len() + 1 + abi::DIRSIZ + 1 > abi::MAXPATH {
        eprintln!("ls: path too long");
        return 1;
    }
    let mut path = Vec::with_capacity(abi::MAXPATH);
    loop {
        let entry = match fs::read_dirent(fd) {
            Ok(Some(e)) => e,
            Ok(None) => return 0,
            Err(_) => {
                eprintln!("ls: cannot read {}", Bstr(dir));
                return 1;
            }
        };
        if entry.inum == 0 {
            continue;
        }
        path.clear();
        path.extend_from_slice(dir);
        path.push(b'/');
        path.extend_from_slice(entry.name());
        match fs::stat(&path) {
            Ok(st) => print_entry(&path, &st),
            Err(_) => eprintln!("ls: cannot stat {}", Bstr(&path)),
        }
    }
}

/// Prints "NAME TYPE INO SIZE", NAME being the last path component padded to DIRSIZ.
fn print_entry(path: &[u8], st: &Stat) {
    let name = match path.iter().rposition(|&c| c == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    };
    let pad = abi::DIRSIZ.saturating_sub(name.len());
    println!("{}{:pad$} {} {} {}", Bstr(name), "", st.typ, st.ino, st.size);
}
