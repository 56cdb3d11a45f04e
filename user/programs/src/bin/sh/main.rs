//! sh: the shell. Reads command lines (xv6's grammar, see `parse.rs`) from the console,
//! from a script file (`sh FILE`), or from its argument (`sh -c LINE`), and runs them.
//!
//! The shell interprets a line in its own process and forks only to start programs, groups,
//! pipeline stages and background jobs, so `cd` works anywhere in a line and the shell knows
//! every status: a line's status is its last command's, a pipeline's is its last stage's, a
//! program that cannot be started has status 127. `sh -c LINE` exits with the line's status;
//! the interactive shell exits with 0 at end of input. The prompt "$ " goes to fd 2. A program
//! name without '/' that is not found in the working directory is looked up in the root.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

mod parse;

use alloc::vec::Vec;
use parse::{Cmd, Mode, Redir};
use ulib::io::{self, Bstr};
use ulib::process::{self, Fork};
use ulib::{abi, eprint, eprintln, fs, Args};

ulib::entry!(main);

/// Longest command line read at once; the rest of a longer line is read as the next one.
const MAX_LINE: usize = 512;

/// Status of a command that could not be started.
const NOT_RUN: i32 = 127;

/// Status of a line that does not parse.
const SYNTAX: i32 = 2;

fn main(args: Args) -> i32 {
    ensure_std_fds();
    match (args.get(1), args.get(2)) {
        (Some(b"-c"), Some(line)) => run_line(line),
        (Some(b"-c"), None) => {
            eprintln!("sh: -c needs a command line");
            SYNTAX
        }
        (Some(path), _) => match fs::open(path, abi::O_RDONLY) {
            Ok(fd) => read_eval_loop(fd, false),
            Err(_) => {
                eprintln!("sh: cannot open {}", Bstr(path));
                1
            }
        },
        (None, _) => read_eval_loop(io::STDIN, true),
    }
}

/// Makes sure fds 0, 1 and 2 are open, opening the console for any that is not.
fn ensure_std_fds() {
    while let Ok(fd) = fs::open("console", abi::O_RDWR) {
        if fd >= 3 {
            let _ = fs::close(fd);
            break;
        }
    }
}

/// Reads lines from `fd` and runs each; returns at end of input with the last status
/// (0 for the interactive shell, as xv6's does).
fn read_eval_loop(fd: i32, interactive: bool) -> i32 {
    let mut line = Vec::with_capacity(MAX_LINE);
    let mut status = 0;
    loop {
        if interactive {
            eprint!("$ ");
        }
        match io::read_line(fd, &mut line, MAX_LINE) {
            Ok(0) | Err(_) => return if interactive { 0 } else { status },
            Ok(_) => status = run_line(&line),
        }
    }
}

/// Parses and runs one line; returns its status.
fn run_line(line: &[u8]) -> i32 {
    match parse::parse(line) {
        Ok(cmd) if cmd.is_empty() => 0,
        Ok(cmd) => run(&cmd),
        Err(e) => {
            eprintln!("sh: syntax error ({:?})", e);
            SYNTAX
        }
    }
}

/// Runs `cmd` from this process and returns its status.
fn run(cmd: &Cmd) -> i32 {
    match cmd {
        Cmd::Exec { argv, .. } if argv.first().map(Vec::as_slice) == Some(b"cd") => cd(argv),
        Cmd::Exec { argv, redirs } if argv.is_empty() => touch_redirs(redirs),
        Cmd::Exec { .. } | Cmd::Group { .. } => match spawn(cmd) {
            Some(pid) => wait_for(pid),
            None => NOT_RUN,
        },
        Cmd::List(first, rest) => {
            run(first);
            run(rest)
        }
        Cmd::Back(job) => {
            if let Ok(Fork::Child) = fork() {
                process::exit(run(job));
            }
            0
        }
        Cmd::Pipe(stages) => run_pipe(stages),
    }
}

/// Built-in `cd DIR` (to "/" without an argument).
fn cd(argv: &[Vec<u8>]) -> i32 {
    let dir = argv.get(1).map(Vec::as_slice).unwrap_or(b"/");
    match fs::chdir(dir) {
        Ok(()) => 0,
        Err(_) => {
            eprintln!("cannot cd {}", Bstr(dir));
            1
        }
    }
}

/// A line of redirections only (`> file`): open (create, truncate) each file and close it.
fn touch_redirs(redirs: &[Redir]) -> i32 {
    for r in redirs {
        match fs::open(&r.path, open_flags(r.mode)) {
            Ok(fd) => {
                let _ = fs::close(fd);
            }
            Err(_) => {
                eprintln!("open {} failed", Bstr(&r.path));
                return 1;
            }
        }
    }
    0
}

/// `fork`, reporting failure.
fn fork() -> Result<Fork, ()> {
    process::fork().map_err(|_| eprintln!("sh: fork failed"))
}

