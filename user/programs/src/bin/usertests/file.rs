//! File tests: create, write, read back, truncate, open modes, missing files, unlink of
//! open files, link counts, descriptors (dup, bad fds, exhaustion, shared offsets), name
//! limits, device nodes, large writes and files beyond the single-indirect range, many files,
//! and several processes working in one directory at once.

use crate::util::{self, Ctx, TestResult};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use ulib::{abi, fs, sys};

use abi::{O_CREATE, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY};

/// Write in pieces, fstat, read back, unlink.
pub fn rw() -> TestResult {
    let data: Vec<u8> = (0..10_240).map(|i| util::pattern(3, i)).collect();
    let fd = fs::open("f_rw", O_CREATE | O_RDWR | O_TRUNC).ctx("open(f_rw, O_CREATE|O_RDWR)")?;
    for piece in [&data[..1000], &data[1000..4097], &data[4097..]] {
        let n = fs::write(fd, piece).ctx("write to f_rw")?;
        ensure!(n == piece.len(), "write of {} bytes wrote {}", piece.len(), n);
    }
    let st = fs::fstat(fd).ctx("fstat f_rw")?;
    ensure!(st.typ == abi::T_FILE, "fstat type {} for a file", st.typ);
    ensure!(st.size == data.len() as u64, "fstat size {}, wrote {}", st.size, data.len());
    ensure!(st.nlink == 1, "fstat nlink {} for a new file", st.nlink);
    let _ = fs::close(fd);
    let got = util::read_file("f_rw")?;
    if let Some(at) = util::first_difference(&got, &data) {
        fail!("read back differs at byte {} (read {} bytes)", at, got.len());
    }
    fs::unlink("f_rw").ctx("unlink f_rw")?;
    expect_fail!(sys::open(cs!("f_rw"), O_RDONLY));
    Ok(())
}

/// O_TRUNC empties a file; a descriptor opened before sees the new contents.
pub fn trunc() -> TestResult {
    util::write_file("f_trunc", b"abcdef")?;
    let old = fs::open("f_trunc", O_RDONLY).ctx("open(f_trunc, O_RDONLY)")?;
    let fd = fs::open("f_trunc", O_WRONLY | O_TRUNC).ctx("open(f_trunc, O_WRONLY|O_TRUNC)")?;
    let st = fs::fstat(fd).ctx("fstat")?;
    ensure!(st.size == 0, "size {} after O_TRUNC", st.size);
    let mut buf = [0u8; 16];
    let n = fs::read(old, &mut buf).ctx("read of the truncated file")?;
    ensure!(n == 0, "read {} bytes from a truncated file", n);
    ensure!(fs::write(fd, b"xy") == Ok(2), "write after truncation failed");
    let n = fs::read(old, &mut buf).ctx("read through the older descriptor")?;
    ensure!(&buf[..n] == b"xy", "older descriptor read {:?}, expected \"xy\"", &buf[..n]);
    let _ = (fs::close(fd), fs::close(old));
    let fd = fs::open("f_trunc", O_CREATE | O_RDWR | O_TRUNC).ctx("open with O_CREATE|O_TRUNC")?;
    let st = fs::fstat(fd).ctx("fstat")?;
    ensure!(st.size == 0, "size {} after O_CREATE|O_TRUNC", st.size);
    let _ = fs::close(fd);
    fs::unlink("f_trunc").ctx("unlink f_trunc")?;
    Ok(())
}

/// Calls on names that do not exist fail.
pub fn missing() -> TestResult {
    expect_fail!(sys::open(cs!("nosuchfile"), O_RDONLY));
    expect_fail!(sys::open(cs!("nosuchdir/x"), O_CREATE | O_RDWR));
    expect_fail!(sys::unlink(cs!("nosuchfile")));
    expect_fail!(sys::chdir(cs!("nosuchdir")));
    expect_fail!(sys::link(cs!("nosuchfile"), cs!("f_missing")));
    expect_fail!(sys::link(cs!("README"), cs!("nosuchdir/x")));
    expect_fail!(sys::mkdir(cs!("nosuchdir/x")));
    ensure!(!util::exists("f_missing"), "failed link created its target");
    Ok(())
}

