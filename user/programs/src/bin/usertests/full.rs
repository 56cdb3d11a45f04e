//! Resource-exhaustion tests: processes (fork until it fails), memory (sbrk until it fails,
//! exec with no memory left), inodes (create until it fails) and disk blocks (write until a
//! write comes up short). Each checks that the failing call fails cleanly, that everything
//! works again once the resource is given back, and (through the harness) that no page leaks.
//! These are the slow cases; they run last.

use crate::util::{self, Ctx, TestResult, EXEC_FAILED};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use ulib::process;
use ulib::{abi, fs, memory, sys};

const PG: usize = abi::PGSIZE;

/// Forks until fork fails, with every child blocked on a pipe; then lets them all exit,
/// reaps them all, and forks again.
pub fn forkbomb() -> TestResult {
    let (r, w) = fs::pipe().ctx("pipe")?;
    let mut n = 0usize;
    while n < 100_000 {
        match sys::fork() {
            0 => {
                let _ = fs::close(w);
                let mut b = [0u8; 1];
                let _ = fs::read(r, &mut b);
                sys::exit(0);
            }
            pid if pid < 0 => break,
            _ => n += 1,
        }
    }
    let _ = (fs::close(w), fs::close(r));
    ensure!(n > 0, "the first fork failed");
    let mut killed = 0;
    for i in 0..n {
        let mut status = 0;
        // SAFETY: the kernel writes one i32 into `status`, a local.
        let pid = unsafe { sys::wait(&mut status) };
        ensure!(pid > 0, "wait number {} of {} returned {}", i, n, pid);
        ensure!(status == 0 || status == -1, "a child exited with {}", status);
        killed += usize::from(status == -1);
    }
    expect_fail!(util::wait_raw());
    ensure!(killed < n, "all {} children were killed", n);
    let status = util::in_child(|| 5)?;
    ensure!(status == 5, "fork after the bomb: child exited with {}", status);
    Ok(())
}

/// Grows the heap eagerly until sbrk fails (1 MiB steps, then pages); returns the bytes grown.
fn grab_all_memory() -> usize {
    let mut total = 0;
    for step in [1 << 20, PG] {
        while memory::sbrk_eager(step).is_ok() {
            total += step;
        }
    }
    total
}

/// A child takes all memory; meanwhile the parent cannot grow; once the child is killed,
/// growth works again.
pub fn sbrk_oom() -> TestResult {
    let (r, w) = fs::pipe().ctx("pipe")?;
    let hog = util::spawn(|| {
        let total = grab_all_memory() as u64;
        let _ = fs::write(w, &total.to_le_bytes());
        loop {
            let _ = process::pause(1000);
        }
    })?;
    let _ = fs::close(w);
    let mut b = [0u8; 8];
    let got = fs::read_full(r, &mut b).ctx("read from the memory hog")?;
    let _ = fs::close(r);
    ensure!(got == 8, "the memory hog died before reporting (read {} bytes)", got);
    let total = u64::from_le_bytes(b) as usize;
    ensure!(total >= 1 << 20, "the memory hog could grow by only {} bytes", total);
    let grew = memory::sbrk_eager(4 << 20);
    let _ = process::kill(hog);
    let status = util::wait_for(hog)?;
    ensure!(status == -1, "the killed memory hog exited with {}", status);
    // Nothing allocated since the sbrk above, so giving back what it grew is safe.
    if grew.is_ok() {
        // SAFETY: the 4 MiB were grown just above and hold nothing.
        unsafe { memory::sbrk_shrink(4 << 20) }.ctx("sbrk(-4 MiB)")?;
        fail!("sbrk(4 MiB) succeeded while another process held all memory ({} MiB)", total >> 20);
    }
    let p = memory::sbrk_eager(1 << 20).ctx("sbrk(1 MiB) after the hog died")?;
    for off in (0..1 << 20).step_by(PG) {
        // SAFETY: just grown for us.
        unsafe { util::store_byte(p + off, 1) };
    }
    // Whole-memory growth in this process too, then give it all back.
    let status = util::in_child(|| {
        let total = grab_all_memory();
        // SAFETY: all of it was grown by this child just now.
        match unsafe { memory::sbrk_shrink(total) } {
            Ok(_) if memory::sbrk_eager(1 << 20).is_ok() => 0,
            _ => 2,
        }
    })?;
    ensure!(status == 0, "after growing until failure and shrinking, sbrk(1 MiB) failed");
    Ok(())
}

