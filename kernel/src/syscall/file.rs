//! File-system calls: pipe, read, write, close, dup, fstat, chdir, open, mknod, unlink, link,
//! mkdir. Each reads its own arguments, checks file descriptors, and wraps the file-system
//! operation in a transaction; the work itself is in `crate::fs`. Nothing here touches the
//! disk format or holds a lock.
//!
//! Ordering rule: an `Arc<File>` whose drop may close an inode is never dropped inside a
//! transaction, and a descriptor slot is chosen before a transaction starts (only the process
//! itself changes its table), so `open` fails before truncating anything when the table is
//! full.

use super::{arg, arg_i32, arg_path};
use crate::fs::{self, file::File, log};
use crate::mm::uaccess;
use crate::param::NOFILE;
use crate::proc;
use abi::{Errno, MAXPATH, O_CREATE, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, T_DEVICE, T_DIR, T_FILE};
use alloc::sync::Arc;

/// Argument `n` as a descriptor number of an open file.
fn arg_fd(n: usize) -> Result<usize, Errno> {
    let fd = arg_i32(n);
    if fd < 0 || fd as usize >= NOFILE {
        return Err(Errno::BadF);
    }
    let fd = fd as usize;
    match proc::with_files(|files| files[fd].is_some()) {
        true => Ok(fd),
        false => Err(Errno::BadF),
    }
}

/// The open file behind descriptor argument `n` (a reference of our own).
fn arg_file(n: usize) -> Result<Arc<File>, Errno> {
    let fd = arg_fd(n)?;
    proc::with_files(|files| files[fd].clone()).ok_or(Errno::BadF)
}

/// Argument `n` as a byte count: a negative `int` is an error.
fn arg_count(n: usize) -> Result<usize, Errno> {
    usize::try_from(arg_i32(n)).map_err(|_| Errno::Inval)
}

/// The lowest free descriptor slot.
fn free_fd() -> Result<usize, Errno> {
    proc::with_files(|files| files.iter().position(Option::is_none)).ok_or(Errno::MFile)
}

/// Installs `f` in the lowest free slot. On failure `f` is dropped (closed): call outside a
/// transaction.
fn install(f: Arc<File>) -> Result<usize, Errno> {
    let fd = free_fd()?;
    proc::with_files(|files| files[fd] = Some(f));
    Ok(fd)
}

/// Runs `op` as one file-system transaction.
fn in_transaction<T>(op: impl FnOnce() -> Result<T, Errno>) -> Result<T, Errno> {
    log::begin_op();
    let r = op();
    log::end_op();
    r
}

pub fn sys_read() -> Result<usize, Errno> {
    let f = arg_file(0)?;
    let n = arg_count(2)?;
    f.read(arg(1), n)
}

pub fn sys_write() -> Result<usize, Errno> {
    let f = arg_file(0)?;
    let n = arg_count(2)?;
    f.write(arg(1), n)
}

pub fn sys_close() -> Result<usize, Errno> {
    let fd = arg_fd(0)?;
    let f = proc::with_files(|files| files[fd].take());
    drop(f);
    Ok(0)
}

pub fn sys_dup() -> Result<usize, Errno> {
    let f = arg_file(0)?;
    install(f)
}

pub fn sys_fstat() -> Result<usize, Errno> {
    let f = arg_file(0)?;
    let st = f.stat()?;
    uaccess::copy_out(arg(1), &st.to_bytes())?;
    Ok(0)
}

/// `pipe(int fds[2])`: on any failure no descriptor stays open.
pub fn sys_pipe() -> Result<usize, Errno> {
    let fds_addr = arg(0);
    // A pipe's ring and its ends come from the kernel heap: a user must not be able to
    // exhaust it (that would panic the kernel), so the heap's user reserve is checked first.
    if !crate::mm::heap::has_room_for_user(crate::fs::pipe::HEAP_COST) {
        return Err(Errno::NoMem);
    }
    let (r, w) = File::pipe();
    let (r, w) = (Arc::new(r), Arc::new(w));
    let fd0 = install(r)?;
    let fd1 = match install(w) {
        Ok(fd) => fd,
        Err(e) => {
            let r = proc::with_files(|files| files[fd0].take());
            drop(r);
            return Err(e);
        }
    };
    let mut fds = [0u8; 8];
    fds[..4].copy_from_slice(&(fd0 as i32).to_le_bytes());
    fds[4..].copy_from_slice(&(fd1 as i32).to_le_bytes());
    if let Err(e) = uaccess::copy_out(fds_addr, &fds) {
        let taken = proc::with_files(|files| (files[fd0].take(), files[fd1].take()));
        drop(taken);
        return Err(e);
    }
    Ok(0)
}

