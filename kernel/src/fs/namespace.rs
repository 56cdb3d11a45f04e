//! Operations on names: creating a file, directory or device node, adding a hard link, and
//! removing a name. Each runs inside the caller's transaction and keeps link counts right:
//! a new inode starts with one link; a directory's ".." entry counts as a link of its parent
//! (its own "." does not, as in xv6). These functions must not open files or touch file
//! descriptors; the system-call layer does that.
//!
//! Locks are taken parent before child, and never two unrelated inodes at once.

use super::inode::{self, Inode};
use super::path::{namei, namei_parent};
use abi::Errno;
use fsformat::{T_DEVICE, T_DIR, T_FILE};

/// Creates `path` as an inode of type `typ` (device numbers `major`/`minor` for T_DEVICE)
/// and returns it. If the name exists: creating a T_FILE returns the existing file or device
/// (as `open(O_CREATE)` wants); anything else fails with `Exist`. Must run inside a
/// transaction.
pub fn create(path: &[u8], typ: i16, major: i16, minor: i16) -> Result<Inode, Errno> {
    let (dp, name) = namei_parent(path)?;
    let mut dir = dp.lock();
    if let Some((ip, _)) = dir.lookup(name)? {
        drop(dir);
        let existing = ip.lock().file_type();
        if typ == T_FILE && (existing == T_FILE || existing == T_DEVICE) {
            return Ok(ip);
        }
        return Err(Errno::Exist);
    }
    if dir.nlink() == 0 {
        // The directory was removed while someone still had it as a working directory.
        return Err(Errno::NoEnt);
    }
    if typ == T_DIR && dir.nlink() == i16::MAX {
        return Err(Errno::Perm);
    }
    let ip = inode::alloc(typ)?;
    let mut child = ip.lock();
    child.set_device(major, minor);
    child.set_nlink(1);
    child.update();
    let linked = (|| {
        if typ == T_DIR {
            child.add_entry(b".", child.inum())?;
            child.add_entry(b"..", dir.inum())?;
        }
        dir.add_entry(name, child.inum())
    })();
    if let Err(e) = linked {
        // Unreferenced and unlinked: dropping `ip` frees it.
        child.set_nlink(0);
        child.update();
        drop(child);
        drop(dir);
        drop(ip);
        return Err(e);
    }
    if typ == T_DIR {
        dir.set_nlink(dir.nlink() + 1);
        dir.update();
    }
    drop(child);
    drop(dir);
    Ok(ip)
}

/// Makes `new` another name for the file `old` (directories cannot be linked). Must run
/// inside a transaction.
pub fn link(old: &[u8], new: &[u8]) -> Result<(), Errno> {
    let ip = namei(old)?;
    {
        let mut g = ip.lock();
        if g.file_type() == T_DIR {
            return Err(Errno::Perm);
        }
        if g.nlink() == i16::MAX {
            return Err(Errno::Perm);
        }
        g.set_nlink(g.nlink() + 1);
        g.update();
    }
    let linked = (|| {
        let (dp, name) = namei_parent(new)?;
        let mut dir = dp.lock();
        if dir.nlink() == 0 {
            return Err(Errno::NoEnt);
        }
        dir.add_entry(name, ip.inum())
    })();
    if linked.is_err() {
        let mut g = ip.lock();
        g.set_nlink(g.nlink() - 1);
        g.update();
    }
    linked
}

/// Removes the name `path`. "." and ".." cannot be removed, nor a directory that holds
/// anything else. The inode is freed when its last link and last reference are gone. Must
/// run inside a transaction.
pub fn unlink(path: &[u8]) -> Result<(), Errno> {
    let (dp, name) = namei_parent(path)?;
    if name == b"." || name == b".." {
        return Err(Errno::Inval);
    }
    let mut dir = dp.lock();
    let (ip, off) = dir.lookup(name)?.ok_or(Errno::NoEnt)?;
    if ip.inum() == dp.inum() {
        return Err(Errno::Inval);
    }
    let mut g = ip.lock();
    if g.nlink() < 1 {
        // A linked name whose inode has no links: a corrupt disk.
        return Err(Errno::Io);
    }
    let is_dir = g.file_type() == T_DIR;
    if is_dir && !g.is_empty_dir()? {
        return Err(Errno::NotEmpty);
    }
    dir.remove_entry(off)?;
    if is_dir {
        // The child's ".." no longer links the parent.
        dir.set_nlink(dir.nlink() - 1);
        dir.update();
    }
    drop(dir);
    g.set_nlink(g.nlink() - 1);
    g.update();
    Ok(())
}
