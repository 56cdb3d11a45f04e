//! The console: kernel printing (`print!`/`println!`) and the console device (major 1) that
//! user programs read and write. Input is line-edited as in xv6: backspace/DEL erases a
//! character, ^U erases the line, ^D ends input (EOF), ^P lists processes and, under each, its
//! mappings (`proc::dump`, run from the interrupt handler: it never sleeps). A reader sleeps
//! until a whole line (or ^D) is available.

use super::uart;
use crate::mm::uaccess;
use crate::proc;
use crate::sync::SpinLock;
use abi::Errno;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

const INPUT_BUF: usize = 128;
const BACKSPACE: u8 = 0x08;
const DEL: u8 = 0x7f;

const fn ctrl(c: u8) -> u8 {
    c - b'@'
}

struct Input {
    buf: [u8; INPUT_BUF],
    /// Next byte to read.
    r: usize,
    /// End of the committed input (readers may consume up to here).
    w: usize,
    /// End of the line being edited.
    e: usize,
}

static INPUT: SpinLock<Input> = SpinLock::new("cons", Input { buf: [0; INPUT_BUF], r: 0, w: 0, e: 0 });
static OUTPUT: SpinLock<()> = SpinLock::new("print", ());
static PANICKED: AtomicBool = AtomicBool::new(false);

fn chan() -> usize {
    &INPUT as *const _ as usize
}

/// Echoes one byte as the user should see it (backspace erases on screen).
fn echo(c: u8) {
    if c == BACKSPACE {
        uart::putc(BACKSPACE);
        uart::putc(b' ');
        uart::putc(BACKSPACE);
    } else {
        uart::putc(c);
    }
}

/// Handles one received byte (from the UART interrupt).
pub fn input(c: u8) {
    let mut dump = false;
    {
        let mut inp = INPUT.lock();
        match c {
            x if x == ctrl(b'P') => dump = true,
            x if x == ctrl(b'U') => {
                while inp.e != inp.w && inp.buf[(inp.e - 1) % INPUT_BUF] != b'\n' {
                    inp.e -= 1;
                    echo(BACKSPACE);
                }
            }
            BACKSPACE | DEL => {
                if inp.e != inp.w {
                    inp.e -= 1;
                    echo(BACKSPACE);
                }
            }
            _ => {
                if c != 0 && inp.e - inp.r < INPUT_BUF {
                    let c = if c == b'\r' { b'\n' } else { c };
                    echo(c);
                    let e = inp.e;
                    inp.buf[e % INPUT_BUF] = c;
                    inp.e += 1;
                    if c == b'\n' || c == ctrl(b'D') || inp.e - inp.r == INPUT_BUF {
                        inp.w = inp.e;
                        proc::wakeup(chan());
                    }
                }
            }
        }
    }
    if dump {
        proc::dump();
    }
}

/// Reads up to `n` bytes of console input into user memory at `dst`. Returns at the end of a
/// line, at ^D (0 bytes at the start of a line means end of file), or when `n` bytes are read.
pub fn read(dst: usize, n: usize) -> Result<usize, Errno> {
    let mut kbuf = [0u8; INPUT_BUF];
    let want = n.min(INPUT_BUF);
    let mut got = 0;
    {
        let mut inp = INPUT.lock();
        while got < want {
            while inp.r == inp.w {
                if proc::current().killed() {
                    return Err(Errno::Io);
                }
                inp = proc::sleep(chan(), inp);
            }
            let c = inp.buf[inp.r % INPUT_BUF];
            inp.r += 1;
            if c == ctrl(b'D') {
                if got > 0 {
                    // Keep ^D for the next read, so it returns 0.
                    inp.r -= 1;
                }
                break;
            }
            kbuf[got] = c;
            got += 1;
            if c == b'\n' {
                break;
            }
        }
    }
    uaccess::copy_out(dst, &kbuf[..got])?;
    Ok(got)
}

/// Writes `n` bytes from user memory at `src` to the console.
pub fn write(src: usize, n: usize) -> Result<usize, Errno> {
    let mut kbuf = [0u8; 256];
    let mut done = 0;
    while done < n {
        let m = (n - done).min(kbuf.len());
        uaccess::copy_in(&mut kbuf[..m], src + done)?;
        let _g = OUTPUT.lock();
        for &c in &kbuf[..m] {
            uart::putc(c);
        }
        done += m;
    }
    Ok(n)
}

struct Printer;

impl Write for Printer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.bytes() {
            uart::putc(c);
        }
        Ok(())
    }
}

#[doc(hidden)]
pub fn print_args(args: fmt::Arguments) {
    if PANICKED.load(Ordering::Relaxed) {
        let _ = Printer.write_fmt(args);
        return;
    }
    let _g = OUTPUT.lock();
    let _ = Printer.write_fmt(args);
}

/// Prints without taking the output lock (for the panic handler).
pub fn print_panic(args: fmt::Arguments) {
    PANICKED.store(true, Ordering::Relaxed);
    let _ = Printer.write_fmt(args);
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::drivers::console::print_args(format_args!($($arg)*)) };
}

#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::print!("{}\n", format_args!($($arg)*)) };
}
