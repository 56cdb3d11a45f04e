//! init: the first user process. Opens the console as fds 0, 1 and 2 (creating the device
//! node if it is missing), then either keeps a shell running forever (`init`), or runs one
//! command line and powers the machine off with its status (`init -c CMD`, which the kernel
//! uses when the runner is given `--run CMD`). Reaps every orphan handed to it meanwhile.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use ulib::process::{self, Fork};
use ulib::{abi, fs, println, Args};

ulib::entry!(main);

fn main(args: Args) -> i32 {
    open_console();
    match (args.get(1), args.get(2)) {
        (Some(b"-c"), Some(cmd)) => run_once(cmd),
        _ => run_forever(),
    }
}

/// Makes fds 0, 1 and 2 the console.
fn open_console() {
    if fs::open("console", abi::O_RDWR).is_err() {
        let _ = fs::mknod("console", abi::CONSOLE_MAJOR, 0);
        if fs::open("console", abi::O_RDWR).is_err() {
            // Nowhere to report it: stop with a distinctive status.
            process::poweroff(126);
        }
    }
    let _ = fs::dup(0);
    let _ = fs::dup(0);
}

/// Starts `sh` with `argv`; returns its pid, or `None` if fork failed. The child exits with
/// 127 if exec fails.
fn start_sh(argv: &[&[u8]]) -> Option<i32> {
    match process::fork() {
        Ok(Fork::Child) => {
            process::exec("sh", argv);
            ulib::eprintln!("init: exec sh failed");
            process::exit(127)
        }
        Ok(Fork::Parent(pid)) => Some(pid),
        Err(_) => None,
    }
}

/// Normal mode: a shell on the console, restarted whenever it exits.
fn run_forever() -> ! {
    loop {
        println!("init: starting sh");
        let Some(pid) = start_sh(&[b"sh"]) else {
            ulib::eprintln!("init: fork failed");
            let _ = process::pause(10);
            continue;
        };
        // Reap orphans until the shell itself exits.
        loop {
            match process::wait() {
                Ok((got, _)) if got == pid => break,
                Ok(_) => {}
                Err(_) => {
                    ulib::eprintln!("init: wait returned an error");
                    let _ = process::pause(10);
                    break;
                }
            }
        }
    }
}

/// `-c CMD` mode: run `sh -c CMD`, then power off with its exit status.
fn run_once(cmd: &[u8]) -> i32 {
    let Some(pid) = start_sh(&[b"sh", b"-c", cmd]) else {
        ulib::eprintln!("init: fork failed");
        process::poweroff(127);
    };
    loop {
        match process::wait() {
            Ok((got, status)) if got == pid => process::poweroff(status),
            Ok(_) => {}
            Err(_) => process::poweroff(127),
        }
    }
}
