//! exec tests: programs start with the right arguments and inherited descriptors, exit
//! statuses come through, argument limits (MAXARG, one stack page) are enforced, and files
//! that are not valid executables are refused with -1 while the caller lives on unchanged.

use crate::util::{self, Ctx, TestResult, EXEC_FAILED};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use ulib::process;
use ulib::{abi, fs};

/// Argument `i` for the `--argcheck` helper: 64 bytes that depend on `i`.
pub fn arg_pattern(i: usize) -> Vec<u8> {
    (0..64).map(|j| b'a' + ((i * 7 + j) % 26) as u8).collect()
}

/// argv for `usertests --argcheck` with `count` strings in all.
fn argcheck_argv(count: usize) -> Vec<Vec<u8>> {
    let mut argv = vec![b"usertests".to_vec(), b"--argcheck".to_vec()];
    argv.extend((2..count).map(arg_pattern));
    argv
}

/// exec of echo with stdout on a pipe: the output arrives, the status is 0.
pub fn echo() -> TestResult {
    let (r, w) = fs::pipe().ctx("pipe")?;
    let pid = util::spawn(|| {
        let _ = fs::close(1);
        if fs::dup(w) != Ok(1) {
            return 3;
        }
        let _ = (fs::close(r), fs::close(w));
        process::exec("/echo", &["echo", "hello", "world"]);
        EXEC_FAILED
    })?;
    let _ = fs::close(w);
    let out = fs::read_to_end(r).ctx("read from echo")?;
    let status = util::wait_for(pid)?;
    ensure!(status != EXEC_FAILED, "exec(/echo) failed");
    ensure!(status == 0, "echo exited with {}", status);
    ensure!(out == b"hello world\n", "echo wrote {:?}", String::from_utf8_lossy(&out));
    Ok(())
}

/// The exit status of an exec'd program reaches wait.
pub fn status() -> TestResult {
    let status = util::in_child(|| {
        process::exec("/usertests", &["usertests", "--exit", "42"]);
        EXEC_FAILED
    })?;
    ensure!(status != EXEC_FAILED, "exec(/usertests --exit 42) failed");
    ensure!(status == 42, "usertests --exit 42 ended with status {}", status);
    Ok(())
}

/// MAXARG - 1 = 31 arguments of 64 bytes arrive intact.
pub fn maxarg() -> TestResult {
    let argv = argcheck_argv(abi::MAXARG - 1);
    let status = util::in_child(|| {
        process::exec("/usertests", &argv);
        EXEC_FAILED
    })?;
    ensure!(status != EXEC_FAILED, "exec with {} arguments failed", argv.len());
    ensure!(
        status == argv.len() as i32,
        "exec with {} arguments: the program saw {} (status {})",
        argv.len(),
        if status >= 200 { format!("a wrong argument {}", status - 200) } else { format!("argc {}", status) },
        status
    );
    Ok(())
}

/// More than MAXARG arguments make exec fail.
pub fn toomany() -> TestResult {
    for count in [abi::MAXARG + 1, abi::MAXARG + 8, 100] {
        let argv = argcheck_argv(count);
        let what = format!("usertests with {} arguments", count);
        util::expect_exec_fails(&what, || process::exec("/usertests", &argv).0)?;
    }
    Ok(())
}

/// Arguments that do not fit in the one-page stack make exec fail.
pub fn argsize() -> TestResult {
    let big: Vec<Vec<u8>> = (0..12).map(|i| vec![b'a' + i as u8; 400]).collect();
    util::expect_exec_fails("echo with 4800 bytes of arguments", || process::exec("/echo", &big).0)
}

/// exec of missing files, directories and text fails.
pub fn missing() -> TestResult {
    for path in ["/no-such-program", "/", ".", "", "/README"] {
        util::expect_exec_fails(path, || process::exec(path, &[path]).0)?;
    }
    Ok(())
}

fn get_u16(b: &[u8], off: usize) -> usize {
    usize::from(u16::from_le_bytes([b[off], b[off + 1]]))
}

fn get_u64(b: &[u8], off: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(x)
}

fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// Offset of the first PT_LOAD program header in ELF image `elf`.
fn first_load(elf: &[u8]) -> Option<usize> {
    let phoff = get_u64(elf, 0x20) as usize;
    let (entsize, count) = (get_u16(elf, 0x36), get_u16(elf, 0x38));
    (0..count)
        .map(|i| phoff + i * entsize)
        .find(|&off| off + 56 <= elf.len() && elf[off..off + 4] == 1u32.to_le_bytes())
}

/// Broken variants of a good executable, each with a name for the report.
fn broken_variants(good: &[u8], ph: usize) -> Vec<(&'static str, Vec<u8>)> {
    let len = good.len();
    let phoff = get_u64(good, 0x20) as usize;
    let filesz = get_u64(good, ph + 32);
    let modified = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut v = good.to_vec();
        f(&mut v);
        v
    };
    vec![
        ("a shell script", b"#!/bin/sh\necho not an elf\n".to_vec()),
        ("an empty file", Vec::new()),
        ("an ELF with a bad magic number", modified(&|v| v[1] = b'X')),
        ("an ELF header cut at 40 bytes", good[..40].to_vec()),
        ("program headers past the end", modified(&|v| put_u64(v, 0x20, len as u64 + 4096))),
        ("program headers cut short", good[..(phoff + 20).min(len)].to_vec()),
        ("65535 program headers", modified(&|v| v[0x38..0x3a].copy_from_slice(&[0xff, 0xff]))),
        ("filesz > memsz", modified(&|v| put_u64(v, ph + 40, filesz / 2))),
        ("vaddr + memsz overflowing", modified(&|v| put_u64(v, ph + 16, 0xffff_ffff_ffff_f000))),
        ("a segment past the end of the file", modified(&|v| put_u64(v, ph + 8, len as u64))),
        ("a vaddr not page-aligned", modified(&|v| put_u64(v, ph + 16, 0x10))),
        ("a segment on the trap frame", modified(&|v| put_u64(v, ph + 16, abi::TRAPFRAME as u64))),
        ("a 1 TiB memsz", modified(&|v| put_u64(v, ph + 40, 1 << 40))),
    ]
}

/// exec refuses files that are not valid executables, and the caller survives intact.
pub fn badelf() -> TestResult {
    let good = util::read_file("/echo")?;
    ensure!(good.len() > 64 && good[..4] == *b"\x7fELF", "/echo is not an ELF file");
    let Some(ph) = first_load(&good) else { fail!("/echo has no PT_LOAD segment") };
    let canary = vec![0x5au8; 8192];
    for (i, (what, image)) in broken_variants(&good, ph).into_iter().enumerate() {
        let name = format!("badelf{}", i);
        util::write_file(&name, &image)?;
        util::expect_exec_fails(what, || {
            let r = process::exec(&name, &[name.as_str()]).0;
            if canary.iter().all(|&b| b == 0x5a) {
                r
            } else {
                -2
            }
        })?;
        fs::unlink(&name).ctx(&format!("unlink {}", name))?;
    }
    Ok(())
}