/// Open modes are enforced; directories cannot be opened for writing or created over.
pub fn modes() -> TestResult {
    util::write_file("f_modes", b"data")?;
    let fd = fs::open("f_modes", O_RDONLY).ctx("open O_RDONLY")?;
    expect_fail!(sys::write(fd, b"x".as_ptr(), 1));
    let _ = fs::close(fd);
    let fd = fs::open("f_modes", O_WRONLY).ctx("open O_WRONLY")?;
    let mut b = [0u8; 4];
    // SAFETY: the kernel may write up to 4 bytes into `b`, a local.
    expect_fail!(unsafe { sys::read(fd, b.as_mut_ptr(), 4) });
    let _ = fs::close(fd);
    expect_fail!(sys::open(cs!("."), O_WRONLY));
    expect_fail!(sys::open(cs!("."), O_RDWR));
    let fd = expect_ok!(sys::open(cs!("."), O_RDONLY));
    let _ = fs::close(fd as i32);
    util::clean(&["d_modes"]);
    fs::mkdir("d_modes").ctx("mkdir d_modes")?;
    expect_fail!(sys::open(cs!("d_modes"), O_CREATE | O_RDWR));
    expect_fail!(sys::open(cs!("d_modes"), O_CREATE));
    fs::unlink("d_modes").ctx("unlink d_modes")?;
    fs::unlink("f_modes").ctx("unlink f_modes")?;
    Ok(())
}

/// An unlinked file stays readable and writable through descriptors opened before.
pub fn unlink_open() -> TestResult {
    let data = vec![0x33u8; 4096];
    let w = fs::open("f_uo", O_CREATE | O_RDWR | O_TRUNC).ctx("create f_uo")?;
    ensure!(fs::write(w, &data) == Ok(4096), "write to f_uo failed");
    let r = fs::open("f_uo", O_RDONLY).ctx("open f_uo")?;
    fs::unlink("f_uo").ctx("unlink f_uo while open")?;
    expect_fail!(sys::open(cs!("f_uo"), O_RDONLY));
    let st = fs::fstat(r).ctx("fstat of the unlinked file")?;
    ensure!(st.nlink == 0, "nlink {} after unlink", st.nlink);
    let got = fs::read_to_end(r).ctx("read of the unlinked file")?;
    ensure!(got == data, "unlinked file read back {} bytes, or wrong data", got.len());
    ensure!(fs::write(w, b"more") == Ok(4), "write to the unlinked file failed");
    let st = fs::fstat(w).ctx("fstat")?;
    ensure!(st.size == 4100, "unlinked file has size {}, expected 4100", st.size);
    let _ = (fs::close(r), fs::close(w));
    Ok(())
}

fn nlink_of(path: &str) -> Result<i16, String> {
    Ok(fs::stat(path).ctx(&format!("stat {}", path))?.nlink)
}

/// link adds a name (nlink 2), unlink removes one; bad links fail.
pub fn link_count() -> TestResult {
    util::clean(&["lf1", "lf2", "ld"]);
    util::write_file("lf1", b"linked")?;
    ensure!(nlink_of("lf1")? == 1, "new file has nlink {}", nlink_of("lf1")?);
    fs::link("lf1", "lf2").ctx("link(lf1, lf2)")?;
    ensure!(nlink_of("lf1")? == 2, "nlink {} after link, expected 2", nlink_of("lf1")?);
    let (a, b) = (fs::stat("lf1").ctx("stat")?, fs::stat("lf2").ctx("stat")?);
    ensure!(a.ino == b.ino, "two names, two inodes ({} and {})", a.ino, b.ino);
    ensure!(util::read_file("lf2")? == b"linked", "the second name reads different data");
    expect_fail!(sys::link(cs!("lf1"), cs!("lf2")));
    expect_fail!(sys::link(cs!("nosuchfile"), cs!("lf3")));
    fs::mkdir("ld").ctx("mkdir ld")?;
    expect_fail!(sys::link(cs!("ld"), cs!("lf3")));
    fs::unlink("lf1").ctx("unlink lf1")?;
    ensure!(nlink_of("lf2")? == 1, "nlink {} after unlink, expected 1", nlink_of("lf2")?);
    ensure!(util::read_file("lf2")? == b"linked", "data lost after unlinking one name");
    fs::unlink("lf2").ctx("unlink lf2")?;
    fs::unlink("ld").ctx("unlink ld")?;
    ensure!(!util::exists("lf3"), "a failed link created lf3");
    Ok(())
}

