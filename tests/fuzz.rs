//! Runs the system-call fuzzer (user/programs/src/bin/fuzz) with a fixed seed: 20,000
//! random calls on one hart and on four, and once in `oom` mode (resources exhausted on
//! purpose first). Each run must end with the fuzzer's verdict `fuzz: PASS` (the kernel's
//! free-page count back at its start value, the file system working) and the kernel must
//! never panic. Chunks killed by the kernel or by their watchdog are normal and not checked.

mod common;

use common::{has_line, Run};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(600);

/// Runs `command` on `smp` harts and checks the verdict, the exit status and the absence of
/// any kernel panic.
fn fuzz(command: &str, smp: u32) {
    let (code, out) = Run::new(command).smp(smp).timeout(TIMEOUT).go();
    for sign in ["panic", "memory allocation of"] {
        assert!(!out.contains(sign), "`{command}` (smp {smp}): the kernel panicked ({sign}); output:\n{out}");
    }
    assert!(has_line(&out, "fuzz: PASS"), "`{command}` (smp {smp}) did not pass; output:\n{out}");
    assert!(
        has_line(&out, "fuzz: file system works"),
        "`{command}` (smp {smp}): no file-system line; output:\n{out}"
    );
    assert_eq!(code, 0, "`{command}` (smp {smp}) exited with {code}; output:\n{out}");
}

#[test]
fn fuzz_smp1() {
    fuzz("fuzz 12345 20000", 1);
}

#[test]
fn fuzz_smp4() {
    fuzz("fuzz 12345 20000", 4);
}

#[test]
fn fuzz_oom() {
    fuzz("fuzz 777 2000 oom", 3);
}
