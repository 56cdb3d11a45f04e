//! `cargo run`: check the tools, build the kernel and the user programs, write build/fs.img,
//! and boot QEMU, on the terminal or running one command (`--run`) with its status as ours.
//!
//! This file is only the sequence of steps and the user-facing messages; each step is a
//! library function (see `lib.rs`) that the integration tests share.

use std::process::ExitCode;
use vmos::{build, image, options, qemu, tools, Error};

/// Our exit status when `--timeout` expires (as `timeout(1)` does).
const TIMED_OUT: u8 = 124;

fn main() -> ExitCode {
    let opts = match options::parse(std::env::args().skip(1)) {
        Ok(options::Request::Help) => {
            println!("{}", options::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(options::Request::Run(o)) => o,
        Err(msg) => {
            eprintln!("runner: {msg}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("runner: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(opts: &options::Options) -> Result<ExitCode, Error> {
    let root = vmos::repo_root();
    if !opts.no_build {
        tools::check_all(&root)?;
    }
    tools::check_qemu()?;
    let artifacts = build::build_all(&root, false, opts.no_build)?;
    // An interactive boot uses build/fs.img; a `--run` gets an image of its own (removed
    // afterwards), so concurrent runs never share a disk. `--image` names a disk that
    // outlives the run: made only if missing, booted as it is otherwise.
    let (img, temporary) = match (&opts.image, &opts.run) {
        (Some(path), _) => (path.clone(), false),
        (None, None) => (image::default_image_path(&root), false),
        (None, Some(_)) => (root.join("build").join(format!("run-{}.img", std::process::id())), true),
    };
    if opts.image.is_none() || !img.exists() {
        image::make_image(&root, &artifacts, &opts.add, &img, opts.size)?;
    }
    let result = boot(opts, &artifacts, &img);
    if temporary {
        let _ = std::fs::remove_file(&img);
    }
    result
}

fn boot(
    opts: &options::Options,
    artifacts: &build::Artifacts,
    img: &std::path::Path,
) -> Result<ExitCode, Error> {
    let mut machine = qemu::Machine::new(artifacts.kernel.clone(), img.to_path_buf());
    machine.smp = opts.smp;
    machine.mem = opts.mem.clone();
    machine.append = opts.run.clone();
    machine.gdb = opts.gdb;
    eprintln!("kernel: {}", artifacts.kernel.display());
    eprintln!("image:  {}", img.display());
    eprintln!("qemu:   {}", machine.command_line());
    if opts.gdb {
        eprintln!(
            "gdb:    QEMU waits for gdb on :1234; in another terminal run\n        \
             gdb-multiarch {} -ex 'target remote :1234'",
            artifacts.kernel.display()
        );
    }

    let Some(command) = &opts.run else {
        eprintln!("(Ctrl-A X quits QEMU)");
        let status = qemu::run_attached(&machine)?;
        return Ok(exit_code(status.code()));
    };
    let outcome = qemu::Guest::start(&machine, true)?.finish(opts.timeout)?;
    if outcome.timed_out {
        let secs = opts.timeout.map_or(0, |t| t.as_secs());
        eprintln!("runner: `{command}` did not finish within {secs} s; QEMU was killed");
        return Ok(ExitCode::from(TIMED_OUT));
    }
    Ok(exit_code(outcome.code))
}

/// QEMU's exit code as ours; killed by a signal counts as failure.
fn exit_code(code: Option<i32>) -> ExitCode {
    match code {
        Some(c) => ExitCode::from((c & 0xff) as u8),
        None => ExitCode::FAILURE,
    }
}
