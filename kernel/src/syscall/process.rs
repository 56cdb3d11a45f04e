//! System calls about processes, time and the machine: fork, exit, wait, kill, getpid, exec,
//! sbrk, pause, uptime, and the extension poweroff. (mmap, munmap, kstat and vmmaps are in
//! `memory.rs`.)

use super::{arg, arg_i32, arg_path};
use crate::mm::uaccess;
use crate::proc;
use abi::Errno;
use alloc::vec::Vec;

pub fn sys_fork() -> Result<usize, Errno> {
    proc::fork().map(|pid| pid as usize)
}

pub fn sys_exit() -> Result<usize, Errno> {
    proc::exit(arg_i32(0))
}

pub fn sys_wait() -> Result<usize, Errno> {
    proc::wait(arg(0)).map(|pid| pid as usize)
}

pub fn sys_kill() -> Result<usize, Errno> {
    proc::kill(arg_i32(0)).map(|_| 0)
}

pub fn sys_getpid() -> Result<usize, Errno> {
    Ok(proc::current().pid() as usize)
}

/// `sbrk(n, type)`: type 2 grows lazily; anything else eagerly (old binaries pass garbage).
pub fn sys_sbrk() -> Result<usize, Errno> {
    let n = arg_i32(0) as isize;
    let lazy = arg(1) == abi::SBRK_LAZY;
    proc::current_vm().sbrk(n, lazy)
}

pub fn sys_pause() -> Result<usize, Errno> {
    let n = arg_i32(0);
    crate::arch::trap::sleep_ticks(n.max(0) as u64).map(|_| 0)
}

pub fn sys_uptime() -> Result<usize, Errno> {
    Ok(crate::arch::trap::ticks() as usize)
}

/// `exec(path, argv)`: copies the path and every argument into the kernel first.
pub fn sys_exec() -> Result<usize, Errno> {
    let mut pbuf = [0u8; abi::MAXPATH];
    let path = arg_path(0, &mut pbuf)?;
    let uargv = arg(1);
    let mut args: Vec<Vec<u8>> = Vec::new();
    loop {
        if args.len() > abi::MAXARG {
            return Err(Errno::TooBig);
        }
        let p = uaccess::read_u64(uargv.checked_add(args.len() * 8).ok_or(Errno::Fault)?)? as usize;
        if p == 0 {
            break;
        }
        if !crate::mm::heap::has_room_for_user(crate::mm::PGSIZE) {
            return Err(Errno::NoMem);
        }
        let mut buf = alloc::vec![0u8; crate::mm::PGSIZE];
        let len = uaccess::copy_in_str(&mut buf, p)?;
        buf.truncate(len);
        buf.shrink_to_fit();
        args.push(buf);
    }
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    proc::exec(path, &refs)
}

/// `poweroff(status)`: writes back what shared mappings modified, then stops the machine.
pub fn sys_poweroff() -> Result<usize, Errno> {
    proc::shutdown(arg_i32(0))
}
