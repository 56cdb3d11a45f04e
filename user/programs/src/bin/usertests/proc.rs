//! Process tests: fork, exit and wait statuses, copies of memory across fork, kill of
//! running, sleeping and blocked children, orphans, preemption, the clock, the kernel
//! counters, and unknown system-call numbers.

use crate::util::{self, Ctx, TestResult};
use alloc::vec::Vec;
use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering};
use ulib::process;
use ulib::{abi, fs, sys};

/// Children exit with assorted statuses; wait reports each pid and status exactly.
pub fn exitwait() -> TestResult {
    const STATUSES: [i32; 7] = [0, 1, 42, 255, 256, -1, -12345];
    for i in 0..35 {
        let want = STATUSES[i % STATUSES.len()];
        let pid = util::spawn(|| want)?;
        let (got, status) = process::wait().ctx("wait")?;
        ensure!(got == pid, "wait returned pid {}, expected the child {}", got, pid);
        ensure!(status == want, "child exited with {} but wait reported {}", want, status);
    }
    Ok(())
}

/// wait without children fails; wait with a null status pointer works.
pub fn waitnochild() -> TestResult {
    let mut status = 7i32;
    // SAFETY: the kernel may write one i32 into `status`, a local.
    expect_fail!(unsafe { sys::wait(&mut status) });
    let pid = util::spawn(|| 3)?;
    // SAFETY: a null status pointer asks the kernel to store nothing.
    let got = unsafe { sys::wait(ptr::null_mut()) };
    ensure!(got == pid as isize, "wait(0) returned {}, expected the child {}", got, pid);
    // SAFETY: as above.
    expect_fail!(unsafe { sys::wait(ptr::null_mut()) });
    Ok(())
}

/// Ten children at once: each is reaped exactly once, with its own status.
pub fn waitmany() -> TestResult {
    let mut pids = Vec::new();
    for i in 0..10 {
        pids.push((util::spawn(move || 10 + i)?, 10 + i));
    }
    for _ in 0..10 {
        let (pid, status) = process::wait().ctx("wait")?;
        let Some(k) = pids.iter().position(|&(p, _)| p == pid) else {
            fail!("wait returned pid {}, not one of the remaining children", pid);
        };
        let (_, want) = pids.swap_remove(k);
        ensure!(status == want, "child {} exited with {}, wait reported {}", pid, want, status);
    }
    expect_fail!(util::wait_raw());
    Ok(())
}

/// getpid is positive, differs between parent and child, and matches fork's result.
pub fn getpid() -> TestResult {
    let me = process::getpid();
    ensure!(me > 0, "getpid returned {}", me);
    let (r, w) = fs::pipe().ctx("pipe")?;
    let pid = util::spawn(|| {
        let mine = process::getpid().to_le_bytes();
        i32::from(fs::write(w, &mine) != Ok(4))
    })?;
    let _ = fs::close(w);
    let mut b = [0u8; 4];
    let n = fs::read_full(r, &mut b).ctx("read from pipe")?;
    ensure!(n == 4, "read {} bytes of the child's pid", n);
    let child = i32::from_le_bytes(b);
    ensure!(child == pid, "child's getpid is {} but fork returned {}", child, pid);
    ensure!(child != me, "child and parent both have pid {}", me);
    ensure!(util::wait_for(pid)? == 0, "child could not write its pid");
    ensure!(process::getpid() == me, "parent's pid changed");
    Ok(())
}

static GLOBAL: AtomicUsize = AtomicUsize::new(0);

/// fork copies data, heap and stack; the copies are independent afterwards.
pub fn forkcopy() -> TestResult {
    GLOBAL.store(1111, Ordering::Relaxed);
    let mut heap = alloc::vec![5u8; 10_000];
    let mut local = [9u8; 64];
    let status = util::in_child(|| {
        let saw = GLOBAL.load(Ordering::Relaxed) == 1111
            && heap.iter().all(|&b| b == 5)
            && local.iter().all(|&b| b == 9);
        GLOBAL.store(2222, Ordering::Relaxed);
        heap.fill(6);
        local.fill(10);
        if saw {
            0
        } else {
            2
        }
    })?;
    ensure!(status == 0, "child did not see the parent's memory (status {})", status);
    ensure!(GLOBAL.load(Ordering::Relaxed) == 1111, "child's store to a static reached the parent");
    ensure!(heap.iter().all(|&b| b == 5), "child's heap writes reached the parent");
    ensure!(local.iter().all(|&b| b == 9), "child's stack writes reached the parent");
    heap.fill(7);
    local.fill(8);
    Ok(())
}

/// pause sleeps at least the ticks asked for; uptime advances accordingly.
pub fn uptime_pause() -> TestResult {
    let t0 = expect_ok!(sys::uptime());
    expect_ok!(sys::pause(0));
    expect_ok!(sys::pause(3));
    let t1 = expect_ok!(sys::uptime());
    ensure!(t1 >= t0 + 3, "pause(3) returned after {} ticks", t1 - t0);
    ensure!(t1 - t0 < 100, "pause(3) took {} ticks", t1 - t0);
    Ok(())
}

