//! stressfs: several processes at once create, write, read back and delete their own files,
//! so that the file system's locking and logging are exercised concurrently. Prints
//! "stressfs ok" and exits 0 when every child found its data intact.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use alloc::vec;
use ulib::io::STDOUT;
use ulib::process::{self, Fork};
use ulib::{abi, eprintln, fs, println, Args};

ulib::entry!(main);

const WORKERS: usize = 4;
const ROUNDS: usize = 3;
const CHUNKS: usize = 40;
const CHUNK: usize = 512;

fn main(_args: Args) -> i32 {
    println!("stressfs starting");
    let mut pids = [0i32; WORKERS];
    for (i, slot) in pids.iter_mut().enumerate() {
        match process::fork() {
            Ok(Fork::Child) => process::exit(worker(i)),
            Ok(Fork::Parent(pid)) => *slot = pid,
            Err(_) => {
                eprintln!("stressfs: fork failed");
                return 1;
            }
        }
    }
    let mut failed = false;
    match process::wait_all(&pids) {
        Ok(statuses) => {
            for (pid, status) in pids.iter().zip(statuses) {
                if status != 0 {
                    eprintln!("stressfs: worker {} exited with {}", pid, status);
                    failed = true;
                }
            }
        }
        Err(_) => {
            eprintln!("stressfs: wait failed");
            failed = true;
        }
    }
    if failed {
        println!("stressfs failed");
        return 1;
    }
    let _ = fs::write_all(STDOUT, b"stressfs ok\n");
    0
}

/// The byte at `pos` of chunk `chunk` written by worker `id`.
fn pattern(id: usize, chunk: usize, pos: usize) -> u8 {
    (id * 31 + chunk * 7 + pos) as u8
}

/// One worker: `ROUNDS` times, write a file of `CHUNKS` chunks, read and check it, delete it.
fn worker(id: usize) -> i32 {
    let name = [b's', b't', b'r', b'e', b's', b's', b'f', b's', b'0' + id as u8];
    let mut buf = vec![0u8; CHUNK];
    for round in 0..ROUNDS {
        let Ok(fd) = fs::open(name, abi::O_CREATE | abi::O_RDWR | abi::O_TRUNC) else {
            eprintln!("stressfs: worker {} round {}: create failed", id, round);
            return 1;
        };
        for chunk in 0..CHUNKS {
            for (pos, b) in buf.iter_mut().enumerate() {
                *b = pattern(id, chunk, pos);
            }
            if fs::write_all(fd, &buf).is_err() {
                eprintln!("stressfs: worker {} chunk {}: write failed", id, chunk);
                return 1;
            }
        }
        let _ = fs::close(fd);
        let Ok(fd) = fs::open(name, abi::O_RDONLY) else {
            eprintln!("stressfs: worker {}: reopen failed", id);
            return 1;
        };
        for chunk in 0..CHUNKS {
            match fs::read_full(fd, &mut buf) {
                Ok(CHUNK) => {}
                other => {
                    eprintln!("stressfs: worker {} chunk {}: read gave {:?}", id, chunk, other);
                    return 1;
                }
            }
            if let Some(pos) = (0..CHUNK).find(|&p| buf[p] != pattern(id, chunk, p)) {
                eprintln!("stressfs: worker {} chunk {} byte {}: wrong data", id, chunk, pos);
                return 1;
            }
        }
        let _ = fs::close(fd);
        if fs::unlink(name).is_err() {
            eprintln!("stressfs: worker {}: unlink failed", id);
            return 1;
        }
    }
    0
}