/// Forks a child that becomes `cmd` (see [`become_cmd`]); returns its pid.
fn spawn(cmd: &Cmd) -> Option<i32> {
    match fork().ok()? {
        Fork::Child => become_cmd(cmd),
        Fork::Parent(pid) => Some(pid),
    }
}

/// In a child: applies `cmd`'s redirections and runs it, replacing this process by the program
/// when `cmd` is one; exits with the status.
fn become_cmd(cmd: &Cmd) -> ! {
    match cmd {
        Cmd::Exec { argv, redirs } if !argv.is_empty() => {
            if apply_redirs(redirs).is_err() {
                process::exit(1);
            }
            if argv[0] == b"cd" {
                process::exit(cd(argv));
            }
            process::exec(&argv[0], argv);
            if !argv[0].contains(&b'/') {
                // The programs live in the root: let them run from any directory.
                let mut rooted = Vec::with_capacity(argv[0].len() + 1);
                rooted.push(b'/');
                rooted.extend_from_slice(&argv[0]);
                process::exec(&rooted, argv);
            }
            eprintln!("exec {} failed", Bstr(&argv[0]));
            process::exit(NOT_RUN)
        }
        Cmd::Group { body, redirs } => {
            if apply_redirs(redirs).is_err() {
                process::exit(1);
            }
            process::exit(run(body))
        }
        other => process::exit(run(other)),
    }
}

fn open_flags(mode: Mode) -> usize {
    match mode {
        Mode::Read => abi::O_RDONLY,
        Mode::Truncate => abi::O_WRONLY | abi::O_CREATE | abi::O_TRUNC,
        Mode::Append => abi::O_RDWR | abi::O_CREATE,
    }
}

/// Replaces fds by the redirections' files (close, then open takes the lowest free fd).
fn apply_redirs(redirs: &[Redir]) -> Result<(), ()> {
    for r in redirs {
        let _ = fs::close(r.fd);
        let opened = fs::open(&r.path, open_flags(r.mode));
        let opened = match (opened, r.mode) {
            // Not readable (a write-only device, say): append without seeking.
            (Err(_), Mode::Append) => fs::open(&r.path, abi::O_WRONLY | abi::O_CREATE),
            (result, _) => result,
        };
        match opened {
            Ok(fd) if fd == r.fd => {
                if r.mode == Mode::Append {
                    skip_to_end(fd);
                }
            }
            Ok(fd) => {
                eprintln!("sh: {} opened as fd {}, not {}", Bstr(&r.path), fd, r.fd);
                return Err(());
            }
            Err(_) => {
                eprintln!("open {} failed", Bstr(&r.path));
                return Err(());
            }
        }
    }
    Ok(())
}

/// There is no lseek: move a regular file's offset to its end by reading it through.
fn skip_to_end(fd: i32) {
    if !matches!(fs::fstat(fd), Ok(st) if st.typ == abi::T_FILE) {
        return;
    }
    let mut chunk = [0u8; 512];
    while let Ok(n) = fs::read(fd, &mut chunk) {
        if n == 0 {
            break;
        }
    }
}

/// Runs the stages of a pipeline concurrently; returns the last stage's status.
fn run_pipe(stages: &[Cmd]) -> i32 {
    let mut pids = Vec::with_capacity(stages.len());
    let mut input: Option<i32> = None;
    for (i, stage) in stages.iter().enumerate() {
        let last = i + 1 == stages.len();
        let pipe = if last {
            None
        } else {
            match fs::pipe() {
                Ok(p) => Some(p),
                Err(_) => {
                    eprintln!("sh: pipe failed");
                    break;
                }
            }
        };
        match fork() {
            Ok(Fork::Child) => {
                if let Some(fd) = input {
                    move_fd(fd, 0);
                }
                if let Some((r, w)) = pipe {
                    let _ = fs::close(r);
                    move_fd(w, 1);
                }
                become_cmd(stage)
            }
            Ok(Fork::Parent(pid)) => pids.push(pid),
            Err(()) => {}
        }
        if let Some(fd) = input.take() {
            let _ = fs::close(fd);
        }
        if let Some((r, w)) = pipe {
            let _ = fs::close(w);
            input = Some(r);
        }
    }
    if let Some(fd) = input {
        let _ = fs::close(fd);
    }
    let statuses = process::wait_all(&pids).unwrap_or_default();
    match statuses.last() {
        Some(&s) if pids.len() == stages.len() => s,
        _ => NOT_RUN,
    }
}

/// Makes `to` a copy of `from` and closes `from` (`to` must be the lowest closed fd).
fn move_fd(from: i32, to: i32) {
    if from == to {
        return;
    }
    let _ = fs::close(to);
    match fs::dup(from) {
        Ok(fd) if fd == to => {}
        _ => {
            eprintln!("sh: cannot set up fd {}", to);
            process::exit(1);
        }
    }
    let _ = fs::close(from);
}

/// Waits for child `pid` (reaping finished background jobs meanwhile); returns its status.
fn wait_for(pid: i32) -> i32 {
    process::wait_pid(pid).unwrap_or(NOT_RUN)
}
