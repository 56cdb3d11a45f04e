//! File system calls (STUB until the fs lands).
use abi::Errno;
macro_rules! stub { ($($n:ident),*) => { $(pub fn $n() -> Result<usize, Errno> { Err(Errno::NoSys) })* } }
stub!(
    sys_pipe, sys_read, sys_write, sys_close, sys_dup, sys_fstat, sys_chdir, sys_open, sys_mknod,
    sys_unlink, sys_link, sys_mkdir
);
