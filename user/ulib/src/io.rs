//! Formatted output to file descriptors and line input.
//!
//! Each `print!`-family call formats into a small buffer on the stack and writes it out at
//! every newline, when the buffer fills, and at the end of the call, so one short line is one
//! `write()` and nothing stays buffered between calls (a `fork` never duplicates output).
//! Write errors are ignored, as C's `printf` does.

use crate::fs;
use alloc::vec::Vec;
use core::fmt;

/// Standard descriptors.
pub const STDIN: i32 = 0;
pub const STDOUT: i32 = 1;
pub const STDERR: i32 = 2;

const BUF: usize = 256;

/// A `fmt::Write` sink that buffers up to a line and writes it to one descriptor.
pub struct FdWriter {
    fd: i32,
    len: usize,
    buf: [u8; BUF],
}

impl FdWriter {
    /// A writer to `fd` with an empty buffer.
    pub fn new(fd: i32) -> FdWriter {
        FdWriter { fd, len: 0, buf: [0; BUF] }
    }

    /// Writes out whatever is buffered.
    pub fn flush(&mut self) {
        if self.len > 0 {
            let _ = fs::write_all(self.fd, &self.buf[..self.len]);
            self.len = 0;
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.len == BUF {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
            if b == b'\n' {
                self.flush();
            }
        }
    }
}

impl fmt::Write for FdWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

impl Drop for FdWriter {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Formats `args` to `fd`; the engine behind the `print!` family.
pub fn print_to(fd: i32, args: fmt::Arguments<'_>) {
    let mut w = FdWriter::new(fd);
    let _ = fmt::write(&mut w, args);
    w.flush();
}

/// Reads one line from `fd` into `line` (cleared first), one byte per `read()` so that nothing
/// past the newline is consumed (a child started next must find the rest of the input). The
/// newline is kept. Stops after `max` bytes even without a newline. Returns the bytes read:
/// 0 means end of file before any byte.
pub fn read_line(fd: i32, line: &mut Vec<u8>, max: usize) -> fs::SysResult<usize> {
    line.clear();
    let mut c = [0u8; 1];
    while line.len() < max {
        match fs::read(fd, &mut c)? {
            0 => break,
            _ => {
                line.push(c[0]);
                if c[0] == b'\n' {
                    break;
                }
            }
        }
    }
    Ok(line.len())
}

/// Prints to standard output.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::io::print_to($crate::io::STDOUT, format_args!($($arg)*)) };
}

/// Prints a line to standard output.
#[macro_export]
macro_rules! println {
    () => { $crate::io::print_to($crate::io::STDOUT, format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::io::print_to($crate::io::STDOUT, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints to standard error.
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::io::print_to($crate::io::STDERR, format_args!($($arg)*)) };
}

/// Prints a line to standard error.
#[macro_export]
macro_rules! eprintln {
    () => { $crate::io::print_to($crate::io::STDERR, format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::io::print_to($crate::io::STDERR, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints to descriptor `fd`: `fprint!(fd, "x = {}", x)`.
#[macro_export]
macro_rules! fprint {
    ($fd:expr, $($arg:tt)*) => { $crate::io::print_to($fd, format_args!($($arg)*)) };
}

/// Prints a line to descriptor `fd`.
#[macro_export]
macro_rules! fprintln {
    ($fd:expr) => { $crate::io::print_to($fd, format_args!("\n")) };
    ($fd:expr, $($arg:tt)*) => {
        $crate::io::print_to($fd, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Displays a byte string: valid UTF-8 as is, each invalid byte as `?`.
#[derive(Clone, Copy)]
pub struct Bstr<'a>(pub &'a [u8]);

impl fmt::Display for Bstr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        loop {
            match core::str::from_utf8(rest) {
                Ok(s) => return f.pad(s),
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    // SAFETY: `from_utf8` just checked that `good` is valid UTF-8.
                    f.write_str(unsafe { core::str::from_utf8_unchecked(good) })?;
                    f.write_str("?")?;
                    let skip = e.error_len().unwrap_or(bad.len()).max(1);
                    rest = &bad[skip.min(bad.len())..];
                }
            }
        }
    }
}
