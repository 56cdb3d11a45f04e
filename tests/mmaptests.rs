//! Runs the guest's `mmaptests` suite (the mmap lab's cases and the project's own) on 3, 1
//! and 4 harts, reporting like `usertests`.

mod common;

use common::run_suite;
use std::time::Duration;

const SUITE_TIMEOUT: Duration = Duration::from_secs(900);

#[test]
#[ignore = "mmap suite not built yet (issue 3)"]
fn mmaptests_smp3() {
    run_suite("mmaptests", 3, SUITE_TIMEOUT);
}

#[test]
#[ignore = "mmap suite not built yet (issue 3)"]
fn mmaptests_smp1() {
    run_suite("mmaptests", 1, SUITE_TIMEOUT);
}

#[test]
#[ignore = "mmap suite not built yet (issue 3)"]
fn mmaptests_smp4() {
    run_suite("mmaptests", 4, SUITE_TIMEOUT);
}