/// dup returns the lowest free descriptor and shares the file offset.
pub fn dup_fd() -> TestResult {
    let fd = fs::open("f_dup", O_CREATE | O_RDWR | O_TRUNC).ctx("create f_dup")?;
    let fd2 = fs::dup(fd).ctx("dup")?;
    ensure!(fd2 == fd + 1, "dup({}) returned {}, not the lowest free fd", fd, fd2);
    ensure!(fs::write(fd, b"ab") == Ok(2) && fs::write(fd2, b"cd") == Ok(2), "write failed");
    let _ = fs::close(fd);
    ensure!(fs::write(fd2, b"ef") == Ok(2), "write through the dup after closing the original");
    let _ = fs::close(fd2);
    expect_fail!(sys::dup(fd2));
    let got = util::read_file("f_dup")?;
    ensure!(got == b"abcdef", "file holds {:?}, expected \"abcdef\"", String::from_utf8_lossy(&got));
    fs::unlink("f_dup").ctx("unlink f_dup")?;
    Ok(())
}

/// Every call on a descriptor that is not open fails.
pub fn bad_fd() -> TestResult {
    let closed = fs::open("README", O_RDONLY).ctx("open README")?;
    let _ = fs::close(closed);
    let mut b = [0u8; 24];
    for fd in [closed, -1, 1000, i32::MAX, i32::MIN] {
        // SAFETY: the kernel may write up to 24 bytes into `b`, a local.
        expect_fail!(unsafe { sys::read(fd, b.as_mut_ptr(), 4) });
        expect_fail!(sys::write(fd, b.as_ptr(), 4));
        // SAFETY: as above; a stat is 24 bytes.
        expect_fail!(unsafe { sys::fstat(fd, b.as_mut_ptr()) });
        expect_fail!(sys::close(fd));
        expect_fail!(sys::dup(fd));
    }
    Ok(())
}

/// Reads and writes through one descriptor share its offset.
pub fn offsets() -> TestResult {
    let data: Vec<u8> = (0..100u8).collect();
    util::write_file("f_off", &data)?;
    let fd = fs::open("f_off", O_RDWR).ctx("open f_off O_RDWR")?;
    let mut b = [0u8; 10];
    ensure!(fs::read_full(fd, &mut b) == Ok(10), "read of 10 bytes failed");
    ensure!(fs::write(fd, b"XYZ") == Ok(3), "write at offset 10 failed");
    ensure!(fs::read_full(fd, &mut b) == Ok(10), "read after the write failed");
    ensure!(b == data[13..23], "read after the write returned bytes from the wrong offset");
    let _ = fs::close(fd);
    let got = util::read_file("f_off")?;
    ensure!(got.len() == 100 && &got[10..13] == b"XYZ", "write did not land at offset 10");
    ensure!(got[..10] == data[..10] && got[13..] == data[13..], "other bytes changed");
    fs::unlink("f_off").ctx("unlink f_off")?;
    Ok(())
}

/// Opening until the descriptor table is full fails cleanly; closing recovers.
pub fn fd_exhaust() -> TestResult {
    let mut fds = Vec::new();
    for _ in 0..1000 {
        match fs::open("README", O_RDONLY) {
            Ok(fd) => fds.push(fd),
            Err(_) => break,
        }
    }
    ensure!(fds.len() >= abi::NOFILE - 3, "only {} opens succeeded", fds.len());
    let mut sorted = fds.clone();
    sorted.sort_unstable();
    sorted.dedup();
    ensure!(sorted.len() == fds.len(), "open returned the same descriptor twice");
    for &fd in &fds {
        ensure!(fs::close(fd).is_ok(), "close({}) failed", fd);
    }
    let fd = fs::open("README", O_RDONLY).ctx("open after closing all")?;
    ensure!(fd == fds[0], "open returned {} instead of the lowest free fd {}", fd, fds[0]);
    let _ = fs::close(fd);
    Ok(())
}

