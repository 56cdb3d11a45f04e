//! Checks for the outside tools the runner needs (the Rust target and QEMU), installing the
//! target through rustup when it is missing and otherwise saying exactly what to run.
//!
//! It only inspects and reports; it never edits the user's system beyond `rustup target add`.

use crate::{build::nested_cargo_env, Error, Result, TARGET};
use std::path::Path;
use std::process::{Command, Stdio};

/// The QEMU binary the runner starts.
pub const QEMU: &str = "qemu-system-riscv64";

/// Whether `program` can be started (found on PATH and executable).
pub fn on_path(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// The command that installs a Debian package, with `sudo` unless we are root.
pub fn apt_install_hint(package: &str) -> String {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let sudo = if root { "" } else { "sudo " };
    format!("{sudo}apt-get install {package}")
}

/// Fails with an install hint when QEMU is not on PATH.
pub fn check_qemu() -> Result<()> {
    if on_path(QEMU) {
        return Ok(());
    }
    Err(Error::new(format!(
        "{QEMU} not found on PATH; install it with:\n    {}",
        apt_install_hint("qemu-system-misc")
    )))
}

/// Makes sure the toolchain that builds `workspace` (its own `rust-toolchain.toml` wins) has
/// the RISC-V target, running `rustup target add` when it does not. Without rustup the check
/// is skipped: the build itself will then say what is missing.
pub fn check_target(workspace: &Path) -> Result<()> {
    let rustup = |args: &[&str]| {
        let mut cmd = Command::new("rustup");
        nested_cargo_env(&mut cmd);
        cmd.args(args).current_dir(workspace);
        cmd
    };
    let listed = match rustup(&["target", "list", "--installed"]).output() {
        Ok(out) if out.status.success() => out,
        _ => return Ok(()),
    };
    if String::from_utf8_lossy(&listed.stdout).lines().any(|l| l.trim() == TARGET) {
        return Ok(());
    }
    eprintln!("runner: the Rust target {TARGET} is missing; running `rustup target add {TARGET}`");
    let added = rustup(&["target", "add", TARGET]).status();
    if matches!(added, Ok(s) if s.success()) {
        return Ok(());
    }
    Err(Error::new(format!(
        "could not install the Rust target {TARGET}; run this yourself:\n    \
         (cd {} && rustup target add {TARGET})",
        workspace.display()
    )))
}

/// All checks needed before building and booting.
pub fn check_all(root: &Path) -> Result<()> {
    check_target(&root.join("kernel"))?;
    check_target(&root.join("user"))?;
    check_qemu()
}
