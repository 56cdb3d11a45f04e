//! crashwork: the workload of the crash-consistency test (tests/crash.rs). It builds a tree
//! under /cw, round after round: directories, many small files, a big file (3 MiB, through
//! the doubly-indirect block), unlink of the previous round's big file, O_TRUNC of a small
//! and of a big file, MAP_SHARED pages written back at munmap and at exit, files written by
//! concurrent processes, and a file unlinked while still open.
//!
//! Every file's content is the deterministic pattern of [`pattern`] (derived from its path
//! and the offset), so the host can check it in the image. Before an operation it prints
//! `begin PATH`; after the call returned, `ok file PATH SIZE`, `ok dir PATH` or
//! `ok gone PATH`. The host kills QEMU at some point, reboots, and expects every `ok` to hold
//! unless a later `begin` names the same path. Operations run one at a time (the concurrent
//! children's files are reported by the parent once all of them have exited), so when a
//! line is printed no other transaction is open and the operation's last one has committed.
//!
//! Usage: `crashwork [ROUNDS]` (default 3).
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use ulib::process::{self, Fork};
use ulib::{abi, eprintln, fs, memory, println, Args};

ulib::entry!(main);

/// The FNV-1a hash of a path: the seed of its content. Must match tests/crash.rs.
fn seed(path: &str) -> u32 {
    path.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// Byte `off` of every file whose seed is `seed`. Must match tests/crash.rs.
fn pattern(seed: u32, off: usize) -> u8 {
    let mut x = seed ^ ((off / 4) as u32).wrapping_mul(0x9e37_79b9);
    x ^= x >> 15;
    x = x.wrapping_mul(0x2c1b_3c6d);
    x ^= x >> 12;
    (x >> (8 * (off % 4))) as u8
}

fn fill(path: &str, start: usize, buf: &mut [u8]) {
    let s = seed(path);
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern(s, start + i);
    }
}

type Step = Result<(), String>;

fn fail(what: &str, path: &str) -> String {
    format!("{what} {path} failed")
}

/// Writes `size` bytes of `path`'s pattern at the current offset of `fd`, from `from`.
fn write_pattern(fd: i32, path: &str, from: usize, size: usize) -> Step {
    let mut buf = vec![0u8; 32 * 1024];
    let mut off = from;
    while off < from + size {
        let n = buf.len().min(from + size - off);
        fill(path, off, &mut buf[..n]);
        fs::write_all(fd, &buf[..n]).map_err(|_| fail("write", path))?;
        off += n;
    }
    Ok(())
}

/// Creates (or truncates) `path` with `size` bytes of its pattern.
fn make_file(path: &str, size: usize) -> Step {
    println!("begin {}", path);
    let fd =
        fs::open(path, abi::O_CREATE | abi::O_TRUNC | abi::O_WRONLY).map_err(|_| fail("create", path))?;
    let r = write_pattern(fd, path, 0, size);
    let _ = fs::close(fd);
    r?;
    println!("ok file {} {}", path, size);
    Ok(())
}

fn make_dir(path: &str) -> Step {
    println!("begin {}", path);
    fs::mkdir(path).map_err(|_| fail("mkdir", path))?;
    println!("ok dir {}", path);
    Ok(())
}

fn remove(path: &str) -> Step {
    println!("begin {}", path);
    fs::unlink(path).map_err(|_| fail("unlink", path))?;
    println!("ok gone {}", path);
    Ok(())
}

/// Creates `path` as `size` zero bytes, maps it shared and stores its pattern through the
/// mapping. With `exit_child`, a child does the stores and exits without munmap (exit
/// writes the pages back); otherwise munmap does.
fn mapped_file(path: &str, size: usize, exit_child: bool) -> Step {
    println!("begin {}", path);
    let fd = fs::open(path, abi::O_CREATE | abi::O_TRUNC | abi::O_RDWR).map_err(|_| fail("create", path))?;
    let zeros = vec![0u8; size];
    let written = fs::write_all(fd, &zeros);
    drop(zeros);
    // SAFETY: a fresh mapping placed by the kernel holds no Rust object.
    let mapped = unsafe { memory::mmap(0, size, abi::PROT_READ | abi::PROT_WRITE, abi::MAP_SHARED, fd, 0) };
    let _ = fs::close(fd);
    written.map_err(|_| fail("write", path))?;
    let base = mapped.map_err(|_| fail("mmap", path))?;
    let store = || {
        // SAFETY: [base, base + size) is the writable mapping made above; no Rust object
        // lives there.
        let bytes = unsafe { core::slice::from_raw_parts_mut(base as *mut u8, size) };
        fill(path, 0, bytes);
    };
    if exit_child {
        match process::fork() {
            Ok(Fork::Child) => {
                store();
                process::exit(0);
            }
            Ok(Fork::Parent(pid)) => {
                if process::wait_pid(pid) != Ok(0) {
                    return Err(fail("child of", path));
                }
            }
            Err(_) => return Err(fail("fork for", path)),
        }
    } else {
        store();
    }
    // SAFETY: nothing refers to the mapping any more.
    unsafe { memory::munmap(base, size) }.map_err(|_| fail("munmap", path))?;
    println!("ok file {} {}", path, size);
    Ok(())
}