/// Names of exactly DIRSIZ (14) bytes work, as files and as directories.
pub fn name14() -> TestResult {
    const NAME: &str = "abcdefghijklmn";
    const DIR: &str = "12345678901234";
    util::clean(&["12345678901234/12345678901234", DIR, NAME]);
    util::write_file(NAME, b"fourteen")?;
    ensure!(util::read_file(NAME)? == b"fourteen", "14-byte name reads wrong data");
    let entries = fs::read_dir(".").ctx("read directory .")?;
    ensure!(
        entries.iter().any(|e| e.name() == NAME.as_bytes()),
        "no directory entry holds the full 14-byte name"
    );
    fs::mkdir(DIR).ctx("mkdir of a 14-byte name")?;
    util::write_file("12345678901234/12345678901234", b"x")?;
    fs::chdir(DIR).ctx("chdir into a 14-byte name")?;
    ensure!(util::exists(DIR), "14-byte name not found relative to its directory");
    fs::chdir("..").ctx("chdir ..")?;
    fs::unlink("12345678901234/12345678901234").ctx("unlink")?;
    fs::unlink(DIR).ctx("unlink 14-byte directory")?;
    fs::unlink(NAME).ctx("unlink 14-byte file")?;
    // A 15-byte name may be refused or cut to 14 bytes; either way it must not crash.
    if let Ok(fd) = fs::open("abcdefghijklmno", O_CREATE | O_RDWR) {
        let _ = fs::close(fd);
        let _ = fs::unlink("abcdefghijklmno");
    }
    Ok(())
}

/// Paths longer than MAXPATH fail.
pub fn long_path() -> TestResult {
    let mut long = vec![b'a'; 300];
    long.push(0);
    expect_fail!(sys::open(long.as_ptr(), O_CREATE | O_RDWR));
    expect_fail!(sys::mkdir(long.as_ptr()));
    expect_fail!(sys::chdir(long.as_ptr()));
    expect_fail!(sys::unlink(long.as_ptr()));
    Ok(())
}

/// The console is a device; mknod makes device nodes that open as devices.
pub fn devices() -> TestResult {
    for fd in 0..3 {
        let st = fs::fstat(fd).ctx(&format!("fstat({})", fd))?;
        ensure!(st.typ == abi::T_DEVICE, "fd {} has type {}, expected a device", fd, st.typ);
    }
    util::clean(&["f_dev"]);
    fs::mknod("f_dev", abi::CONSOLE_MAJOR, 0).ctx("mknod(f_dev, 1, 0)")?;
    let st = fs::stat("f_dev").ctx("stat f_dev")?;
    ensure!(st.typ == abi::T_DEVICE, "mknod made type {}", st.typ);
    expect_fail!(sys::mknod(cs!("f_dev"), abi::CONSOLE_MAJOR, 0));
    fs::unlink("f_dev").ctx("unlink f_dev")?;
    Ok(())
}

/// Writes of many sizes up to beyond one log transaction complete in one call.
pub fn bigwrite() -> TestResult {
    let buf: Vec<u8> = (0..12 * 1024).map(|i| util::pattern(5, i)).collect();
    let mut size = 499;
    while size < buf.len() {
        let fd = fs::open("f_bigw", O_CREATE | O_RDWR | O_TRUNC).ctx("create f_bigw")?;
        for round in 0..2 {
            let n = sys::write(fd, buf.as_ptr(), size);
            ensure!(n == size as isize, "write {} of {} bytes returned {}", round, size, n);
        }
        let _ = fs::close(fd);
        fs::unlink("f_bigw").ctx("unlink f_bigw")?;
        size += 471;
    }
    Ok(())
}

