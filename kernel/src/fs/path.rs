//! Path resolution: from the root (paths starting with '/') or the current process's working
//! directory, one component at a time, locking one directory at a time. Repeated and trailing
//! slashes are ignored; components longer than `DIRSIZ` compare on their first `DIRSIZ` bytes
//! (as in xv6). This module only reads directories; it must not modify anything.
//!
//! Both functions drop inode references on the way, so they must run inside a transaction
//! (a directory removed concurrently may be freed by the last drop).

use super::inode::Inode;
use super::root;
use crate::proc;
use abi::Errno;
use fsformat::T_DIR;

/// Splits off the first component of `path`: `("a", "b/c")` for `"//a//b/c"`; `None` when
/// nothing but slashes is left.
fn next_component(path: &[u8]) -> Option<(&[u8], &[u8])> {
    let start = path.iter().position(|&c| c != b'/')?;
    let path = &path[start..];
    let end = path.iter().position(|&c| c == b'/').unwrap_or(path.len());
    let (name, rest) = path.split_at(end);
    let rest_start = rest.iter().position(|&c| c != b'/').unwrap_or(rest.len());
    Some((name, &rest[rest_start..]))
}

/// Where resolution of `path` starts.
fn start_of(path: &[u8]) -> Inode {
    if path.first() == Some(&b'/') {
        return root();
    }
    proc::cwd().unwrap_or_else(root)
}

/// Walks `path`; with `parent`, stops before the last component and returns it too.
fn walk(path: &[u8], parent: bool) -> Result<(Inode, &[u8]), Errno> {
    let mut ip = start_of(path);
    let mut rest = path;
    while let Some((name, after)) = next_component(rest) {
        rest = after;
        let mut dir = ip.lock();
        if dir.file_type() != T_DIR {
            return Err(Errno::NotDir);
        }
        if parent && rest.is_empty() {
            drop(dir);
            return Ok((ip, name));
        }
        let next = dir.lookup(name)?.ok_or(Errno::NoEnt)?.0;
        drop(dir);
        ip = next;
    }
    if parent {
        // "/" or "": no last component to return.
        return Err(Errno::NoEnt);
    }
    Ok((ip, &[]))
}

/// The inode `path` names (absolute, or relative to the current working directory).
/// Must run inside a transaction.
pub fn namei(path: &[u8]) -> Result<Inode, Errno> {
    walk(path, false).map(|(ip, _)| ip)
}

/// The directory that would hold `path`'s last component, and that component.
/// Must run inside a transaction.
pub fn namei_parent(path: &[u8]) -> Result<(Inode, &[u8]), Errno> {
    walk(path, true)
}
