//! Boot tests: the kernel boots, init runs a `--run` command and powers off with its status,
//! and without a command the interactive shell prompts and runs what is typed at it.

mod common;

use common::{has_line, interactive, run_ok, TIMEOUT};

#[test]
fn run_echo_hello_exits_zero() {
    let out = run_ok("echo hello");
    assert!(has_line(&out, "hello"), "no line `hello` in:\n{out}");
}

#[test]
fn interactive_shell_prompts_and_runs_a_command() {
    let mut console = interactive();
    let guest = &mut console.guest;
    let prompted = guest.wait_for(TIMEOUT, |o| o.contains("$ "));
    assert!(prompted, "no `$ ` prompt; output:\n{}", guest.output());
    let typed_at = guest.output().len();
    guest.send("echo hi\n").unwrap();
    // The console echoes the typed line ("$ echo hi"); the command's own output is "hi" alone.
    let answered = guest.wait_for(TIMEOUT, |o| {
        o.get(typed_at..).is_some_and(|new| new.lines().any(|l| l.trim_end_matches('\r') == "hi"))
    });
    assert!(answered, "`echo hi` printed no `hi`; output:\n{}", guest.output());
}