/// exec with (almost) no memory left fails or succeeds, but never harms the kernel.
pub fn exec_oom() -> TestResult {
    for release in [0, 16 * PG] {
        let (r, w) = fs::pipe().ctx("pipe")?;
        let status = util::in_child(|| {
            let total = grab_all_memory();
            if release > 0 && total >= release {
                // SAFETY: these bytes were grown by this child just now.
                let _ = unsafe { memory::sbrk_shrink(release) };
            }
            let _ = fs::close(1);
            let _ = fs::dup(w);
            process::exec("/echo", &["echo", "x"]);
            EXEC_FAILED
        })?;
        let _ = (fs::close(r), fs::close(w));
        ensure!(
            status == 0 || status == EXEC_FAILED || status == -1,
            "exec in a full memory (release {} pages) ended with status {}",
            release / PG,
            status
        );
    }
    Ok(())
}

/// Creates empty files (100 per directory) until creation fails, checks that nothing more can
/// be created, removes them all, and creates again.
pub fn out_of_inodes() -> TestResult {
    const PER_DIR: usize = 100;
    let dir = |d: usize| format!("oid{}", d);
    let file = |d: usize, i: usize| format!("oid{}/f{}", d, i);
    let mut counts: Vec<usize> = Vec::new();
    'fill: for d in 0..2000 {
        if fs::mkdir(dir(d)).is_err() {
            break;
        }
        counts.push(0);
        for i in 0..PER_DIR {
            match fs::open(file(d, i), abi::O_CREATE | abi::O_RDWR) {
                Ok(fd) => {
                    let _ = fs::close(fd);
                    counts[d] += 1;
                }
                Err(_) => break 'fill,
            }
        }
    }
    let total: usize = counts.iter().sum::<usize>() + counts.len();
    ensure!(total >= 100, "creation failed after only {} inodes", total);
    let extra = sys::open(cs!("oiextra"), abi::O_CREATE | abi::O_RDWR);
    if extra >= 0 {
        let _ = fs::close(extra as i32);
        let _ = fs::unlink("oiextra");
        fail!("after a create failed ({} inodes made), creating oiextra succeeded", total);
    }
    for (d, &n) in counts.iter().enumerate() {
        for i in 0..n {
            fs::unlink(file(d, i)).ctx(&format!("unlink {}", file(d, i)))?;
        }
        fs::unlink(dir(d)).ctx(&format!("unlink {}", dir(d)))?;
    }
    for i in 0..20 {
        let name = format!("oirec{}", i);
        util::write_file(&name, b"back")?;
    }
    for i in 0..20 {
        fs::unlink(format!("oirec{}", i)).ctx("unlink oirec")?;
    }
    Ok(())
}

/// Writes files (16 MiB each) until a write comes up short, checks that no new data fits,
/// removes them, and writes 4 MiB again.
pub fn disk_full() -> TestResult {
    const CHUNK: usize = 64 * 1024;
    const PER_FILE: usize = 16 << 20;
    const CAP: usize = 1 << 30;
    let buf = vec![0xd5u8; CHUNK];
    let name = |k: usize| format!("dfull{}", k);
    let (mut files, mut total, mut full) = (0usize, 0usize, false);
    while !full && total < CAP {
        let Ok(fd) = fs::open(name(files), abi::O_CREATE | abi::O_WRONLY | abi::O_TRUNC) else {
            full = true;
            break;
        };
        files += 1;
        let mut size = 0;
        while size < PER_FILE {
            let n = sys::write(fd, buf.as_ptr(), CHUNK);
            if n > 0 {
                size += n as usize;
                total += n as usize;
            }
            if n != CHUNK as isize {
                full = true;
                break;
            }
        }
        let _ = fs::close(fd);
    }
    ensure!(full, "wrote {} MiB without filling the disk", total >> 20);
    ensure!(total >= 1 << 20, "the disk was full after only {} bytes", total);
    if let Ok(fd) = fs::open("dfullx", abi::O_CREATE | abi::O_WRONLY) {
        let n = sys::write(fd, buf.as_ptr(), 2 * abi::BSIZE);
        let _ = fs::close(fd);
        let _ = fs::unlink("dfullx");
        ensure!(n < 2 * abi::BSIZE as isize, "a 2-block write succeeded on a full disk");
    }
    for k in 0..files {
        fs::unlink(name(k)).ctx(&format!("unlink {}", name(k)))?;
    }
    let fd = fs::open("dfullx", abi::O_CREATE | abi::O_WRONLY).ctx("create after freeing")?;
    for i in 0..(4 << 20) / CHUNK {
        let n = sys::write(fd, buf.as_ptr(), CHUNK);
        ensure!(n == CHUNK as isize, "write {} after freeing the disk returned {}", i, n);
    }
    let _ = fs::close(fd);
    fs::unlink("dfullx").ctx("unlink dfullx")?;
    Ok(())
}
