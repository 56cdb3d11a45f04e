//! Typed process calls: fork, exit, wait (with the child's status), kill, exec with an
//! argument list built here, sleeping, the clock, and the project's extensions
//! (`poweroff`, `kstat`, `vmmaps`).

use crate::fs::{check, with_cstr, SysError, SysResult};
use crate::sys;
use alloc::vec::Vec;
use core::ptr;

/// What `fork` returned in this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fork {
    /// We are the child.
    Child,
    /// We are the parent of the child with this pid.
    Parent(i32),
}

/// Creates a child process.
pub fn fork() -> SysResult<Fork> {
    match check(sys::fork())? {
        0 => Ok(Fork::Child),
        pid => Ok(Fork::Parent(pid as i32)),
    }
}

/// Ends the process with `status`.
pub fn exit(status: i32) -> ! {
    sys::exit(status)
}

/// Forks a child that runs `f` and exits with its result; returns the child's pid.
pub fn spawn(f: impl FnOnce() -> i32) -> SysResult<i32> {
    match fork()? {
        Fork::Child => exit(f()),
        Fork::Parent(pid) => Ok(pid),
    }
}

/// Waits for any child; returns `(pid, exit status)`.
pub fn wait() -> SysResult<(i32, i32)> {
    let mut status = 0i32;
    // SAFETY: the kernel writes one i32 into `status`, a local.
    let pid = check(unsafe { sys::wait(&mut status) })?;
    Ok((pid as i32, status))
}

/// Waits until child `pid` exits, reaping (and discarding) any other child that exits first;
/// returns its status. To wait for several children, use [`wait_all`].
pub fn wait_pid(pid: i32) -> SysResult<i32> {
    loop {
        let (got, status) = wait()?;
        if got == pid {
            return Ok(status);
        }
    }
}

/// Waits until every child in `pids` has exited, in whatever order they do; returns their
/// statuses in the order of `pids`. Other children that exit meanwhile are reaped and
/// discarded.
pub fn wait_all(pids: &[i32]) -> SysResult<Vec<i32>> {
    let mut statuses: Vec<Option<i32>> = alloc::vec![None; pids.len()];
    while statuses.iter().any(Option::is_none) {
        let (pid, status) = wait()?;
        if let Some(k) = pids.iter().position(|&p| p == pid) {
            statuses[k] = Some(status);
        }
    }
    Ok(statuses.into_iter().map(|s| s.unwrap_or(-1)).collect())
}

/// Asks the kernel to kill process `pid`.
pub fn kill(pid: i32) -> SysResult<()> {
    check(sys::kill(pid)).map(drop)
}

/// This process's id.
pub fn getpid() -> i32 {
    sys::getpid() as i32
}

/// Replaces the program with `path`, passing `argv` (any number of arguments: the kernel
/// decides how many it accepts). Returns only on failure.
pub fn exec<A: AsRef<[u8]>>(path: impl AsRef<[u8]>, argv: &[A]) -> SysError {
    let mut strings: Vec<Vec<u8>> = Vec::with_capacity(argv.len());
    for a in argv {
        let mut s = Vec::with_capacity(a.as_ref().len() + 1);
        s.extend_from_slice(a.as_ref());
        s.push(0);
        strings.push(s);
    }
    let mut ptrs: Vec<*const u8> = strings.iter().map(|s| s.as_ptr()).collect();
    ptrs.push(ptr::null());
    let ret = with_cstr(path.as_ref(), |p| sys::exec(p, ptrs.as_ptr()));
    SysError(ret)
}

/// Sleeps for `ticks` clock ticks (0.1 s each).
pub fn pause(ticks: i32) -> SysResult<()> {
    check(sys::pause(ticks)).map(drop)
}

/// Clock ticks since boot.
pub fn uptime() -> usize {
    sys::uptime().max(0) as usize
}

/// Stops the machine; QEMU exits with `status`.
pub fn poweroff(status: i32) -> ! {
    sys::poweroff(status)
}

/// Reads kernel counter `counter` (`abi::kstat::*`); `None` if the kernel refuses it.
pub fn kstat(counter: usize) -> Option<u64> {
    match sys::kstat(counter) {
        u64::MAX => None,
        v => Some(v),
    }
}

/// The mappings of process `pid` (0: this one), lowest address first, as the kernel's
/// `vmmaps` extension reports them. Fails for no such process.
pub fn vmmaps(pid: i32) -> SysResult<Vec<abi::VmMap>> {
    // Ask for the count, then for the records; retry if mappings appeared in between.
    let mut want = check(
        // SAFETY: with max 0 the kernel writes nothing.
        unsafe { sys::vmmaps(pid, ptr::null_mut(), 0) },
    )?;
    loop {
        let max = i32::try_from(want + 8).map_err(|_| SysError(-1))?;
        let mut buf = alloc::vec![0u8; max as usize * abi::VmMap::SIZE];
        // SAFETY: the kernel writes at most `max` records, which `buf` holds.
        let n = check(unsafe { sys::vmmaps(pid, buf.as_mut_ptr(), max) })?;
        if n <= max as usize {
            return Ok(buf
                .chunks_exact(abi::VmMap::SIZE)
                .take(n)
                .map(|c| {
                    let mut rec = [0u8; abi::VmMap::SIZE];
                    rec.copy_from_slice(c);
                    abi::VmMap::from_bytes(&rec)
                })
                .collect());
        }
        want = n;
    }
}

/// Physical pages currently free, if the kernel reports them.
pub fn free_pages() -> Option<u64> {
    kstat(abi::kstat::FREE_PAGES)
}

/// Pages free or holding file data the kernel can drop (`FREE_PAGES + FILE_PAGES`), if the
/// kernel reports them: the count a leak check compares, since programs are read lazily
/// through the page cache and memory pressure evicts cached pages and brings them back.
pub fn available_pages() -> Option<u64> {
    Some(kstat(abi::kstat::FREE_PAGES)? + kstat(abi::kstat::FILE_PAGES)?)
}
