//! Pipe tests: data arrives complete and in order in both directions, readers see end of
//! file once every write end is closed, writers with no reader get -1, blocked readers and
//! writers wake up, and running out of descriptors fails cleanly.

use crate::util::{self, Ctx, TestResult};
use alloc::vec;
use alloc::vec::Vec;
use ulib::process;
use ulib::{fs, sys};

/// Five writes of 1033 numbered bytes, read back with growing read sizes.
pub fn basic() -> TestResult {
    const N: usize = 5;
    const SZ: usize = 1033;
    let (r, w) = fs::pipe().ctx("pipe")?;
    let pid = util::spawn(|| {
        let _ = fs::close(r);
        let mut seq = 0usize;
        let mut buf = [0u8; SZ];
        for _ in 0..N {
            for b in buf.iter_mut() {
                *b = seq as u8;
                seq += 1;
            }
            if fs::write(w, &buf) != Ok(SZ) {
                return 2;
            }
        }
        0
    })?;
    let _ = fs::close(w);
    let mut buf = vec![0u8; 8192];
    let (mut total, mut want_len, mut seq) = (0usize, 1usize, 0usize);
    loop {
        let n = fs::read(r, &mut buf[..want_len]).ctx("read from pipe")?;
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            ensure!(b == seq as u8, "byte {} read as {}, expected {}", seq, b, seq as u8);
            seq += 1;
        }
        total += n;
        want_len = (want_len * 2).min(buf.len());
    }
    let _ = fs::close(r);
    ensure!(total == N * SZ, "read {} bytes in all, expected {}", total, N * SZ);
    let status = util::wait_for(pid)?;
    ensure!(status == 0, "writer exited with {} (a write was short or failed)", status);
    Ok(())
}

/// Pumps `total` pattern bytes into `w` in varying chunk sizes; false if a write fails.
fn pump(w: i32, total: usize, seed: usize) -> bool {
    let mut buf = vec![0u8; 4000];
    let (mut done, mut rng) = (0usize, util::Rng(seed as u64 + 1));
    while done < total {
        let n = (1 + rng.next(4000) as usize).min(total - done);
        for (k, b) in buf[..n].iter_mut().enumerate() {
            *b = util::pattern(seed, done + k);
        }
        if fs::write_all(w, &buf[..n]).is_err() {
            return false;
        }
        done += n;
    }
    true
}

/// Drains `r` in varying read sizes, checking the pattern; returns the byte count or the
/// first wrong offset.
fn drain(r: i32, seed: usize) -> Result<usize, usize> {
    let mut buf = vec![0u8; 3000];
    let (mut done, mut rng) = (0usize, util::Rng(seed as u64 + 7));
    loop {
        let want = 1 + rng.next(3000) as usize;
        let n = match fs::read(r, &mut buf[..want]) {
            Ok(0) => return Ok(done),
            Ok(n) => n,
            Err(_) => return Err(done),
        };
        if let Some(k) = (0..n).find(|&k| buf[k] != util::pattern(seed, done + k)) {
            return Err(done + k);
        }
        done += n;
    }
}

/// 256 KiB child-to-parent and 64 KiB parent-to-child, every byte checked.
pub fn big() -> TestResult {
    const UP: usize = 256 * 1024;
    const DOWN: usize = 64 * 1024;
    let (r1, w1) = fs::pipe().ctx("pipe")?;
    let (r2, w2) = fs::pipe().ctx("pipe")?;
    let pid = util::spawn(|| {
        let _ = (fs::close(r1), fs::close(w2));
        if !pump(w1, UP, 1) {
            return 2;
        }
        let _ = fs::close(w1);
        match drain(r2, 2) {
            Ok(DOWN) => 0,
            _ => 3,
        }
    })?;
    let _ = (fs::close(w1), fs::close(r2));
    match drain(r1, 1) {
        Ok(UP) => {}
        Ok(n) => fail!("received {} bytes, expected {}", n, UP),
        Err(at) => fail!("wrong byte (or read error) at offset {}", at),
    }
    ensure!(pump(w2, DOWN, 2), "write to the child failed");
    let _ = fs::close(w2);
    let status = util::wait_for(pid)?;
    ensure!(status != 2, "the child's write failed");
    ensure!(status != 3, "the child received wrong data");
    ensure!(status == 0, "child exited with {}", status);
    Ok(())
}

