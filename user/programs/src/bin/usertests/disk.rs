//! The disk path: while a process waits for the disk, another runs.
//!
//! `diskoverlap`: a child counts in a shared page while the parent reads a cold 128 KiB file
//! (one request). A round is *evidence* when the count grew during the read and at most one
//! timer tick passed: on one hart, a kernel that keeps the CPU during disk I/O (polling) can
//! only let the child run by a tick preempting the parent and a later tick preempting the
//! child, two ticks inside the read; a kernel that sleeps lets the child run from the sleep
//! to the next tick. A round may not be evidence (a tick falls inside the read, or the device
//! finishes the request before the parent looks, which on a loaded host is the common case:
//! about one round in seven sleeps there), so the case tries up to `ROUNDS` fresh cold files
//! and stops at the first evidence; it fails when none was. With several harts the child
//! runs elsewhere and the first round is evidence.

use crate::util::{spawn, wait_for, Ctx, TestResult};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use ulib::{abi, fs, println, process};

/// Rounds `diskoverlap` tries before it fails.
const ROUNDS: usize = 64;
/// Size of each round's file: one request of the largest readahead window.
const SIZE: usize = 128 << 10;

/// Byte `i` of round `r`'s file.
fn pattern(r: usize, i: usize) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 10) ^ r.wrapping_mul(7)) as u8
}

/// See the module docs.
pub fn overlap() -> TestResult {
    // SAFETY: a fresh anonymous mapping chosen by the kernel; nothing else lies there.
    let page = unsafe {
        ulib::memory::mmap(
            0,
            4096,
            abi::PROT_READ | abi::PROT_WRITE,
            abi::MAP_SHARED | abi::MAP_ANONYMOUS,
            -1,
            0,
        )
    }
    .ctx("mmap a shared page")?;
    // SAFETY: the page is mapped read-write, shared with the child, and aligned.
    let (count, stop) = unsafe { (&*(page as *const AtomicU64), &*((page + 8) as *const AtomicU64)) };
    let pid = spawn(|| {
        while stop.load(Ordering::Relaxed) == 0 {
            count.fetch_add(1, Ordering::Relaxed);
        }
        0
    })?;
    // Until the child has run at least once (on one hart: until the parent gave it the CPU).
    while count.load(Ordering::Relaxed) == 0 {
        let _ = process::pause(1);
    }
    let mut got = vec![0u8; SIZE];
    let mut outcome: Result<Vec<(u64, usize)>, String> = Ok(Vec::new());
    for round in 0..ROUNDS {
        match overlap_round(round, &mut got, count) {
            Ok(r) => {
                let evidence = r.0 > 0 && r.1 <= 1;
                if let Ok(v) = outcome.as_mut() {
                    v.push(r);
                }
                if evidence {
                    break;
                }
            }
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    stop.store(1, Ordering::Relaxed);
    let status = wait_for(pid)?;
    // SAFETY: the page is ours and nothing refers to it any more (the child has exited).
    let _ = unsafe { ulib::memory::munmap(page, 4096) };
    if status != 0 {
        return Err(format!("counting child exited with {}", status));
    }
    let rounds = outcome?;
    if rounds.iter().any(|&(progress, ticks)| progress > 0 && ticks <= 1) {
        return Ok(());
    }
    let shown: Vec<String> = rounds.iter().map(|(p, t)| format!("{}/{}", p, t)).collect();
    println!("diskoverlap: progress/ticks per round: {}", shown.join(" "));
    Err(format!(
        "the counting process never ran while the parent waited for the disk ({} rounds)",
        rounds.len()
    ))
}

/// One round of `disk_overlap`: writes a fresh file, lets it go cold, reads it back while
/// the child counts. Returns how much the count grew during the read and how many ticks the
/// read spanned.
fn overlap_round(round: usize, got: &mut [u8], count: &AtomicU64) -> Result<(u64, usize), String> {
    let data: Vec<u8> = (0..SIZE).map(|i| pattern(round, i)).collect();
    let name = format!("overlap{}", round);
    let fd = fs::open(&name, abi::O_CREATE | abi::O_WRONLY | abi::O_TRUNC).ctx("create the file")?;
    let w = fs::write_all(fd, &data);
    // The last reference to the inode goes, and its cached pages with it: the file is cold.
    let _ = fs::close(fd);
    w.ctx("write the file")?;
    let reads = process::kstat(abi::kstat::DISK_READS).unwrap_or(0);
    let fd = fs::open(&name, abi::O_RDONLY).ctx("open the file")?;
    let t0 = process::uptime();
    let before = count.load(Ordering::Relaxed);
    let n = fs::read_full(fd, got);
    let after = count.load(Ordering::Relaxed);
    let t1 = process::uptime();
    let read_disk = process::kstat(abi::kstat::DISK_READS).unwrap_or(0) - reads;
    let _ = fs::close(fd);
    let _ = fs::unlink(&name);
    let n = n.ctx("read the file")?;
    if n != SIZE || got[..] != data[..] {
        return Err(format!("{} read back differs ({} of {} bytes)", name, n, SIZE));
    }
    if read_disk < (SIZE / abi::BSIZE) as u64 {
        return Err(format!("the read was not cold: {} disk blocks read", read_disk));
    }
    Ok((after - before, t1 - t0))
}