pub fn sys_chdir() -> Result<usize, Errno> {
    let mut buf = [0u8; MAXPATH];
    let path = arg_path(0, &mut buf)?;
    in_transaction(|| {
        let ip = fs::namei(path)?;
        if ip.lock().file_type() != T_DIR {
            return Err(Errno::NotDir);
        }
        // The old directory is released inside the transaction.
        let old = proc::replace_cwd(ip);
        drop(old);
        Ok(0)
    })
}

/// `open(path, flags)`: O_CREATE makes a missing file; O_TRUNC empties a regular file;
/// directories open read-only. The access mode follows xv6: readable unless O_WRONLY,
/// writable with O_WRONLY or O_RDWR.
pub fn sys_open() -> Result<usize, Errno> {
    let mut buf = [0u8; MAXPATH];
    let path = arg_path(0, &mut buf)?;
    let flags = arg_i32(1) as u32 as usize;
    let fd = free_fd()?;
    let (ip, typ, major, had_bytes) = in_transaction(|| {
        let ip = if flags & O_CREATE != 0 { fs::create(path, T_FILE, 0, 0)? } else { fs::namei(path)? };
        let mut g = ip.lock();
        let typ = g.file_type();
        if typ != T_FILE && typ != T_DIR && typ != T_DEVICE {
            return Err(Errno::NoEnt);
        }
        if typ == T_DIR && flags != O_RDONLY {
            return Err(Errno::IsDir);
        }
        let mut had_bytes = false;
        if typ == T_FILE && flags & O_TRUNC != 0 {
            had_bytes = g.size() > 0;
            g.truncate();
        }
        let major = g.major();
        drop(g);
        Ok((ip, typ, major, had_bytes))
    })?;
    if had_bytes {
        // Pages past the new end leave every mapping of the file (no lock may be held here:
        // address-space locks come before inode locks and transactions).
        crate::vm::truncate::truncate_mappings(&ip);
    }
    let readable = flags & O_WRONLY == 0;
    let writable = flags & (O_WRONLY | O_RDWR) != 0;
    let f = File::from_inode(ip, typ, major, readable, writable);
    let f = Arc::new(f);
    proc::with_files(|files| files[fd] = Some(f));
    Ok(fd)
}

pub fn sys_mknod() -> Result<usize, Errno> {
    let mut buf = [0u8; MAXPATH];
    let path = arg_path(0, &mut buf)?;
    let (major, minor) = (arg_i32(1) as i16, arg_i32(2) as i16);
    in_transaction(|| fs::create(path, T_DEVICE, major, minor).map(|_| 0))
}

pub fn sys_mkdir() -> Result<usize, Errno> {
    let mut buf = [0u8; MAXPATH];
    let path = arg_path(0, &mut buf)?;
    in_transaction(|| fs::create(path, T_DIR, 0, 0).map(|_| 0))
}

pub fn sys_unlink() -> Result<usize, Errno> {
    let mut buf = [0u8; MAXPATH];
    let path = arg_path(0, &mut buf)?;
    in_transaction(|| fs::unlink(path).map(|_| 0))
}

pub fn sys_link() -> Result<usize, Errno> {
    let (mut old_buf, mut new_buf) = ([0u8; MAXPATH], [0u8; MAXPATH]);
    let old = arg_path(0, &mut old_buf)?;
    let new = arg_path(1, &mut new_buf)?;
    in_transaction(|| fs::link(old, new).map(|_| 0))
}
