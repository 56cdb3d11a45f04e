//! Runs the guest's `mmaptests` suite (user/programs/src/bin/mmaptests: every mmap test
//! issue 3 asks for, and more) on 3, 1 and 4 harts, reporting like `usertests`: each case
//! prints `test NAME: OK` or `test NAME: FAILED`, and a failure names its cases. One run takes
//! about a minute, most of it spent writing the 33 MiB file of the `bigfile` case.

mod common;

use common::run_suite;
use std::time::Duration;

const SUITE_TIMEOUT: Duration = Duration::from_secs(900);

#[test]
fn mmaptests_smp3() {
    run_suite("mmaptests", 3, SUITE_TIMEOUT);
}

#[test]
fn mmaptests_smp1() {
    run_suite("mmaptests", 1, SUITE_TIMEOUT);
}

#[test]
fn mmaptests_smp4() {
    run_suite("mmaptests", 4, SUITE_TIMEOUT);
}