/// End of file comes only after every copy of the write end is closed.
pub fn eof() -> TestResult {
    let (r, w) = fs::pipe().ctx("pipe")?;
    let w2 = fs::dup(w).ctx("dup")?;
    ensure!(fs::write(w, b"ab") == Ok(2), "write to pipe failed");
    let _ = fs::close(w);
    ensure!(fs::write(w2, b"c") == Ok(1), "write through the dup'd end failed");
    let _ = fs::close(w2);
    let mut buf = [0u8; 8];
    let n = fs::read_full(r, &mut buf).ctx("read")?;
    ensure!(&buf[..n] == b"abc", "read {:?}, expected \"abc\"", &buf[..n]);
    ensure!(fs::read(r, &mut buf) == Ok(0), "read after end of file did not return 0");
    let _ = fs::close(r);
    Ok(())
}

/// Writing to a pipe whose read end is closed returns -1, and the writer lives on.
pub fn noreader() -> TestResult {
    let (r, w) = fs::pipe().ctx("pipe")?;
    let _ = fs::close(r);
    expect_fail!(sys::write(w, b"hello".as_ptr(), 5));
    expect_fail!(sys::write(w, b"again".as_ptr(), 5));
    let _ = fs::close(w);
    Ok(())
}

/// Reading the write end or writing the read end fails.
pub fn wrongend() -> TestResult {
    let (r, w) = fs::pipe().ctx("pipe")?;
    let mut b = [0u8; 4];
    // SAFETY: the kernel may write up to 4 bytes into `b`, a local.
    expect_fail!(unsafe { sys::read(w, b.as_mut_ptr(), 4) });
    expect_fail!(sys::write(r, b"x".as_ptr(), 1));
    let _ = (fs::close(r), fs::close(w));
    Ok(())
}

/// Blocked readers wake for data and for end of file; a blocked writer wakes when the
/// reader goes away.
pub fn wakeup() -> TestResult {
    // A reader waiting for data.
    let (r, w) = fs::pipe().ctx("pipe")?;
    let pid = util::spawn(|| {
        let _ = process::pause(3);
        i32::from(fs::write(w, b"z") != Ok(1))
    })?;
    let _ = fs::close(w);
    let mut b = [0u8; 4];
    let n = fs::read(r, &mut b).ctx("read waiting for data")?;
    ensure!(n == 1 && b[0] == b'z', "blocked read returned {} bytes", n);
    ensure!(util::wait_for(pid)? == 0, "child's write failed");
    ensure!(fs::read(r, &mut b) == Ok(0), "no end of file after the writer exited");
    let _ = fs::close(r);

    // A writer blocked on a full pipe whose reader exits.
    let (r, w) = fs::pipe().ctx("pipe")?;
    let pid = util::spawn(|| {
        let _ = fs::close(w);
        let mut b = [0u8; 100];
        let _ = fs::read_full(r, &mut b);
        0
    })?;
    let _ = fs::close(r);
    let big = vec![7u8; 64 * 1024];
    let n = sys::write(w, big.as_ptr(), big.len());
    ensure!(n != big.len() as isize, "a 64 KiB write completed although the reader left");
    expect_fail!(sys::write(w, big.as_ptr(), 10));
    let _ = fs::close(w);
    util::wait_for(pid)?;
    Ok(())
}

/// Making pipes until the descriptor table is full fails cleanly; closing them recovers.
pub fn fds() -> TestResult {
    let mut ends: Vec<i32> = Vec::new();
    let mut failed = false;
    for _ in 0..500 {
        match fs::pipe() {
            Ok((r, w)) => {
                ensure!(r >= 3 && w >= 3 && r != w, "pipe returned fds {} and {}", r, w);
                ends.push(r);
                ends.push(w);
            }
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    ensure!(ends.len() >= 12, "only {} pipes before pipe failed", ends.len() / 2);
    for &fd in &ends {
        ensure!(fs::close(fd).is_ok(), "close({}) failed", fd);
    }
    let (r, w) = fs::pipe().ctx(if failed {
        "pipe after closing the full table"
    } else {
        "pipe after closing 500 pipes"
    })?;
    ensure!(fs::write(w, b"ok") == Ok(2), "write to a fresh pipe failed");
    let _ = (fs::close(r), fs::close(w));
    Ok(())
}