/// Parent and child write through one shared descriptor: nothing is lost or overwritten.
pub fn sharedfd() -> TestResult {
    let fd = fs::open("f_shared", O_CREATE | O_RDWR | O_TRUNC).ctx("create f_shared")?;
    let pid = util::spawn(|| {
        for _ in 0..100 {
            if fs::write(fd, b"cccccccccc") != Ok(10) {
                return 2;
            }
        }
        0
    })?;
    for _ in 0..100 {
        ensure!(fs::write(fd, b"pppppppppp") == Ok(10), "parent's write failed");
    }
    ensure!(util::wait_for(pid)? == 0, "child's write failed");
    let _ = fs::close(fd);
    let got = util::read_file("f_shared")?;
    let c = got.iter().filter(|&&b| b == b'c').count();
    let p = got.iter().filter(|&&b| b == b'p').count();
    ensure!(c == 1000 && p == 1000, "found {} c and {} p in {} bytes, expected 1000 each", c, p, got.len());
    fs::unlink("f_shared").ctx("unlink f_shared")?;
    Ok(())
}

/// Four children write four files at once; each file holds only its writer's bytes.
pub fn fourfiles() -> TestResult {
    const NAMES: [&str; 4] = ["f4_0", "f4_1", "f4_2", "f4_3"];
    let mut pids = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        pids.push(util::spawn(|| {
            let buf = [b'0' + i as u8; 500];
            let Ok(fd) = fs::open(name, O_CREATE | O_RDWR | O_TRUNC) else { return 2 };
            for _ in 0..12 {
                if fs::write(fd, &buf) != Ok(500) {
                    return 3;
                }
            }
            let _ = fs::close(fd);
            0
        })?);
    }
    for (pid, status) in util::wait_all(&pids)? {
        ensure!(status == 0, "writer {} exited with {} (2: create failed, 3: write failed)", pid, status);
    }
    for (i, name) in NAMES.iter().enumerate() {
        let got = util::read_file(name)?;
        ensure!(got.len() == 6000, "{} has {} bytes, expected 6000", name, got.len());
        ensure!(got.iter().all(|&b| b == b'0' + i as u8), "{} holds another writer's bytes", name);
        fs::unlink(name).ctx("unlink")?;
    }
    Ok(())
}

/// Four children create 25 files each in one directory and delete the even ones; the
/// directory ends up with exactly the odd ones.
pub fn createdelete() -> TestResult {
    const PER: usize = 25;
    util::clean(&["cdir"]);
    fs::mkdir("cdir").ctx("mkdir cdir")?;
    let name = |c: usize, i: usize| format!("cdir/c{}_{:02}", c, i);
    let mut pids = Vec::new();
    for c in 0..4 {
        pids.push(util::spawn(|| {
            for i in 0..PER {
                if util::write_file(&name(c, i), name(c, i).as_bytes()).is_err() {
                    return 2;
                }
                if i % 2 == 0 && i >= 2 && fs::unlink(name(c, i - 2)).is_err() {
                    return 3;
                }
            }
            i32::from(fs::unlink(name(c, PER - 1)).is_err()) * 3
        })?);
    }
    for (pid, status) in util::wait_all(&pids)? {
        ensure!(status == 0, "child {} exited with {} (2: create failed, 3: unlink failed)", pid, status);
    }
    for c in 0..4 {
        for i in 0..PER {
            // Even names were unlinked two steps later, the last (even) one at the end.
            let should = i % 2 == 1;
            let n = name(c, i);
            ensure!(
                util::exists(&n) == should,
                "{} {}",
                n,
                if should { "is missing" } else { "should be gone" }
            );
            if should {
                ensure!(util::read_file(&n)? == n.as_bytes(), "{} holds wrong data", n);
                fs::unlink(&n).ctx(&format!("unlink {}", n))?;
            }
        }
    }
    let left = fs::read_dir("cdir").ctx("read cdir")?;
    ensure!(left.len() == 2, "cdir still lists {} entries (. and .. included)", left.len());
    fs::unlink("cdir").ctx("unlink cdir")?;
    Ok(())
}

