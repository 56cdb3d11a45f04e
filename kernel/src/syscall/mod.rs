//! System-call dispatch: the number in a7 selects a `sys_*` function, which reads its own
//! arguments; its `Result` becomes the value in a0 here, once (`Err` → -1).

mod file;
mod memory;
mod process;

use crate::mm::uaccess;
use crate::proc;
use abi::{sys, Errno};

/// Raw argument register `n` (a0..a5) of the current system call.
pub fn arg(n: usize) -> usize {
    proc::with_trapframe(|tf| tf.arg(n))
}

/// Argument `n` as a C `int` (low 32 bits, sign-extended).
pub fn arg_i32(n: usize) -> i32 {
    arg(n) as u32 as i32
}

/// Argument `n` as a user pointer to a NUL-terminated path, copied into `buf`.
pub fn arg_path(n: usize, buf: &mut [u8; abi::MAXPATH]) -> Result<&[u8], Errno> {
    let len = uaccess::copy_in_str(buf, arg(n))?;
    Ok(&buf[..len])
}

/// Runs the system call the current process asked for and stores the result in a0.
pub fn dispatch() {
    let num = proc::with_trapframe(|tf| tf.regs[17]);
    let r: Result<usize, Errno> = match num {
        sys::FORK => process::sys_fork(),
        sys::EXIT => process::sys_exit(),
        sys::WAIT => process::sys_wait(),
        sys::PIPE => file::sys_pipe(),
        sys::READ => file::sys_read(),
        sys::KILL => process::sys_kill(),
        sys::EXEC => process::sys_exec(),
        sys::FSTAT => file::sys_fstat(),
        sys::CHDIR => file::sys_chdir(),
        sys::DUP => file::sys_dup(),
        sys::GETPID => process::sys_getpid(),
        sys::SBRK => process::sys_sbrk(),
        sys::PAUSE => process::sys_pause(),
        sys::UPTIME => process::sys_uptime(),
        sys::OPEN => file::sys_open(),
        sys::WRITE => file::sys_write(),
        sys::MKNOD => file::sys_mknod(),
        sys::UNLINK => file::sys_unlink(),
        sys::LINK => file::sys_link(),
        sys::MKDIR => file::sys_mkdir(),
        sys::CLOSE => file::sys_close(),
        sys::MMAP => memory::sys_mmap(),
        sys::MUNMAP => memory::sys_munmap(),
        sys::POWEROFF => process::sys_poweroff(),
        sys::KSTAT => memory::sys_kstat(),
        sys::VMMAPS => memory::sys_vmmaps(),
        sys::MPROTECT => memory::sys_mprotect(),
        sys::MSYNC => memory::sys_msync(),
        sys::MADVISE => memory::sys_madvise(),
        _ => {
            let p = proc::current();
            crate::println!("{} {}: unknown sys call {}", p.pid(), p.name(), num);
            Err(Errno::NoSys)
        }
    };
    let a0 = match r {
        Ok(v) => v,
        Err(_) => usize::MAX,
    };
    proc::with_trapframe(|tf| tf.regs[10] = a0);
}
