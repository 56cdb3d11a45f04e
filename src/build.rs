//! Builds the kernel and the user programs as nested cargo builds of their own workspaces and
//! finds what they produced.
//!
//! It owns the environment those builds run in: variables that a parent cargo (or `cargo
//! clippy`, or rustup) sets for *this* package are removed, because they would redirect or
//! break a build of another workspace. It knows only the output paths of the two workspaces,
//! nothing about their contents.

use crate::{Error, Result, TARGET};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What the builds produced.
#[derive(Clone, Debug)]
pub struct Artifacts {
    /// The kernel ELF.
    pub kernel: PathBuf,
    /// The user programs, sorted by file name.
    pub programs: Vec<PathBuf>,
}

/// Variables removed by name from a nested build's environment.
const CLEARED: &[&str] = &[
    "CARGO",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "RUSTC",
    "RUSTDOC",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTUP_TOOLCHAIN",
    "RUSTUP_TOOLCHAIN_SOURCE",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_BUILD_RUSTDOCFLAGS",
    "CARGO_BUILD_RUSTC",
    "CARGO_BUILD_RUSTDOC",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
];

/// Prefixes of variables removed from a nested build's environment: the target directory and
/// per-target settings (`CARGO_TARGET_DIR`, `CARGO_TARGET_<TRIPLE>_RUNNER`, ...), and the
/// package metadata of this package.
const CLEARED_PREFIXES: &[&str] = &["CARGO_TARGET_", "CARGO_PKG_", "CARGO_BIN_"];

/// Removes from `cmd`'s environment everything a parent cargo set that would leak into a
/// nested build of a different workspace (see [`CLEARED`] and [`CLEARED_PREFIXES`]).
pub fn nested_cargo_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if CLEARED.contains(&key) || CLEARED_PREFIXES.iter().any(|p| key.starts_with(p)) {
            cmd.env_remove(key);
        }
    }
}

/// Where a workspace's release binaries land.
pub fn release_dir(workspace: &Path) -> PathBuf {
    workspace.join("target").join(TARGET).join("release")
}

/// The kernel ELF path (whether or not it was built).
pub fn kernel_path(root: &Path) -> PathBuf {
    release_dir(&root.join("kernel")).join("kernel")
}

/// Runs `cargo build --release` in `workspace`. With `quiet`, cargo's output is captured and
/// shown only in the error; otherwise it goes to the terminal.
fn cargo_build(workspace: &Path, what: &str, quiet: bool) -> Result<()> {
    let mut cmd = Command::new("cargo");
    nested_cargo_env(&mut cmd);
    cmd.args(["build", "--release"]).current_dir(workspace).stdin(Stdio::null());
    let failed = |detail: String| {
        Error::new(format!(
            "building the {what} failed (`cargo build --release` in {}){detail}",
            workspace.display()
        ))
    };
    if quiet {
        let out = cmd.output().map_err(|e| failed(format!(": {e}")))?;
        if !out.status.success() {
            let log = String::from_utf8_lossy(&out.stderr);
            return Err(failed(format!(":\n{log}")));
        }
    } else {
        let status = cmd.status().map_err(|e| failed(format!(": {e}")))?;
        if !status.success() {
            return Err(failed(" (see the messages above)".into()));
        }
    }
    Ok(())
}

/// Builds the kernel; returns its ELF path.
pub fn build_kernel(root: &Path, quiet: bool) -> Result<PathBuf> {
    cargo_build(&root.join("kernel"), "kernel", quiet)?;
    existing_kernel(root)
}

/// The kernel ELF, which must exist already.
pub fn existing_kernel(root: &Path) -> Result<PathBuf> {
    let path = kernel_path(root);
    if !path.is_file() {
        return Err(Error::new(format!("no kernel at {} (build it, or drop --no-build)", path.display())));
    }
    Ok(path)
}

/// Builds the user programs; returns their paths.
pub fn build_user(root: &Path, quiet: bool) -> Result<Vec<PathBuf>> {
    cargo_build(&root.join("user"), "user programs", quiet)?;
    user_programs(root)
}

/// The user programs already built: regular files in the user workspace's release directory
/// whose names contain no `.` (which skips `.d` files, `.cargo-lock` and libraries), sorted.
pub fn user_programs(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = release_dir(&root.join("user"));
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| Error::new(format!("no user programs in {}: {e}", dir.display())))?;
    let mut programs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::new(format!("{}: {e}", dir.display())))?;
        let name = entry.file_name();
        let plain = name.to_str().is_some_and(|n| !n.contains('.'));
        if plain && entry.file_type().is_ok_and(|t| t.is_file()) {
            programs.push(entry.path());
        }
    }
    programs.sort();
    Ok(programs)
}

/// Builds the kernel and the user programs (or, with `no_build`, finds them).
pub fn build_all(root: &Path, quiet: bool, no_build: bool) -> Result<Artifacts> {
    if no_build {
        return Ok(Artifacts { kernel: existing_kernel(root)?, programs: user_programs(root)? });
    }
    Ok(Artifacts { kernel: build_kernel(root, quiet)?, programs: build_user(root, quiet)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_env_drops_parent_cargo_settings() {
        let mut cmd = Command::new("true");
        // Only variables present in our own environment are removed; cargo test sets these.
        nested_cargo_env(&mut cmd);
        let removed: Vec<String> = cmd
            .get_envs()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        if std::env::var_os("CARGO_PKG_NAME").is_some() {
            assert!(removed.iter().any(|k| k == "CARGO_PKG_NAME"));
        }
        assert!(!removed.iter().any(|k| k == "PATH" || k == "CARGO_HOME"));
    }

    #[test]
    fn program_listing_skips_dotted_names_and_directories() {
        let root = std::env::temp_dir().join(format!("vmos-build-test-{}", std::process::id()));
        let dir = release_dir(&root.join("user"));
        std::fs::create_dir_all(dir.join("deps")).unwrap();
        for name in ["sh", "cat", "sh.d", ".cargo-lock", "libulib.rlib"] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        let names: Vec<String> = user_programs(&root)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(names, ["cat", "sh"]);
    }
}