/// Three children race to create, link and unlink the same ten names; afterwards every
/// remaining name is a sound file and the directory can be emptied.
pub fn linkunlink() -> TestResult {
    util::clean(&["ludir"]);
    fs::mkdir("ludir").ctx("mkdir ludir")?;
    let name = |k: u64| format!("ludir/x{}", k);
    let mut pids = Vec::new();
    for c in 0..3u64 {
        pids.push(util::spawn(|| {
            let mut rng = util::Rng(0x9e37_79b9 + c * 1_000_003);
            for _ in 0..60 {
                let a = rng.next(10);
                match rng.next(3) {
                    0 => {
                        if let Ok(fd) = fs::open(name(a), O_CREATE | O_RDWR) {
                            let _ = fs::write(fd, b"x");
                            let _ = fs::close(fd);
                        }
                    }
                    1 => {
                        let _ = fs::link(name(a), name(rng.next(10)));
                    }
                    _ => {
                        let _ = fs::unlink(name(a));
                    }
                }
            }
            0
        })?);
    }
    for (_, status) in util::wait_all(&pids)? {
        ensure!(status == 0, "racing child exited with {}", status);
    }
    for k in 0..10 {
        let n = name(k);
        if let Ok(st) = fs::stat(&n) {
            ensure!(st.typ == abi::T_FILE && st.nlink >= 1, "{}: type {} nlink {}", n, st.typ, st.nlink);
            fs::unlink(&n).ctx(&format!("unlink {}", n))?;
        }
    }
    fs::unlink("ludir").ctx("unlink ludir (not empty?)")?;
    Ok(())
}

/// 120 files in one directory (several directory blocks): create, check, delete.
pub fn manyfiles() -> TestResult {
    const N: usize = 120;
    util::clean(&["mdir"]);
    fs::mkdir("mdir").ctx("mkdir mdir")?;
    let name = |i: usize| format!("mdir/mf{:03}", i);
    for i in 0..N {
        util::write_file(&name(i), name(i).as_bytes())?;
    }
    let entries = fs::read_dir("mdir").ctx("read mdir")?;
    ensure!(entries.len() == N + 2, "mdir lists {} entries, expected {}", entries.len(), N + 2);
    for i in 0..N {
        ensure!(util::read_file(&name(i))? == name(i).as_bytes(), "{} holds wrong data", name(i));
    }
    expect_fail!(sys::unlink(cs!("mdir")));
    for i in 0..N {
        fs::unlink(name(i)).ctx(&format!("unlink {}", name(i)))?;
    }
    ensure!(!util::exists(&name(0)), "{} exists after unlink", name(0));
    fs::unlink("mdir").ctx("unlink the emptied mdir")?;
    Ok(())
}

/// A 2 MiB file, well into the double-indirect blocks, written and read back in pieces.
pub fn bigfile() -> TestResult {
    const SIZE: usize = 2 * 1024 * 1024 + 300;
    const CHUNK: usize = 8192;
    let fd = fs::open("f_big", O_CREATE | O_RDWR | O_TRUNC).ctx("create f_big")?;
    let mut buf = vec![0u8; CHUNK];
    let mut off = 0;
    while off < SIZE {
        let n = CHUNK.min(SIZE - off);
        for (k, b) in buf[..n].iter_mut().enumerate() {
            *b = util::pattern((off + k) / abi::BSIZE, off + k);
        }
        let w = sys::write(fd, buf.as_ptr(), n);
        ensure!(w == n as isize, "write of {} bytes at offset {} returned {}", n, off, w);
        off += n;
    }
    let st = fs::fstat(fd).ctx("fstat f_big")?;
    ensure!(st.size == SIZE as u64, "size {} after writing {}", st.size, SIZE);
    let _ = fs::close(fd);
    let fd = fs::open("f_big", O_RDONLY).ctx("open f_big")?;
    let (mut off, mut rng) = (0usize, util::Rng(42));
    loop {
        let want = 1 + rng.next(CHUNK as u64) as usize;
        let n = fs::read(fd, &mut buf[..want]).ctx(&format!("read at offset {}", off))?;
        if n == 0 {
            break;
        }
        if let Some(k) = (0..n).find(|&k| buf[k] != util::pattern((off + k) / abi::BSIZE, off + k)) {
            fail!("wrong byte at offset {} (block {})", off + k, (off + k) / abi::BSIZE);
        }
        off += n;
    }
    ensure!(off == SIZE, "read {} bytes back, expected {}", off, SIZE);
    let _ = fs::close(fd);
    fs::unlink("f_big").ctx("unlink f_big")?;
    Ok(())
}