/// Writes `size` bytes of pattern to `path`, unlinks it while open, writes as much again,
/// then closes it: the inode is an orphan until the close.
fn open_unlinked(path: &str, size: usize) -> Step {
    println!("begin {}", path);
    let fd = fs::open(path, abi::O_CREATE | abi::O_TRUNC | abi::O_RDWR).map_err(|_| fail("create", path))?;
    let r = write_pattern(fd, path, 0, size)
        .and_then(|()| fs::unlink(path).map_err(|_| fail("unlink", path)))
        .and_then(|()| write_pattern(fd, path, size, size));
    let _ = fs::close(fd);
    r?;
    println!("ok gone {}", path);
    Ok(())
}

const WORKERS: usize = 3;
const WORKER_FILES: usize = 4;

fn worker_path(dir: &str, w: usize, k: usize) -> String {
    format!("{dir}/c{w}_{k}")
}

/// Runs `WORKERS` processes at once, each writing its own files; reports them when all are
/// done.
fn concurrent(dir: &str) -> Step {
    let mut pids = [0i32; WORKERS];
    for (w, slot) in pids.iter_mut().enumerate() {
        match process::fork() {
            Ok(Fork::Child) => {
                for k in 0..WORKER_FILES {
                    let path = worker_path(dir, w, k);
                    let size = 7000 + 3000 * k + 1000 * w;
                    let fd = match fs::open(&path, abi::O_CREATE | abi::O_WRONLY) {
                        Ok(fd) => fd,
                        Err(_) => process::exit(1),
                    };
                    let r = write_pattern(fd, &path, 0, size);
                    let _ = fs::close(fd);
                    if r.is_err() {
                        process::exit(1);
                    }
                    println!("done {}", path);
                }
                process::exit(0);
            }
            Ok(Fork::Parent(pid)) => *slot = pid,
            Err(_) => return Err(String::from("fork failed")),
        }
    }
    let statuses = process::wait_all(&pids).map_err(|_| String::from("wait failed"))?;
    if statuses.iter().any(|&s| s != 0) {
        return Err(String::from("a concurrent worker failed"));
    }
    for w in 0..WORKERS {
        for k in 0..WORKER_FILES {
            println!("ok file {} {}", worker_path(dir, w, k), 7000 + 3000 * k + 1000 * w);
        }
    }
    Ok(())
}

fn round(r: usize) -> Step {
    let dir = format!("/cw/r{r}");
    make_dir(&dir)?;
    make_dir(&format!("{dir}/sub"))?;
    for k in 0..12 {
        let sub = if k % 2 == 0 { "" } else { "/sub" };
        make_file(&format!("{dir}{sub}/s{k}"), (k * 1237 + r * 311) % 4000)?;
    }
    make_file(&format!("{dir}/big"), 3 * 1024 * 1024 + r * 123)?;
    if r > 0 {
        remove(&format!("/cw/r{}/big", r - 1))?;
    }
    make_file(&format!("{dir}/s1"), 5000)?;
    make_file(&format!("{dir}/tr"), 1536 * 1024)?;
    make_file(&format!("{dir}/tr"), 2000)?;
    mapped_file(&format!("{dir}/m1"), 64 * 1024, false)?;
    mapped_file(&format!("{dir}/m2"), 48 * 1024, true)?;
    concurrent(&dir)?;
    remove(&format!("{dir}/s2"))?;
    open_unlinked(&format!("{dir}/o"), 512 * 1024)?;
    Ok(())
}

fn main(args: Args) -> i32 {
    let rounds = args.get_str(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let r = make_dir("/cw").and_then(|()| (0..rounds).try_for_each(round));
    match r {
        Ok(()) => {
            println!("crashwork done");
            0
        }
        Err(msg) => {
            eprintln!("crashwork: {}", msg);
            1
        }
    }
}
