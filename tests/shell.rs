//! Shell tests through the `--run` protocol: listing, files, redirection, pipes, directories,
//! `;` lists, background jobs and the exit status of a missing program.

mod common;

use common::{has_line, readme, run, run_ok};

#[test]
fn ls_lists_the_root_directory() {
    let out = run_ok("ls");
    for name in ["README", "cat", "sh", "init"] {
        let listed = out.lines().any(|l| l.split_whitespace().next() == Some(name));
        assert!(listed, "`ls` does not list {name}:\n{out}");
    }
}

#[test]
fn cat_prints_the_readme() {
    let out = run_ok("cat README");
    assert!(out.contains(&readme()), "`cat README` output lacks the README:\n{out}");
}

#[test]
fn output_redirection_then_cat() {
    let out = run_ok("echo hi > f; cat f");
    assert!(has_line(&out, "hi"), "no `hi`:\n{out}");
}

#[test]
fn input_redirection() {
    let out = run_ok("echo hi > f; cat < f");
    assert!(has_line(&out, "hi"), "no `hi`:\n{out}");
}

/// xv6's `wc` prints "LINES WORDS BYTES NAME"; reading stdin the name is empty.
fn wc_counts(out: &str) -> Vec<Vec<&str>> {
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.len() >= 3 && w[..3].iter().all(|x| x.parse::<u64>().is_ok()))
        .collect()
}

#[test]
fn pipe_into_wc() {
    let out = run_ok("echo a b c | wc");
    assert_eq!(wc_counts(&out), [vec!["1", "3", "6"]], "output:\n{out}");
}

#[test]
fn pipe_carries_the_whole_readme() {
    let text = readme();
    let lines = text.matches('\n').count().to_string();
    let words = text.split([' ', '\t', '\r', '\n', '\x0b']).filter(|w| !w.is_empty()).count().to_string();
    let bytes = text.len().to_string();
    let out = run_ok("cat README | wc");
    assert_eq!(wc_counts(&out), [vec![lines.as_str(), words.as_str(), bytes.as_str()]], "output:\n{out}");
}

#[test]
fn mkdir_cd_and_relative_paths() {
    let out = run_ok("mkdir d; cd d; echo x > y; cat y");
    assert!(has_line(&out, "x"), "no `x`:\n{out}");
}

#[test]
fn grep_finds_exactly_the_matching_readme_lines() {
    let readme = readme();
    let want: Vec<&str> = readme.lines().filter(|l| l.contains("cargo")).map(str::trim_end).collect();
    assert!(!want.is_empty(), "README.md should mention cargo");
    let out = run_ok("grep cargo README");
    let got: Vec<&str> = out.lines().filter(|l| l.contains("cargo")).map(str::trim_end).collect();
    assert_eq!(got, want, "output:\n{out}");
}

#[test]
fn semicolon_lists_run_in_order() {
    let out = run_ok("echo one; echo two; echo three");
    let seen: Vec<&str> =
        out.lines().map(str::trim_end).filter(|l| ["one", "two", "three"].contains(l)).collect();
    assert_eq!(seen, ["one", "two", "three"], "output:\n{out}");
}

#[test]
fn background_job_runs() {
    // The foreground part does real work after starting the job, so the job has long finished
    // by the time the shell exits and init powers the machine off.
    let out = run_ok("echo bg &; wc README; echo fg");
    assert!(has_line(&out, "bg"), "the background `echo bg` printed nothing:\n{out}");
    assert!(has_line(&out, "fg"), "no `fg`:\n{out}");
}

#[test]
fn missing_program_fails() {
    let (code, out) = run("false-program-that-does-not-exist");
    assert_ne!(code, 0, "a missing program exited 0:\n{out}");
}