/// The kstat counters are consistent, unknown counters fail, writing a file writes the disk.
pub fn kstat() -> TestResult {
    let Some(total) = process::kstat(abi::kstat::TOTAL_PAGES) else {
        fail!("kstat(TOTAL_PAGES) failed");
    };
    let Some(free) = process::kstat(abi::kstat::FREE_PAGES) else {
        fail!("kstat(FREE_PAGES) failed");
    };
    ensure!(free > 0 && free <= total, "free pages {} vs total pages {}", free, total);
    ensure!(sys::kstat(abi::kstat::COUNT) == u64::MAX, "kstat(COUNT) did not fail");
    ensure!(sys::kstat(1000) == u64::MAX, "kstat(1000) did not fail");
    let Some(w0) = process::kstat(abi::kstat::DISK_WRITES) else {
        fail!("kstat(DISK_WRITES) failed");
    };
    ensure!(process::kstat(abi::kstat::DISK_READS).is_some(), "kstat(DISK_READS) failed");
    util::write_file("kstatfile", &[1u8; 3000])?;
    fs::unlink("kstatfile").ctx("unlink kstatfile")?;
    let w1 = process::kstat(abi::kstat::DISK_WRITES).unwrap_or(0);
    ensure!(w1 > w0, "DISK_WRITES stayed at {} after writing a file", w0);
    Ok(())
}

/// Unknown call numbers fail with -1 (the kernel also prints a line about each).
pub fn unknown_syscall() -> TestResult {
    for n in [0usize, abi::sys::MADVISE + 1, 99, 1 << 20] {
        let r = sys::unknown(n);
        ensure!(r == -1, "system call number {} returned {}, expected -1", n, r);
    }
    Ok(())
}

/// A child spinning in user mode dies with status -1 when killed; kill of a reaped pid fails.
pub fn killloop() -> TestResult {
    let pid = util::spawn(|| loop {
        core::hint::spin_loop();
    })?;
    let _ = process::pause(1);
    expect_ok!(sys::kill(pid));
    let status = util::wait_for(pid)?;
    ensure!(status == -1, "killed child exited with {}, expected -1", status);
    expect_fail!(sys::kill(pid));
    expect_fail!(sys::kill(999_999));
    Ok(())
}

/// init (pid 1) cannot be killed: kill(1) fails and init keeps running (the shell that
/// runs this suite is its child, so a dead init would end the machine).
pub fn killinit() -> TestResult {
    expect_fail!(sys::kill(1));
    // init still adopts orphans: a grandchild whose parent exits is reaped and the suite
    // goes on; and a second kill(1) fails the same way.
    let pid = util::spawn(|| {
        let _ = util::spawn(|| 0);
        0
    })?;
    let status = util::wait_for(pid)?;
    ensure!(status == 0, "child exited with {}, expected 0", status);
    expect_fail!(sys::kill(1));
    Ok(())
}

/// Children asleep in pause, or blocked reading an empty pipe, die when killed.
pub fn killsleeper() -> TestResult {
    let sleeper = util::spawn(|| {
        let _ = process::pause(100_000);
        0
    })?;
    let (r, w) = fs::pipe().ctx("pipe")?;
    let reader = util::spawn(|| {
        let mut b = [0u8; 1];
        let _ = fs::read(r, &mut b);
        0
    })?;
    let _ = process::pause(2);
    expect_ok!(sys::kill(sleeper));
    expect_ok!(sys::kill(reader));
    let all = util::wait_all(&[sleeper, reader])?;
    let (s1, s2) = (all[0].1, all[1].1);
    ensure!(s1 == -1, "child killed in pause exited with {}, expected -1", s1);
    ensure!(s2 == -1, "child killed in pipe read exited with {}, expected -1", s2);
    let _ = (fs::close(r), fs::close(w));
    Ok(())
}

/// Repeatedly kill a child that makes system calls in a loop: always status -1.
pub fn killstatus() -> TestResult {
    for round in 0..15 {
        let pid = util::spawn(|| loop {
            process::getpid();
        })?;
        let _ = process::pause(1);
        expect_ok!(sys::kill(pid));
        let status = util::wait_for(pid)?;
        ensure!(status == -1, "round {}: killed child exited with {}", round, status);
    }
    Ok(())
}

/// A child exits while its own children live on (they go to init); the parent still reaps
/// exactly its child, and nothing else.
pub fn reparent() -> TestResult {
    for round in 0..30 {
        let pid = util::spawn(|| {
            let _ = util::spawn(|| {
                if round % 2 == 0 {
                    let _ = process::pause(1);
                }
                0
            });
            0
        })?;
        let (got, status) = process::wait().ctx("wait")?;
        ensure!(got == pid, "round {}: wait returned {}, expected the child {}", round, got, pid);
        ensure!(status == 0, "round {}: child exited with {}", round, status);
    }
    expect_fail!(util::wait_raw());
    // Let init reap the grandchildren before the free-page check.
    let _ = process::pause(3);
    Ok(())
}

/// Three children spin forever; the parent must still get the CPU (timer preemption) to
/// read a byte one of them wrote, and then kills them all.
pub fn preempt() -> TestResult {
    let (r, w) = fs::pipe().ctx("pipe")?;
    let mut pids = Vec::new();
    for i in 0..3 {
        pids.push(util::spawn(|| {
            if i == 2 {
                let _ = fs::write(w, b"x");
            }
            loop {
                core::hint::spin_loop();
            }
        })?);
    }
    let _ = fs::close(w);
    let mut b = [0u8; 1];
    let n = fs::read(r, &mut b).ctx("read from the spinning child")?;
    ensure!(n == 1, "read from the spinning child returned {}", n);
    for &pid in &pids {
        expect_ok!(sys::kill(pid));
    }
    for (pid, status) in util::wait_all(&pids)? {
        ensure!(status == -1, "killed spinner {} exited with {}", pid, status);
    }
    Ok(())
}
