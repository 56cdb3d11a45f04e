//! ulib: everything a user program needs between its `main` and the kernel's `ecall`.
//!
//! It owns the process entry point (`_start`, see [`start`]), the raw system calls
//! ([`sys`]) and their typed forms ([`fs`], [`process`], [`memory`]), formatted printing to
//! file descriptors ([`io`] and the `print!` family), the heap behind `alloc` ([`heap`]),
//! the program's arguments ([`args`]), and the harness of the guest test suites
//! ([`testing`]). It keeps no state across calls apart from the heap, so `fork` never
//! duplicates pending output. It must not hide failures: every call returns
//! what the kernel returned (raw) or a [`SysError`] carrying it (typed).
//!
//! A program looks like this:
//! ```ignore
//! #![no_std]
//! #![no_main]
//! use ulib::{println, args::Args};
//! ulib::entry!(main);
//! fn main(args: Args) -> i32 {
//!     println!("{} arguments", args.len());
//!     0
//! }
//! ```
#![no_std]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

pub mod args;
pub mod bench;
pub mod fs;
pub mod heap;
pub mod io;
pub mod memory;
pub mod process;
pub mod start;
pub mod sys;
pub mod testing;

pub use abi;
pub use args::Args;
pub use fs::{Stat, SysError, SysResult};

/// Declares the program's `main`, which must be `fn(Args) -> i32`; its result is the exit
/// status. Use once per program, at the crate root, with `#![no_main]`.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        /// Called by ulib's start-up code with the arguments the kernel passed.
        #[no_mangle]
        extern "C" fn __ulib_main(argc: usize, argv: *const *const u8) -> i32 {
            // SAFETY: start-up passes the argc/argv the kernel placed on the stack, which stay
            // valid and unchanged for the life of the process.
            let args = unsafe { $crate::args::Args::from_raw(argc, argv) };
            let main: fn($crate::args::Args) -> i32 = $main;
            main(args)
        }
    };
}

/// The names most programs use.
pub mod prelude {
    pub use crate::args::Args;
    pub use crate::fs::{Stat, SysError, SysResult};
    pub use crate::{eprint, eprintln, fprint, fprintln, print, println};
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}
