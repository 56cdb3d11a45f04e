//! The runner behind `cargo run`, as a library so the integration tests under `tests/` drive
//! QEMU exactly the way a user does.
//!
//! It owns the host-side pipeline: checking the tools ([`tools`]), building the kernel and the
//! user programs as nested cargo builds ([`build`]), making a file-system image ([`image`]),
//! and starting QEMU, interactively or with a command and a timeout ([`qemu`]). It never
//! reaches into the kernel's or the user programs' sources; it only knows where their build
//! outputs land. Option parsing for the binary is in [`options`].
#![forbid(unsafe_code)]

pub mod build;
pub mod image;
pub mod options;
pub mod qemu;
pub mod tools;

use std::fmt;
use std::path::PathBuf;

/// The target triple the kernel and the user programs are built for.
pub const TARGET: &str = "riscv64gc-unknown-none-elf";

/// A failure of one runner step, with a message meant for a person.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl Error {
    /// An error carrying `msg`.
    pub fn new(msg: impl Into<String>) -> Error {
        Error(msg.into())
    }
}

/// Result of a runner step.
pub type Result<T> = std::result::Result<T, Error>;

/// The repository root: the directory of the root `Cargo.toml`, fixed at compile time.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
