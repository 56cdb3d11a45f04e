//! Runs the guest's `usertests` suite (the xv6-style kernel tests) on 3, 1 and 4 harts; each
//! case reports `test NAME: OK` or `test NAME: FAILED`, and a failure names its cases.

mod common;

use common::run_suite;
use std::time::Duration;

const SUITE_TIMEOUT: Duration = Duration::from_secs(900);

#[test]
fn usertests_smp3() {
    run_suite("usertests", 3, SUITE_TIMEOUT);
}

#[test]
fn usertests_smp1() {
    run_suite("usertests", 1, SUITE_TIMEOUT);
}

#[test]
fn usertests_smp4() {
    run_suite("usertests", 4, SUITE_TIMEOUT);
}

#[test]
fn case_lines_are_parsed() {
    let out = "boot\ntest fork: OK\r\ntest sbrk big: FAILED\ntest x: maybe\n  test pipe: OK\n";
    let cases = common::parse_cases(out);
    let got: Vec<(&str, bool)> = cases.iter().map(|c| (c.name.as_str(), c.passed)).collect();
    assert_eq!(got, [("fork", true), ("sbrk big", false), ("pipe", true)]);
}
